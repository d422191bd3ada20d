"""Layers shared by the model families.

The DCGAN's 4x4 stride-2 layers, the generator's transposed convolution and the critic's
convolution, are the adjoints of each other: for F(K) = K flipped in space with in/out swapped,

    <conv_s2(x, K), y> = <x, conv_t2(y, F(K))>,   conv_s2 = flax Conv(4x4, 2, 'SAME'),
                                                   conv_t2 = flax ConvTranspose(4x4, 2, 'SAME').

So the input gradient of either is the *forward* pass of the other, and both weight gradients
are the weight gradient of a strided convolution (``_conv_stride2_kernel_grad``). ``conv_stride2``
and ``conv_transpose2`` are written with custom VJPs that say exactly that. Why by hand: XLA
derives these gradients as convolutions with dilated inputs or windows, and XLA:CPU runs some of
them badly: the weight gradient of a transposed convolution ~30x slower than oneDNN
(../shared/FACTS.md), the second derivative of a strided convolution (WGAN-GP's double backward)
as naive loops of about a second each. Through the adjoints every derivative, to any order, is
again one of the two forward passes or the strided-conv weight gradient, which XLA runs on its
fast (YNNPACK) kernels. No library offers this. Measured on the dcgan32 benchmark (2 idle
cores): 5.1 steps/s against 4.6 with the previous sub-pixel form and ~2 with flax's layers.

The transposed convolution's forward pass has two formulations with the same multiply-adds
(``transpose_impl``): 'xla', XLA's own transposed convolution (fastest on XLA:CPU for every
dcgan32 and digits layer we timed), and 'phases', four stride-1 convolutions with 2x2 kernels,
one per output phase, interleaved (depth-to-space: the sub-pixel form). Derivation of the
phases (one spatial axis): the transposed conv is a conv of the 2x-dilated input with padding
(2, 2) and the kernel K as stored (flax does not flip it):
  y[2m + r] = sum_k xd[2m + r + k - 2] K[k].
Only taps with r + k even hit a real input, so
  y[2m]     = x[m - 1] K[0] + x[m] K[2],
  y[2m + 1] = x[m] K[1] + x[m + 1] K[3],
i.e. phase r is a 2-tap convolution with kernel K[r::2] over x padded by (1, 0) for r = 0 and by
(0, 1) for r = 1. In 2D the phases (ry, rx) are four such 2x2 convolutions, and
y[2m + ry, 2n + rx] = phase_(ry, rx)[m, n].
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

# Padding of x for phase r of one axis (its kernel taps are K[r::2]); see the derivation above.
_PHASE_PADDING = ((1, 0), (0, 1))


def conv_transpose_phases(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """flax's ConvTranspose(4x4, stride 2, 'SAME') of NHWC ``x`` with HWIO ``kernel``.

    Four 2x2 stride-1 convolutions, one per output phase (ry, rx), interleaved into (N, 2H, 2W, C).
    """
    assert kernel.shape[:2] == (4, 4), kernel.shape
    rows = []
    for ry in (0, 1):
        cols = []
        for rx in (0, 1):
            cols.append(
                jax.lax.conv_general_dilated(
                    x,
                    kernel[ry::2, rx::2],
                    window_strides=(1, 1),
                    padding=(_PHASE_PADDING[ry], _PHASE_PADDING[rx]),
                    dimension_numbers=("NHWC", "HWIO", "NHWC"),
                )
            )
        rows.append(jnp.stack(cols, axis=3))  # (N, H, W, rx, C)
    y = jnp.stack(rows, axis=2)  # (N, H, ry, W, rx, C)
    n, h, _, w, _, c = y.shape
    return y.reshape(n, 2 * h, 2 * w, c)


_DIMENSIONS = ("NHWC", "HWIO", "NHWC")
TRANSPOSE_IMPLS = ("xla", "phases")


def _conv_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """Conv(4x4, stride 2, 'SAME') of NHWC ``x`` with even H and W: padding (1, 1) each side."""
    return jax.lax.conv_general_dilated(
        x, kernel, (2, 2), ((1, 1), (1, 1)), dimension_numbers=_DIMENSIONS
    )


def _conv_stride2_kernel_grad(x: jax.Array, dy: jax.Array) -> jax.Array:
    """d<conv_stride2(x, K), dy>/dK: XLA's own weight gradient (it runs on the fast kernels)."""
    k0 = jnp.zeros((4, 4, x.shape[-1], dy.shape[-1]), dy.dtype)
    return jax.vjp(lambda k: _conv_stride2(x, k), k0)[1](dy)[0]


def adjoint_kernel(kernel: jax.Array) -> jax.Array:
    """F(K): flipped in space, in/out channels swapped; an involution and a permutation."""
    return jnp.flip(kernel, (0, 1)).swapaxes(2, 3)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_stride2(x: jax.Array, kernel: jax.Array, transpose_impl: str = "xla") -> jax.Array:
    """flax's Conv(4x4, stride 2, 'SAME') of NHWC ``x`` (even H, W); gradients by adjoints.

    Input gradient: ``conv_transpose2(dy, F(K))`` (formulated by ``transpose_impl``); kernel
    gradient: ``_conv_stride2_kernel_grad``.
    """
    return _conv_stride2(x, kernel)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_transpose2(x: jax.Array, kernel: jax.Array, transpose_impl: str = "xla") -> jax.Array:
    """flax's ConvTranspose(4x4, stride 2, 'SAME') of NHWC ``x``; gradients by adjoints.

    Input gradient: ``conv_stride2(dy, F(K))``; kernel gradient: F of the strided convolution's
    kernel gradient with the roles of input and output swapped.
    """
    if transpose_impl == "xla":
        return jax.lax.conv_transpose(x, kernel, (2, 2), "SAME", dimension_numbers=_DIMENSIONS)
    if transpose_impl == "phases":
        return conv_transpose_phases(x, kernel)
    raise ValueError(f"transpose_impl={transpose_impl!r}; allowed: {list(TRANSPOSE_IMPLS)}")


def _conv_stride2_fwd(x, kernel, transpose_impl):
    # Residuals are the inputs: a second derivative (WGAN-GP) differentiates the backward pass,
    # which is again made of conv_stride2 / conv_transpose2 calls with their own custom VJPs.
    return conv_stride2(x, kernel, transpose_impl), (x, kernel)


def _conv_stride2_bwd(transpose_impl, residuals, dy):
    x, kernel = residuals
    dx = conv_transpose2(dy, adjoint_kernel(kernel), transpose_impl)
    return dx, _conv_stride2_kernel_grad(x, dy)


def _conv_transpose2_fwd(x, kernel, transpose_impl):
    return conv_transpose2(x, kernel, transpose_impl), (x, kernel)


def _conv_transpose2_bwd(transpose_impl, residuals, dy):
    # <conv_t2(x, K), dy> = <x, conv_s2(dy, F(K))> = <F(K), kgrad(dy, x)> = <K, F(kgrad(dy, x))>.
    x, kernel = residuals
    dx = conv_stride2(dy, adjoint_kernel(kernel), transpose_impl)
    return dx, adjoint_kernel(_conv_stride2_kernel_grad(dy, x))


conv_stride2.defvjp(_conv_stride2_fwd, _conv_stride2_bwd)
conv_transpose2.defvjp(_conv_transpose2_fwd, _conv_transpose2_bwd)


class _Strided4x4(nn.Module):
    """A 4x4 stride-2 layer with flax's parameters (HWIO ``kernel``, ``bias``) around ``op``."""

    features: int
    use_bias: bool = True
    transpose_impl: str = "xla"
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()
    dtype: Any = None  # compute dtype (default: the input's); parameters stay float32

    @staticmethod
    def op(x: jax.Array, kernel: jax.Array, transpose_impl: str) -> jax.Array:
        raise NotImplementedError

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x if self.dtype is None else x.astype(self.dtype)
        cin = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (4, 4, cin, self.features), jnp.float32)
        y = self.op(x, kernel.astype(x.dtype), self.transpose_impl)
        if self.use_bias:
            bias = self.param("bias", self.bias_init, (self.features,), jnp.float32)
            y = y + bias.astype(y.dtype)
        return y


class ConvTranspose4x4(_Strided4x4):
    """Drop-in for ``nn.ConvTranspose(features, (4, 4), (2, 2), 'SAME')`` (same params).

    Computes ``conv_transpose2``: the same function, with gradients XLA:CPU runs well.
    """

    op = staticmethod(conv_transpose2)


class StridedConv(_Strided4x4):
    """Drop-in for ``nn.Conv(features, (4, 4), (2, 2), 'SAME')`` on even sizes (same params).

    Computes ``conv_stride2``: the same function, with gradients XLA:CPU runs well.
    """

    @staticmethod
    def op(x: jax.Array, kernel: jax.Array, transpose_impl: str) -> jax.Array:
        if x.shape[1] % 2 or x.shape[2] % 2:
            raise ValueError(f"StridedConv needs even spatial sizes; got {x.shape[1:3]}")
        return conv_stride2(x, kernel, transpose_impl)


# model.upsample / model.downsample: flax's layer, or ours with a transposed-conv formulation.
UPSAMPLES = {"adjoint": "xla", "subpixel": "phases", "conv_transpose": None}
DOWNSAMPLES = {"adjoint": "xla", "subpixel": "phases", "conv": None}


def downsample_layer(
    kind: str, features: int, use_bias: bool = True, name: str | None = None, dtype: Any = None
) -> nn.Module:
    """A 4x4 stride-2 convolution: flax's ('conv') or ``StridedConv`` (the same function)."""
    if kind not in DOWNSAMPLES:
        raise ValueError(f"model.downsample={kind!r}; allowed: {list(DOWNSAMPLES)}")
    if DOWNSAMPLES[kind] is None:
        return nn.Conv(features, (4, 4), (2, 2), "SAME", use_bias=use_bias, name=name, dtype=dtype)
    impl = DOWNSAMPLES[kind]
    return StridedConv(features, use_bias, impl, name=name, dtype=dtype)


def upsample_layer(
    kind: str, features: int, use_bias: bool = True, name: str | None = None, dtype: Any = None
) -> nn.Module:
    """A 4x4 stride-2 transposed conv: flax's ('conv_transpose') or ``ConvTranspose4x4``."""
    if kind not in UPSAMPLES:
        raise ValueError(f"model.upsample={kind!r}; allowed: {list(UPSAMPLES)}")
    if UPSAMPLES[kind] is None:
        return nn.ConvTranspose(
            features, (4, 4), (2, 2), "SAME", use_bias=use_bias, name=name, dtype=dtype
        )
    impl = UPSAMPLES[kind]
    return ConvTranspose4x4(features, use_bias, impl, name=name, dtype=dtype)


def norm_layer(
    kind: str, train: bool, name: str | None = None, dtype: Any = None, reference_size: int = 0
):
    """'batch' (momentum 0.9, as PyTorch's 0.1), 'layer', 'none' (identity), or 'vbn'
    (``VirtualBatchNorm``: the input's first ``reference_size`` rows are the reference batch).

    With a low-precision ``dtype`` flax still computes the statistics in float32.
    """
    if kind == "vbn":
        return VirtualBatchNorm(reference_size, name=name, dtype=dtype)
    if kind == "batch":
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name, dtype=dtype)
    if kind == "layer":
        return nn.LayerNorm(name=name, dtype=dtype)
    if kind == "none":
        return lambda x: x
    raise ValueError(f"norm={kind!r}; allowed: ['batch', 'layer', 'none', 'vbn']")


def spectral_norm(layer: nn.Module, enabled: bool, name: str | None = None):
    """``layer`` wrapped in flax's SpectralNorm (Miyato et al. 2018, eq. 8) when ``enabled``.

    Returns ``f(x, train)``. The power-iteration vector ``u`` and the estimate ``sigma`` live in
    the ``batch_stats`` collection (flax's default), so ``steps.ModelState.batch_stats`` carries
    them through the pure steps and into checkpoints like BatchNorm statistics. One power
    iteration runs per call; ``u`` and ``sigma`` are written back only when ``train`` is true and
    the caller lets ``batch_stats`` mutate (the critic's update: see ``gan_jax.steps``). The layer's
    params keep their names, so switching normalisation on does not rename any parameter.
    """
    if not enabled:
        return lambda x, train: layer(x)
    wrapped = nn.SpectralNorm(layer, name=name)
    return lambda x, train: wrapped(x, update_stats=train)


def concat_labels(x: jax.Array, labels: jax.Array | None, num_classes: int) -> jax.Array:
    """Concatenation conditioning (Mirza & Osindero 2014): one-hot(labels) appended to ``x``.

    For (B, D) inputs the one-hot vector is appended to the features; for (B, H, W, C) images
    it is broadcast to K constant feature maps appended to the channels (the usual convolutional
    form). ``num_classes == 0`` (an unconditional model) returns ``x`` unchanged.
    """
    if num_classes == 0:
        return x
    if labels is None:
        raise ValueError(f"a conditional model (num_classes={num_classes}) needs labels")
    onehot = jax.nn.one_hot(labels, num_classes, dtype=x.dtype)
    if x.ndim == 4:
        onehot = jnp.broadcast_to(onehot[:, None, None, :], (*x.shape[:3], num_classes))
    return jnp.concatenate([x, onehot], axis=-1)


class ConditionalBatchNorm(nn.Module):
    """Class-conditional BatchNorm (Dumoulin et al. 2017; Miyato & Koyama 2018, sec. 4).

    BatchNorm without its own affine part, then a per-class scale gamma[y] (initialised to 1)
    and shift beta[y] (initialised to 0), as in the SNGAN projection code's
    CategoricalConditionalBatchNormalization. Running statistics are shared by all classes.
    """

    num_classes: int
    momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array, train: bool) -> jax.Array:
        features = x.shape[-1]
        x = nn.BatchNorm(
            use_running_average=not train,
            momentum=self.momentum,
            use_scale=False,
            use_bias=False,
            name="bn",
        )(x)
        gamma = nn.Embed(
            self.num_classes, features, embedding_init=nn.initializers.ones, name="gamma"
        )
        beta = nn.Embed(
            self.num_classes, features, embedding_init=nn.initializers.zeros, name="beta"
        )
        shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (features,)
        g = gamma(labels).reshape(shape).astype(x.dtype)
        b = beta(labels).reshape(shape).astype(x.dtype)
        return x * g + b


# --------------------------------------------------------------------------------------------
# Layers that look at the whole minibatch (Salimans et al. 2016; Karras et al. 2018).


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, arXiv 1606.03498, section 3.2).

    The features f(x_i) in R^A of each sample are multiplied by a learned tensor T in
    R^{A x B x C} to M_i in R^{B x C}; kernel b compares sample i with the others by
    c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_L1), and the layer returns
    o(x_i)_b = sum_{j != i} c_b(x_i, x_j), shape (N, B), for the caller to append to the
    features the next layer sees. The sum leaves out j = i (a constant 1), as the paper's code
    does (``improved-gan``'s ``MinibatchLayer`` adds 1e6 to the diagonal distances): a batch of
    N identical samples gives o = N - 1 for every kernel, samples far apart give o ~ 0.
    T is initialised N(0, 0.05^2), as in that code.
    """

    num_kernels: int = 100
    kernel_dim: int = 5
    dtype: Any = None

    @nn.compact
    def __call__(self, features: jax.Array) -> jax.Array:
        f = features.reshape(features.shape[0], -1)
        f = f if self.dtype is None else f.astype(self.dtype)
        kernel = self.param(
            "kernel",
            nn.initializers.normal(0.05),
            (f.shape[-1], self.num_kernels * self.kernel_dim),
            jnp.float32,
        )
        m = (f @ kernel.astype(f.dtype)).astype(jnp.float32)
        m = m.reshape(f.shape[0], self.num_kernels, self.kernel_dim)
        l1 = jnp.sum(jnp.abs(m[:, None] - m[None, :]), axis=-1)  # (N, N, B)
        c = jnp.exp(-l1) * (1.0 - jnp.eye(f.shape[0], dtype=l1.dtype))[:, :, None]
        return jnp.sum(c, axis=1)


def minibatch_stddev(x: jax.Array, group_size: int = 4, epsilon: float = 1e-8) -> jax.Array:
    """The minibatch standard deviation statistic (Karras et al. 2018, arXiv 1710.10196, sec. 3).

    The batch (N, ...) is split into groups of ``min(group_size, N)`` samples (sample i in
    group i mod N / G, as in the ProGAN code); within a group the standard deviation of every
    feature at every position, sqrt(Var + epsilon), is averaged over features and positions to
    one number per group. Returns it per sample, shape (N,): 0 (sqrt(epsilon)) for a group of
    identical samples, large for a diverse one.
    """
    n = x.shape[0]
    g = min(group_size, n)
    if n % g:
        raise ValueError(f"minibatch stddev: a batch of {n} does not split into groups of {g}")
    y = x.astype(jnp.float32).reshape(g, n // g, -1)
    std = jnp.sqrt(jnp.var(y, axis=0) + epsilon)  # (N / G, features)
    return jnp.tile(jnp.mean(std, axis=-1), g)  # sample i gets group i mod (N / G)


def append_features(x: jax.Array, extra: jax.Array) -> jax.Array:
    """Append per-sample features ``extra`` (N, K) to ``x``: to the features of (N, D) inputs,
    as K constant maps to the channels of (N, H, W, C) ones (as ``concat_labels`` does)."""
    extra = extra.astype(x.dtype)
    if x.ndim == 4:
        extra = jnp.broadcast_to(extra[:, None, None, :], (*x.shape[:3], extra.shape[-1]))
    return jnp.concatenate([x, extra], axis=-1)


class MinibatchFeatures(nn.Module):
    """The critic's minibatch layers on its last hidden features: ``x`` with the minibatch
    discrimination outputs (``discrimination`` kernels of ``kernel_dim``; 0: off) and the
    minibatch stddev (groups of ``stddev_group``; 0: off) appended. Identity when both are off."""

    discrimination: int = 0
    kernel_dim: int = 5
    stddev_group: int = 0
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        extra = []
        if self.discrimination:
            mbd = MinibatchDiscrimination(
                self.discrimination, self.kernel_dim, dtype=self.dtype, name="discrimination"
            )
            extra.append(mbd(x))
        if self.stddev_group:
            extra.append(minibatch_stddev(x, self.stddev_group)[:, None])
        return append_features(x, jnp.concatenate(extra, axis=-1)) if extra else x


class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation (Salimans et al. 2016, arXiv 1606.03498, section 3.5).

    The input's first ``reference_size`` rows are the activations of a fixed reference batch,
    the rest those of the samples. The reference rows are normalised with the reference batch's
    statistics (mean and variance over its samples and, for images, positions, per channel);
    every other sample x with the statistics of the reference batch plus x itself, weights
    R / (R + 1) and 1 / (R + 1) (as TF-GAN's ``VBN``), so no sample depends on the others of its
    batch. Then a learned scale and shift per channel, as BatchNorm. There is no running
    average: training and inference compute the same function.
    """

    reference_size: int
    epsilon: float = 1e-5
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        r = self.reference_size
        features = x.shape[-1]
        xf = x.astype(jnp.float32)
        axes = tuple(range(1, x.ndim - 1))  # positions (none for (N, D) inputs)
        ref = xf[:r]
        ref_mean = jnp.mean(ref, axis=(0, *axes))
        ref_sq = jnp.mean(jnp.square(ref), axis=(0, *axes))
        own_mean = jnp.mean(xf, axis=axes, keepdims=True)
        own_sq = jnp.mean(jnp.square(xf), axis=axes, keepdims=True)
        w = 1.0 / (r + 1)
        is_ref = (jnp.arange(x.shape[0]) < r).reshape((-1,) + (1,) * (x.ndim - 1))
        mean = jnp.where(is_ref, ref_mean, w * own_mean + (1 - w) * ref_mean)
        sq = jnp.where(is_ref, ref_sq, w * own_sq + (1 - w) * ref_sq)
        var = jnp.maximum(sq - jnp.square(mean), 0.0)
        scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
        y = (xf - mean) * jax.lax.rsqrt(var + self.epsilon) * scale + bias
        return y.astype(x.dtype if self.dtype is None else self.dtype)


# --------------------------------------------------------------------------------------------
# SAGAN's self-attention and BigGAN's conditional BatchNorm.


class SelfAttention(nn.Module):
    """Self-attention over the positions of an NHWC map (SAGAN, Zhang et al. 2018, arXiv
    1805.08318, section 3).

    Query f(x) and key g(x) are 1x1 convolutions to C/8 channels, the value h(x) one to C/2 (as
    the SAGAN and BigGAN code; the paper writes C), all without bias. For positions j (query)
    and i (key), beta_{j,i} = softmax_i(f(x_j) . g(x_i)) (eq. 1), the attended map
    o_j = v(sum_i beta_{j,i} h(x_i)) with v a 1x1 convolution back to C channels (eq. 2), and
    the block returns y = x + gamma * o (eq. 3) with a learned scalar gamma initialised to 0, so
    the block is the identity at initialisation. ``spectral_norm`` wraps the four convolutions
    (SAGAN normalises every layer of G and D). The softmax runs in float32.
    """

    spectral_norm: bool = False
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        n, h, w, c = x.shape

        def conv(features: int, name: str):
            layer = nn.Conv(features, (1, 1), use_bias=False, name=name, dtype=self.dtype)
            return spectral_norm(layer, self.spectral_norm, name=f"sn_{name}")

        qk, v = max(c // 8, 1), max(c // 2, 1)
        query = conv(qk, "query")(x, train).reshape(n, h * w, qk)
        key = conv(qk, "key")(x, train).reshape(n, h * w, qk)
        value = conv(v, "value")(x, train).reshape(n, h * w, v)
        logits = jnp.einsum("njc,nic->nji", query, key).astype(jnp.float32)
        beta = jax.nn.softmax(logits, axis=-1).astype(value.dtype)
        attended = jnp.einsum("nji,nic->njc", beta, value).reshape(n, h, w, v)
        out = conv(c, "out")(attended, train)
        gamma = self.param("gamma", nn.initializers.zeros, (), jnp.float32)
        return x + gamma.astype(out.dtype) * out.astype(x.dtype)


class LinearConditionalBatchNorm(nn.Module):
    """BigGAN's conditional BatchNorm (Brock et al. 2018, arXiv 1809.11096, section 3 and
    appendix B): BatchNorm without its own affine part, then a per-sample gain 1 + W_g c and
    bias W_b c, linear (no bias) in a conditioning vector c (the shared class embedding
    concatenated with this block's chunk of z: skip-z). ``spectral_norm`` wraps both linear maps
    as in the BigGAN code. Running statistics as ``norm_layer``'s BatchNorm (momentum 0.9).
    """

    spectral_norm: bool = False
    momentum: float = 0.9
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, cond: jax.Array, train: bool) -> jax.Array:
        features = x.shape[-1]
        x = nn.BatchNorm(
            use_running_average=not train,
            momentum=self.momentum,
            use_scale=False,
            use_bias=False,
            name="bn",
            dtype=self.dtype,
        )(x)

        def linear(name: str):
            layer = nn.Dense(features, use_bias=False, name=name, dtype=self.dtype)
            return spectral_norm(layer, self.spectral_norm, name=f"sn_{name}")

        shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (features,)
        gain = 1.0 + linear("gain")(cond, train).reshape(shape)
        bias = linear("bias")(cond, train).reshape(shape)
        return x * gain.astype(x.dtype) + bias.astype(x.dtype)
