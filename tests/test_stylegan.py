"""StyleGAN / StyleGAN2: AdaIN, modulated convolutions, mixing, truncation, w_avg, path length."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs, steps
from gan_jax.errors import ConfigError
from gan_jax.games import stylegan as game
from gan_jax.models import MODELS
from gan_jax.models import stylegan as sg

SHAPE = (16, 16, 1)
TINY = {"width": 8, "z_dim": 8, "w_dim": 8}


def generator(name="stylegan2", **cfg):
    g, d = MODELS[name]({**TINY, **cfg}, SHAPE)
    z = jax.random.normal(jax.random.key(0), (4, 8))
    return g, d, z, g.init(jax.random.key(1), z, None, train=False)


def test_adain_output_has_the_styles_mean_and_std_per_channel():
    x = jax.random.normal(jax.random.key(0), (3, 8, 8, 5)) * 4.0 + 2.0
    scale = jnp.asarray([[0.5, 1.0, 2.0, 3.0, 0.1]] * 3)
    bias = jnp.asarray([[-1.0, 0.0, 1.0, 2.0, 5.0]] * 3)
    y = sg.adain(x, scale, bias)
    np.testing.assert_allclose(jnp.mean(y, axis=(1, 2)), bias, atol=1e-4)
    np.testing.assert_allclose(jnp.std(y, axis=(1, 2)), scale, rtol=1e-4)


def test_demodulated_weights_have_unit_norm_and_keep_unit_variance():
    k = jax.random.normal(jax.random.key(0), (3, 3, 16, 8))
    s = jax.random.uniform(jax.random.key(1), (2, 16), minval=0.2, maxval=3.0)
    d = sg.demodulation(k, s)
    modulated = k[None] * s[:, None, None, :, None] * d[:, None, None, None, :]
    np.testing.assert_allclose(jnp.sum(jnp.square(modulated), axis=(1, 2, 3)), 1.0, rtol=1e-5)
    x = jax.random.normal(jax.random.key(2), (2, 64, 64, 16))  # unit variance, iid
    y = sg.modulated_conv(x, k, s)[:, 1:-1, 1:-1]  # the interior: no zero padding
    np.testing.assert_allclose(jnp.var(y, axis=(1, 2)), 1.0, atol=0.08)
    undemodulated = sg.modulated_conv(x, k, s, demodulate=False)[:, 1:-1, 1:-1]
    assert float(jnp.mean(jnp.var(undemodulated, axis=(1, 2)))) > 10.0  # so the test can fail


def test_modulated_conv_equals_convolving_each_sample_with_its_own_weights():
    k = jax.random.normal(jax.random.key(0), (3, 3, 4, 6))
    s = jax.random.normal(jax.random.key(1), (2, 4))
    x = jax.random.normal(jax.random.key(2), (2, 8, 8, 4))
    d = sg.demodulation(k, s)
    for b in range(2):
        w = k * s[b][None, None, :, None] * d[b][None, None, None, :]
        np.testing.assert_allclose(
            sg.modulated_conv(x, k, s)[b], sg.conv2d(x[b : b + 1], w)[0], rtol=1e-4, atol=1e-5
        )


@pytest.mark.parametrize("name", [pytest.param("stylegan", marks=pytest.mark.slow), "stylegan2"])
def test_shapes_styles_and_determinism(name):
    g, d, z, v = generator(name)
    assert g.num_ws == sg.num_styles(16) == 6
    x = g.apply(v, z, None, train=False)
    assert x.shape == (4, *SHAPE) and x.dtype == jnp.float32
    np.testing.assert_array_equal(x, g.apply(v, z, None, train=False))  # same z, same noise
    vd = d.init(jax.random.key(2), x, None, train=False)
    assert d.apply(vd, x, None, train=False).shape == (4,)
    low = MODELS[name]({**TINY, "dtype": "bfloat16"}, SHAPE)[0]
    y = low.apply(v, z, None, train=False)
    assert y.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(y)))
    assert not np.array_equal(np.asarray(y), np.asarray(x))  # it did compute in bfloat16


def test_noise_inputs_change_the_image_once_their_strength_is_nonzero():
    g, _, z, v = generator()
    params = jax.tree_util.tree_map_with_path(
        lambda p, a: a + 1.0 if "strength" in jax.tree_util.keystr(p) else a, v["params"]
    )
    x0 = g.apply(v, z, None, train=False)
    x1 = g.apply({**v, "params": params}, z, None, train=False)
    assert float(jnp.max(jnp.abs(x1 - x0))) > 1e-3
    off = MODELS["stylegan2"]({**TINY, "noise_inputs": False}, SHAPE)[0]
    assert "noise0" not in off.init(jax.random.key(1), z, None, train=False)["params"]["synthesis"]


def test_style_mixing_uses_two_ws_split_at_the_crossover_layer():
    g, _, z, v = generator()
    z2 = jax.random.normal(jax.random.key(5), z.shape)
    w1 = g.apply(v, z, train=False, method="mapping")
    w2 = g.apply(v, z2, train=False, method="mapping")
    assert float(jnp.max(jnp.abs(w1 - w2))) > 1e-3
    crossover = jnp.asarray([1, 3, 5, 6])
    ws = g.apply(v, z, None, z2, crossover, train=False, method="styles")
    for b, c in enumerate([1, 3, 5, 6]):
        for layer in range(6):
            np.testing.assert_allclose(ws[b, layer], (w1 if layer < c else w2)[b], rtol=1e-6)
    mixed = g.apply(v, z, None, z2, crossover, train=False)
    assert not np.allclose(mixed, g.apply(v, z, None, train=False))


def test_truncation_psi_0_gives_w_avg_and_psi_1_the_identity():
    g, _, z, v = generator()
    w_avg = jnp.linspace(-1.0, 1.0, 8)
    v = {**v, "batch_stats": {"w_avg": w_avg}}
    ws0 = g.apply(v, z, train=False, truncation=0.0, method="styles")
    np.testing.assert_allclose(ws0, jnp.broadcast_to(w_avg, ws0.shape), atol=1e-6)
    ws1 = g.apply(v, z, train=False, truncation=1.0, method="styles")
    np.testing.assert_allclose(ws1, g.apply(v, z, train=False, method="styles"), rtol=1e-6)
    half = g.apply(v, z, train=False, truncation=0.5, method="styles")
    np.testing.assert_allclose(half, 0.5 * (ws1 + ws0), rtol=1e-5, atol=1e-6)
    x0 = g.apply(v, z, None, train=False, truncation=0.0)
    # Every z maps to the same w: only the per-sample noise (strength 0 at init) could differ.
    np.testing.assert_allclose(x0, jnp.broadcast_to(x0[:1], x0.shape), atol=1e-5)


def test_w_avg_is_a_running_mean_updated_in_train_mode_only():
    g, _, z, v = generator(w_avg_decay=0.9)
    w = g.apply(v, z, train=False, method="mapping")
    _, new = g.apply(v, z, None, train=True, mutable=["batch_stats"])
    np.testing.assert_allclose(new["batch_stats"]["w_avg"], 0.1 * jnp.mean(w, axis=0), rtol=1e-5)
    _, same = g.apply(v, z, None, train=False, mutable=["batch_stats"])
    np.testing.assert_array_equal(same["batch_stats"]["w_avg"], jnp.zeros(8))


def test_path_length_of_a_linear_generator_is_its_jacobian_norm():
    c, (b, layers, dim) = 3.0, (2, 4, 8)
    synth = lambda ws: c * ws.reshape(b, 8, 4, 1)  # noqa: E731  J^T y = c y
    ws = jax.random.normal(jax.random.key(0), (b, layers, dim))
    y = jnp.ones((b, 8, 4, 1))
    lengths = game.path_lengths(synth, ws, y)
    np.testing.assert_allclose(lengths, c * math.sqrt(dim), rtol=1e-6)  # sqrt(mean_l sum_d c^2)
    y2 = y.at[1].set(2.0)
    np.testing.assert_allclose(game.path_lengths(synth, ws, y2), [c * 8**0.5, 2 * c * 8**0.5])
    pen, a = game.path_length_penalty(lengths, jnp.asarray(0.0), 1.0)
    assert float(pen) == pytest.approx(0.0, abs=1e-8) and float(a) == pytest.approx(c * 8**0.5)
    pen, a = game.path_length_penalty(lengths, jnp.asarray(0.0), 0.5)
    assert float(a) == pytest.approx(0.5 * c * 8**0.5)
    assert float(pen) == pytest.approx((0.5 * c * 8**0.5) ** 2, rel=1e-6)
    # A quadratic generator: the gradient of the penalty reaches its parameters.
    grad = jax.grad(lambda k: game.path_lengths(lambda w: k * w**2 / 2, ws, ws).sum())(1.0)
    np.testing.assert_allclose(grad, jnp.sum(jnp.sqrt(jnp.mean(jnp.sum(ws**4, 2), 1))), rtol=1e-5)


def test_config_errors_name_the_key():
    cfg = load_config("stylegan2")
    cfg.model.name = "dcgan"
    with pytest.raises(ConfigError, match="model.name"):
        runs.build_run(cfg)
    cfg = load_config("stylegan2")
    cfg.model.mbstd_group = 5
    with pytest.raises(ConfigError, match="model.mbstd_group"):
        runs.build_run(cfg)
    cfg = load_config("stylegan2")
    cfg.game.style_mixing = 1.5
    with pytest.raises(ConfigError, match="game.style_mixing"):
        runs.build_run(cfg)
    cfg = load_config("stylegan2")
    cfg.model.num_classes = 10
    with pytest.raises(ConfigError, match="model.num_classes"):
        runs.build_run(cfg)


def tiny_run(seed: int = 0):
    cfg = load_config(
        "stylegan2",
        **{
            "model.width": 8,
            "model.z_dim": 8,
            "model.w_dim": 8,
            "game.pl_every": 2,
            "objective.penalty_every": 2,
            "train.batch_size": 8,
            "seed": seed,
        },
    )
    return runs.build_run(cfg)


@pytest.mark.slow
def test_training_steps_move_pl_mean_and_w_avg_and_are_deterministic():
    run = tiny_run()
    step = jax.jit(steps.make_train_step(run.game, jit=False))  # no donation: EMA shares buffers
    out = []
    for _ in range(2):
        state = run.init_state(jax.random.key(0))
        assert float(state.aux["pl_mean"]) == 0.0
        metrics = []
        for s in range(3):
            state, m = step(state, run.sample_batches(run.data_key(), s))
            metrics.append(m)
        out.append((state, metrics))
    (state, metrics), (again, _) = out
    # G updates 0 and 2 take the path length (pl_every 2), update 1 does not.
    assert [float(m["g/pl_length"]) > 0 for m in metrics] == [True, False, True]
    assert float(metrics[1]["g/pl_penalty"]) == 0.0
    assert float(state.aux["pl_mean"]) > 0
    assert float(jnp.max(jnp.abs(state.nets["g"].batch_stats["w_avg"]))) > 0
    for a, b in zip(jax.tree.leaves(state.nets), jax.tree.leaves(again.nets), strict=True):
        np.testing.assert_array_equal(a, b)
    x = steps.apply(state, "g", jnp.ones((2, 8)), truncation=0.7)
    assert x.shape == (2, *SHAPE)


def test_the_samplers_truncation_reaches_g_as_psi_in_w():
    """gan_jax.sample --truncation on a StyleGAN run: the family truncates itself (psi in W,
    own_truncation), so the sampler passes T to G instead of resampling z."""
    run = tiny_run()
    state = run.init_state(jax.random.key(0))
    # w_avg is 0 at init, so psi = 0 maps every z to the same w (the noise inputs still vary).
    state.nets["g"].batch_stats["w_avg"] = jnp.full_like(state.nets["g"].batch_stats["w_avg"], 0.5)
    inputs = run.eval_inputs(4)
    plain = np.asarray(run.game.generate(state, inputs))
    psi_1 = np.asarray(run.game.generate(state, run.eval_inputs(4, truncation=1.0)))
    psi_half = run.eval_inputs(4, truncation=0.5)
    np.testing.assert_array_equal(np.asarray(psi_half["z"]), np.asarray(inputs["z"]))  # z kept
    np.testing.assert_allclose(psi_1, plain, atol=1e-6)
    assert np.max(np.abs(np.asarray(run.game.generate(state, psi_half)) - plain)) > 1e-3
