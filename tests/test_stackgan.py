"""StackGAN++ (gan_jax/games/stackgan.py): the KL and colour-consistency terms in closed form, the
losses on constructed critic outputs, the tree's shapes per stage, conditioning augmentation,
config checks."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs
from gan_jax.errors import ConfigError
from gan_jax.games import stackgan
from gan_jax.losses import get_objective
from gan_jax.models import pyramid as pyr


def tiny_config(preset=None, **overrides):
    small = {"model.width": 8, "model.z_dim": 8, "game.embed_dim": 8, "game.ca_dim": 4}
    cfg = load_config("stackgan", preset, **{**small, **overrides})
    cfg.train.batch_size = 8
    return cfg


def test_kl_to_the_standard_normal_in_closed_form():
    mu = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    logvar = jnp.array([[0.0, math.log(4.0)], [0.0, 0.0]])
    # Row 1: 0.5 [(1 + 1 - 1 - 0) + (4 + 4 - 1 - log 4)]; row 2 is N(0, I): 0.
    row1 = 0.5 * ((1 + 1 - 1) + (4 + 4 - 1 - math.log(4.0)))
    np.testing.assert_allclose(stackgan.kl_standard_normal(mu, logvar), row1 / 2, rtol=1e-6)
    np.testing.assert_allclose(stackgan.kl_standard_normal(mu[1:], logvar[1:]), 0.0, atol=1e-7)


def test_colour_consistency_in_closed_form():
    # Grayscale: pixels 0, 0, 2, 2 (mean 1, variance 1) against a constant 3 (mean 3, var 0).
    a = jnp.array([0.0, 0.0, 2.0, 2.0]).reshape(1, 2, 2, 1)
    b = jnp.full((1, 4, 4, 1), 3.0)  # another scale: the moments are per image
    loss, terms = stackgan.colour_consistency(a, b, mean_weight=1.0, cov_weight=5.0)
    np.testing.assert_allclose(terms["colour_mean"], 4.0)
    np.testing.assert_allclose(terms["colour_cov"], 1.0)
    np.testing.assert_allclose(loss, 4.0 + 5.0)
    # RGB: two pixels (1, 2, 0) and (-1, 0, 0): mean (0, 1, 0), covariance [[1,1,0],[1,1,0],0].
    rgb = jnp.array([[1.0, 2.0, 0.0], [-1.0, 0.0, 0.0]]).reshape(1, 1, 2, 3)
    mu, cov = stackgan.pixel_moments(rgb)
    np.testing.assert_allclose(mu, [[0.0, 1.0, 0.0]])
    np.testing.assert_allclose(cov[0], [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    zero, _ = stackgan.colour_consistency(rgb, rgb, 1.0, 5.0)
    np.testing.assert_allclose(zero, 0.0)


class ConstantCritics:
    """A stand-in Context: G returns constant images per stage (and mu, logvar); the critic of
    scale d<R> returns constant (unconditional, conditional) logits for reals and fakes."""

    def __init__(self, real, fake, levels, mu, logvar):
        self.real, self.fake, self.levels, self.mu, self.logvar = real, fake, levels, mu, logvar

    def __call__(self, name, *inputs, train):
        x = inputs[0]
        if name == "g":
            n = x.shape[0]
            images = tuple(
                jnp.full((n, r, r, 1), -0.5 * (i + 1)) for i, r in enumerate(self.levels)
            )
            return images, (self.mu, self.logvar)
        u, c = (self.fake if bool(jnp.all(x < -0.4)) else self.real)[name]
        return jnp.full((x.shape[0],), u), jnp.full((x.shape[0],), c)

    def normal(self, key, shape):
        return jax.random.normal(key, shape)

    def randint(self, key, shape, high):
        return jax.random.randint(key, shape, 0, high)


def test_losses_on_constructed_critic_outputs():
    real = {"d8": (1.0, 2.0), "d16": (-0.5, 0.5)}
    fake = {"d8": (-1.0, 0.3), "d16": (0.2, -2.0)}
    mu, logvar = jnp.ones((4, 3)), jnp.zeros((4, 3))  # KL = 0.5 * 3 per row
    ctx = ConstantCritics(real, fake, (8, 16), mu, logvar)
    gc = ml_collections.ConfigDict(
        {**stackgan.DEFAULTS, "uncond_weight": 0.5, "kl_weight": 2.0, "ca_dim": 3}
    )
    batch = {"x": jax.random.uniform(jax.random.key(0), (4, 16, 16, 1)), "label": jnp.arange(4)}
    bound = dict(
        objective=get_objective({"name": "non_saturating"}),
        gc=gc,
        names=("d8", "d16"),
        z_dim=2,
        num_classes=10,
    )
    sp = lambda v: math.log1p(math.exp(v))
    d_loss, _ = stackgan.stack_loss(ctx, batch, jax.random.key(1), player="d", **bound)
    expected = sum(
        sp(-real[d][1]) + sp(fake[d][1]) + 0.5 * (sp(-real[d][0]) + sp(fake[d][0])) for d in real
    )
    np.testing.assert_allclose(d_loss, expected, rtol=1e-6)
    g_loss, terms = stackgan.stack_loss(ctx, batch, jax.random.key(1), player="g", **bound)
    adversarial = sum(sp(-fake[d][1]) + 0.5 * sp(-fake[d][0]) for d in fake)
    # Stage images -0.5 and -1.0: mean difference 0.5 (squared 0.25), equal (zero) variances.
    np.testing.assert_allclose(terms["s16/colour_mean"], 0.25, rtol=1e-6)
    np.testing.assert_allclose(terms["kl"], 1.5, rtol=1e-6)
    np.testing.assert_allclose(g_loss, adversarial + 0.25 * 1.0 + 2.0 * 1.5, rtol=1e-6)


@pytest.mark.parametrize("stages, sizes", [(1, (16,)), (2, (8, 16)), (3, (4, 8, 16))])
def test_the_tree_has_one_output_and_one_critic_per_stage(stages, sizes):
    run = runs.build_run(tiny_config(**{"game.stages": stages}))
    assert sorted(n for n in run.game.networks if n != "g") == sorted(f"d{s}" for s in sizes)
    state = jax.eval_shape(run.init_state, jax.random.key(0))
    inputs = jax.eval_shape(lambda: run.eval_inputs(6))
    images, (mu, logvar) = jax.eval_shape(
        lambda s, i: run.game.networks["g"].module.apply(
            {"params": s.nets["g"].params, "batch_stats": s.nets["g"].batch_stats},
            i["z"],
            i["label"],
            i["eps"],
            train=False,
        ),
        state,
        inputs,
    )
    assert [im.shape for im in images] == [(6, s, s, 1) for s in sizes]
    assert mu.shape == logvar.shape == (6, 4)
    assert jax.eval_shape(run.game.generate, state, inputs).shape == (6, 16, 16, 1)


def test_conditioning_augmentation_samples_the_condition():
    z, labels = jnp.zeros((2, 3)), jnp.array([1, 1])
    eps = jnp.array([[0.0, 0.0], [1.0, -1.0]])
    for augment in (True, False):
        g = pyr.StackGenerator(
            resolution=8, width=4, num_classes=3, embed_dim=4, ca_dim=2, stages=1, augment=augment
        )
        variables = g.init(jax.random.key(0), z, labels, eps, train=False)
        (image,), (mu, logvar) = g.apply(variables, z, labels, eps, train=False)
        same = np.allclose(image[0], image[1])
        # With CA, the same class and noise z give different images for different eps.
        assert same != augment
        if not augment:
            np.testing.assert_array_equal(logvar, 0.0)


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"game.stages": 4}, "game.stages"),
        ({"game.stages": 0}, "game.stages"),
        ({"model.num_classes": 0}, "model.num_classes"),
        ({"game.kl_weight": -1.0}, "game.kl_weight"),
        ({"objective.penalty": "r1"}, "objective.penalty"),
    ],
)
def test_bad_configs_raise_one_config_error(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        runs.build_run(tiny_config(**overrides))


def test_bfloat16_compute_keeps_float32_params_and_samples():
    run = runs.build_run(tiny_config(**{"model.dtype": "bfloat16"}))
    state = jax.eval_shape(run.init_state, jax.random.key(0))
    assert {x.dtype for x in jax.tree.leaves(state.nets["g"].params)} == {jnp.dtype("float32")}
    out = jax.eval_shape(run.game.generate, state, jax.eval_shape(lambda: run.eval_inputs(3)))
    assert out.shape == (3, 16, 16, 1) and out.dtype == jnp.float32
