"""DCGAN generator and discriminator (Radford et al. 2015), as in ../shared/GAN-NOTES.md.

For resolution R = 4 * 2^n the generator maps z to 4x4 x (width * 2^(n-1)) and then applies n
4x4 stride-2 upsampling layers that halve the channels and double the resolution, BatchNorm +
ReLU after each but the last, tanh at the end (R=64, width=64: 512, 256, 128, 64, C). The first
layer, a 4x4 valid transposed conv of the 1x1 noise, is exactly a Dense layer to 4*4*channels,
which is how it is written. The discriminator mirrors it with 4x4 stride-2 convolutions,
LeakyReLU(0.2), normalisation on every layer but the first, and a final 4x4 valid conv to one
logit. ``d_norm`` chooses 'batch' (DCGAN), 'layer' or 'none' (a WGAN-GP critic must not use
BatchNorm: its penalty is per sample). Layers followed by BatchNorm carry no bias (as in the
reference DCGAN code): BatchNorm removes it, so its gradient is zero and Adam would turn rounding
noise into updates.

``norm='vbn'`` (generator only) is virtual batch normalisation (Salimans et al. 2016): a fixed
reference batch of noise (``vbn_reference_size`` vectors drawn from the init key, kept in the
``batch_stats`` collection) runs through G with every batch, and each layer normalises with its
statistics. ``minibatch_discrimination`` (kernels, Salimans et al. 2016) and ``minibatch_stddev``
(group size, Karras et al. 2018) append minibatch features to the critic's last 4x4 map before
the logit (``layers.MinibatchFeatures``); the returned features are the map without them.

Conditioning (``num_classes > 0``) is by concatenation (Mirza & Osindero 2014): G appends the
one-hot label to z, D appends it to the image as K constant channels. ``spectral_norm`` wraps
every critic convolution in spectral normalisation (Miyato et al. 2018). ``dtype`` is the compute
dtype (``model.dtype``: float32, or bfloat16 for GPU/TPU); parameters stay float32 and the outputs
(images, logits) are float32.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import (
    MinibatchFeatures,
    concat_labels,
    downsample_layer,
    norm_layer,
    spectral_norm,
    upsample_layer,
)

RESOLUTIONS = (16, 32, 64)


def num_upsamplings(resolution: int) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"model.resolution={resolution}; allowed: {list(RESOLUTIONS)}")
    return {16: 2, 32: 3, 64: 4}[resolution]


class DCGANGenerator(nn.Module):
    resolution: int = 32
    width: int = 64
    channels: int = 3
    norm: str = "batch"
    upsample: str = "adjoint"
    num_classes: int = 0
    dtype: Any = None  # compute dtype; parameters stay float32, the images are float32
    vbn_reference_size: int = 64  # norm='vbn': noise vectors in the fixed reference batch

    @nn.compact
    def __call__(
        self, z: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        n = num_upsamplings(self.resolution)
        feats = self.width * 2 ** (n - 1)
        bias = self.norm not in ("batch", "vbn")
        z = concat_labels(z, labels, self.num_classes)
        r = self.vbn_reference_size if self.norm == "vbn" else 0
        if r:
            # VBN's reference batch: fixed noise drawn from the init key and kept with the
            # BatchNorm statistics (checkpointed, never updated); it runs through G ahead of
            # the samples, and each VBN layer takes its statistics from those rows.
            reference = self.variable(
                "batch_stats",
                "vbn_reference",
                lambda: jax.random.normal(self.make_rng("params"), (r, z.shape[-1])),
            )
            z = jnp.concatenate([reference.value.astype(z.dtype), z])
        dtype = self.dtype
        norm = functools.partial(norm_layer, self.norm, train, dtype=dtype, reference_size=r)
        x = nn.Dense(4 * 4 * feats, use_bias=bias, name="project", dtype=dtype)(z)
        x = x.reshape(z.shape[0], 4, 4, feats)
        x = nn.relu(norm(name="norm0")(x))
        for i in range(1, n):
            feats //= 2
            x = upsample_layer(self.upsample, feats, use_bias=bias, name=f"up{i}", dtype=dtype)(x)
            x = nn.relu(norm(name=f"norm{i}")(x))
        x = upsample_layer(self.upsample, self.channels, name=f"up{n}", dtype=dtype)(x)
        return jnp.tanh(x[r:]).astype(jnp.float32)


class DCGANDiscriminator(nn.Module):
    resolution: int = 32
    width: int = 64
    norm: str = "batch"
    downsample: str = "adjoint"
    num_classes: int = 0
    spectral_norm: bool = False
    dtype: Any = None  # compute dtype; parameters stay float32, the logits are float32
    # Also return the last feature map (B, 4, 4, C) before the logit: for heads that share the
    # critic's body (InfoGAN's Q) and feature matching.
    return_features: bool = False
    # Minibatch layers on that map, appended as constant channels before the logit (0: off).
    minibatch_discrimination: int = 0
    minibatch_kernel_dim: int = 5
    minibatch_stddev: int = 0

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array | tuple[jax.Array, jax.Array]:
        n = num_upsamplings(self.resolution)
        feats, dtype = self.width, self.dtype
        sn = self.spectral_norm
        x = concat_labels(x, labels, self.num_classes)
        for i in range(n):
            bias = i == 0 or self.norm != "batch"
            conv = downsample_layer(
                self.downsample, feats, use_bias=bias, name=f"conv{i}", dtype=dtype
            )
            x = spectral_norm(conv, sn, name=f"sn{i}")(x, train)
            if i > 0:
                x = norm_layer(self.norm, train, name=f"norm{i}", dtype=dtype)(x)
            x = nn.leaky_relu(x, 0.2)
            feats *= 2
        h = MinibatchFeatures(
            self.minibatch_discrimination,
            self.minibatch_kernel_dim,
            self.minibatch_stddev,
            dtype=dtype,
            name="minibatch",
        )(x)
        logit = nn.Conv(1, (4, 4), padding="VALID", name="logit", dtype=dtype)
        out = spectral_norm(logit, sn, name="sn_logit")(h, train)
        out = out.reshape(out.shape[0]).astype(jnp.float32)
        return (out, x) if self.return_features else out


class HeadedCritic(nn.Module):
    """The DCGAN discriminator's body shared by extra heads (InfoGAN's Q, AC-GAN's classifier,
    SSGAN's rotation): a subclass's ``__call__`` calls ``self.features(x, train)`` for
    ``(logit (B,), last feature map (B, 4, 4, C))`` and puts its heads on the map.

    The body lives in this module's scope (``nn.share_scope``), so its parameters keep the
    plain DCGAN critic's names beside the heads'. It is unconditional: labels, when a head
    uses them, are the subclass's business.
    """

    resolution: int = 16
    width: int = 32
    norm: str = "batch"
    downsample: str = "adjoint"
    spectral_norm: bool = False
    dtype: Any = None

    def setup(self):
        self.body = DCGANDiscriminator(
            resolution=self.resolution,
            width=self.width,
            norm=self.norm,
            downsample=self.downsample,
            spectral_norm=self.spectral_norm,
            dtype=self.dtype,
            return_features=True,
        )
        nn.share_scope(self, self.body)

    def features(self, x: jax.Array, train: bool) -> tuple[jax.Array, jax.Array]:
        return self.body(x, None, train)

    @classmethod
    def from_config(cls, config, resolution: int, **heads: Any) -> HeadedCritic:
        """The critic of a run: the body from ``config.model`` (width, ``d_norm``, ``downsample``,
        ``d_spectral_norm``, ``dtype``), the heads' fields from ``heads``."""
        return cls(
            resolution=resolution,
            width=config.model.width,
            norm=config.model.d_norm,
            downsample=config.model.downsample,
            spectral_norm=config.model.d_spectral_norm,
            dtype=jnp.dtype(config.model.dtype),
            **heads,
        )
