"""BiGAN / ALI (gan_jax/games/bigan.py): the pair losses on constructed inputs, the probes, the
networks, config checks and a tiny run end to end with its headline."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny_run

from gan_jax import runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, bigan
from gan_jax.losses import get_objective


def tiny_config(preset=None, steps_: int = 2, **overrides):
    sizes = {"model.width": 8, "model.z_dim": 8, "game.hidden": 16}
    return tiny_run("bigan", steps_, preset, **{**sizes, **overrides})


class StubContext:
    """Fixed functions in place of the networks (steps.Context's API)."""

    def __init__(self, nets):
        self.nets = nets

    def __call__(self, name, *inputs, train):
        return self.nets[name](*inputs)

    def normal(self, key, shape):
        return jax.random.normal(key, shape)


def stub_nets(gaussian: bool):
    # G(z) = 0.5 everywhere; E(x) = mean pixel per dimension; D(x, z) = mean(x) + mean(z).
    def encoder(x):
        m = jnp.mean(x, axis=(1, 2, 3))[:, None] * jnp.ones((1, 3))
        return (m, jnp.full_like(m, -50.0)) if gaussian else m  # sigma ~ 0: the sample is mu

    return {
        "g": lambda z, labels: jnp.full((z.shape[0], 4, 4, 1), 0.5),
        "e": encoder,
        "d": lambda x, z: jnp.mean(x, axis=(1, 2, 3)) + jnp.mean(z, axis=1),
    }


@pytest.mark.parametrize("gaussian", [False, True])
def test_pair_losses_closed_form(gaussian):
    """D sees real pairs (x, E(x)) and fake pairs (G(z), z); G and E the labels swapped."""
    x = jnp.full((4, 4, 4, 1), 1.0)
    key = jax.random.key(3)
    z = jax.random.normal(jax.random.split(key)[0], (4, 3))
    real = jnp.full((4,), 2.0)  # mean(x) + mean(E(x)) = 1 + 1
    fake = 0.5 + jnp.mean(z, axis=1)
    obj = get_objective({"name": "non_saturating", "penalty": "none"})
    kw = dict(objective=obj, z_dim=3, gaussian=gaussian)
    ctx = StubContext(stub_nets(gaussian))
    loss, terms = bigan.critic_loss(ctx, {"x": x}, key, **kw)
    expected_d = jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))
    np.testing.assert_allclose(loss, expected_d, rtol=1e-5)
    np.testing.assert_allclose(terms["real_score"], 2.0, rtol=1e-5)
    loss, terms = bigan.generator_encoder_loss(ctx, {"x": x}, key, **kw)
    # Inverted labels: -log D(G(z), z) - log(1 - D(x, E(x))).
    fake_pairs = jnp.mean(jax.nn.softplus(-fake))
    real_pairs = jnp.mean(jax.nn.softplus(real))
    np.testing.assert_allclose(terms["fake_pairs"], fake_pairs, rtol=1e-5)
    np.testing.assert_allclose(terms["real_pairs"], real_pairs, rtol=1e-5)
    np.testing.assert_allclose(loss, fake_pairs + real_pairs, rtol=1e-5)


def test_the_gaussian_encoder_samples_by_reparameterisation():
    mean, log_std = jnp.array([[1.0, -2.0]]), jnp.log(jnp.array([[0.5, 3.0]]))
    eps = jnp.array([[2.0, -1.0]])
    np.testing.assert_allclose(bigan.reparameterize(mean, log_std, eps), [[2.0, -5.0]], rtol=1e-6)
    # Its gradient reaches mu and sigma: d z / d log sigma = sigma * eps.
    g = jax.grad(lambda s: bigan.reparameterize(mean, s, eps).sum())(log_std)
    np.testing.assert_allclose(g, [[1.0, -3.0]], rtol=1e-6)


def test_probes_on_constructed_features():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    train_idx, test_idx = np.arange(0, 120, 2), np.arange(1, 120, 2)
    # Class means far apart: both probes are perfect; pure noise: about chance.
    separable = np.eye(3)[labels] * 10 + rng.normal(size=(120, 3))
    assert bigan.linear_probe(separable, labels, train_idx, test_idx) == 1.0
    assert bigan.nearest_neighbour(separable, labels, train_idx, test_idx) == 1.0
    noise = rng.normal(size=(120, 5))
    assert bigan.linear_probe(noise, labels, train_idx, test_idx) < 0.6
    # 1-NN on a constructed case: each test point sits next to a training point of its class.
    feats = np.array([[0.0], [0.1], [5.0], [5.1]])
    lab = np.array([0, 0, 1, 1])
    assert bigan.nearest_neighbour(feats, lab, np.array([0, 2]), np.array([1, 3])) == 1.0


def test_few_label_indices_take_k_of_each_class_from_the_training_part():
    labels = np.repeat(np.arange(4), 10)
    train_idx = np.arange(0, 40, 2)  # 5 of each class
    a = bigan.few_label_indices(labels, train_idx, 3, seed=0)
    assert len(a) == 12 and set(a) <= set(train_idx)
    assert np.array_equal(np.bincount(labels[a]), [3, 3, 3, 3])
    np.testing.assert_array_equal(a, bigan.few_label_indices(labels, train_idx, 3, seed=0))
    assert not np.array_equal(np.sort(a), np.sort(bigan.few_label_indices(labels, train_idx, 3, 1)))


def test_pixel_baselines_have_the_encoders_dimension_and_pca_spans_the_data():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(50, 2))
    basis = rng.normal(size=(2, 16))
    images = (coords @ basis).reshape(50, 4, 4, 1)  # pixels in a 2-d subspace
    feats = bigan.pixel_baselines(images, np.arange(40), dim=2)
    assert feats["_pca"].shape == feats["_random_projection"].shape == (50, 2)
    # PCA to 2 dimensions keeps the subspace: the coordinates are a linear map of its features.
    fit, *_ = np.linalg.lstsq(np.c_[feats["_pca"], np.ones(50)], coords, rcond=None)
    np.testing.assert_allclose(np.c_[feats["_pca"], np.ones(50)] @ fit, coords, atol=1e-6)
    # The projection is a fixed linear map (seed 0): the same features every call.
    again = bigan.pixel_baselines(images, np.arange(40), dim=2)["_random_projection"]
    np.testing.assert_array_equal(feats["_random_projection"], again)


def test_the_joint_critics_dropout_uses_the_given_key_in_training_only():
    x, z = jnp.ones((4, 16, 16, 1)), jnp.ones((4, 5))
    critic = bigan.JointCritic(width=8, hidden=16, norm="none", dropout=0.5)
    v = critic.init(jax.random.key(0), x, z, train=False)
    k1, k2 = jax.random.key(1), jax.random.key(2)
    plain = critic.apply(v, x, z, train=True)
    dropped = critic.apply(v, x, z, k1, train=True)
    assert not np.allclose(plain, dropped)
    np.testing.assert_array_equal(dropped, critic.apply(v, x, z, k1, train=True))
    assert not np.allclose(dropped, critic.apply(v, x, z, k2, train=True))
    np.testing.assert_array_equal(plain, critic.apply(v, x, z, k1, train=False))
    none = bigan.JointCritic(width=8, hidden=16, norm="none", dropout=0.0)
    np.testing.assert_array_equal(none.apply(v, x, z, k1, train=True), plain)


@pytest.mark.parametrize("gaussian", [False, True])
def test_encoder_and_joint_critic_shapes(gaussian):
    enc = bigan.Encoder(width=8, z_dim=5, gaussian=gaussian)
    x = jnp.zeros((3, 16, 16, 1))
    variables = enc.init(jax.random.key(0), x, train=False)
    out = enc.apply(variables, x, train=False)
    if gaussian:
        assert out[0].shape == out[1].shape == (3, 5)
    else:
        assert out.shape == (3, 5)
    critic = bigan.JointCritic(width=8, hidden=16)
    z = jnp.zeros((3, 5))
    v = critic.init(jax.random.key(0), x, z, train=False)
    assert critic.apply(v, x, z, train=False).shape == (3,)
    # The critic reads z: changing it changes the score.
    a = critic.apply(v, x, z, train=False)
    b = critic.apply(v, x, z + 1.0, train=False)
    assert not np.allclose(a, b)


@pytest.mark.slow  # covered by the game's end-to-end test in the default run
def test_game_players_update_g_and_e_together():
    run = runs.build_run(tiny_config())
    assert [(p.name, p.updates) for p in run.game.players] == [("d", ("d",)), ("g", ("g", "e"))]
    state = jax.jit(run.init_state)(jax.random.key(0))
    new, metrics = steps.make_train_step(run.game)(
        jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0)
    )
    for name in ("g", "e", "d"):
        before, after = (
            jax.tree.leaves(state.nets[name].params),
            jax.tree.leaves(new.nets[name].params),
        )
        assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)), name
    assert {"d/real", "d/fake", "g/fake_pairs", "g/real_pairs"} <= set(metrics)


@pytest.mark.parametrize(
    "key,value",
    [
        ("game.encoder", "flow"),
        ("game.hidden", 0),
        ("game.dropout", 1.0),
        ("game.probe_labels", 0),
        ("objective.name", "wasserstein"),
        ("objective.penalty", "r1"),
        ("model.name", "resnet"),
        ("model.num_classes", 10),
        ("train.d_steps", 2),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("bigan", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


def test_a_recipe_without_the_encoder_optimiser_is_refused():
    cfg = load_config("bigan")
    del cfg.optim["e"]
    with pytest.raises(ConfigError, match="optim"):
        runs.build_run(cfg)


def test_the_recipes_are_the_registered_game():
    assert GAMES["bigan"] is bigan
    assert load_config("bigan").game.encoder == "deterministic"
    assert load_config("bigan", "ali").game.encoder == "gaussian"
    with pytest.raises(ValueError, match="presets"):
        load_config("bigan", "vae")


@pytest.mark.slow
def test_tiny_ali_run_end_to_end_reports_the_headline(tmp_path):
    train.train_and_evaluate(tiny_config("ali"), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    for name in ("probe_accuracy", "probe_accuracy_untrained", "nn_accuracy", "class_preservation"):
        assert 0.0 <= record[f"headline/{name}"] <= 1.0
    # Pixels are a fixed baseline: 10 labels a class of sklearn's digits are well above chance.
    assert record["headline/probe_accuracy_pixels"] > 0.6
    for name in ("untrained", "random_projection", "pca"):
        assert 0.0 <= record[f"headline/probe_accuracy_{name}"] <= 1.0
    assert np.isfinite(record["frechet_distance"])


def test_same_seed_same_numbers():
    """ALI draws its encoder noise from the update's key: two runs of one seed agree exactly."""
    run = runs.build_run(tiny_config("ali"))
    step = steps.make_train_step(run.game, jit=False)
    out = []
    for _ in range(2):
        state = run.init_state(jax.random.key(0))
        state, metrics = jax.jit(step)(state, run.sample_batches(run.data_key(), 0))
        out.append((jax.tree.leaves(state.nets), metrics))
    for a, b in zip(jax.tree.leaves(out[0]), jax.tree.leaves(out[1]), strict=True):
        np.testing.assert_array_equal(a, b)
