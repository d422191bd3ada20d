"""Image-to-image networks: CycleGAN's ResNet generator and PatchGAN critic, scaled down.

Zhu et al. 2017 (arXiv 1703.10593, appendix 7.2) after Johnson et al. 2016: the generator is a
reflection-padded 7x7 convolution, two stride-2 downsampling convolutions, ``num_blocks``
residual blocks of two 3x3 convolutions, two stride-2 upsampling transposed convolutions and a
7x7 convolution to the image's channels with tanh; each hidden layer is normalised (instance
norm without affine parameters, as the reference code's default) and ReLU-ed. The critic is
the PatchGAN of pix2pix (Isola et al. 2017): ``num_layers`` 4x4 stride-2 convolutions, one 4x4
stride-1 convolution, then a 4x4 stride-1 convolution to one score per patch, LeakyReLU(0.2)
between them and no norm on the first layer; it returns the (B, H / 2^num_layers,
W / 2^num_layers, 1) patch map. Weights are initialised N(0, 0.02^2) as in the reference code.
A convolution followed by instance norm has no bias (the reference code's has one, which the
norm's mean subtraction cancels exactly: it changes nothing but has a gradient of rounding
noise, which Adam turns into steps of +-lr that differ from one device count to another).

Differences from the paper's networks, for 16x16 digits: widths and block counts are arguments
(the paper's are 64 and 9 for 256x256), and the stride-2 layers are 4x4 (the DCGAN layers of
``layers.py``, whose gradients XLA:CPU runs well) rather than 3x3. Not in the ``MODELS``
registry: these map images to images, not noise to images.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import layers

NORMS = ("instance", "none")
INIT = nn.initializers.normal(0.02)


def _norm(kind: str, name: str):
    if kind == "instance":
        # PyTorch's InstanceNorm2d defaults: no affine parameters, eps 1e-5.
        return nn.InstanceNorm(epsilon=1e-5, use_scale=False, use_bias=False, name=name)
    if kind == "none":
        return lambda x: x
    raise ValueError(f"norm={kind!r}; allowed: {list(NORMS)}")


def _reflect_conv(
    x: jax.Array, features: int, size: int, name: str, use_bias: bool = True
) -> jax.Array:
    """A stride-1 ``size`` x ``size`` convolution over reflection padding (the same size out)."""
    p = size // 2
    x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
    conv = nn.Conv(
        features, (size, size), padding="VALID", use_bias=use_bias, kernel_init=INIT, name=name
    )
    return conv(x)


class ResnetGenerator(nn.Module):
    """x (B, H, W, C) in [-1, 1] -> image (B, H, W, C) in [-1, 1]; H, W divisible by 4."""

    width: int = 16
    num_blocks: int = 3
    norm: str = "instance"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train  # no running statistics: instance norm normalises each image by itself
        channels, bias = x.shape[-1], self.norm == "none"
        h = _reflect_conv(x, self.width, 7, "conv_in", bias)
        h = nn.relu(_norm(self.norm, "norm_in")(h))
        for i, mult in enumerate((2, 4)):
            h = layers.StridedConv(self.width * mult, bias, kernel_init=INIT, name=f"down{i}")(h)
            h = nn.relu(_norm(self.norm, f"norm_down{i}")(h))
        width = h.shape[-1]
        for i in range(self.num_blocks):
            r = _reflect_conv(h, width, 3, f"block{i}_conv0", bias)
            r = nn.relu(_norm(self.norm, f"block{i}_norm0")(r))
            r = _reflect_conv(r, width, 3, f"block{i}_conv1", bias)
            h = h + _norm(self.norm, f"block{i}_norm1")(r)
        for i, mult in enumerate((2, 1)):
            up = layers.ConvTranspose4x4(self.width * mult, bias, kernel_init=INIT, name=f"up{i}")
            h = nn.relu(_norm(self.norm, f"norm_up{i}")(up(h)))
        return jnp.tanh(_reflect_conv(h, channels, 7, "conv_out"))


class PatchDiscriminator(nn.Module):
    """x (B, H, W, C) -> patch scores (B, H / 2^num_layers, W / 2^num_layers, 1), raw."""

    width: int = 16
    num_layers: int = 2
    norm: str = "instance"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        h, bias = x, self.norm == "none"
        for i in range(self.num_layers):
            down = layers.StridedConv(
                self.width * 2**i, bias or not i, kernel_init=INIT, name=f"down{i}"
            )
            h = down(h)
            if i:
                h = _norm(self.norm, f"norm{i}")(h)
            h = nn.leaky_relu(h, 0.2)
        last = nn.Conv(
            self.width * 2**self.num_layers,
            (4, 4),
            padding="SAME",
            use_bias=bias,
            kernel_init=INIT,
            name="conv_last",
        )
        h = nn.leaky_relu(_norm(self.norm, "norm_last")(last(h)), 0.2)
        return nn.Conv(1, (4, 4), padding="SAME", kernel_init=INIT, name="patch_scores")(h)
