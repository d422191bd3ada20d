"""Model shapes, the DCGAN layout, and gan_jax's strided layers against flax's."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.models import MODELS, DCGANDiscriminator, DCGANGenerator, MaxoutDiscriminator
from gan_jax.models.layers import TRANSPOSE_IMPLS, ConvTranspose4x4, StridedConv


def _perturbed_params(module, x):
    params = module.init(jax.random.key(1), x)
    return jax.tree.map(lambda a: a + jax.random.normal(jax.random.key(2), a.shape), params)


def _penalty(module, p, x):
    # The WGAN-GP pattern: a loss of the input gradient, differentiated again.
    gx = jax.grad(lambda x: jnp.sum(jnp.tanh(module.apply(p, x))))(x)
    return jnp.sum(gx**2) + jnp.sum(module.apply(p, x) ** 2)


def _assert_same_layer(ours, ref, x):
    """Same parameters, outputs, gradients (params, input) and second derivatives."""
    params = _perturbed_params(ref, x)
    shapes = jax.tree.map(jnp.shape, ours.init(jax.random.key(3), x))
    assert shapes == jax.tree.map(jnp.shape, params)
    np.testing.assert_allclose(ours.apply(params, x), ref.apply(params, x), atol=1e-4, rtol=1e-5)

    def close(a, b):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)

    def sq(module):
        return jax.grad(lambda p, x: jnp.sum(module.apply(p, x) ** 2), argnums=(0, 1))(params, x)

    jax.tree.map(close, sq(ours), sq(ref))
    hess = jax.grad(_penalty, argnums=(1, 2))
    jax.tree.map(close, hess(ours, params, x), hess(ref, params, x))


@pytest.mark.parametrize("impl", TRANSPOSE_IMPLS)
@pytest.mark.parametrize("shape", [(1, 5, 6, 3), (2, 4, 4, 7), (3, 8, 2, 1)])
def test_conv_transpose_equals_flax_to_second_order(shape, impl):
    x = jax.random.normal(jax.random.key(0), shape)
    ref = nn.ConvTranspose(5, (4, 4), strides=(2, 2), padding="SAME")
    _assert_same_layer(ConvTranspose4x4(5, transpose_impl=impl), ref, x)


@pytest.mark.parametrize("impl", TRANSPOSE_IMPLS)
@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (3, 4, 6, 5), (1, 2, 2, 1)])
def test_strided_conv_equals_flax_conv_to_second_order(shape, impl):
    x = jax.random.normal(jax.random.key(0), shape)
    ref = nn.Conv(4, (4, 4), strides=(2, 2), padding="SAME")
    _assert_same_layer(StridedConv(4, transpose_impl=impl), ref, x)


def test_strided_conv_rejects_odd_sizes():
    with pytest.raises(ValueError, match="even"):
        StridedConv(2).init(jax.random.key(0), jnp.zeros((1, 5, 4, 1)))


@pytest.mark.parametrize("resolution", [16, 32, 64])
@pytest.mark.parametrize("upsample", ["adjoint", "subpixel", "conv_transpose"])
def test_dcgan_shapes(resolution, upsample):
    g = DCGANGenerator(resolution=resolution, width=4, channels=3, upsample=upsample)
    d = DCGANDiscriminator(resolution=resolution, width=4)
    z = jnp.zeros((2, 10))
    gv = g.init(jax.random.key(0), z, train=False)
    x = g.apply(gv, z, train=False)
    assert x.shape == (2, resolution, resolution, 3)
    assert float(jnp.max(jnp.abs(x))) <= 1.0  # tanh output
    dv = d.init(jax.random.key(1), x, train=False)
    assert d.apply(dv, x, train=False).shape == (2,)


def test_dcgan64_follows_the_paper_channels():
    g = DCGANGenerator(resolution=64, width=64, channels=3)
    params = g.init(jax.random.key(0), jnp.zeros((1, 100)), train=False)["params"]
    assert params["project"]["kernel"].shape == (100, 4 * 4 * 512)
    outs = [params[f"up{i}"]["kernel"].shape[-1] for i in range(1, 5)]
    assert outs == [256, 128, 64, 3]
    d = DCGANDiscriminator(resolution=64, width=64)
    dvars = d.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)), train=False)
    assert [dvars["params"][f"conv{i}"]["kernel"].shape[-1] for i in range(4)] == [
        64,
        128,
        256,
        512,
    ]
    # BatchNorm on every layer but the first.
    assert "norm0" not in dvars["batch_stats"] and "norm1" in dvars["batch_stats"]


def test_critic_without_batchnorm_has_no_batch_stats():
    d = DCGANDiscriminator(resolution=16, width=4, norm="layer")
    variables = d.init(jax.random.key(0), jnp.zeros((2, 16, 16, 1)), train=False)
    assert "batch_stats" not in variables


def test_mlp_builder_shapes():
    cfg = {"g_hidden": (8, 8), "d_hidden": (8,), "g_norm": "batch", "d_norm": "none"}
    g, d = MODELS["mlp"](cfg, (2,))
    gv = g.init(jax.random.key(0), jnp.zeros((3, 2)), train=False)
    x = g.apply(gv, jnp.ones((3, 2)), train=False)
    assert x.shape == (3, 2)
    assert d.apply(d.init(jax.random.key(1), x, train=False), x, train=False).shape == (3,)


def test_maxout_takes_the_max_over_pieces_of_one_dense_layer():
    from gan_jax.models.mlp import Maxout

    layer = Maxout(units=3, pieces=4)
    x = jax.random.normal(jax.random.key(0), (5, 2))
    variables = layer.init(jax.random.key(1), x)
    k, b = variables["params"]["dense"]["kernel"], variables["params"]["dense"]["bias"]
    assert k.shape == (2, 12)
    expected = np.max((np.asarray(x) @ np.asarray(k) + np.asarray(b)).reshape(5, 3, 4), axis=-1)
    np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pac", [1, 2, 4])
def test_pacgan_networks_and_packing(pac):
    cfg = {
        "g_hidden": (400,) * 4,
        "d_hidden": (200,) * 3,
        "g_norm": "batch",
        "maxout_pieces": 5,
        "pac": pac,
    }
    g, d = MODELS["pacgan_mlp"](cfg, (2,))
    assert isinstance(d, MaxoutDiscriminator)
    gv = g.init(jax.random.key(0), jnp.zeros((2, 2)), train=False)  # as create_state does
    dv = d.init(jax.random.key(1), jnp.zeros((2, 2)), train=False)
    assert [gv["params"][f"dense{i}"]["kernel"].shape[1] for i in range(4)] == [400] * 4
    assert "bias" not in gv["params"]["dense0"] and "norm0" in gv["batch_stats"]
    assert dv["params"]["maxout0"]["dense"]["kernel"].shape == (2 * pac, 200 * 5)
    assert dv["params"]["maxout2"]["dense"]["kernel"].shape == (200, 200 * 5)
    np.testing.assert_allclose(np.std(dv["params"]["maxout1"]["dense"]["kernel"]), 0.02, rtol=0.05)
    x = jax.random.normal(jax.random.key(2), (8, 2))
    logits = d.apply(dv, x, train=True)
    assert logits.shape == (8 // pac,)
    # A pack's logit depends on its own pac samples only: change sample 0, only logit 0 moves.
    moved = d.apply(dv, x.at[0].add(1.0), train=True)
    assert moved[0] != logits[0]
    np.testing.assert_array_equal(moved[1:], logits[1:])


def test_mlp_discriminator_packs_too():
    d = MODELS["mlp"](
        {"g_hidden": (8,), "d_hidden": (8,), "g_norm": "none", "d_norm": "none", "pac": 2}, (2,)
    )[1]
    dv = d.init(jax.random.key(0), jnp.zeros((2, 2)), train=False)
    assert dv["params"]["dense0"]["kernel"].shape == (4, 8)
    assert d.apply(dv, jnp.ones((6, 2)), train=False).shape == (3,)


def _dot_and_conv_dtypes(fn, *args) -> set[str]:
    """Output dtypes of every matmul / convolution in ``fn``'s jaxpr (nested ones included)."""
    found = set()

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name in ("dot_general", "conv_general_dilated"):
                found.update(str(v.aval.dtype) for v in eqn.outvars)
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return found


@pytest.mark.parametrize(
    "name,shape,norm",
    [("dcgan", (16, 16, 1), "batch"), ("mlp", (2,), "layer")],
    ids=["dcgan", "mlp"],
)
def test_bfloat16_compute_with_float32_params_and_outputs(name, shape, norm):
    base = {"width": 8, "g_norm": norm, "d_norm": norm, "upsample": "subpixel"}
    base |= {"downsample": "subpixel", "g_hidden": (16,), "d_hidden": (16,)}
    g32, d32 = MODELS[name]({**base, "dtype": "float32"}, shape)
    g16, d16 = MODELS[name]({**base, "dtype": "bfloat16"}, shape)
    z = jax.random.normal(jax.random.key(0), (4, 8))
    g_vars = jax.jit(g32.init, static_argnames="train")(jax.random.key(1), z, train=False)
    # The same variables serve both precisions: parameters (and statistics) stay float32.
    g16_vars = jax.eval_shape(lambda k: g16.init(k, z, train=False), jax.random.key(1))
    assert jax.tree.map(jnp.shape, g16_vars) == jax.tree.map(jnp.shape, g_vars)
    assert {x.dtype for x in jax.tree.leaves(g16_vars)} == {jnp.dtype("float32")}
    x32 = jax.jit(g32.apply, static_argnames="train")(g_vars, z, train=False)
    x16 = jax.jit(g16.apply, static_argnames="train")(g_vars, z, train=False)
    assert x16.dtype == jnp.float32 and x16.shape == (4, *shape)
    np.testing.assert_allclose(x16, x32, atol=0.1)  # bfloat16 keeps ~3 significant digits
    assert not np.array_equal(np.asarray(x16), np.asarray(x32))  # really another precision
    d_vars = jax.jit(d32.init, static_argnames="train")(jax.random.key(2), x32, train=False)
    l32 = jax.jit(d32.apply, static_argnames="train")(d_vars, x32, train=False)
    l16 = jax.jit(d16.apply, static_argnames="train")(d_vars, x32, train=False)
    assert l16.dtype == jnp.float32 and l16.shape == (4,)
    np.testing.assert_allclose(l16, l32, atol=0.1)
    # Every matmul and convolution runs in bfloat16, in both networks and in the gradient.
    assert _dot_and_conv_dtypes(lambda z: g16.apply(g_vars, z, train=False), z) == {"bfloat16"}
    assert _dot_and_conv_dtypes(lambda z: g32.apply(g_vars, z, train=False), z) == {"float32"}
    grad_fn = jax.grad(lambda p, x: jnp.sum(d16.apply({**d_vars, "params": p}, x, train=False)))
    assert _dot_and_conv_dtypes(grad_fn, d_vars["params"], x32) == {"bfloat16"}
    grads = jax.jit(grad_fn)(d_vars["params"], x32)
    assert {g.dtype for g in jax.tree.leaves(grads)} == {jnp.dtype("float32")}
