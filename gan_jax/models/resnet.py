"""The SNGAN ResNet generator and discriminator (Miyato et al. 2018, arXiv 1802.05957, Appendix
B.4, Table 4 for 32x32 images), with the projection discriminator and class-conditional
BatchNorm of Miyato & Koyama 2018 (arXiv 1802.05637) when ``num_classes > 0``.

Generator (ch = ``g_width``, 256 in the paper): z -> Dense to 4x4xch -> n up ResBlocks (ch) ->
BN -> ReLU -> conv3x3 to the image channels -> tanh, with n = log2(resolution / 4) (3 at 32x32).
An up ResBlock is BN -> ReLU -> nearest-neighbour 2x upsampling -> conv3x3 -> BN -> ReLU ->
conv3x3, plus a shortcut of upsampling and a 1x1 conv. Conditional generators replace every
BatchNorm inside the blocks by class-conditional BatchNorm (``layers.ConditionalBatchNorm``).

Discriminator (ch = ``d_width``, 128 in the paper): the "optimized" first block (conv3x3 ->
ReLU -> conv3x3 -> 2x2 average pooling, shortcut pooling -> conv1x1), a down ResBlock, two
ResBlocks without resampling, ReLU, global sum pooling, and a Dense to one logit; a ResBlock is
ReLU -> conv3x3 -> ReLU -> conv3x3 (-> pooling), its shortcut a 1x1 conv (-> pooling) when it
resamples and the identity otherwise. Every critic layer is spectrally normalised when
``spectral_norm`` is set (the SNGAN recipe). The projection discriminator adds
<embed(y), phi(x)> to the logit (Miyato & Koyama 2018, eq. 3), with the class embedding
spectrally normalised as in their code. Initialisation: Glorot uniform, as in the Chainer
reference. No BatchNorm in the critic; G's layers that feed a BatchNorm carry no bias.

SAGAN (Zhang et al. 2018) is these networks with ``spectral_norm`` in G as well and
``attention`` > 0: a ``layers.SelfAttention`` block after the G block and the D resampling
block whose maps have that many pixels a side. ``dtype`` is the compute dtype (parameters,
images and logits stay float32).
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import ConditionalBatchNorm, SelfAttention, norm_layer, spectral_norm

RESOLUTIONS = (16, 32, 64)
_INIT = nn.initializers.xavier_uniform()


def num_up_blocks(resolution: int) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"data.resolution={resolution}; allowed: {list(RESOLUTIONS)}")
    return int(math.log2(resolution // 4))


def _upsample(x: jax.Array) -> jax.Array:
    """Nearest-neighbour 2x upsampling of NHWC ``x``."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _avg_pool(x: jax.Array) -> jax.Array:
    return nn.avg_pool(x, (2, 2), strides=(2, 2))


def _conv(features: int, size: int, name: str, use_bias: bool = True, dtype=None) -> nn.Conv:
    return nn.Conv(
        features,
        (size, size),
        padding="SAME",
        use_bias=use_bias,
        kernel_init=_INIT,
        name=name,
        dtype=dtype,
    )


def sn_conv(features: int, size: int, name: str, sn: bool, use_bias: bool = True, dtype=None):
    """``_conv``, spectrally normalised when ``sn``; called as ``f(x, train)``."""
    return spectral_norm(_conv(features, size, name, use_bias, dtype), sn, name=f"sn_{name}")


def attention_block(x: jax.Array, resolution: int, sn: bool, dtype, train: bool, name: str):
    """SAGAN's self-attention on ``x`` when its spatial size is ``resolution`` (0: never)."""
    if resolution and x.shape[1] == resolution:
        return SelfAttention(spectral_norm=sn, dtype=dtype, name=name)(x, train)
    return x


class _GNorm(nn.Module):
    """The generator's BatchNorm: class-conditional when ``num_classes > 0``."""

    num_classes: int
    norm: str
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None, train: bool) -> jax.Array:
        if self.num_classes:
            return ConditionalBatchNorm(self.num_classes, name="cbn")(x, labels, train)
        return norm_layer(self.norm, train, name="bn", dtype=self.dtype)(x)


class GBlock(nn.Module):
    """Up ResBlock: BN-ReLU-up-conv3x3-BN-ReLU-conv3x3, shortcut up-conv1x1."""

    features: int
    num_classes: int = 0
    norm: str = "batch"
    spectral_norm: bool = False  # SAGAN: every generator layer too
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None, train: bool) -> jax.Array:
        bias, sn, dtype = _g_bias(self.norm, self.num_classes), self.spectral_norm, self.dtype
        h = nn.relu(_GNorm(self.num_classes, self.norm, dtype, name="norm1")(x, labels, train))
        h = sn_conv(self.features, 3, "conv1", sn, bias, dtype)(_upsample(h), train)
        h = nn.relu(_GNorm(self.num_classes, self.norm, dtype, name="norm2")(h, labels, train))
        h = sn_conv(self.features, 3, "conv2", sn, bias, dtype)(h, train)
        return h + sn_conv(self.features, 1, "shortcut", sn, bias, dtype)(_upsample(x), train)


def _g_bias(norm: str, num_classes: int) -> bool:
    """Whether G's layers that feed a BatchNorm get a bias: not when there is a BatchNorm.

    BatchNorm removes a bias, so its gradient is zero up to rounding and Adam would turn that
    rounding noise into updates of size lr (as in dcgan.py; the Chainer reference keeps them).
    """
    return norm != "batch" and not num_classes


class ResNetGenerator(nn.Module):
    resolution: int = 32
    width: int = 256
    channels: int = 3
    norm: str = "batch"
    num_classes: int = 0
    spectral_norm: bool = False  # SAGAN: every generator layer spectrally normalised
    attention: int = 0  # SAGAN: self-attention after the block of this resolution (0: none)
    dtype: Any = None  # compute dtype; parameters and the images stay float32

    @nn.compact
    def __call__(
        self, z: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        ch, sn, dtype = self.width, self.spectral_norm, self.dtype
        bias = _g_bias(self.norm, self.num_classes)
        dense = nn.Dense(4 * 4 * ch, use_bias=bias, kernel_init=_INIT, name="project", dtype=dtype)
        x = spectral_norm(dense, sn, name="sn_project")(z, train)
        x = x.reshape(z.shape[0], 4, 4, ch)
        for i in range(num_up_blocks(self.resolution)):
            block = GBlock(ch, self.num_classes, self.norm, sn, dtype, name=f"block{i}")
            x = attention_block(
                block(x, labels, train), self.attention, sn, dtype, train, f"attn{i}"
            )
        x = nn.relu(norm_layer(self.norm, train, name="norm_out", dtype=dtype)(x))
        x = sn_conv(self.channels, 3, "conv_out", sn, dtype=dtype)(x, train)
        return jnp.tanh(x).astype(jnp.float32)


class DBlock(nn.Module):
    """ResBlock of the critic; ``optimized``: the first block (no ReLU before its first conv)."""

    features: int
    downsample: bool = True
    optimized: bool = False
    spectral_norm: bool = True
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        sn = self.spectral_norm

        def conv(features, size, name):
            return sn_conv(features, size, name, sn, dtype=self.dtype)

        h = x if self.optimized else nn.relu(x)
        h = conv(self.features, 3, "conv1")(h, train)
        h = conv(self.features, 3, "conv2")(nn.relu(h), train)
        if self.downsample:
            h = _avg_pool(h)
        shortcut = x
        if self.optimized:
            shortcut = conv(self.features, 1, "shortcut")(_avg_pool(x), train)
        elif self.downsample or x.shape[-1] != self.features:
            shortcut = conv(self.features, 1, "shortcut")(x, train)
            if self.downsample:
                shortcut = _avg_pool(shortcut)
        return h + shortcut


class ResNetDiscriminator(nn.Module):
    width: int = 128
    num_classes: int = 0
    spectral_norm: bool = True
    attention: int = 0  # SAGAN: self-attention after the block of this resolution (0: none)
    dtype: Any = None  # compute dtype; parameters and the logits stay float32

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        ch, sn, dtype = self.width, self.spectral_norm, self.dtype
        blocks = [
            dict(optimized=True),
            dict(downsample=True),
            dict(downsample=False),
            dict(downsample=False),
        ]
        h = x
        for i, kind in enumerate(blocks):
            h = DBlock(ch, spectral_norm=sn, dtype=dtype, name=f"block{i}", **kind)(h, train)
            if i < 2:  # the resampling blocks: each resolution once
                h = attention_block(h, self.attention, sn, dtype, train, f"attn{i}")
        h = jnp.sum(nn.relu(h), axis=(1, 2)).astype(jnp.float32)  # global sum pooling
        logit = spectral_norm(nn.Dense(1, kernel_init=_INIT, name="logit"), sn, name="sn_logit")
        out = logit(h, train)[:, 0]
        if self.num_classes:
            if labels is None:
                raise ValueError(
                    f"a conditional model (num_classes={self.num_classes}) needs labels"
                )
            embed = nn.Embed(self.num_classes, ch, embedding_init=_INIT, name="embed")
            out = out + jnp.sum(spectral_norm(embed, sn, name="sn_embed")(labels, train) * h, -1)
        return out
