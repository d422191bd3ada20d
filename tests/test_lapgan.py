"""LAPGAN (gan_jax/games/lapgan.py, gan_jax/models/pyramid.py): the pyramid reconstructs the
image exactly, the sampler's levels have the right shapes, the losses on constructed critic
outputs, config checks, determinism."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs, steps
from gan_jax.errors import ConfigError
from gan_jax.games import lapgan
from gan_jax.losses import get_objective
from gan_jax.models import pyramid as pyr


def tiny_config(**overrides):
    cfg = load_config("lapgan", **{"model.width": 8, "model.z_dim": 8, **overrides})
    cfg.train.batch_size = 8
    return cfg


def test_laplacian_pyramid_reconstructs_the_image_exactly():
    x = jax.random.uniform(jax.random.key(0), (3, 16, 16, 2), minval=-1, maxval=1)
    lap = pyr.laplacian_pyramid(x, 3)
    assert [h.shape[1] for h in lap] == [4, 8, 16]
    np.testing.assert_allclose(pyr.reconstruct(lap), x, atol=1e-6)
    # Each residual has zero mean over every 2x2 block (d is the 2x2 average pool).
    np.testing.assert_allclose(pyr.downsample(lap[2]), 0.0, atol=1e-6)
    # A wrong residual does not reconstruct the image.
    assert not np.allclose(pyr.reconstruct([lap[0], lap[1], lap[2] * 0.5]), x, atol=1e-3)


def test_pyramid_on_a_constructed_image():
    block = jnp.array([[1.0, 3.0], [5.0, 7.0]])  # mean 4
    x = jnp.tile(block, (2, 2))[None, :, :, None]  # 4x4, every 2x2 block the same
    (base, none), (h, cond) = lapgan.real_levels(x, 2)
    assert none is None
    np.testing.assert_allclose(base, 4.0)
    np.testing.assert_allclose(cond, 4.0)
    np.testing.assert_allclose(h[0, :2, :2, 0], block - 4.0)
    assert pyr.resolutions(16, 4) == (4, 8, 16)
    assert pyr.resolutions(32, 8) == (8, 16, 32)
    with pytest.raises(ValueError):
        pyr.resolutions(24, 16)


def test_the_sampler_gives_every_level_its_shape():
    run = runs.build_run(tiny_config())
    state = jax.eval_shape(run.init_state, jax.random.key(0))
    z = jax.ShapeDtypeStruct((5, 3, 8), jnp.float32)
    names = lapgan.level_names((4, 8, 16))
    images = jax.eval_shape(lambda s, z: lapgan.sample_pyramid(s, names, z), state, z)
    assert [im.shape for im in images] == [(5, 4, 4, 1), (5, 8, 8, 1), (5, 16, 16, 1)]
    assert jax.eval_shape(run.game.generate, state, {"z": z}).shape == (5, 16, 16, 1)


@pytest.mark.slow
def test_the_sampler_builds_every_level_coarse_to_fine():
    run = runs.build_run(tiny_config())
    state = run.init_state(jax.random.key(0))
    z = run.eval_inputs(5)["z"]
    assert z.shape == (5, 3, 8)
    names = lapgan.level_names((4, 8, 16))
    images = lapgan.sample_pyramid(state, names, z)
    assert [im.shape for im in images] == [(5, 4, 4, 1), (5, 8, 8, 1), (5, 16, 16, 1)]
    # Level k is up(level k-1) plus G_k's residual on it.
    residual = steps.apply(state, "g16", z[:, 2], pyr.upsample(images[1]))
    np.testing.assert_allclose(images[2], pyr.upsample(images[1]) + residual, atol=1e-6)
    out = run.game.generate(state, {"z": z})
    np.testing.assert_allclose(out, jnp.clip(images[2], -1, 1))


class ConstantCritics:
    """A stand-in Context: G_k returns zeros, critic d<R> a constant logit per input kind."""

    def __init__(self, real_logits, fake_logits):
        self.real, self.fake = real_logits, fake_logits

    def __call__(self, name, *inputs, train):
        x = inputs[0]
        if name.startswith("g"):
            r = 4 if len(inputs) == 2 else inputs[1].shape[1]
            return jnp.zeros((x.shape[0], r, r, 1))
        is_fake = bool(jnp.all(x == 0.0))
        logit = (self.fake if is_fake else self.real)[name]
        return jnp.full((x.shape[0],), logit)

    def normal(self, key, shape):
        return jax.random.normal(key, shape)


def test_losses_are_the_sums_of_every_levels_objective():
    names = lapgan.level_names((4, 8, 16))
    x = jax.random.uniform(jax.random.key(1), (4, 16, 16, 1), minval=0.1, maxval=1.0)
    real = {"d4": 1.0, "d8": -0.5, "d16": 2.0}
    fake = {"d4": -1.0, "d8": 0.3, "d16": 0.0}
    ctx = ConstantCritics(real, fake)
    bound = dict(objective=get_objective({"name": "non_saturating"}), names=names, z_dim=3)
    d_loss, d_terms = lapgan.pyramid_loss(
        ctx, {"x": x}, jax.random.key(0), num_classes=0, player="d", **bound
    )
    sp = lambda v: float(np.log1p(np.exp(v)))
    expected = sum(sp(-real[d]) + sp(fake[d]) for d in real)
    np.testing.assert_allclose(d_loss, expected, rtol=1e-6)
    np.testing.assert_allclose(d_terms["l8/real"], sp(0.5), rtol=1e-6)
    g_loss, g_terms = lapgan.pyramid_loss(
        ctx, {"x": x}, jax.random.key(0), num_classes=0, player="g", **bound
    )
    np.testing.assert_allclose(g_loss, sum(sp(-fake[d]) for d in fake), rtol=1e-6)
    assert set(g_terms) == {"l4/fake", "l8/fake", "l16/fake"}


@pytest.mark.slow
def test_one_step_trains_every_level_and_is_deterministic():
    run = runs.build_run(tiny_config())
    batch = jax.tree.map(lambda a: a[0], run.sample_batches(run.data_key(), 0))
    outs = []
    for _ in range(2):
        state, metrics = run.init_state(jax.random.key(0)), {}
        for player in run.game.players:
            state, m = steps.update(run.game, player, state, batch)
            metrics.update(m)
        outs.append((state, metrics))
    (s1, m1), (s2, m2) = outs
    for a, b in zip(jax.tree.leaves(s1.nets), jax.tree.leaves(s2.nets), strict=True):
        np.testing.assert_array_equal(a, b)
    start = run.init_state(jax.random.key(0))
    for name in ("g4", "d4", "g8", "d8", "g16", "d16"):
        assert int(s1.nets[name].step) == 1
        moved = jax.tree.map(
            lambda a, b: float(jnp.abs(a - b).max()), s1.nets[name].params, start.nets[name].params
        )
        assert max(jax.tree.leaves(moved)) > 0
    assert {"g/l4/fake", "g/l8/fake", "g/l16/fake", "d/l16/real"} <= set(m1)


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"game.base_resolution": 5}, "game.base_resolution"),
        ({"game.residual_layers": 0}, "game.residual_layers"),
        ({"game.base_resolution": 8, "data.resolution": 8}, "data.resolution"),
        ({"objective.penalty": "r1"}, "objective.penalty"),
    ],
)
def test_bad_configs_raise_one_config_error(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        runs.build_run(tiny_config(**overrides))


def test_bfloat16_compute_keeps_float32_params_and_samples():
    run = runs.build_run(tiny_config(**{"model.dtype": "bfloat16"}))
    state = jax.eval_shape(run.init_state, jax.random.key(0))
    assert {x.dtype for x in jax.tree.leaves(state.nets["g16"].params)} == {jnp.dtype("float32")}
    z = jax.ShapeDtypeStruct((3, 3, 8), jnp.float32)
    out = jax.eval_shape(run.game.generate, state, {"z": z})
    assert out.shape == (3, 16, 16, 1) and out.dtype == jnp.float32
