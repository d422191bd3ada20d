"""Spectral normalisation, the SNGAN ResNets, conditional GANs and the generator EMA.

Closed-form checks: a spectrally normalised layer's top singular value is 1 once the power
iteration has converged; the EMA follows ema = decay * ema + (1 - decay) * params; conditioning
really reaches the networks; the spectral-norm state advances in the critic step only.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny

from gan_jax import runs, steps
from gan_jax.games import classic
from gan_jax.models import MODELS, ResNetDiscriminator, ResNetGenerator
from gan_jax.models.layers import ConditionalBatchNorm, concat_labels, spectral_norm


class _SNConv(nn.Module):
    @nn.compact
    def __call__(self, x, train):
        return spectral_norm(nn.Conv(6, (3, 3), name="conv"), True, name="sn")(x, train)


def test_spectral_norm_brings_the_top_singular_value_to_one():
    x = jax.random.normal(jax.random.key(0), (2, 5, 5, 4))
    module = _SNConv()
    variables = module.init(jax.random.key(1), x, train=False)
    variables["params"]["conv"]["kernel"] *= 3.0  # far from normalised
    kernel = variables["params"]["conv"]["kernel"]
    top = np.linalg.svd(np.asarray(kernel).reshape(-1, 6), compute_uv=False)[0]
    assert top > 2.0
    stats = variables["batch_stats"]
    for _ in range(50):  # power iterations, as 50 critic calls in training would run
        out, updates = module.apply(
            {"params": variables["params"], "batch_stats": stats}, x, train=True, mutable=True
        )
        stats = updates["batch_stats"]
    sigma = stats["sn"]["conv/kernel/sigma"]
    normalised = kernel / sigma
    s = jnp.linalg.svd(normalised.reshape(-1, 6), compute_uv=False)
    np.testing.assert_allclose(float(s[0]), 1.0, atol=1e-3)
    np.testing.assert_allclose(float(sigma), top, rtol=1e-3)  # sigma estimates W's top value
    # The layer really computes with W / sigma.
    bias = variables["params"]["conv"]["bias"]
    ref = nn.Conv(6, (3, 3)).apply({"params": {"kernel": normalised, "bias": bias}}, x)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_spectral_norm_keeps_parameter_names():
    for sn in (False, True):
        g, d = MODELS["dcgan"](
            {"width": 4, "g_norm": "batch", "d_norm": "none", "upsample": "subpixel",
             "d_spectral_norm": sn},
            (16, 16, 1),
        )  # fmt: skip
        variables = d.init(jax.random.key(0), jnp.zeros((2, 16, 16, 1)), train=False)
        assert sorted(variables["params"]) == ["conv0", "conv1", "logit"]
        assert ("batch_stats" in variables) == sn


@pytest.mark.parametrize("resolution,num_classes", [(16, 0), (32, 10)])
def test_resnet_shapes_and_sngan_layout(resolution, num_classes):
    g = ResNetGenerator(resolution=resolution, width=16, channels=3, num_classes=num_classes)
    d = ResNetDiscriminator(width=8, num_classes=num_classes)
    z, y = jnp.zeros((2, 12)), jnp.array([1, 7])
    gv = g.init(jax.random.key(0), z, y, train=False)
    x = g.apply(gv, z, y, train=False)
    assert x.shape == (2, resolution, resolution, 3) and float(jnp.max(jnp.abs(x))) <= 1.0
    dv = d.init(jax.random.key(1), x, y, train=False)
    assert d.apply(dv, x, y, train=False).shape == (2,)
    n_up = {16: 2, 32: 3}[resolution]
    assert sorted(k for k in gv["params"] if k.startswith("block")) == [
        f"block{i}" for i in range(n_up)
    ]
    assert gv["params"]["project"]["kernel"].shape == (12, 4 * 4 * 16)
    # Every critic weight matrix is spectrally normalised; the critic has no BatchNorm.
    kernels = [p for p in jax.tree_util.tree_leaves_with_path(dv["params"]) if p[1].ndim >= 2]
    sigmas = [
        p for p in jax.tree_util.tree_leaves_with_path(dv["batch_stats"]) if "sigma" in str(p[0])
    ]
    assert len(kernels) == len(sigmas) == (12 if num_classes else 11)
    # Projection discriminator (Miyato & Koyama): the class embedding; cBN in G.
    assert ("embed" in dv["params"]) == bool(num_classes)
    assert ("cbn" in gv["params"]["block0"]["norm1"]) == bool(num_classes)


def test_projection_discriminator_adds_the_class_embedding_inner_product():
    d = ResNetDiscriminator(width=8, num_classes=3, spectral_norm=False)
    x = jax.random.normal(jax.random.key(0), (4, 16, 16, 1))
    y = jnp.array([0, 1, 2, 1])
    variables = d.init(jax.random.key(1), x, y, train=False)
    embed = jax.random.normal(jax.random.key(2), (3, 8))
    variables["params"]["embed"]["embedding"] = embed
    out = d.apply(variables, x, y, train=False)
    unconditional = ResNetDiscriminator(width=8, spectral_norm=False)
    params = {k: v for k, v in variables["params"].items() if k != "embed"}
    base = unconditional.apply({"params": params}, x, train=False)
    h = _pooled_features(d, variables, x, y)
    np.testing.assert_allclose(out, base + jnp.sum(embed[y] * h, -1), rtol=1e-5, atol=1e-5)


def _pooled_features(d, variables, x, y):
    """The input of the critic's logit layer (global sum pooled features)."""
    captured = {}

    def interceptor(next_fun, args, kwargs, context):
        if context.module.name == "logit" and context.method_name == "__call__":
            captured["h"] = args[0]
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(interceptor):
        d.apply(variables, x, y, train=False)
    return captured["h"]


def test_conditional_batchnorm_scales_and_shifts_per_class():
    cbn = ConditionalBatchNorm(num_classes=3)
    x = jax.random.normal(jax.random.key(0), (6, 4, 4, 2)) * 3 + 1
    y = jnp.array([0, 1, 2, 0, 1, 2])
    variables = cbn.init(jax.random.key(1), x, y, train=True)
    gamma = jnp.array([[1.0, 2.0], [0.5, 1.0], [3.0, 0.0]])
    beta = jnp.array([[0.0, 1.0], [2.0, -1.0], [0.0, 0.0]])
    variables["params"] = {"gamma": {"embedding": gamma}, "beta": {"embedding": beta}}
    out, _ = cbn.apply(variables, x, y, train=True, mutable=["batch_stats"])
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    normed = (x - mean) / jnp.sqrt(var + 1e-5)
    expected = normed * gamma[y][:, None, None, :] + beta[y][:, None, None, :]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_concat_conditioning():
    x = jnp.ones((2, 3))
    np.testing.assert_array_equal(concat_labels(x, jnp.array([2, 0]), 0), x)
    out = concat_labels(x, jnp.array([2, 0]), 4)
    np.testing.assert_array_equal(out[:, 3:], [[0, 0, 1, 0], [1, 0, 0, 0]])
    img = concat_labels(jnp.zeros((2, 5, 5, 1)), jnp.array([1, 3]), 4)
    assert img.shape == (2, 5, 5, 5)
    np.testing.assert_array_equal(img[1, 4, 2], [0, 0, 0, 0, 1])


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_concatenation_conditioned_networks_depend_on_the_label(name):
    if name == "mlp":
        cfg, shape = {"g_hidden": (8,), "d_hidden": (8,), "g_norm": "none", "d_norm": "none"}, (2,)
    else:
        cfg = {"width": 4, "g_norm": "batch", "d_norm": "batch", "upsample": "subpixel"}
        shape = (16, 16, 1)
    g, d = MODELS[name]({**cfg, "num_classes": 5}, shape)
    z = jax.random.normal(jax.random.key(0), (3, 6))
    gv = g.init(jax.random.key(1), z, jnp.zeros(3, jnp.int32), train=False)
    a = g.apply(gv, z, jnp.array([0, 1, 2]), train=False)
    b = g.apply(gv, z, jnp.array([4, 1, 3]), train=False)
    assert not np.allclose(a[0], b[0]) and np.allclose(a[1], b[1]) and not np.allclose(a[2], b[2])
    dv = d.init(jax.random.key(2), a, jnp.zeros(3, jnp.int32), train=False)
    assert not np.allclose(
        d.apply(dv, a, jnp.array([0, 1, 2]), train=False),
        d.apply(dv, a, jnp.array([3, 1, 2]), train=False),
    )


@pytest.fixture(scope="module")
def cgan():
    """A tiny conditional DCGAN with a spectrally normalised critic and G EMA (decay 0.9), its
    state (EMA moved away from the live generator, so the EMA formula is really exercised), a
    real batch, and the jit-ted critic and generator updates: built and compiled once."""
    cfg = tiny(load_config("cgan", **{"model.g_ema_decay": 0.9, "model.d_spectral_norm": True}))
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(cfg.seed))
    state = state.replace(ema={"g": jax.tree.map(lambda a: a + 0.05, state.ema["g"])})
    batch = jax.tree.map(
        lambda a: a[0], runs.sample_batches(run.dataset, 1, 8, jax.random.key(5), 0)
    )
    d_player, g_player = run.game.players
    d_step = jax.jit(functools.partial(steps.update, run.game, d_player))
    g_step = jax.jit(functools.partial(steps.update, run.game, g_player))
    return run, state, batch, d_step, functools.partial(g_step, batch=batch)


def test_ema_follows_its_formula_and_is_what_samples_use(cgan):
    run, state, _, _, g_step = cgan
    assert run.game.ema_decay == 0.9
    ema0 = state.ema["g"]
    new, _ = g_step(state)
    live = {"params": new.nets["g"].params, "batch_stats": new.nets["g"].batch_stats}
    expected = jax.tree.map(lambda e, p: 0.9 * e + (1 - 0.9) * p, ema0, live)
    leaves = jax.tree.leaves(new.ema["g"])
    assert len(leaves) == len(jax.tree.leaves(live)) > 0
    for got, want in zip(leaves, jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert not np.allclose(jax.tree.leaves(new.ema["g"])[0], jax.tree.leaves(live)[0])
    # Samples come from the EMA generator (params and BatchNorm statistics).
    inputs = run.eval_inputs(4)
    z, y = inputs["z"], inputs["label"]
    generator = run.game.networks["g"].module
    ema_out = generator.apply(new.ema["g"], z, y, train=False)
    sampled = runs.sample_images(run, new, 4)
    np.testing.assert_allclose(sampled, ema_out, rtol=1e-5, atol=1e-6)
    assert not np.allclose(sampled, generator.apply(live, z, y, train=False))


def test_no_ema_adds_no_state():
    run = runs.build_run(tiny(load_config("nsgan")))
    state = run.abstract_state()
    assert state.ema == {} and run.game.ema_decay == 0


def test_spectral_norm_state_advances_in_the_critic_step_only(cgan):
    _, state, batch, d_step, g_step = cgan
    after_d, _ = d_step(state, batch)
    after_g, _ = g_step(state)
    u = lambda s: s.nets["d"].batch_stats["sn1"]["conv1/kernel/u"]  # noqa: E731
    assert not np.allclose(u(after_d), u(state))
    np.testing.assert_array_equal(u(after_g), u(state))
    for x, y in zip(
        jax.tree.leaves(after_g.nets["d"]), jax.tree.leaves(state.nets["d"]), strict=True
    ):
        np.testing.assert_array_equal(x, y)


def test_conditional_critic_step_uses_the_real_labels_and_uniform_fake_labels(cgan):
    run, state, batch, d_step, _ = cgan
    _, m1 = d_step(state, batch)
    _, m2 = d_step(state, {**batch, "label": (batch["label"] + 1) % 10})
    assert not np.isclose(m1["d/real"], m2["d/real"])
    np.testing.assert_allclose(m1["d/fake"], m2["d/fake"], rtol=1e-6)
    ctx = steps.Context(state, {}, (), None)
    latent = classic.Latent(run.config.model.z_dim, 10)
    draw = jax.jit(lambda key: latent.draw(ctx, key, 5000)[1])
    key = jax.random.key(3)
    labels = draw(key)
    counts = np.bincount(np.asarray(labels), minlength=10)
    assert counts.min() > 400 and counts.max() < 600  # uniform: 500 expected per class
    np.testing.assert_array_equal(labels, draw(key))


def test_sampling_takes_requested_labels(cgan):
    run, state = cgan[:2]
    np.testing.assert_array_equal(run.eval_inputs(12)["label"], np.arange(12) % 10)
    labels = jnp.full((6,), 3, jnp.int32)
    images = runs.sample_images(run, state, 6, inputs=run.eval_inputs(6, labels=labels))
    default = runs.sample_images(run, state, 6)
    assert images.shape == default.shape == (6, 16, 16, 1)
    # Same noise, other classes: only the samples whose class changed differ.
    changed = np.asarray(run.eval_inputs(6)["label"]) != 3
    for i in range(6):
        assert np.allclose(images[i], default[i]) != changed[i], i
