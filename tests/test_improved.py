"""Improved techniques (Salimans et al. 2016; Karras et al. 2018): one-sided label smoothing and
feature matching in closed form, the minibatch layers and virtual batch norm on constructed
inputs, historical averaging's update rule, the game's losses, config checks, exact resume."""

from __future__ import annotations

import math
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import leaves, load_config, tiny_run
from jax.flatten_util import ravel_pytree

from gan_jax import checkpointing, losses, runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, improved
from gan_jax.models import MODELS, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import MinibatchDiscrimination, VirtualBatchNorm, minibatch_stddev


def softplus(x):
    return np.log1p(np.exp(x))


# --- one-sided label smoothing ----------------------------------------------------------------


def test_label_smoothing_gives_real_samples_the_target_one_minus_a():
    real, fake = np.array([-1.0, 0.5, 3.0]), np.array([0.2, -2.0, 1.0])
    a = 0.1
    loss, terms = losses.bce_d_loss(jnp.asarray(real), jnp.asarray(fake), label_smoothing=a)
    expected_real = np.mean((1 - a) * softplus(-real) + a * softplus(real))
    np.testing.assert_allclose(terms["real"], expected_real, rtol=1e-6)
    np.testing.assert_allclose(terms["fake"], np.mean(softplus(fake)), rtol=1e-6)  # fakes: 0
    np.testing.assert_allclose(loss, expected_real + np.mean(softplus(fake)), rtol=1e-6)


def test_the_smoothed_real_term_is_minimised_at_d_equal_one_minus_a():
    """Its minimum is at D(x) = 0.9, i.e. logit log 9, where it equals the entropy H(0.9)."""
    real_term = lambda logit: losses.bce_d_loss(logit[None], jnp.zeros(1), label_smoothing=0.1)[1]
    at_optimum = jnp.asarray(math.log(9.0))
    grad = jax.grad(lambda logit: real_term(logit)["real"])(at_optimum)
    np.testing.assert_allclose(grad, 0.0, atol=1e-6)
    entropy = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    np.testing.assert_allclose(real_term(at_optimum)["real"], entropy, rtol=1e-6)


def test_the_objective_block_selects_label_smoothing_for_the_bce_objectives():
    real, fake = jnp.asarray([1.0, 2.0]), jnp.asarray([0.0, -1.0])
    block = {**losses.default_block(), "name": "non_saturating", "label_smoothing": 0.2}
    smoothed = losses.get_objective(block).d_loss(real, fake)[0]
    plain = losses.get_objective({**block, "label_smoothing": 0.0}).d_loss(real, fake)[0]
    np.testing.assert_allclose(
        smoothed, losses.bce_d_loss(real, fake, label_smoothing=0.2)[0], rtol=1e-6
    )
    assert float(smoothed) > float(plain)  # confident real logits now cost something


@pytest.mark.parametrize("name", ["hinge", "wasserstein", "least_squares", "relativistic_average"])
def test_label_smoothing_is_refused_with_the_other_objectives(name):
    block = {**losses.default_block(), "name": name, "label_smoothing": 0.1}
    with pytest.raises(ConfigError) as info:
        losses.get_objective(block)
    assert info.value.key == "objective.label_smoothing"
    assert "binary cross-entropy" in str(info.value)


# --- feature matching ------------------------------------------------------------------------


def test_feature_matching_is_the_squared_distance_of_the_batch_means():
    real = jnp.asarray([[1.0, 2.0, 0.0], [3.0, 2.0, 0.0]])  # mean (2, 2, 0)
    fake = jnp.asarray([[0.0, 0.0, 1.0], [0.0, 2.0, -1.0]])  # mean (0, 1, 0)
    loss, terms = losses.feature_matching_loss(real, fake)
    np.testing.assert_allclose(loss, 4.0 + 1.0 + 0.0, rtol=1e-6)
    assert set(terms) == {"feature_matching"}
    # Image-shaped features are flattened per sample; equal means give 0 whatever the samples.
    maps = jax.random.normal(jax.random.key(0), (4, 2, 2, 3))
    np.testing.assert_allclose(losses.feature_matching_loss(maps, maps[::-1])[0], 0.0, atol=1e-10)


# --- minibatch discrimination and the minibatch stddev ----------------------------------------


def test_minibatch_discrimination_of_identical_samples_is_the_collapsed_value():
    layer = MinibatchDiscrimination(num_kernels=6, kernel_dim=3)
    x = jnp.tile(jnp.asarray([[0.3, -1.0, 2.0, 0.5]]), (5, 1))
    variables = layer.init(jax.random.key(0), x)
    out = layer.apply(variables, x)
    assert out.shape == (5, 6)
    np.testing.assert_allclose(out, 4.0, rtol=1e-6)  # N - 1: every other sample is identical


def test_minibatch_discrimination_on_constructed_samples():
    """With T the identity (one kernel of dimension 2), o_i = sum_{j != i} exp(-||x_i - x_j||_1)."""
    layer = MinibatchDiscrimination(num_kernels=1, kernel_dim=2)
    x = jnp.asarray([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    out = layer.apply({"params": {"kernel": jnp.eye(2)}}, x)[:, 0]
    d01, d02, d12 = 1.0, 3.0, 4.0
    expected = [math.exp(-d01) + math.exp(-d02), math.exp(-d01) + math.exp(-d12)]
    expected.append(math.exp(-d02) + math.exp(-d12))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_minibatch_stddev_of_identical_samples_is_zero_and_of_constructed_groups_known():
    same = jnp.ones((8, 2, 2, 3))
    np.testing.assert_allclose(minibatch_stddev(same, 4), 0.0, atol=1e-3)  # sqrt(1e-8)
    # Groups of 2 of a batch of 4: samples (0, 2) and (1, 3) (sample i in group i mod 2).
    x = jnp.asarray([[1.0, 0.0], [5.0, 5.0], [-1.0, 0.0], [5.0, 5.0]])
    # Group (0, 2): stds (1, 0) -> mean 0.5; group (1, 3): identical -> 0.
    np.testing.assert_allclose(minibatch_stddev(x, 2), [0.5, 0.0, 0.5, 0.0], atol=1e-3)
    with pytest.raises(ValueError, match="groups of 4"):
        minibatch_stddev(jnp.ones((6, 2)), 4)


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_the_critics_append_the_minibatch_features_before_their_last_layer(family):
    keys = {"minibatch_discrimination": 7, "minibatch_kernel_dim": 3, "minibatch_stddev": 2}
    if family == "dcgan":
        shape, cfg = (16, 16, 1), {"width": 8, **keys}
    else:
        shape, cfg = (2,), {"d_hidden": (16,), **keys}
    _, critic = MODELS[family](cfg, shape)
    x = jax.random.normal(jax.random.key(1), (4, *shape))
    variables = critic.init(jax.random.key(0), x, None, train=False)
    assert critic.apply(variables, x, None, train=False).shape == (4,)
    params = variables["params"]
    assert params["minibatch"]["discrimination"]["kernel"].shape[-1] == 7 * 3
    last = params["logit"]["kernel"] if family == "dcgan" else params["out"]["kernel"]
    hidden = 16 if family == "dcgan" else 16  # dcgan at 16px, width 8: two layers, 16 channels
    assert last.shape[-2] == hidden + 7 + 1  # features, B kernels, one stddev channel
    # A collapsed batch and a diverse one differ in the minibatch features alone.
    same = jnp.tile(x[:1], (4,) + (1,) * len(shape))
    out_same = critic.apply(variables, same, None, train=False)
    off = MODELS[family]({**cfg, "minibatch_discrimination": 0, "minibatch_stddev": 0}, shape)[1]
    assert "minibatch" not in off.init(jax.random.key(0), x, None, train=False)["params"]
    np.testing.assert_allclose(out_same, out_same[0], rtol=1e-5)


def test_the_dcgan_critic_returns_its_features_without_the_minibatch_ones():
    critic = DCGANDiscriminator(
        resolution=16, width=8, minibatch_discrimination=5, return_features=True
    )
    x = jnp.zeros((2, 16, 16, 1))
    variables = critic.init(jax.random.key(0), x, None, train=False)
    logit, features = critic.apply(variables, x, None, train=False)
    assert logit.shape == (2,) and features.shape == (2, 4, 4, 16)


# --- virtual batch normalisation ---------------------------------------------------------------


def test_vbn_normalises_with_the_reference_statistics():
    rng = np.random.default_rng(0)
    r = 5
    x = rng.normal(2.0, 3.0, size=(r + 3, 2, 2, 4)).astype(np.float32)
    layer = VirtualBatchNorm(reference_size=r, epsilon=0.0)
    variables = layer.init(jax.random.key(0), jnp.asarray(x))
    y = np.asarray(layer.apply(variables, jnp.asarray(x)))
    # The reference rows: their own per-channel mean 0 and variance 1.
    np.testing.assert_allclose(y[:r].mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y[:r].var(axis=(0, 1, 2)), 1.0, rtol=1e-4)
    # Each sample: the statistics of the reference batch and itself, weights R/(R+1), 1/(R+1).
    ref_mean, ref_sq = x[:r].mean(axis=(0, 1, 2)), (x[:r] ** 2).mean(axis=(0, 1, 2))
    for i in range(r, r + 3):
        mean = (r * ref_mean + x[i].mean(axis=(0, 1))) / (r + 1)
        sq = (r * ref_sq + (x[i] ** 2).mean(axis=(0, 1))) / (r + 1)
        np.testing.assert_allclose(y[i], (x[i] - mean) / np.sqrt(sq - mean**2), rtol=1e-4)


def test_a_vbn_generator_draws_each_sample_independently_of_its_batch():
    g = DCGANGenerator(resolution=16, width=8, channels=1, norm="vbn", vbn_reference_size=6)
    z = jax.random.normal(jax.random.key(1), (5, 4))
    variables = g.init(jax.random.key(0), z, None, train=False)
    assert variables["batch_stats"]["vbn_reference"].shape == (6, 4)
    images, updates = g.apply(variables, z, None, train=True, mutable=["batch_stats"])
    assert images.shape == (5, 16, 16, 1)
    np.testing.assert_array_equal(  # the reference batch is fixed: training leaves it
        updates["batch_stats"]["vbn_reference"], variables["batch_stats"]["vbn_reference"]
    )
    alone = g.apply(variables, z[2:3], None, train=True, mutable=["batch_stats"])[0]
    np.testing.assert_allclose(alone[0], images[2], rtol=1e-4, atol=1e-6)
    # BatchNorm in train mode would not: a sample depends on its batch.
    bn = DCGANGenerator(resolution=16, width=8, channels=1, norm="batch")
    bn_vars = bn.init(jax.random.key(0), z, None, train=False)
    full = bn.apply(bn_vars, z, None, train=True, mutable=["batch_stats"])[0]
    part = bn.apply(bn_vars, z[2:4], None, train=True, mutable=["batch_stats"])[0]
    assert not np.allclose(full[2], part[0], atol=1e-3)


# --- historical averaging ----------------------------------------------------------------------


def test_historical_average_update_rule():
    history = [{"w": jnp.asarray([1.0, 2.0]), "b": jnp.asarray(0.0)}]
    history += [{"w": jnp.asarray([3.0, 4.0]), "b": jnp.asarray(3.0)}]
    history += [{"w": jnp.asarray([-1.0, 0.0]), "b": jnp.asarray(6.0)}]
    mean, count = jnp.zeros(3), jnp.zeros((), jnp.int32)
    distances = []
    for params in history:
        distance, mean, count = improved.historical_average(params, mean, count)
        distances.append(float(distance))
    # ravel order: b, then w. Step 1: nothing to average (0); step 2: ||(3, 3, 4) - (0, 1, 2)||^2
    # = 9 + 4 + 4; step 3: ||(6, -1, 0) - (1.5, 2, 3)||^2 = 20.25 + 9 + 9.
    np.testing.assert_allclose(distances, [0.0, 17.0, 38.25], rtol=1e-6)
    np.testing.assert_allclose(mean, [3.0, 1.0, 2.0], rtol=1e-6)  # the mean of all three
    assert int(count) == 3


# --- the game ------------------------------------------------------------------------------


def tiny_config(steps_: int = 3, **overrides):
    return tiny_run("improved", steps_, **{"model.width": 8, "model.z_dim": 8, **overrides})


def one_update(cfg, player: int):
    run = runs.build_run(cfg)
    state = run.init_state(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run.sample_batches(run.data_key(), 0))
    return steps.update(run.game, run.game.players[player], state, batch)


def test_the_generator_loss_is_feature_matching_plus_the_weighted_adversarial_term():
    _, m0 = one_update(tiny_config(), 1)
    np.testing.assert_allclose(m0["g/loss"], m0["g/feature_matching"], rtol=1e-6)
    assert float(m0["g/feature_matching"]) > 0
    _, m1 = one_update(tiny_config(**{"game.g_adversarial_weight": 0.5}), 1)
    np.testing.assert_allclose(m1["g/feature_matching"], m0["g/feature_matching"], rtol=1e-6)
    expected = m1["g/feature_matching"] + 0.5 * m1["g/fake"]
    np.testing.assert_allclose(m1["g/loss"], expected, rtol=1e-5)


def test_historical_averaging_adds_its_term_and_keeps_the_running_mean_in_aux():
    cfg = tiny_config(**{"game.historical_averaging": 0.01})
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    assert int(state.aux["hist_count/d"]) == 0
    step = steps.make_train_step(run.game)
    start = ravel_pytree(state.nets["g"].params)[0]
    state, m = step(jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0))
    np.testing.assert_allclose(m["g/historical_averaging"], 0.0)  # nothing averaged yet
    np.testing.assert_allclose(state.aux["hist_mean/g"], start, rtol=1e-6)
    state, m = step(state, run.sample_batches(run.data_key(), 1))
    assert int(state.aux["hist_count/d"]) == int(state.aux["hist_count/g"]) == 2
    assert float(m["d/historical_distance"]) > 0
    np.testing.assert_allclose(
        m["d/historical_averaging"], 0.01 * m["d/historical_distance"], rtol=1e-5
    )
    _, m_off = one_update(tiny_config(), 0)
    assert "d/historical_averaging" not in m_off


@pytest.mark.parametrize(
    "key,value",
    [
        ("game.feature_matching", -1.0),
        ("game.historical_averaging", float("nan")),
        ("game.g_adversarial_weight", -0.1),
        ("model.name", "resnet"),
        ("objective.label_smoothing", 0.5),
        ("model.minibatch_stddev", 3),  # does not divide the batch of 64
        ("model.minibatch_discrimination", -2),
        ("model.d_norm", "vbn"),  # VBN is the generator's (the paper's choice)
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("improved", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


def test_nonsensical_combinations_are_refused_with_one_line():
    cfg = load_config("improved", **{"game.feature_matching": 0.0})
    with pytest.raises(ConfigError, match="G would have no loss"):
        runs.build_run(cfg)
    cfg = load_config("nsgan", **{"model.g_norm": "vbn", "model.num_classes": 10})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == "model.g_norm"
    cfg = load_config("sngan", **{"model.minibatch_stddev": 4})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == "model.minibatch_stddev"


def test_the_recipe_is_the_registered_game_with_its_defaults():
    cfg = load_config("improved")
    assert GAMES[cfg.game.name] is improved
    assert dict(cfg.game) == {"name": "improved", **improved.DEFAULTS}
    assert cfg.objective.name == "non_saturating" and cfg.objective.label_smoothing == 0.1


def test_minibatch_layers_train_on_the_2d_mixtures():
    cfg = load_config(
        "nsgan",
        "grid25",
        **{"model.minibatch_discrimination": 4, "model.minibatch_stddev": 4},
    )
    cfg.model.g_hidden = cfg.model.d_hidden = (16, 16)
    cfg.train.batch_size = 32
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    _, metrics = steps.make_train_step(run.game)(state, run.sample_batches(run.data_key(), 0))
    assert all(np.isfinite(float(v)) for v in metrics.values())


@pytest.mark.slow
def test_resume_with_every_technique_is_bit_identical_to_a_straight_run(tmp_path, capsys):
    cfg = tiny_config(
        6,
        **{
            "game.historical_averaging": 1e-3,
            "model.minibatch_discrimination": 4,
            "model.minibatch_stddev": 4,
            "model.g_norm": "vbn",
            "model.vbn_reference_size": 4,
        },
    )
    cfg.checkpoint.every_steps = 3
    straight = train.train_and_evaluate(cfg, tmp_path)
    shutil.rmtree(checkpointing.checkpoint_dir(tmp_path) / "6")
    capsys.readouterr()
    resumed = train.train_and_evaluate(cfg, tmp_path)
    assert "resuming from the checkpoint at step 3" in capsys.readouterr().out
    assert int(resumed.aux["hist_count/g"]) == 6
    for x, y in zip(leaves(straight), leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)
