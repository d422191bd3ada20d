"""Model families: a plain dict from ``model.name`` to a builder of (generator, discriminator).

Each builder takes the ``model`` config block and the data's sample shape (without the batch
axis) and returns two Flax Linen modules with signature ``module(inputs, train: bool)``; the
discriminator returns one logit (or critic score) per sample, shape (B,), or per pack of
``model.pac`` samples, shape (B / pac,) (PacGAN packing, MLP families only). Calls are
``module(inputs, labels, train=...)``: ``labels`` (B,) int32 class labels, used when the model is
conditional (``model.num_classes > 0``) and ignored (may be None) otherwise. How a family
conditions: concatenation for ``mlp``, ``pacgan_mlp`` and ``dcgan`` (Mirza & Osindero 2014);
class-conditional BatchNorm in G and a projection discriminator for ``resnet`` (Miyato & Koyama
2018). ``model.d_spectral_norm`` wraps every critic layer in spectral normalisation (Miyato et
al. 2018); the ``resnet`` family is the SNGAN architecture.

- ``mlp``: ReLU MLP generator, LeakyReLU MLP discriminator (``g_hidden``, ``d_hidden``, norms).
- ``pacgan_mlp``: PacGAN's 2D networks (arXiv 1712.04086, section 5.1): the MLP generator and a
  maxout discriminator (``d_hidden`` units per layer, ``maxout_pieces`` pieces), every weight
  initialised N(0, 0.02^2) as in the PacGAN code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models.dcgan import RESOLUTIONS, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.mlp import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator
from gan_jax.models.resnet import ResNetDiscriminator, ResNetGenerator

Builder = Callable[[Mapping[str, Any], tuple[int, ...]], tuple[nn.Module, nn.Module]]


def compute_dtype(cfg: Mapping[str, Any]) -> Any:
    """``model.dtype`` ('float32' or 'bfloat16') as a numpy dtype; parameters stay float32."""
    return jnp.dtype(cfg.get("dtype", "float32"))


def _mlp(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    (dim,) = shape
    k, dtype = cfg.get("num_classes", 0), compute_dtype(cfg)
    g = MLPGenerator(
        out_dim=dim, hidden=tuple(cfg["g_hidden"]), norm=cfg["g_norm"], num_classes=k, dtype=dtype
    )
    d = MLPDiscriminator(
        hidden=tuple(cfg["d_hidden"]),
        norm=cfg["d_norm"],
        pac=cfg.get("pac", 1),
        num_classes=k,
        spectral_norm=cfg.get("d_spectral_norm", False),
        dtype=dtype,
    )
    return g, d


PACGAN_INIT_STD = 0.02


def _pacgan_mlp(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    (dim,) = shape
    k = cfg.get("num_classes", 0)
    g = MLPGenerator(
        out_dim=dim,
        hidden=tuple(cfg["g_hidden"]),
        norm=cfg["g_norm"],
        init_std=PACGAN_INIT_STD,
        num_classes=k,
    )
    d = MaxoutDiscriminator(
        hidden=tuple(cfg["d_hidden"]),
        pieces=cfg["maxout_pieces"],
        pac=cfg.get("pac", 1),
        init_std=PACGAN_INIT_STD,
        num_classes=k,
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
        num_classes=cfg.get("num_classes", 0),
        dtype=compute_dtype(cfg),
    )
    d = DCGANDiscriminator(
        resolution=resolution,
        width=cfg["width"],
        norm=cfg["d_norm"],
        downsample=cfg.get("downsample", "adjoint"),
        num_classes=cfg.get("num_classes", 0),
        spectral_norm=cfg.get("d_spectral_norm", False),
        dtype=compute_dtype(cfg),
    )
    return g, d


def _resnet(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """SNGAN ResNets: D has ``model.width`` channels, G twice as many (SNGAN: 128 and 256)."""
    resolution, _, channels = shape
    k = cfg.get("num_classes", 0)
    g = ResNetGenerator(
        resolution=resolution,
        width=2 * cfg["width"],
        channels=channels,
        norm=cfg["g_norm"],
        num_classes=k,
    )
    d = ResNetDiscriminator(
        width=cfg["width"], num_classes=k, spectral_norm=cfg.get("d_spectral_norm", False)
    )
    return g, d


MODELS: dict[str, Builder] = {
    "mlp": _mlp,
    "pacgan_mlp": _pacgan_mlp,
    "dcgan": _dcgan,
    "resnet": _resnet,
}

__all__ = [
    "MODELS",
    "RESOLUTIONS",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MaxoutDiscriminator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ResNetDiscriminator",
    "ResNetGenerator",
]
