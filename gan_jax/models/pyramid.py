"""Multi-scale generators and critics: LAPGAN's pyramid stages and StackGAN++'s tree.

The image pyramid (Burt & Adelson 1983, as LAPGAN uses it): ``downsample`` is a 2x2 average
pool, ``upsample`` nearest-neighbour doubling. The Gaussian pyramid of an R x R image is
I_R, d(I_R), d(d(I_R)), ... down to the base resolution; the Laplacian pyramid keeps the base
image and, at every finer level k, the residual h_k = I_k - u(d(I_k)), so that
I_k = u(I_{k-1}) + h_k rebuilds the image exactly (``laplacian_pyramid`` / ``reconstruct``).

Modules (small, for the 16-32 px embedded data; every convolution 3x3 unless said):

- ``CoarseGenerator``: LAPGAN's base G_0, z -> a base-resolution image (Dense to 4x4 features,
  one conv, tanh).
- ``ResidualGenerator``: LAPGAN's G_k(z_k, l_k), a conv net on the upsampled coarser image l_k
  with the noise as one extra plane (the paper's generators take the noise as a 4th channel)
  and the one-hot class as constant planes, returning the residual h_k (linear output).
- ``PyramidCritic``: LAPGAN's D_k, DCGAN's 4x4 stride-2 convs to 4x4 (one 3x3 conv at the
  base) and a dense logit, on h_k with l_k
  concatenated (the conditional critic of the paper) or on the base image alone.
- ``StackGenerator``: StackGAN++'s tree (Zhang et al. 2017, arXiv 1710.10916, fig. 2):
  conditioning augmentation c = mu(e) + sigma(e) * eps on a class embedding e, a trunk from
  (z, c) at 4x4 doubling to the data resolution with c joined to the hidden features before
  every doubling, and an image head (conv, tanh) at each of the last ``stages`` resolutions.
  Returns ``(images, (mu, logvar))``, the images coarse to fine.
- ``StageTwoGenerator``: StackGAN v1's Stage-II G (Zhang et al. 2017, arXiv 1612.03242,
  section 3.2 and fig. 2): its own conditioning augmentation, an encoder of the Stage-I image
  (a 3x3 conv, then 4x4 stride-2 convs down to 4x4), c joined as constant planes, residual
  blocks, and up-blocks (nearest doubling, conv, BatchNorm, ReLU) to twice the Stage-I
  resolution; tanh. Returns ``(image, (mu, logvar))``.
- ``StackCritic``: one per scale; strided convs to a 4x4 map, an unconditional logit from it
  and a conditional logit from it joined with the critic's own embedding of the class (the
  StackGAN++ joint conditional / unconditional discriminator).

``dtype`` is the compute dtype (``model.dtype``); parameters and outputs are float32.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import concat_labels, norm_layer


def downsample(x: jax.Array) -> jax.Array:
    """2x2 average pooling of (B, H, W, C) images (H, W even)."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def upsample(x: jax.Array) -> jax.Array:
    """Nearest-neighbour doubling of (B, H, W, C) images."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def resolutions(resolution: int, base: int) -> tuple[int, ...]:
    """The pyramid's levels, coarse to fine: base, 2 base, ..., resolution."""
    out = [resolution]
    while out[-1] > base:
        out.append(out[-1] // 2)
    if out[-1] != base:
        raise ValueError(f"resolution {resolution} is not base {base} times a power of 2")
    return tuple(reversed(out))


def gaussian_pyramid(x: jax.Array, levels: int) -> list[jax.Array]:
    """[coarsest, ..., x]: ``levels`` images, each the 2x2 average pool of the next."""
    out = [x]
    for _ in range(levels - 1):
        out.append(downsample(out[-1]))
    return out[::-1]


def laplacian_pyramid(x: jax.Array, levels: int) -> list[jax.Array]:
    """[I_base, h_1, ..., h_{levels-1}] with h_k = I_k - u(d(I_k)), coarse to fine."""
    g = gaussian_pyramid(x, levels)
    return [g[0]] + [g[k] - upsample(g[k - 1]) for k in range(1, levels)]


def reconstruct(pyramid: list[jax.Array]) -> jax.Array:
    """The image of a Laplacian pyramid: I_k = u(I_{k-1}) + h_k from the base up."""
    x = pyramid[0]
    for h in pyramid[1:]:
        x = upsample(x) + h
    return x


class CoarseGenerator(nn.Module):
    """LAPGAN's base generator: (z, labels) -> a resolution x resolution image in [-1, 1]."""

    resolution: int = 4
    width: int = 32
    channels: int = 1
    num_classes: int = 0
    dtype: Any = None

    @nn.compact
    def __call__(self, z, labels=None, train: bool = True) -> jax.Array:
        r, dtype = self.resolution, self.dtype
        z = concat_labels(z, labels, self.num_classes)
        x = nn.Dense(r * r * self.width, use_bias=False, name="project", dtype=dtype)(z)
        x = nn.relu(norm_layer("batch", train, name="norm0", dtype=dtype)(x))
        x = x.reshape(z.shape[0], r, r, self.width)
        x = nn.Conv(self.channels, (3, 3), name="out", dtype=dtype)(x)
        return jnp.tanh(x).astype(jnp.float32)


class ResidualGenerator(nn.Module):
    """LAPGAN's G_k: (z, l_k, labels) -> the residual h_k at l_k's resolution (linear output)."""

    width: int = 32
    layers: int = 2
    num_classes: int = 0
    dtype: Any = None

    @nn.compact
    def __call__(self, z, coarse, labels=None, train: bool = True) -> jax.Array:
        b, h, w, c = coarse.shape
        dtype = self.dtype
        plane = nn.Dense(h * w, name="noise", dtype=dtype)(z).reshape(b, h, w, 1)
        x = jnp.concatenate([coarse.astype(plane.dtype), plane], axis=-1)
        x = concat_labels(x, labels, self.num_classes)
        for i in range(self.layers):
            x = nn.Conv(self.width, (3, 3), use_bias=False, name=f"conv{i}", dtype=dtype)(x)
            x = nn.relu(norm_layer("batch", train, name=f"norm{i}", dtype=dtype)(x))
        return nn.Conv(c, (3, 3), name="out", dtype=dtype)(x).astype(jnp.float32)


class PyramidCritic(nn.Module):
    """LAPGAN's D_k: a logit (B,) for x, with the condition image and class when given."""

    width: int = 32
    num_classes: int = 0
    dtype: Any = None

    @nn.compact
    def __call__(self, x, cond=None, labels=None, train: bool = True) -> jax.Array:
        del train  # no normalisation, nothing mode dependent
        dtype = self.dtype
        if cond is not None:
            x = jnp.concatenate([x, cond], axis=-1)
        x = concat_labels(x, labels, self.num_classes)
        if x.shape[1] <= 4:  # the base level: one 3x3 conv
            x = nn.leaky_relu(nn.Conv(self.width, (3, 3), name="conv0", dtype=dtype)(x), 0.2)
        feats, i = self.width, 0
        while x.shape[1] > 4:  # DCGAN's 4x4 stride-2 convs, doubling the width, down to 4x4
            x = nn.Conv(feats, (4, 4), (2, 2), "SAME", name=f"down{i}", dtype=dtype)(x)
            x = nn.leaky_relu(x, 0.2)
            feats, i = feats * 2, i + 1
        out = nn.Dense(1, name="logit", dtype=dtype)(x.reshape(x.shape[0], -1))
        return out.reshape(-1).astype(jnp.float32)


def _up_block(x, features: int, train: bool, name: str, dtype) -> jax.Array:
    """Nearest doubling, 3x3 conv, BatchNorm, ReLU (StackGAN++'s upBlock, GLU -> ReLU)."""
    x = nn.Conv(features, (3, 3), use_bias=False, name=f"{name}_conv", dtype=dtype)(upsample(x))
    return nn.relu(norm_layer("batch", train, name=f"{name}_norm", dtype=dtype)(x))


def _join(x: jax.Array, c: jax.Array) -> jax.Array:
    """Features (B, H, W, F) with the condition vector (B, D) broadcast to D constant planes."""
    planes = jnp.broadcast_to(c[:, None, None, :].astype(x.dtype), (*x.shape[:3], c.shape[-1]))
    return jnp.concatenate([x, planes], axis=-1)


def _augment(labels, eps, num_classes, embed_dim, ca_dim, augment, dtype):
    """Conditioning augmentation: (c, (mu, logvar)) from a class embedding (see StackGenerator)."""
    e = nn.Embed(num_classes, embed_dim, name="embed")(labels)
    stats = nn.Dense(2 * ca_dim, name="ca", dtype=dtype)(nn.relu(e)).astype(jnp.float32)
    mu, logvar = jnp.split(stats, 2, axis=-1)
    if augment:
        return mu + jnp.exp(0.5 * logvar) * eps, (mu, logvar)
    return mu, (mu, jnp.zeros_like(logvar))


class StackGenerator(nn.Module):
    """StackGAN++'s generator tree on class embeddings (see the module docstring).

    Inputs: z (B, z_dim), labels (B,), eps (B, ca_dim) ~ N(0, I). With ``augment`` False the
    condition is c = mu(e) (no sampling; logvar is returned as zeros, unused).
    """

    resolution: int = 16
    width: int = 32
    channels: int = 1
    num_classes: int = 10
    embed_dim: int = 32
    ca_dim: int = 16
    stages: int = 2
    augment: bool = True
    dtype: Any = None

    @nn.compact
    def __call__(self, z, labels, eps, train: bool = True):
        dtype = self.dtype
        c, (mu, logvar) = _augment(
            labels, eps, self.num_classes, self.embed_dim, self.ca_dim, self.augment, dtype
        )
        levels = resolutions(self.resolution, 4)
        feats = self.width * 2 ** (len(levels) - 1)
        x = nn.Dense(16 * feats, use_bias=False, name="project", dtype=dtype)(
            jnp.concatenate([z, c], axis=-1)
        )
        x = nn.relu(norm_layer("batch", train, name="norm0", dtype=dtype)(x))
        x = x.reshape(z.shape[0], 4, 4, feats)
        images = []
        for i, r in enumerate(levels):
            if i > 0:
                feats //= 2
                x = _up_block(_join(x, c), feats, train, f"up{r}", dtype)
            if i >= len(levels) - self.stages:
                img = nn.Conv(self.channels, (3, 3), name=f"to_image{r}", dtype=dtype)(x)
                images.append(jnp.tanh(img).astype(jnp.float32))
        return tuple(images), (mu, logvar)


class StageTwoGenerator(nn.Module):
    """StackGAN v1's Stage-II generator: ``(coarse (B, R/2, R/2, C), labels, eps)`` ->
    ``(image (B, R, R, C), (mu, logvar))`` (see the module docstring). No noise input: as in
    the paper, its randomness is the Stage-I image's and its own eps."""

    width: int = 32
    num_classes: int = 10
    embed_dim: int = 32
    ca_dim: int = 16
    blocks: int = 2
    augment: bool = True
    dtype: Any = None

    @nn.compact
    def __call__(self, coarse, labels, eps, train: bool = True):
        dtype = self.dtype
        c, stats = _augment(
            labels, eps, self.num_classes, self.embed_dim, self.ca_dim, self.augment, dtype
        )
        out_res, channels = 2 * coarse.shape[1], coarse.shape[-1]
        feats = self.width
        x = nn.relu(nn.Conv(feats, (3, 3), name="enc_in", dtype=dtype)(coarse))
        i = 0
        while x.shape[1] > 4:
            feats *= 2
            x = nn.Conv(feats, (4, 4), (2, 2), "SAME", use_bias=False, name=f"enc{i}", dtype=dtype)(
                x
            )
            x = nn.relu(norm_layer("batch", train, name=f"enc_norm{i}", dtype=dtype)(x))
            i += 1
        x = nn.Conv(feats, (3, 3), use_bias=False, name="joint", dtype=dtype)(_join(x, c))
        x = nn.relu(norm_layer("batch", train, name="joint_norm", dtype=dtype)(x))
        for b in range(self.blocks):
            h = nn.Conv(feats, (3, 3), use_bias=False, name=f"res{b}_conv0", dtype=dtype)(x)
            h = nn.relu(norm_layer("batch", train, name=f"res{b}_norm0", dtype=dtype)(h))
            h = nn.Conv(feats, (3, 3), use_bias=False, name=f"res{b}_conv1", dtype=dtype)(h)
            h = norm_layer("batch", train, name=f"res{b}_norm1", dtype=dtype)(h)
            x = nn.relu(x + h)
        while x.shape[1] < out_res:
            feats = max(feats // 2, self.width)
            x = _up_block(x, feats, train, f"up{2 * x.shape[1]}", dtype)
        image = nn.Conv(channels, (3, 3), name="to_image", dtype=dtype)(x)
        return jnp.tanh(image).astype(jnp.float32), stats


class StackCritic(nn.Module):
    """A StackGAN++ critic of one scale: ``(unconditional logit, conditional logit)``, (B,) each."""

    width: int = 32
    num_classes: int = 10
    embed_dim: int = 32
    dtype: Any = None

    @nn.compact
    def __call__(self, x, labels, train: bool = True) -> tuple[jax.Array, jax.Array]:
        del train  # no normalisation, nothing mode dependent
        dtype, feats, i = self.dtype, self.width, 0
        while x.shape[1] > 4:
            x = nn.Conv(feats, (4, 4), (2, 2), "SAME", name=f"conv{i}", dtype=dtype)(x)
            x = nn.leaky_relu(x, 0.2)
            feats, i = feats * 2, i + 1
        uncond = nn.Conv(1, (4, 4), padding="VALID", name="uncond", dtype=dtype)(x)
        e = nn.Embed(self.num_classes, self.embed_dim, name="embed")(labels)
        h = nn.Conv(feats, (3, 3), name="joint", dtype=dtype)(_join(x, e))
        h = nn.leaky_relu(h, 0.2)
        cond = nn.Conv(1, (4, 4), padding="VALID", name="cond", dtype=dtype)(h)
        return (
            uncond.reshape(-1).astype(jnp.float32),
            cond.reshape(-1).astype(jnp.float32),
        )
