"""gan_jax/regularizers.py on the classic game: LeCam's and bCR's closed forms, the hook in the
critic's and generator's losses, ADA's p and LeCam's EMAs carried in State.aux through an exact
resume, the data subset, the config checks and the recipe."""

from __future__ import annotations

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import leaves, load_config

from gan_jax import augment, checkpointing, data, regularizers, runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import get_objective


def tiny_config(preset: str = "diffaugment", steps_: int = 3, **overrides):
    cfg = load_config("diffaugment", preset, **overrides)
    cfg.train.steps, cfg.train.log_every, cfg.train.sample_every = steps_, 1, 0
    cfg.train.batch_size = 8
    cfg.model.width, cfg.model.z_dim = 8, 8
    cfg.eval.num_samples, cfg.eval.every_steps, cfg.eval.at_start = 64, 0, False
    cfg.eval.extractor = "none"  # the loop, not the metrics (no classifier to train)
    cfg.checkpoint.every_steps = steps_
    return cfg


class FakeContext:
    """The part of steps.Context the regulariser reads: aux, step, set_aux."""

    def __init__(self, aux, step=0):
        self.aux, self.step, self.new_aux = aux, jnp.int32(step), {}

    def set_aux(self, name, value):
        self.new_aux[name] = value


# --- closed forms ----------------------------------------------------------------------------


def test_lecam_is_the_squared_distance_to_the_other_sides_ema():
    real, fake = jnp.array([1.0, 3.0]), jnp.array([-1.0, 0.0])
    # E[(D(x) - alpha_F)^2] + E[(D(G(z)) - alpha_R)^2] = (4 + 16) / 2 + (9 + 4) / 2
    value = regularizers.lecam_penalty(real, fake, jnp.float32(2.0), jnp.float32(-1.0))
    assert float(value) == pytest.approx(16.5)
    grads = jax.grad(regularizers.lecam_penalty, argnums=(0, 2, 3))(
        real, fake, jnp.float32(2.0), jnp.float32(-1.0)
    )
    np.testing.assert_allclose(grads[0], [2.0, 4.0])  # d/dD(x_i) = 2 (D(x_i) - alpha_F) / n
    assert float(grads[1]) == 0.0 and float(grads[2]) == 0.0  # the EMAs are constants


def test_bcr_consistency_is_the_mean_squared_difference():
    value = regularizers.consistency(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
    assert float(value) == pytest.approx((1.0 + 4.0) / 2)


def test_lecam_terms_update_the_emas_then_penalise_with_them():
    reg = regularizers.Regularizer(lecam_weight=0.5, lecam_decay=0.9)
    aux = {"lecam_real": jnp.float32(1.0), "lecam_fake": jnp.float32(-1.0)}
    real, fake = jnp.array([2.0, 4.0]), jnp.array([0.0, -2.0])
    # Step 0: the EMAs become the batch means (3, -1).
    ctx = FakeContext(dict(aux), step=0)
    loss, terms = reg.critic_terms(
        ctx, jax.random.key(0), None, (None, None), (None, None), real, fake
    )
    assert float(ctx.new_aux["lecam_real"]) == 3.0 and float(ctx.new_aux["lecam_fake"]) == -1.0
    expected = regularizers.lecam_penalty(real, fake, 3.0, -1.0)
    assert float(loss) == pytest.approx(0.5 * float(expected)) and float(terms["lecam"]) == float(
        expected
    )
    # Later steps: alpha <- 0.9 alpha + 0.1 mean.
    ctx = FakeContext(dict(aux), step=7)
    loss, _ = reg.critic_terms(ctx, jax.random.key(0), None, (None, None), (None, None), real, fake)
    assert float(ctx.new_aux["lecam_real"]) == pytest.approx(0.9 * 1.0 + 0.1 * 3.0)
    assert float(ctx.new_aux["lecam_fake"]) == pytest.approx(0.9 * -1.0 + 0.1 * -1.0)
    expected = regularizers.lecam_penalty(real, fake, 1.2, -1.0)
    assert float(loss) == pytest.approx(0.5 * float(expected))


def test_bcr_is_zero_for_a_translation_invariant_critic_and_weighted_otherwise():
    reg = regularizers.Regularizer(bcr_real=10.0, bcr_fake=2.0, bcr_ops=("translation",))
    # Images whose content sits in the centre: a translation by <= 2 pixels keeps every pixel.
    x = (
        jnp.zeros((16, 16, 16, 1))
        .at[:, 6:10, 6:10, :]
        .set(jax.random.uniform(jax.random.key(0), (16, 4, 4, 1)))
    )
    total = lambda x, labels: jnp.sum(x, axis=(1, 2, 3))  # noqa: E731
    terms_of = jax.jit(
        lambda x, critic: reg.critic_terms(
            FakeContext({}),
            jax.random.key(1),
            critic,
            (x, None),
            (x, None),
            critic(x, None),
            critic(x, None),
        ),
        static_argnums=1,
    )
    loss, terms = terms_of(x, total)
    assert float(loss) == pytest.approx(0.0, abs=1e-5) and set(terms) == {"bcr_real", "bcr_fake"}
    corner = lambda x, labels: x[:, 7, 7, 0]  # noqa: E731
    loss, terms = terms_of(x, corner)
    assert float(terms["bcr_real"]) > 0 and float(terms["bcr_fake"]) > 0
    assert float(loss) == pytest.approx(
        10 * float(terms["bcr_real"]) + 2 * float(terms["bcr_fake"])
    )


# --- the hook in the classic game -----------------------------------------------------------


def losses_of(cfg, regularizer):
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run.sample_batches(run.data_key(), 0))
    latent = classic.Latent(cfg.model.z_dim, 0)
    bound = dict(objective=get_objective(cfg.objective), latent=latent, regularizer=regularizer)
    out = {}
    for name, loss, updates in (
        ("d", classic.critic_loss, ("d",)),
        ("g", classic.generator_loss, ("g",)),
    ):

        def value(state, batch, loss=loss, updates=updates):
            params = {n: ms.params for n, ms in state.nets.items()}
            ctx = steps.Context(state, params, updates, None)
            return loss(ctx, batch, jax.random.key(4), **bound)[0]

        out[name] = float(jax.jit(value)(state, batch))
    return out


def test_augmentation_at_p_zero_leaves_both_losses_as_they_are_and_p_one_changes_them():
    cfg = tiny_config("none")
    plain = losses_of(cfg, None)
    ops = augment.parse_policy("color,translation,cutout")
    assert losses_of(cfg, regularizers.Regularizer(ops=ops, p=0.0)) == plain
    augmented = losses_of(cfg, regularizers.Regularizer(ops=ops, p=1.0))
    assert augmented["d"] != plain["d"] and augmented["g"] != plain["g"]


def test_the_generators_gradient_passes_through_the_augmentation():
    run = runs.build_run(tiny_config())
    state = jax.jit(run.init_state)(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run.sample_batches(run.data_key(), 0))
    reg = regularizers.from_config(run.config)
    bound = dict(
        objective=get_objective(run.config.objective),
        latent=classic.Latent(run.config.model.z_dim, 0),
        regularizer=reg,
    )

    def g_loss(g_params):
        params = {"g": g_params, "d": state.nets["d"].params}
        ctx = steps.Context(state, params, ("g",), None)
        return classic.generator_loss(ctx, batch, jax.random.key(4), **bound)[0]

    grads = jax.jit(jax.grad(g_loss))(state.nets["g"].params)
    norm = float(jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads))))
    assert np.isfinite(norm) and norm > 0


@pytest.mark.slow  # a minute or more on the shared cores
def test_ada_and_lecam_keep_their_arrays_in_aux_and_log_them():
    cfg = tiny_config("ada", **{"regularizer.lecam_weight": 0.3, "augment.ada_interval": 1})
    cfg.augment.ada_kimg = 0.01  # p moves by B / 10 = 0.8 per critic update
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    assert set(state.aux) == {"augment_p", "ada_signs", "ada_count", "lecam_real", "lecam_fake"}
    step = steps.make_train_step(run.game)
    ps = [float(state.aux["augment_p"])]
    for i in range(3):
        state, metrics = step(state, run.sample_batches(run.data_key(), i))
        ps.append(float(state.aux["augment_p"]))
        rt = float(metrics["d/ada_rt"])
        expected = ps[-2] + (0.8 if rt > 0.6 else -0.8)
        assert ps[-1] == pytest.approx(min(1.0, max(0.0, expected)))
        assert float(metrics["d/augment_p"]) == ps[-2]
    assert float(metrics["d/lecam_real"]) == float(state.aux["lecam_real"])
    assert {"d/lecam", "d/lecam_fake"} <= set(metrics)


@pytest.mark.slow
def test_resume_keeps_p_and_the_emas_bit_identical(tmp_path, capsys):
    cfg = tiny_config("ada", steps_=8, **{"regularizer.lecam_weight": 0.3})
    # p starts inside (0, 1) and moves by 0.24 every 3 critic updates: the interval spans the
    # resume at step 4, so the count (1 there, 2 at step 8) must come back with the checkpoint.
    cfg.augment.p, cfg.augment.ada_kimg, cfg.augment.ada_interval = 0.5, 0.1, 3
    cfg.checkpoint.every_steps = 4
    straight = train.train_and_evaluate(cfg, tmp_path)
    assert int(straight.aux["ada_count"]) == 8 % 3
    assert float(straight.aux["lecam_real"]) != 0 and float(straight.aux["lecam_fake"]) != 0
    shutil.rmtree(checkpointing.checkpoint_dir(tmp_path) / "8")
    capsys.readouterr()
    resumed = train.train_and_evaluate(cfg, tmp_path)
    assert "resuming from the checkpoint at step 4" in capsys.readouterr().out
    for name in straight.aux:
        np.testing.assert_array_equal(straight.aux[name], resumed.aux[name], err_msg=name)
    for x, y in zip(leaves(straight), leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("d/augment_p" in r and "d/ada_rt" in r for r in lines)


# --- the data subset ----------------------------------------------------------------------------


def test_the_subset_is_fixed_and_batches_come_from_it_alone():
    full, _ = data.digits_arrays(16)
    ds = data.get_dataset({"name": "digits", "num_examples": 50})
    idx = data.subset_indices(len(full), 50)
    np.testing.assert_array_equal(idx, data.subset_indices(len(full), 50))
    assert len(idx) == 50 and len(set(idx.tolist())) == 50
    subset = full[idx].reshape(50, -1)
    batch = np.asarray(ds.sample(jax.random.key(3), 40)["x"]).reshape(40, -1)
    distance = np.abs(batch[:, None, :] - subset[None]).max(axis=-1).min(axis=1)
    assert (distance == 0).all() and ds.subset == 50


@pytest.mark.slow  # a minute or more on the shared cores
def test_the_evaluation_compares_with_every_real_image():
    from gan_jax import evaluation

    ds = data.get_dataset({"name": "digits", "num_examples": 50})
    embedding = evaluation.classifier_embedding(ds)
    assert embedding.real_features.shape[0] == 1797
    assert "subset of 50" in embedding.protocol["real_split"]


# --- config checks and the recipe -------------------------------------------------------------


@pytest.mark.parametrize(
    "preset,overrides,key",
    [
        ("none", {"augment.policy": "color,flip"}, "augment.policy"),
        ("diffaugment", {"augment.p": 1.5}, "augment.p"),
        ("diffaugment", {"augment.p": 0.0}, "augment.p"),  # never augments
        ("none", {"augment.ada": True}, "augment.ada"),  # nothing to adapt
        ("ada", {"objective.name": "wasserstein_gp", "model.d_norm": "layer"}, "augment.ada"),
        ("ada", {"augment.ada_target": 1.0}, "augment.ada_target"),
        ("ada", {"augment.ada_interval": 0}, "augment.ada_interval"),
        ("ada", {"augment.ada_kimg": 0}, "augment.ada_kimg"),
        ("lecam", {"regularizer.lecam_decay": 1.0}, "regularizer.lecam_decay"),
        ("lecam", {"regularizer.lecam_weight": -0.1}, "regularizer.lecam_weight"),
        ("bcr", {"regularizer.bcr_policy": ""}, "regularizer.bcr_policy"),
        ("bcr", {"regularizer.bcr_fake": float("nan")}, "regularizer.bcr_fake"),
        ("diffaugment", {"data.num_examples": 1798}, "data.num_examples"),
        ("diffaugment", {"data.num_examples": -1}, "data.num_examples"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(preset, overrides, key):
    with pytest.raises(ConfigError) as info:
        runs.build_run(tiny_config(preset, **overrides))
    assert info.value.key == key


def test_regularisers_are_refused_where_nothing_reads_them():
    cfg = load_config("infogan", **{"augment.policy": "translation"})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == "augment.policy" and "infogan" in str(info.value)
    cfg = load_config("nsgan", "ring8", **{"regularizer.bcr_real": 10.0})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == "regularizer.bcr_real"
    cfg = load_config("nsgan", "ring8", **{"data.num_examples": 10})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == "data.num_examples"
    # LeCam reads no images: it trains on the 2D mixtures.
    assert runs.build_run(load_config("nsgan", "ring8", **{"regularizer.lecam_weight": 0.3}))


def test_a_config_without_the_blocks_builds_the_plain_game():
    cfg = load_config("nsgan")
    del cfg.augment, cfg.regularizer
    run = runs.build_run(cfg)
    assert run.game.init_aux() == {}


def test_the_recipe_presets():
    da, ada, lecam, bcr, none = (
        load_config("diffaugment", v) for v in ("diffaugment", "ada", "lecam", "bcr", "none")
    )
    assert load_config("diffaugment").to_dict() == da.to_dict()
    assert da.augment.policy == "color,translation,cutout" and da.augment.p == 1.0
    assert not da.augment.ada and da.data.num_examples == 180 and da.data.name == "digits"
    assert ada.augment.ada and ada.augment.p == 0.0 and ada.augment.policy == da.augment.policy
    assert lecam.regularizer.lecam_weight > 0 and lecam.augment.policy == da.augment.policy
    assert bcr.regularizer.bcr_real == bcr.regularizer.bcr_fake == 10.0 and not bcr.augment.policy
    assert regularizers.from_config(none) is None and none.data.num_examples == 180
    m = load_config("diffaugment", "ada,mnist5k")
    assert m.data.name == "mnist5k" and m.data.num_examples == 500 and m.augment.ada
    with pytest.raises(ValueError):
        load_config("diffaugment", "ada,lecam")


@pytest.mark.slow  # compiles a double-backward critic step
def test_diffaugment_composes_with_a_relativistic_objective_and_r1_and_lecam():
    # R3GAN-like (relativistic pairing + R1) with DiffAugment and LeCam: the penalty is taken at
    # the augmented images, and every term is finite.
    cfg = tiny_config(
        "lecam",
        **{
            "objective.name": "relativistic_average",
            "objective.penalty": "r1",
            "objective.penalty_weight": 1.0,
            "model.d_norm": "layer",
        },
    )
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    _, metrics = steps.make_train_step(run.game)(state, run.sample_batches(run.data_key(), 0))
    assert {"d/lecam", "d/penalty", "d/real_grad_norm"} <= set(metrics)
    assert all(np.isfinite(float(v)) for v in metrics.values())
