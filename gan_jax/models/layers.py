"""Layers shared by the model families.

``SubPixelConvTranspose`` computes exactly what ``flax.linen.ConvTranspose(features, (4, 4),
strides=(2, 2), padding='SAME')`` computes, with the same parameter names and shapes, as four
stride-1 convolutions with 2x2 kernels, one per output phase, whose outputs are interleaved
(depth-to-space). Why by hand: XLA:CPU runs the weight gradient of a strided transposed
convolution ~30x slower than oneDNN (../shared/FACTS.md) while stride-1 convolutions and their
gradients run on its fast kernels; no library offers this re-parameterisation. The phase split
does exactly the transposed convolution's multiply-adds, where a single 3x3 sub-pixel conv to 4x
the channels does 9/4 as many (a quarter of its taps are zeros); measured on dcgan32's layers
(64x4x4x256 -> 128) on one core: forward 28 ms vs 61 ms, gradient 60 ms vs 124 ms.

Derivation (one spatial axis). The transposed conv is a conv of the 2x-dilated input with padding
(2, 2) and the kernel K as stored (flax does not flip it):
  y[2m + r] = sum_k xd[2m + r + k - 2] K[k].
Only taps with r + k even hit a real input, so
  y[2m]     = x[m - 1] K[0] + x[m] K[2],
  y[2m + 1] = x[m] K[1] + x[m + 1] K[3],
i.e. phase r is a 2-tap convolution with kernel K[r::2] over x padded by (1, 0) for r = 0 and by
(0, 1) for r = 1. In 2D the phases (ry, rx) are four such 2x2
convolutions, and y[2m + ry, 2n + rx] = phase_(ry, rx)[m, n].
"""

from __future__ import annotations

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


class SubPixelConvTranspose(nn.Module):
    """Drop-in for ``nn.ConvTranspose(features, (4, 4), (2, 2), 'SAME')`` (same params)."""

    features: int
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()
    dtype: Any = None  # compute dtype (default: the input's); parameters stay float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x if self.dtype is None else x.astype(self.dtype)
        cin = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (4, 4, cin, self.features), jnp.float32)
        y = conv_transpose_phases(x, kernel.astype(x.dtype))
        if self.use_bias:
            bias = self.param("bias", self.bias_init, (self.features,), jnp.float32)
            y = y + bias.astype(y.dtype)
        return y


def _conv_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """Conv(4x4, stride 2, 'SAME') of NHWC ``x`` with even H and W: padding (1, 1) each side."""
    return jax.lax.conv_general_dilated(
        x, kernel, (2, 2), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


@jax.custom_vjp
def conv_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """flax's Conv(4x4, stride 2, 'SAME') of NHWC ``x`` (even H, W), with a sub-pixel input grad.

    The input gradient of a strided convolution is the transposed convolution of the output
    gradient with the spatially flipped, in/out-swapped kernel; it is computed here with
    ``conv_transpose_phases`` (stride-1 convolutions) instead of XLA's own form, a convolution
    with an lhs-dilated input. That matters most for the gradient penalty of WGAN-GP, which
    differentiates this input gradient once more: XLA:CPU turns the derivative of its own form
    into window-reversed convolutions that it runs as naive loops (about 1 s each for a dcgan32
    critic layer, 10 per train step), while the derivatives of stride-1 convolutions stay on its
    fast kernels. The forward pass and the kernel gradient are XLA's own.
    """
    return _conv_stride2(x, kernel)


def _conv_stride2_fwd(x, kernel):
    # conv_stride2 rather than _conv_stride2: a second derivative (WGAN-GP) differentiates this
    # forward pass too, and should get the same input gradient.
    return conv_stride2(x, kernel), (x, kernel)


def _conv_stride2_bwd(residuals, dy):
    x, kernel = residuals
    dx = conv_transpose_phases(dy, jnp.flip(kernel, (0, 1)).swapaxes(2, 3))
    (dkernel,) = jax.vjp(lambda k: _conv_stride2(x, k), kernel)[1](dy)
    return dx, dkernel


conv_stride2.defvjp(_conv_stride2_fwd, _conv_stride2_bwd)


class StridedConv(nn.Module):
    """Drop-in for ``nn.Conv(features, (4, 4), (2, 2), 'SAME')`` on even sizes (same params).

    Computes ``conv_stride2``: the same function, with an input gradient XLA:CPU runs well.
    """

    features: int
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()
    dtype: Any = None  # compute dtype (default: the input's); parameters stay float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x if self.dtype is None else x.astype(self.dtype)
        n, h, w, cin = x.shape
        if h % 2 or w % 2:
            raise ValueError(f"StridedConv needs even spatial sizes; got {(h, w)}")
        kernel = self.param("kernel", self.kernel_init, (4, 4, cin, self.features), jnp.float32)
        y = conv_stride2(x, kernel.astype(x.dtype))
        if self.use_bias:
            bias = self.param("bias", self.bias_init, (self.features,), jnp.float32)
            y = y + bias.astype(y.dtype)
        return y


def downsample_layer(
    kind: str, features: int, use_bias: bool = True, name: str | None = None, dtype: Any = None
) -> nn.Module:
    """A 4x4 stride-2 convolution: 'conv' (flax) or 'subpixel' (same function, see StridedConv)."""
    if kind == "conv":
        return nn.Conv(
            features,
            (4, 4),
            strides=(2, 2),
            padding="SAME",
            use_bias=use_bias,
            name=name,
            dtype=dtype,
        )
    if kind == "subpixel":
        return StridedConv(features, use_bias=use_bias, name=name, dtype=dtype)
    raise ValueError(f"model.downsample={kind!r}; allowed: ['conv', 'subpixel']")


def upsample_layer(
    kind: str, features: int, use_bias: bool = True, name: str | None = None, dtype: Any = None
) -> nn.Module:
    """A 4x4 stride-2 upsampling layer: 'conv_transpose' (flax) or 'subpixel' (same function)."""
    if kind == "conv_transpose":
        return nn.ConvTranspose(
            features,
            (4, 4),
            strides=(2, 2),
            padding="SAME",
            use_bias=use_bias,
            name=name,
            dtype=dtype,
        )
    if kind == "subpixel":
        return SubPixelConvTranspose(features, use_bias=use_bias, name=name, dtype=dtype)
    raise ValueError(f"model.upsample={kind!r}; allowed: ['conv_transpose', 'subpixel']")


def norm_layer(kind: str, train: bool, name: str | None = None, dtype: Any = None):
    """'batch' (momentum 0.9, as PyTorch's 0.1), 'layer', or 'none' (identity).

    With a low-precision ``dtype`` flax still computes the statistics in float32.
    """
    if kind == "batch":
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name, dtype=dtype)
    if kind == "layer":
        return nn.LayerNorm(name=name, dtype=dtype)
    if kind == "none":
        return lambda x: x
    raise ValueError(f"norm={kind!r}; allowed: ['batch', 'layer', 'none']")


def spectral_norm(layer: nn.Module, enabled: bool, name: str | None = None):
    """``layer`` wrapped in flax's SpectralNorm (Miyato et al. 2018, eq. 8) when ``enabled``.

    Returns ``f(x, train)``. The power-iteration vector ``u`` and the estimate ``sigma`` live in
    the ``batch_stats`` collection (flax's default), so ``steps.ModelState.batch_stats`` carries
    them through the pure steps and into checkpoints like BatchNorm statistics. One power
    iteration runs per call; ``u`` and ``sigma`` are written back only when ``train`` is true and
    the caller lets ``batch_stats`` mutate (the critic update: see ``steps.d_step``). The layer's
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
