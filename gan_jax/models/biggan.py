"""The BigGAN generator and discriminator (Brock et al. 2018, arXiv 1809.11096), scaled down.

Generator (ch = ``width``): z (``z_dim``) is split into n + 1 equal chunks for n up blocks
(hierarchical latent, section 3): the first chunk goes through a Dense layer to 4x4xch, and
block i is conditioned on c_i = [shared(y), z_{i+1}] (skip-z), where ``shared`` is one class
embedding of ``shared_dim`` for all blocks (shared embedding; dropped when unconditional). A
block is cBN-ReLU-up-conv3x3-cBN-ReLU-conv3x3 with an up-conv1x1 shortcut, its conditional
BatchNorms ``layers.LinearConditionalBatchNorm`` (gain 1 + W_g c_i, bias W_b c_i). Then
BN-ReLU-conv3x3-tanh. Self-attention (SAGAN) after the block whose output has ``attention``
pixels a side (0: none). Every layer of G and D is spectrally normalised (BigGAN, after SAGAN),
except the shared embedding. n = log2(resolution / 4), as the SNGAN ResNets.

Discriminator: the SNGAN ResNet critic (``resnet.ResNetDiscriminator``) with the projection
head (Miyato & Koyama 2018) when conditional and the same self-attention placement. BigGAN's
channel multipliers and its 128-pixel depth are scaled down to a constant width on 16-64
pixels; what makes BigGAN (shared embedding, skip-z, orthogonal regularisation, truncation,
EMA and standing statistics) is kept (the last four live in gan_jax/games/biggan.py and
gan_jax/runs.py).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import LinearConditionalBatchNorm, spectral_norm
from gan_jax.models.resnet import _INIT, _upsample, attention_block, num_up_blocks, sn_conv


def latent_chunks(resolution: int) -> int:
    """How many chunks z is split into: one for the input layer and one per up block."""
    return num_up_blocks(resolution) + 1


class BigGANBlock(nn.Module):
    """Up ResBlock with conditional BatchNorms on ``cond`` (all layers spectrally normalised)."""

    features: int
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, cond: jax.Array, train: bool) -> jax.Array:
        dtype = self.dtype
        bn1 = LinearConditionalBatchNorm(spectral_norm=True, dtype=dtype, name="cbn1")
        bn2 = LinearConditionalBatchNorm(spectral_norm=True, dtype=dtype, name="cbn2")
        h = nn.relu(bn1(x, cond, train))
        h = sn_conv(self.features, 3, "conv1", True, False, dtype)(_upsample(h), train)
        h = nn.relu(bn2(h, cond, train))
        h = sn_conv(self.features, 3, "conv2", True, True, dtype)(h, train)
        return h + sn_conv(self.features, 1, "shortcut", True, True, dtype)(_upsample(x), train)


class BigGANGenerator(nn.Module):
    resolution: int = 32
    width: int = 64
    channels: int = 3
    num_classes: int = 0
    shared_dim: int = 128
    attention: int = 0
    dtype: Any = None  # compute dtype; parameters and the images stay float32

    @nn.compact
    def __call__(
        self, z: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        n = num_up_blocks(self.resolution)
        ch, dtype = self.width, self.dtype
        if z.shape[-1] % (n + 1):
            raise ValueError(f"z_dim={z.shape[-1]} does not split into {n + 1} equal chunks")
        chunks = jnp.split(z, n + 1, axis=-1)
        shared = None
        if self.num_classes:
            if labels is None:
                raise ValueError(
                    f"a conditional model (num_classes={self.num_classes}) needs labels"
                )
            embed = nn.Embed(self.num_classes, self.shared_dim, embedding_init=_INIT, name="shared")
            shared = embed(labels)
        dense = nn.Dense(4 * 4 * ch, kernel_init=_INIT, name="project", dtype=dtype)
        x = spectral_norm(dense, True, name="sn_project")(chunks[0], train)
        x = x.reshape(z.shape[0], 4, 4, ch)
        for i in range(n):
            cond = chunks[i + 1] if shared is None else jnp.concatenate([shared, chunks[i + 1]], -1)
            x = BigGANBlock(ch, dtype, name=f"block{i}")(x, cond, train)
            x = attention_block(x, self.attention, True, dtype, train, f"attn{i}")
        bn = nn.BatchNorm(use_running_average=not train, momentum=0.9, name="norm_out", dtype=dtype)
        x = sn_conv(self.channels, 3, "conv_out", True, dtype=dtype)(nn.relu(bn(x)), train)
        return jnp.tanh(x).astype(jnp.float32)
