"""Progressive growing (gan_jax/models/pggan.py, gan_jax/games/pggan.py): the layers and the drift
term in closed form, the fade-in's two ends, the schedule, config checks, and the trainer across
a stage change (one program per stage, exact resume before / after the change and after a
SIGTERM just past it)."""

from __future__ import annotations

import math
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import pggan as game
from gan_jax.models import MODELS
from gan_jax.models import pggan as nets
from gan_jax.validation import validate


def tiny_config(steps_: int = 6, **overrides):
    """8x8 digits, stages 4 -> 8 px, the change at step 3 (fade-in over 2 steps)."""
    cfg = load_config("pggan", **overrides)
    cfg.data.resolution = 8
    cfg.model.width, cfg.model.z_dim = 4, 8
    cfg.game.stage_steps, cfg.game.fade_steps = 3, 2
    cfg.train.steps, cfg.train.batch_size = steps_, 8
    cfg.train.log_every, cfg.train.sample_every = 1, 0
    cfg.eval.num_samples, cfg.eval.every_steps, cfg.eval.at_start = 64, 0, False
    cfg.checkpoint.every_steps = steps_
    return cfg


def leaves(tree) -> list[np.ndarray]:
    out = []
    for x in jax.tree.leaves(tree):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


# --- closed forms -------------------------------------------------------------------------------


def test_drift_penalty_is_epsilon_times_the_mean_square_of_the_real_scores():
    loss, terms = game.drift_penalty(jnp.asarray([1.0, -2.0, 3.0, 0.0]), 1e-3)
    np.testing.assert_allclose(float(terms["drift"]), 14.0 / 4)
    np.testing.assert_allclose(float(loss), 1e-3 * 14.0 / 4, rtol=1e-6)


def test_the_critic_loss_adds_the_drift_term_to_the_objective():
    cfg = tiny_config()
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run.sample_batches(run.data_key(), 0))
    critic = run.game.players[0].loss
    key = jax.random.key(1)
    ctx = steps.Context(state, {n: s.params for n, s in state.nets.items()}, ("d",), None)
    with_drift, terms = critic(ctx, batch, key)
    cfg.game.drift = 0.0
    no_drift_game = runs.build_run(cfg).game
    ctx = steps.Context(state, {n: s.params for n, s in state.nets.items()}, ("d",), None)
    without, _ = no_drift_game.players[0].loss(ctx, batch, key)
    np.testing.assert_allclose(
        float(with_drift - without), 1e-3 * float(terms["drift"]), rtol=1e-4, atol=1e-7
    )
    # Stage 0 reads the real batch pooled to 4x4; the drift term is the mean of its scores^2.
    d = state.nets["d"]
    out = d.apply_fn({"params": d.params}, nets.resize(batch["x"], 4), stage=0, alpha=1.0)
    np.testing.assert_allclose(float(terms["drift"]), float(jnp.mean(out**2)), rtol=1e-5)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = jnp.asarray([[[[3.0, 4.0], [0.0, 2.0]]]])  # (1, 1, 2, 2)
    y = nets.pixel_norm(x)
    np.testing.assert_allclose(np.asarray(y[0, 0, 0]), [3 / math.sqrt(12.5), 4 / math.sqrt(12.5)])
    np.testing.assert_allclose(np.asarray(jnp.mean(y**2, -1)), [[[1.0, 1.0]]], rtol=1e-6)


def test_equalized_layers_scale_unit_normal_weights_by_he_constant_at_run_time():
    x = jax.random.normal(jax.random.key(0), (3, 50))
    dense = nets.EqualizedDense(400)
    params = dense.init(jax.random.key(1), x)["params"]
    assert abs(float(jnp.std(params["kernel"])) - 1.0) < 0.02  # stored N(0, 1)
    expected = x @ params["kernel"] * (math.sqrt(2) / math.sqrt(50))
    np.testing.assert_allclose(
        np.asarray(dense.apply({"params": params}, x)), np.asarray(expected), rtol=1e-5, atol=1e-5
    )
    img = jax.random.normal(jax.random.key(2), (2, 5, 5, 3))
    conv = nets.EqualizedConv(7, 3, gain=1.0)
    cp = conv.init(jax.random.key(3), img)["params"]
    bias = jnp.arange(7.0)
    numbers = ("NHWC", "HWIO", "NHWC")
    manual = jax.lax.conv_general_dilated(
        img, cp["kernel"] / math.sqrt(27), (1, 1), "SAME", dimension_numbers=numbers
    )
    got = conv.apply({"params": {**cp, "bias": bias}}, img)
    np.testing.assert_allclose(np.asarray(got), np.asarray(manual + bias), rtol=1e-5, atol=1e-5)


def test_resize_pools_and_upsamples_exactly():
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    pooled = nets.resize(x, 2)
    np.testing.assert_allclose(np.asarray(pooled[0, :, :, 0]), [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(np.asarray(nets.resize(nets.resize(pooled, 4), 2)), pooled)


# --- the networks ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def networks():
    g, d = MODELS["pggan"]({"width": 4, "z_dim": 8, "minibatch_stddev": 2}, (16, 16, 1))
    z = jax.random.normal(jax.random.key(0), (4, 8))
    gp = g.init(jax.random.key(1), z)
    dp = d.init(jax.random.key(2), jnp.zeros((2, 16, 16, 1)))
    return g, d, gp, dp, z


def test_every_stage_runs_on_the_parameters_made_at_init(networks):
    g, d, gp, dp, z = networks
    assert {"to_rgb0", "to_rgb1", "to_rgb2", "block2_conv1"} <= set(gp["params"])
    assert {"from_rgb0", "from_rgb1", "from_rgb2", "block1_conv0"} <= set(dp["params"])
    for k, side in enumerate((4, 8, 16)):
        image = g.apply(gp, z, stage=k, alpha=0.5)
        assert image.shape == (4, side, side, 1)
        assert d.apply(dp, image, stage=k, alpha=0.5).shape == (4,)
    with pytest.raises(ValueError, match="stage 1 reads 8x8"):
        d.apply(dp, jnp.zeros((4, 16, 16, 1)), stage=1, alpha=1.0)


def test_fade_in_starts_from_the_previous_stage_and_ends_at_the_new_one(networks):
    g, d, gp, dp, z = networks
    prev = g.apply(gp, z, stage=1)
    np.testing.assert_allclose(
        np.asarray(g.apply(gp, z, stage=2, alpha=0.0)), np.asarray(nets.upsample(prev)), atol=1e-6
    )
    assert not np.allclose(g.apply(gp, z, stage=2, alpha=1.0), nets.upsample(prev), atol=1e-3)
    # The critic at alpha 0 reads a stage-2 image through stage 1's fromRGB: stage 1's critic.
    np.testing.assert_allclose(
        np.asarray(d.apply(dp, nets.upsample(prev), stage=2, alpha=0.0)),
        np.asarray(d.apply(dp, prev, stage=1, alpha=1.0)),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        np.asarray(g.apply(gp, z, stage=2, alpha=1.0)), np.asarray(g.apply(gp, z)), atol=1e-6
    )


def test_real_images_are_blended_like_the_generator_output():
    x = jax.random.normal(jax.random.key(0), (2, 16, 16, 1))
    at8 = nets.resize(x, 8)
    np.testing.assert_allclose(
        np.asarray(game.stage_images(x, 8, jnp.asarray(0.0), True)),
        np.asarray(nets.upsample(nets.resize(x, 4))),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        np.asarray(game.stage_images(x, 8, jnp.asarray(1.0), True)), np.asarray(at8), atol=1e-6
    )


def test_schedule_stages_and_alpha():
    s = game.Schedule(num_stages=3, stage_steps=10, fade_steps=4)
    assert s.boundaries == (10, 20) and s.first == 0
    assert float(s.alpha(jnp.asarray(5), 0)) == 1.0
    got = [float(s.alpha(jnp.asarray(t), 1)) for t in (10, 11, 12, 13, 14, 19)]
    assert got == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    flat = game.Schedule(num_stages=3, stage_steps=0, fade_steps=0)
    assert flat.boundaries == () and flat.first == 2 and float(flat.alpha(jnp.asarray(0), 2)) == 1
    run = runs.build_run(tiny_config())
    assert run.game.stages == (3,)
    assert [run.game.stage_of(t) for t in (0, 2, 3, 5)] == [0, 0, 1, 1]


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("game.fade_steps", 4, "game.fade_steps"),
        ("model.name", "dcgan", "model.name"),
        ("model.start_resolution", 3, "model.start_resolution"),
        ("data.resolution", 12, "data.resolution"),
        ("train.d_steps", 5, "train.d_steps"),
        ("model.num_classes", 10, "model.num_classes"),
    ],
)
def test_bad_values_raise_one_line_config_errors(key, value, match):
    cfg = tiny_config()
    section, name = key.split(".")
    cfg[section][name] = value
    with pytest.raises(ConfigError, match=match):
        validate(cfg)


# --- the trainer across a stage change ---------------------------------------------------------


@pytest.mark.slow
def test_resume_before_and_after_the_stage_change_is_bit_identical(tmp_path, monkeypatch):
    straight = train.train_and_evaluate(tiny_config(6), tmp_path / "straight")
    assert int(straight.aux["stage"]) == 1 and float(straight.aux["alpha"]) == 1.0
    for stop in (3, 4):  # at the boundary (stage 1 not yet run), and one step into the fade-in
        workdir = tmp_path / f"stop{stop}"
        first = train.train_and_evaluate(tiny_config(stop), workdir)
        assert int(first.aux["stage"]) == (0 if stop == 3 else 1)
        resumed = train.train_and_evaluate(tiny_config(6), workdir)
        for a, b in zip(leaves(straight), leaves(resumed), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_sigterm_just_after_the_stage_change_resumes_exactly(tmp_path, monkeypatch, capsys):
    straight = train.train_and_evaluate(tiny_config(6), tmp_path / "straight")
    write_log = train.RunLogger.log_train

    def interrupting(self, step, scalars, rate):
        if step == 3:  # the first stage-1 step is dispatched before this log is read
            signal.raise_signal(signal.SIGTERM)
        return write_log(self, step, scalars, rate)

    with monkeypatch.context() as m:
        m.setattr(train.RunLogger, "log_train", interrupting)
        stopped = train.train_and_evaluate(tiny_config(6), tmp_path / "run")
    assert 3 <= int(stopped.step) <= 4
    assert "SIGTERM: saved a checkpoint" in capsys.readouterr().out
    resumed = train.train_and_evaluate(tiny_config(6), tmp_path / "run")
    for a, b in zip(leaves(straight), leaves(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_trainer_compiles_one_step_per_stage_and_no_call_crosses_a_change(
    tmp_path, monkeypatch
):
    built = []
    make_dispatch = train.dispatch.make_dispatch

    def recording(run, n, mesh=None, **kw):
        built.append((kw.get("stage", 0), n))
        return make_dispatch(run, n, mesh, **kw)

    monkeypatch.setattr(train.dispatch, "make_dispatch", recording)
    cfg = tiny_config(6)
    cfg.train.steps_per_dispatch, cfg.train.log_every = 2, 2
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 6 and int(state.aux["stage"]) == 1
    # Steps 0-1 (2 per call), 2 (1: the call ends on the change at 3), 3 (1: log at 4), 4-5.
    assert built == [(0, 2), (0, 1), (1, 1), (1, 2)]
    images = runs.sample_images(runs.build_run(cfg), state, 4)
    assert images.shape == (4, 8, 8, 1) and np.isfinite(images).all()


def test_same_seed_same_numbers():
    cfg = tiny_config()
    run = runs.build_run(cfg)
    out = []
    for _ in range(2):
        state = jax.jit(run.init_state)(jax.random.key(cfg.seed))
        for stage, t in ((0, 0), (1, 3)):
            fn = steps.make_train_step(run.game.at_stage(stage))
            state = state.replace(step=jnp.asarray(t, jnp.int32))
            state, _ = fn(state, run.sample_batches(run.data_key(), t))
        out.append(leaves(state))
    for a, b in zip(*out, strict=True):
        np.testing.assert_array_equal(a, b)


def test_optimizer_states_restart_at_the_stage_start_only():
    cfg = tiny_config(**{"game.reset_optimizers": True})
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    fn = steps.make_train_step(run.game)
    state, _ = fn(state, run.sample_batches(run.data_key(), 0))  # Adam moments now non-zero
    begin = run.game.at_stage(1).begin_step
    assert begin is not None and run.game.begin_step is None
    for t, fresh in ((3, True), (4, False)):
        out = begin(state.replace(step=jnp.asarray(t, jnp.int32)))
        for name, ms in out.nets.items():
            init = ms.tx.init(ms.params)
            same = all(
                np.array_equal(a, b)
                for a, b in zip(leaves(ms.opt_state), leaves(init), strict=True)
            )
            assert same == fresh, (name, t)
    cfg.game.reset_optimizers = False
    assert runs.build_run(cfg).game.at_stage(1).begin_step is None


def test_bfloat16_networks_compute_in_bfloat16_and_return_float32():
    cfg = {"width": 4, "z_dim": 8, "minibatch_stddev": 2, "dtype": "bfloat16"}
    g, d = MODELS["pggan"](cfg, (8, 8, 1))
    z = jax.random.normal(jax.random.key(0), (4, 8))
    gp = g.init(jax.random.key(1), z)
    dp = d.init(jax.random.key(2), jnp.zeros((2, 8, 8, 1)))
    assert jax.tree.leaves(gp)[0].dtype == jnp.float32  # parameters stay float32
    image = g.apply(gp, z, stage=1, alpha=0.5)
    score = d.apply(dp, image, stage=1, alpha=0.5)
    assert image.dtype == score.dtype == jnp.float32
    reference = g.clone(dtype=jnp.float32).apply(gp, z, stage=1, alpha=0.5)
    np.testing.assert_allclose(np.asarray(image), np.asarray(reference), atol=0.1)
    assert not np.array_equal(np.asarray(image), np.asarray(reference))  # rounded: bf16 ran
