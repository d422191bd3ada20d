"""Model families: a plain dict from ``model.name`` to a builder of (generator, discriminator).

Each builder takes the ``model`` config block and the data's sample shape (without the batch
axis) and returns two Flax Linen modules with signature ``module(inputs, train: bool)``; the
discriminator returns one logit (or critic score) per sample, shape (B,).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models.dcgan import RESOLUTIONS, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.mlp import MLPDiscriminator, MLPGenerator

Builder = Callable[[Mapping[str, Any], tuple[int, ...]], tuple[nn.Module, nn.Module]]


def compute_dtype(cfg: Mapping[str, Any]) -> Any:
    """``model.dtype`` ('float32' or 'bfloat16') as a numpy dtype; parameters stay float32."""
    return jnp.dtype(cfg.get("dtype", "float32"))


def _mlp(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    (dim,) = shape
    dtype = compute_dtype(cfg)
    g = MLPGenerator(out_dim=dim, hidden=tuple(cfg["g_hidden"]), norm=cfg["g_norm"], dtype=dtype)
    d = MLPDiscriminator(hidden=tuple(cfg["d_hidden"]), norm=cfg["d_norm"], dtype=dtype)
    return g, d


def _dcgan(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    resolution, _, channels = shape
    g = DCGANGenerator(
        resolution=resolution,
        width=cfg["width"],
        channels=channels,
        norm=cfg["g_norm"],
        upsample=cfg["upsample"],
        dtype=compute_dtype(cfg),
    )
    d = DCGANDiscriminator(
        resolution=resolution,
        width=cfg["width"],
        norm=cfg["d_norm"],
        downsample=cfg.get("downsample", "subpixel"),
        dtype=compute_dtype(cfg),
    )
    return g, d


MODELS: dict[str, Builder] = {"mlp": _mlp, "dcgan": _dcgan}

__all__ = [
    "MODELS",
    "RESOLUTIONS",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
]
