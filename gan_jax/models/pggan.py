"""Progressive GAN networks (Karras et al. 2018, arXiv 1710.10196, section 2 and appendix A).

Both networks hold the layers of every resolution from ``start_resolution`` (4) to
``resolution``, doubling: stage k works at ``start_resolution * 2**k``. A call takes the stage
(a Python int: each stage is its own compiled program) and the fade-in ``alpha`` (an array:
it changes every step). The generator's stage-k output is its stage-k toRGB image blended with
the nearest-upsampled toRGB image of stage k - 1, ``prev + alpha (new - prev)`` (figure 2);
the critic reads a stage-k image through its stage-k fromRGB and blends, after the first
block's average pooling, with the fromRGB of the half-resolution input. ``stage=None`` is the
last stage with alpha = 1: the full-resolution networks, so the family also trains in the
classic game. Initialisation runs every toRGB / fromRGB, so the parameters of every stage exist
from the start and the state pytree is the same in every stage.

Layers (section 4): equalised learning rate (every weight drawn N(0, 1) and multiplied at run
time by He's constant gain / sqrt(fan_in)), pixelwise feature normalisation after every
generator convolution (section 4.2), LeakyReLU 0.2, nearest-neighbour upsampling and 2x2
average pooling, the minibatch standard deviation as one extra feature map before the critic's
last block (section 3; ``gan_jax.models.layers.minibatch_stddev``). Every resolution has
``width`` channels (the paper: 512 up to 32 px, then halving).
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import minibatch_stddev

Array = jax.Array
HE_GAIN = math.sqrt(2.0)


def pixel_norm(x: Array, epsilon: float = 1e-8) -> Array:
    """x / sqrt(mean over channels of x^2 + epsilon), per pixel (section 4.2, equation 3)."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + epsilon)


def upsample(x: Array, factor: int = 2) -> Array:
    """Nearest-neighbour upsampling of an NHWC batch."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def downsample(x: Array, factor: int = 2) -> Array:
    """Average pooling of an NHWC batch over ``factor`` x ``factor`` blocks."""
    n, h, w, c = x.shape
    return x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def resize(x: Array, resolution: int) -> Array:
    """``x`` at ``resolution``: average-pooled down or nearest-upsampled (powers of two)."""
    side = x.shape[1]
    if side > resolution:
        return downsample(x, side // resolution)
    if side < resolution:
        return upsample(x, resolution // side)
    return x


def lrelu(x: Array) -> Array:
    return nn.leaky_relu(x, 0.2)


class EqualizedDense(nn.Module):
    """Dense layer with weights N(0, 1) scaled by gain / sqrt(fan_in) at run time (section 4.1)."""

    features: int
    gain: float = HE_GAIN
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        fan_in = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.normal(1.0), (fan_in, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        scale = self.gain / math.sqrt(fan_in)
        y = x.astype(self.dtype) @ (kernel * scale).astype(self.dtype)
        return y + bias.astype(self.dtype)


class EqualizedConv(nn.Module):
    """Stride-1 'SAME' convolution with the equalised learning rate of ``EqualizedDense``."""

    features: int
    kernel_size: int = 3
    gain: float = HE_GAIN
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        k, c = self.kernel_size, x.shape[-1]
        kernel = self.param("kernel", nn.initializers.normal(1.0), (k, k, c, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        scale = self.gain / math.sqrt(k * k * c)
        y = jax.lax.conv_general_dilated(
            x.astype(self.dtype),
            (kernel * scale).astype(self.dtype),
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return y + bias.astype(self.dtype)


def num_stages(resolution: int, start_resolution: int) -> int:
    """Resolutions from ``start_resolution`` to ``resolution``, doubling."""
    return int(round(math.log2(resolution // start_resolution))) + 1


class PGGANGenerator(nn.Module):
    """z -> image at stage ``stage``'s resolution (table 2's generator, ``width`` channels).

    z is pixel-normalised, a dense layer makes the 4x4 map (the paper's 4x4 convolution of the
    latent), then a 3x3 convolution; every later stage upsamples and applies two 3x3
    convolutions; each stage has its 1x1 toRGB (linear).
    """

    resolution: int
    start_resolution: int = 4
    width: int = 32
    channels: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, labels=None, train: bool = False, *, stage=None, alpha=1.0) -> Array:
        del labels, train  # unconditional; no BatchNorm
        last = num_stages(self.resolution, self.start_resolution) - 1
        stage = last if stage is None else stage
        s, w, dtype = self.start_resolution, self.width, self.dtype
        x = pixel_norm(z.astype(dtype))
        # The paper's gain sqrt(2) / 4 for this layer (the ProGAN code's G_paper).
        x = EqualizedDense(s * s * w, gain=HE_GAIN / 4, dtype=dtype, name="dense")(x)
        x = pixel_norm(lrelu(x.reshape(-1, s, s, w)))
        x = pixel_norm(lrelu(EqualizedConv(w, dtype=dtype, name="block0_conv")(x)))
        features = [x]
        for k in range(1, last + 1 if self.is_initializing() else stage + 1):
            x = upsample(x)
            x = pixel_norm(lrelu(EqualizedConv(w, dtype=dtype, name=f"block{k}_conv0")(x)))
            x = pixel_norm(lrelu(EqualizedConv(w, dtype=dtype, name=f"block{k}_conv1")(x)))
            features.append(x)
        to_rgb = [
            EqualizedConv(self.channels, 1, gain=1.0, dtype=dtype, name=f"to_rgb{k}")
            for k in range(last + 1)
        ]
        if self.is_initializing():  # every stage's toRGB exists from the start
            for k in range(last + 1):
                to_rgb[k](features[k])
        image = to_rgb[stage](features[stage])
        if stage > 0:
            prev = upsample(to_rgb[stage - 1](features[stage - 1]))
            image = prev + jnp.asarray(alpha, dtype) * (image - prev)
        return image.astype(jnp.float32)


class PGGANDiscriminator(nn.Module):
    """Image at stage ``stage``'s resolution -> one critic score per sample (table 2's D).

    fromRGB (1x1), then per stage from the highest down two 3x3 convolutions and 2x2 average
    pooling; at 4x4 the minibatch stddev map (groups of ``stddev_group``, 0: off), a 3x3
    convolution, a dense layer of ``width`` units (the paper's 4x4 convolution) and the linear
    output.
    """

    resolution: int
    start_resolution: int = 4
    width: int = 32
    stddev_group: int = 4
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, labels=None, train: bool = False, *, stage=None, alpha=1.0) -> Array:
        del labels, train
        last = num_stages(self.resolution, self.start_resolution) - 1
        stage = last if stage is None else stage
        side = self.start_resolution * 2**stage
        if x.shape[1:3] != (side, side):
            raise ValueError(f"pggan critic: stage {stage} reads {side}x{side}, got {x.shape}")
        w, dtype = self.width, self.dtype
        x = x.astype(dtype)
        from_rgb = [EqualizedConv(w, 1, dtype=dtype, name=f"from_rgb{k}") for k in range(last + 1)]
        if self.is_initializing():  # every stage's fromRGB exists from the start
            for k in range(last - 1):
                from_rgb[k](resize(x, self.start_resolution * 2**k))

        def block(h: Array, k: int) -> Array:
            """Stage k's two 3x3 convolutions and 2x2 average pooling."""
            h = lrelu(EqualizedConv(w, dtype=dtype, name=f"block{k}_conv0")(h))
            h = lrelu(EqualizedConv(w, dtype=dtype, name=f"block{k}_conv1")(h))
            return downsample(h)

        h = lrelu(from_rgb[stage](x))
        for k in range(stage, 0, -1):
            h = block(h, k)
            if k == stage:
                low = lrelu(from_rgb[stage - 1](downsample(x)))
                h = low + jnp.asarray(alpha, dtype) * (h - low)
        if self.stddev_group:
            std = minibatch_stddev(h, self.stddev_group).astype(dtype)
            std_map = jnp.broadcast_to(std[:, None, None, None], h[..., :1].shape)
            h = jnp.concatenate([h, std_map], axis=-1)
        h = lrelu(EqualizedConv(w, dtype=dtype, name="block0_conv")(h))
        h = lrelu(EqualizedDense(w, dtype=dtype, name="block0_dense")(h.reshape(h.shape[0], -1)))
        out = EqualizedDense(1, gain=1.0, dtype=dtype, name="out")(h)
        return out[:, 0].astype(jnp.float32)
