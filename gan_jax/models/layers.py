"""Layers shared by the model families.

``SubPixelConvTranspose`` computes exactly what ``flax.linen.ConvTranspose(features, (4, 4),
strides=(2, 2), padding='SAME')`` computes, with the same parameter names and shapes, through a
3x3 convolution to 4x the channels followed by depth-to-space. Why by hand: XLA:CPU runs the
weight gradient of a strided transposed convolution ~30x slower than oneDNN (../shared/FACTS.md),
while plain convolutions are on par; no library offers this re-parameterisation.

Derivation (one spatial axis). The transposed conv is a conv of the 2x-dilated input with padding
(2, 2) and the kernel K as stored (flax does not flip it):
  y[2m + r] = sum_k xd[2m + r + k - 2] K[k].
Only taps with r + k even hit a real input, so
  y[2m]     = x[m - 1] K[0] + x[m] K[2],
  y[2m + 1] = x[m] K[1] + x[m + 1] K[3],
i.e. two phases of a 3-tap convolution over x (offsets -1, 0, +1) with kernels [K0, K2, 0] and
[0, K1, K3]. In 2D the four phases (ry, rx) become 4 * features output channels of one 3x3 conv.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# _PHASE_TAPS[t, r]: index of K used by tap t (offset t - 1) of phase r; 4 is the zero row.
_PHASE_TAPS = np.array([[0, 4], [2, 1], [4, 3]])


def subpixel_kernel(kernel: jax.Array) -> jax.Array:
    """(4, 4, Cin, Cout) transposed-conv kernel -> (3, 3, Cin, 4 * Cout) sub-pixel conv kernel.

    Output channels are ordered (ry, rx, Cout), matching ``depth_to_space``.
    """
    kh, kw, cin, cout = kernel.shape
    assert (kh, kw) == (4, 4), kernel.shape
    padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))  # (5, 5, Cin, Cout)
    k = padded[_PHASE_TAPS][:, :, _PHASE_TAPS]  # (ty, ry, tx, rx, Cin, Cout)
    k = k.transpose(0, 2, 4, 1, 3, 5)  # (ty, tx, Cin, ry, rx, Cout)
    return k.reshape(3, 3, cin, 4 * cout)


def depth_to_space(x: jax.Array) -> jax.Array:
    """(N, H, W, 4C) with channels ordered (ry, rx, C) -> (N, 2H, 2W, C)."""
    n, h, w, c4 = x.shape
    c = c4 // 4
    x = x.reshape(n, h, w, 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, 2 * h, 2 * w, c)


class SubPixelConvTranspose(nn.Module):
    """Drop-in for ``nn.ConvTranspose(features, (4, 4), (2, 2), 'SAME')`` (same params)."""

    features: int
    use_bias: bool = True
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        cin = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (4, 4, cin, self.features), jnp.float32)
        y = jax.lax.conv_general_dilated(
            x,
            subpixel_kernel(kernel).astype(x.dtype),
            window_strides=(1, 1),
            padding=((1, 1), (1, 1)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        y = depth_to_space(y)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,), jnp.float32)
        return y


def upsample_layer(
    kind: str, features: int, use_bias: bool = True, name: str | None = None
) -> nn.Module:
    """A 4x4 stride-2 upsampling layer: 'conv_transpose' (flax) or 'subpixel' (same function)."""
    if kind == "conv_transpose":
        return nn.ConvTranspose(
            features, (4, 4), strides=(2, 2), padding="SAME", use_bias=use_bias, name=name
        )
    if kind == "subpixel":
        return SubPixelConvTranspose(features, use_bias=use_bias, name=name)
    raise ValueError(f"model.upsample={kind!r}; allowed: ['conv_transpose', 'subpixel']")


def norm_layer(kind: str, train: bool, name: str | None = None):
    """'batch' (momentum 0.9, as PyTorch's 0.1), 'layer', or 'none' (identity)."""
    if kind == "batch":
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name)
    if kind == "layer":
        return nn.LayerNorm(name=name)
    if kind == "none":
        return lambda x: x
    raise ValueError(f"norm={kind!r}; allowed: ['batch', 'layer', 'none']")
