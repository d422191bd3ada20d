"""Model families: a plain dict from ``model.name`` to a builder of (generator, discriminator).

Each builder takes the ``model`` config block and the data's sample shape (without the batch
axis) and returns two Flax Linen modules with signature ``module(inputs, train: bool)``; the
discriminator returns one logit (or critic score) per sample, shape (B,), or per pack of
``model.pac`` samples, shape (B / pac,) (PacGAN packing, MLP families only).

- ``mlp``: ReLU MLP generator, LeakyReLU MLP discriminator (``g_hidden``, ``d_hidden``, norms).
- ``pacgan_mlp``: PacGAN's 2D networks (arXiv 1712.04086, section 5.1): the MLP generator and a
  maxout discriminator (``d_hidden`` units per layer, ``maxout_pieces`` pieces), every weight
  initialised N(0, 0.02^2) as in the PacGAN code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn

from gan_jax.models.dcgan import RESOLUTIONS, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.mlp import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator

Builder = Callable[[Mapping[str, Any], tuple[int, ...]], tuple[nn.Module, nn.Module]]


def _mlp(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    (dim,) = shape
    g = MLPGenerator(out_dim=dim, hidden=tuple(cfg["g_hidden"]), norm=cfg["g_norm"])
    d = MLPDiscriminator(hidden=tuple(cfg["d_hidden"]), norm=cfg["d_norm"], pac=cfg.get("pac", 1))
    return g, d


PACGAN_INIT_STD = 0.02


def _pacgan_mlp(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    (dim,) = shape
    g = MLPGenerator(
        out_dim=dim, hidden=tuple(cfg["g_hidden"]), norm=cfg["g_norm"], init_std=PACGAN_INIT_STD
    )
    d = MaxoutDiscriminator(
        hidden=tuple(cfg["d_hidden"]),
        pieces=cfg["maxout_pieces"],
        pac=cfg.get("pac", 1),
        init_std=PACGAN_INIT_STD,
    )
    return g, d


def _dcgan(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    resolution, _, channels = shape
    g = DCGANGenerator(
        resolution=resolution,
        width=cfg["width"],
        channels=channels,
        norm=cfg["g_norm"],
        upsample=cfg["upsample"],
    )
    d = DCGANDiscriminator(
        resolution=resolution,
        width=cfg["width"],
        norm=cfg["d_norm"],
        downsample=cfg.get("downsample", "subpixel"),
    )
    return g, d


MODELS: dict[str, Builder] = {"mlp": _mlp, "pacgan_mlp": _pacgan_mlp, "dcgan": _dcgan}

__all__ = [
    "MODELS",
    "RESOLUTIONS",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MaxoutDiscriminator",
    "MLPDiscriminator",
    "MLPGenerator",
]
