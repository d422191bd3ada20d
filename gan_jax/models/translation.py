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


def _reflect_conv(x: jax.Array, features: int, size: int, name: str) -> jax.Array:
    """A stride-1 ``size`` x ``size`` convolution over reflection padding (the same size out)."""
    p = size // 2
    x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
    return nn.Conv(features, (size, size), padding="VALID", kernel_init=INIT, name=name)(x)


class ResnetGenerator(nn.Module):
    """x (B, H, W, C) in [-1, 1] -> image (B, H, W, C) in [-1, 1]; H, W divisible by 4."""

    width: int = 16
    num_blocks: int = 3
    norm: str = "instance"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train  # no running statistics: instance norm normalises each image by itself
        channels = x.shape[-1]
        h = nn.relu(_norm(self.norm, "norm_in")(_reflect_conv(x, self.width, 7, "conv_in")))
        for i, mult in enumerate((2, 4)):
            h = layers.StridedConv(self.width * mult, kernel_init=INIT, name=f"down{i}")(h)
            h = nn.relu(_norm(self.norm, f"norm_down{i}")(h))
        for i in range(self.num_blocks):
            r = nn.relu(
                _norm(self.norm, f"block{i}_norm0")(
                    _reflect_conv(h, h.shape[-1], 3, f"block{i}_conv0")
                )
            )
            r = _norm(self.norm, f"block{i}_norm1")(
                _reflect_conv(r, h.shape[-1], 3, f"block{i}_conv1")
            )
            h = h + r
        for i, mult in enumerate((2, 1)):
            h = layers.ConvTranspose4x4(self.width * mult, kernel_init=INIT, name=f"up{i}")(h)
            h = nn.relu(_norm(self.norm, f"norm_up{i}")(h))
        return jnp.tanh(_reflect_conv(h, channels, 7, "conv_out"))


class PatchDiscriminator(nn.Module):
    """x (B, H, W, C) -> patch scores (B, H / 2^num_layers, W / 2^num_layers, 1), raw."""

    width: int = 16
    num_layers: int = 2
    norm: str = "instance"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        h = x
        for i in range(self.num_layers):
            h = layers.StridedConv(self.width * 2**i, kernel_init=INIT, name=f"down{i}")(h)
            if i:
                h = _norm(self.norm, f"norm{i}")(h)
            h = nn.leaky_relu(h, 0.2)
        h = nn.Conv(self.width * 2**self.num_layers, (4, 4), padding="SAME", kernel_init=INIT)(h)
        h = nn.leaky_relu(_norm(self.norm, "norm_last")(h), 0.2)
        return nn.Conv(1, (4, 4), padding="SAME", kernel_init=INIT, name="patch_scores")(h)
