"""Model families: a plain dict from ``model.name`` to a ``Family`` (builder, keys, data kind).

A family is called as ``MODELS[name](model_block, sample_shape)`` (the shape without the batch
axis; keys the block lacks take the family's declared defaults) and returns two Flax Linen
modules with signature ``module(inputs, train: bool)``; the discriminator returns one logit (or
critic score) per sample, shape (B,), or per pack of ``model.pac`` samples, shape (B / pac,)
(PacGAN packing, MLP families only). Calls are
``module(inputs, labels, train=...)``: ``labels`` (B,) int32 class labels, used when the model is
conditional (``model.num_classes > 0``) and ignored (may be None) otherwise. How a family
conditions: concatenation for ``mlp``, ``pacgan_mlp`` and ``dcgan`` (Mirza & Osindero 2014);
class-conditional BatchNorm in G and a projection discriminator for ``resnet`` (Miyato & Koyama
2018). ``model.d_spectral_norm`` wraps every critic layer in spectral normalisation (Miyato et
al. 2018); the ``resnet`` family is the SNGAN architecture.

- ``mlp``: ReLU MLP generator, LeakyReLU MLP discriminator (``g_hidden``, ``d_hidden``, norms).

The ``mlp`` and ``dcgan`` critics take minibatch layers on their last hidden features
(``MINIBATCH_KEYS``: minibatch discrimination, Salimans et al. 2016; minibatch stddev, Karras et
al. 2018), and the ``dcgan`` generator virtual batch normalisation (``g_norm='vbn'``).
- ``pacgan_mlp``: PacGAN's 2D networks (arXiv 1712.04086, section 5.1): the MLP generator and a
  maxout discriminator (``d_hidden`` units per layer, ``maxout_pieces`` pieces), every weight
  initialised N(0, 0.02^2) as in the PacGAN code.
- ``dcgan``: DCGAN (Radford et al. 2015) at 16, 32 or 64 pixels (``width``, norms, the
  ``upsample`` / ``downsample`` formulation of its 4x4 stride-2 layers).
- ``resnet``: the SNGAN ResNets (Miyato et al. 2018), D ``width`` channels and G twice as many.
- ``sagan``: SAGAN (Zhang et al. 2018): the same ResNets with every layer of G and D spectrally
  normalised and a self-attention block (``layers.SelfAttention``) in both after the block of
  ``attention`` pixels a side (0: the same networks without attention).
- ``biggan``: BigGAN (Brock et al. 2018, gan_jax/models/biggan.py): shared class embedding,
  hierarchical latent into conditional BatchNorm, self-attention, spectral norm in G and D,
  the projection critic.

Sampling with ``--truncation`` (gan_jax/sample.py): a family's generator takes Gaussian z and
the sampler resamples |z_i| > T (BigGAN's truncation trick), unless the family declares
``own_truncation`` (its generator is then called with ``truncation=T`` and truncates itself).
- ``stylegan``, ``stylegan2``: the style-based generators (Karras et al. 2019, 2020): mapping
  network, AdaIN or modulated convolutions, noise inputs, truncation and style mixing
  (gan_jax/models/stylegan.py); their critics ProGAN's and StyleGAN2's residual one.
- ``pggan``: the progressive GAN's networks (Karras et al. 2018): equalised learning rate, pixel
  norm, a toRGB / fromRGB per resolution from ``start_resolution``, minibatch stddev; called with
  a ``stage`` and fade-in ``alpha`` by the ``pggan`` game (gan_jax/games/pggan.py).

Each family declares the ``model.*`` keys it reads (``Family.keys``, beside ``COMMON_KEYS``)
with their defaults and checks (gan_jax/schema.py); ``default_block()`` is the `model` config
block and ``check(config)`` validates it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from gan_jax import schema
from gan_jax.errors import ConfigError
from gan_jax.models.biggan import BigGANGenerator, latent_chunks
from gan_jax.models.dcgan import RESOLUTIONS, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import DOWNSAMPLES, UPSAMPLES
from gan_jax.models.mlp import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator
from gan_jax.models.pggan import PGGANDiscriminator, PGGANGenerator
from gan_jax.models.resnet import ResNetDiscriminator, ResNetGenerator
from gan_jax.models.stylegan import StyleDiscriminator, StyleGenerator

Builder = Callable[[Mapping[str, Any], tuple[int, ...]], tuple[nn.Module, nn.Module]]


def compute_dtype(cfg: Mapping[str, Any]) -> Any:
    """``model.dtype`` ('float32' or 'bfloat16') as a numpy dtype; parameters stay float32."""
    return jnp.dtype(cfg["dtype"])


def minibatch_kwargs(cfg: Mapping[str, Any]) -> dict[str, int]:
    """The critic's minibatch layers (``MINIBATCH_KEYS``), as its constructor takes them."""
    return {name: int(cfg[name]) for name in MINIBATCH_KEYS}


def _mlp(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    (dim,) = shape
    k, dtype = cfg["num_classes"], compute_dtype(cfg)
    g = MLPGenerator(
        out_dim=dim, hidden=tuple(cfg["g_hidden"]), norm=cfg["g_norm"], num_classes=k, dtype=dtype
    )
    d = MLPDiscriminator(
        hidden=tuple(cfg["d_hidden"]),
        norm=cfg["d_norm"],
        pac=cfg["pac"],
        num_classes=k,
        spectral_norm=cfg["d_spectral_norm"],
        dtype=dtype,
        **minibatch_kwargs(cfg),
    )
    return g, d


PACGAN_INIT_STD = 0.02


def _pacgan_mlp(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    (dim,) = shape
    k = cfg["num_classes"]
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
        pac=cfg["pac"],
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
        num_classes=cfg["num_classes"],
        dtype=compute_dtype(cfg),
        vbn_reference_size=cfg["vbn_reference_size"],
    )
    d = DCGANDiscriminator(
        resolution=resolution,
        width=cfg["width"],
        norm=cfg["d_norm"],
        downsample=cfg["downsample"],
        num_classes=cfg["num_classes"],
        spectral_norm=cfg["d_spectral_norm"],
        dtype=compute_dtype(cfg),
        **minibatch_kwargs(cfg),
    )
    return g, d


def _resnet(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """SNGAN ResNets: D has ``model.width`` channels, G twice as many (SNGAN: 128 and 256)."""
    resolution, _, channels = shape
    k = cfg["num_classes"]
    g = ResNetGenerator(
        resolution=resolution,
        width=2 * cfg["width"],
        channels=channels,
        norm=cfg["g_norm"],
        num_classes=k,
    )
    d = ResNetDiscriminator(width=cfg["width"], num_classes=k, spectral_norm=cfg["d_spectral_norm"])
    return g, d


def _sagan(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """SAGAN: the SNGAN ResNets (G 2 x ``width``), spectral norm everywhere, self-attention."""
    resolution, _, channels = shape
    k, dtype, attention = cfg["num_classes"], compute_dtype(cfg), cfg["attention"]
    g = ResNetGenerator(
        resolution=resolution,
        width=2 * cfg["width"],
        channels=channels,
        norm=cfg["g_norm"],
        num_classes=k,
        spectral_norm=True,
        attention=attention,
        dtype=dtype,
    )
    d = ResNetDiscriminator(
        width=cfg["width"], num_classes=k, spectral_norm=True, attention=attention, dtype=dtype
    )
    return g, d


def _biggan(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """BigGAN's generator (G 2 x ``width``) and the projection ResNet critic with attention."""
    resolution, _, channels = shape
    k, dtype, attention = cfg["num_classes"], compute_dtype(cfg), cfg["attention"]
    g = BigGANGenerator(
        resolution=resolution,
        width=2 * cfg["width"],
        channels=channels,
        num_classes=k,
        shared_dim=cfg["shared_dim"],
        attention=attention,
        dtype=dtype,
    )
    d = ResNetDiscriminator(
        width=cfg["width"], num_classes=k, spectral_norm=True, attention=attention, dtype=dtype
    )
    return g, d


def _stylegan(version: int) -> Builder:
    """StyleGAN (1) or StyleGAN2 (2): the style-based G, the plain (1) or residual (2) critic."""

    def build(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        resolution, _, channels = shape
        dtype = compute_dtype(cfg)
        g = StyleGenerator(
            resolution=resolution,
            channels=channels,
            width=cfg["width"],
            z_dim=cfg["z_dim"],
            w_dim=cfg["w_dim"],
            mapping_layers=cfg["mapping_layers"],
            mapping_lr_mul=cfg["mapping_lr_mul"],
            version=version,
            equalized=cfg["equalized_lr"],
            noise=cfg["noise_inputs"],
            w_avg_decay=cfg["w_avg_decay"],
            dtype=dtype,
        )
        d = StyleDiscriminator(
            resolution=resolution,
            width=cfg["width"],
            residual=version == 2,
            mbstd_group=cfg["mbstd_group"],
            equalized=cfg["equalized_lr"],
            dtype=dtype,
        )
        return g, d

    return build


def _pggan(cfg: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    resolution, _, channels = shape
    common = dict(
        resolution=resolution,
        start_resolution=cfg["start_resolution"],
        width=cfg["width"],
        dtype=compute_dtype(cfg),
    )
    g = PGGANGenerator(channels=channels, **common)
    d = PGGANDiscriminator(stddev_group=cfg["minibatch_stddev"], **common)
    return g, d


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family: its builder, the ``model.*`` keys it reads, the data it models.

    Attributes:
      build: ``(model block, sample shape) -> (generator, discriminator)``.
      keys: its own keys of the ``model`` block (beyond ``COMMON_KEYS``), with defaults.
      data_kind: 'points' (2D mixtures) or 'images'.
      low_precision: whether its layers compute in ``model.dtype`` (else float32 only).
      check: optional ``config -> None`` raising ConfigError on a combination it cannot build.
      paper: where it comes from; recipe: its own recipe in configs/ (a file stem) or None,
        for the zoo table (experiments/zoo.py).
      own_truncation: its generator takes a ``truncation`` keyword and truncates itself
        (StyleGAN's psi in W); otherwise ``--truncation=T`` resamples |z_i| > T (BigGAN).
    """

    build: Builder
    keys: schema.Spec
    data_kind: str
    low_precision: bool = False
    check: Callable[[Any], None] | None = None
    paper: str = ""
    recipe: str | None = None
    own_truncation: bool = False

    def __call__(self, cfg: Mapping[str, Any], shape: tuple[int, ...]):
        """``build`` on ``cfg`` completed with the declared defaults (a notebook may pass only
        the keys it sets)."""
        declared = {name: key.default for name, key in {**COMMON_KEYS, **self.keys}.items()}
        return self.build({**declared, **cfg}, shape)


NORMS = ("batch", "layer", "none")
DTYPES = ("float32", "bfloat16")

# Keys every family reads.
COMMON_KEYS: schema.Spec = {
    "name": schema.choice(
        "dcgan",
        (
            "mlp",
            "pacgan_mlp",
            "dcgan",
            "resnet",
            "sagan",
            "biggan",
            "stylegan",
            "stylegan2",
            "pggan",
        ),
        "the family",
    ),
    "z_dim": schema.positive_int(64, "dimension of the generator's noise"),
    # Conditional GAN on the dataset's labels when > 0 (must equal its number of classes):
    # concatenation for mlp/dcgan, conditional BatchNorm + projection critic for resnet.
    "num_classes": schema.non_negative_int(
        0, "classes to condition on", allowed="a non-negative integer (0: unconditional)"
    ),
    "g_ema_decay": schema.unit_interval(
        0.0, "samples/evaluation from an EMA of G with this decay", "a number in [0, 1) (0: no EMA)"
    ),
    # 'float32', or 'bfloat16' (for GPU/TPU) with float32 parameters and optimiser state, and
    # float32 losses. May change on resume.
    "dtype": schema.choice("float32", DTYPES, "compute dtype of both networks"),
}
_G_NORM = schema.choice("batch", NORMS, "the generator's normalisation")
_D_NORM = schema.choice("batch", NORMS, "the critic's normalisation")
_SN = schema.boolean(False, "spectral normalisation of every critic layer (SNGAN)")
_PAC = schema.positive_int(1, "D judges packs of this many samples (PacGAN); 1: off")
_WIDTH = schema.positive_int(32, "dcgan: channels of D's first / G's last hidden layer")
_ATTENTION = schema.non_negative_int(
    8,
    "sagan/biggan: self-attention in G and D at maps of this many pixels a side (SAGAN)",
    allowed="a non-negative integer (0: no attention)",
)
_HIDDEN = schema.int_tuple((256, 256, 256), "hidden units per layer")
# The critic's minibatch layers (gan_jax/models/layers.py), on its last hidden features; read by
# the mlp and dcgan families.
MINIBATCH_KEYS: schema.Spec = {
    "minibatch_discrimination": schema.non_negative_int(
        0,
        "critic: minibatch discrimination kernels B (Salimans et al. 2016, section 3.2)",
        allowed="a non-negative integer (0: off)",
    ),
    "minibatch_kernel_dim": schema.positive_int(
        5, "critic: dimensions C of each minibatch discrimination kernel"
    ),
    "minibatch_stddev": schema.non_negative_int(
        0,
        "critic: minibatch stddev group size (Karras et al. 2018, section 3; they use 4)",
        allowed="a non-negative integer (0: off)",
    ),
}


def _check_minibatch(config) -> None:
    """The minibatch stddev's groups split the critic's batch (of packs, for PacGAN packing)."""
    group, model = config.model.minibatch_stddev, config.model
    batch = config.train.batch_size // (model.pac if "pac" in MODELS[model.name].keys else 1)
    if group and batch % min(group, batch):
        raise ConfigError(
            "model.minibatch_stddev",
            group,
            f"0 or a group size dividing the critic's batch of {batch} (train.batch_size)",
        )


def _check_vbn(config) -> None:
    if config.model.g_norm == "vbn" and config.model.num_classes:
        raise ConfigError(
            "model.g_norm", "vbn", "'batch', 'layer' or 'none' for a conditional dcgan"
        )


def _check_pacgan(config) -> None:
    if config.model.d_spectral_norm:
        raise ConfigError(
            "model.d_spectral_norm", True, "False with model.name='pacgan_mlp' (maxout critic)"
        )


def _check_resnet(config) -> None:
    model = config.model
    if model.d_norm != "none":
        raise ConfigError("model.d_norm", model.d_norm, "'none' with model.name='resnet' (SNGAN)")
    if model.num_classes and model.g_norm != "batch":
        raise ConfigError(
            "model.g_norm",
            model.g_norm,
            "'batch' for a conditional resnet (its generator uses class-conditional BatchNorm)",
        )


def _check_attention(config) -> None:
    """Self-attention sits where both G and D have a map of that size: R/2 or R/4, >= 8."""
    resolution, attention = config.data.resolution, config.model.attention
    where = [r for r in (resolution // 4, resolution // 2) if r >= 8]
    if attention and attention not in where:
        raise ConfigError(
            "model.attention", attention, f"0 or one of {where} at data.resolution={resolution}"
        )


def _check_conditional_bn(config) -> None:
    model = config.model
    if model.num_classes and model.g_norm != "batch":
        raise ConfigError(
            "model.g_norm",
            model.g_norm,
            f"'batch' for a conditional {model.name} (its G uses class-conditional BatchNorm)",
        )


def _check_latent_chunks(config) -> None:
    """BigGAN splits z into one chunk per up block plus one for the input layer."""
    n = latent_chunks(config.data.resolution)
    if config.model.z_dim % n:
        raise ConfigError(
            "model.z_dim",
            config.model.z_dim,
            f"a multiple of {n} (z splits into {n} chunks at data.resolution="
            f"{config.data.resolution})",
        )


# The style-based families' keys (gan_jax/models/stylegan.py).
STYLE_KEYS: schema.Spec = {
    "width": _WIDTH,
    "w_dim": schema.positive_int(64, "stylegan: dimension of w (the papers: 512)"),
    "mapping_layers": schema.positive_int(2, "stylegan: dense layers of f: z -> w (papers: 8)"),
    "mapping_lr_mul": schema.positive(0.01, "stylegan: the mapping's learning-rate multiplier"),
    "equalized_lr": schema.boolean(True, "stylegan: equalised learning rate (ProGAN)"),
    "noise_inputs": schema.boolean(True, "stylegan: per-layer noise inputs"),
    "w_avg_decay": schema.unit_interval(0.995, "stylegan: decay of the running mean w_avg"),
    "mbstd_group": schema.non_negative_int(
        4,
        "stylegan: critic's minibatch stddev group size",
        allowed="a non-negative integer (0: off)",
    ),
}
STYLE_RESOLUTIONS = (8, 16, 32, 64)


def _check_stylegan(config) -> None:
    model, batch = config.model, config.train.batch_size
    if config.data.resolution not in STYLE_RESOLUTIONS:
        raise ConfigError("data.resolution", config.data.resolution, str(list(STYLE_RESOLUTIONS)))
    if model.num_classes:
        raise ConfigError(
            "model.num_classes", model.num_classes, f"0 with model.name={model.name!r}"
        )
    if model.z_dim < 2:
        raise ConfigError("model.z_dim", model.z_dim, ">= 2 (the noise inputs' keys read z[:2])")
    group = model.mbstd_group
    if group and batch % min(group, batch):
        raise ConfigError(
            "model.mbstd_group", group, f"0 or a group size dividing train.batch_size={batch}"
        )


def _check_resolution(config) -> None:
    if config.data.resolution not in RESOLUTIONS:
        raise ConfigError("data.resolution", config.data.resolution, str(sorted(RESOLUTIONS)))


def _check_pggan(config) -> None:
    """Square power-of-two images from model.start_resolution up; no labels."""
    model, resolution = config.model, config.data.resolution
    start = model.start_resolution
    if start < 2 or start & (start - 1):
        raise ConfigError("model.start_resolution", start, "a power of two >= 2")
    if resolution < start or resolution & (resolution - 1):
        raise ConfigError(
            "data.resolution", resolution, f"a power of two >= model.start_resolution={start}"
        )
    if model.num_classes:
        raise ConfigError("model.num_classes", model.num_classes, "0 with model.name='pggan'")
    _check_minibatch(config)


def _image_check(*extra: Callable[[Any], None]) -> Callable[[Any], None]:
    def check(config) -> None:
        _check_resolution(config)
        for more in extra:
            more(config)

    return check


MODELS: dict[str, Family] = {
    "mlp": Family(
        _mlp,
        {
            "g_hidden": _HIDDEN,
            "d_hidden": _HIDDEN,
            "g_norm": _G_NORM,
            "d_norm": _D_NORM,
            "pac": _PAC,
            "d_spectral_norm": _SN,
            **MINIBATCH_KEYS,
        },  # fmt: skip
        "points",
        low_precision=True,
        check=_check_minibatch,
    ),
    "pacgan_mlp": Family(
        _pacgan_mlp,
        {
            "g_hidden": _HIDDEN,
            "d_hidden": _HIDDEN,
            "g_norm": _G_NORM,
            "pac": _PAC,
            "maxout_pieces": schema.positive_int(5, "pacgan_mlp: pieces per maxout unit"),
        },  # fmt: skip
        "points",
        check=_check_pacgan,
        paper="PacGAN, Lin et al. 2018, arXiv 1712.04086",
        recipe="pacgan",
    ),
    "dcgan": Family(
        _dcgan,
        {
            "width": _WIDTH,
            "g_norm": schema.choice(
                "batch", (*NORMS, "vbn"), "the generator's normalisation ('vbn': virtual BN)"
            ),
            "d_norm": _D_NORM,
            "vbn_reference_size": schema.positive_int(
                64, "g_norm='vbn': noise vectors in G's fixed reference batch"
            ),
            **MINIBATCH_KEYS,
            # dcgan's 4x4 stride-2 layers, all the same function (gan_jax/models/layers.py):
            "upsample": schema.choice("adjoint", UPSAMPLES, "'adjoint', 'subpixel' or flax's"),
            "downsample": schema.choice("adjoint", DOWNSAMPLES, "'adjoint', 'subpixel' or flax's"),
            "d_spectral_norm": _SN,
        },
        "images",
        low_precision=True,
        check=_image_check(_check_minibatch, _check_vbn),
        paper="DCGAN, Radford et al. 2015, arXiv 1511.06434",
    ),
    "resnet": Family(
        _resnet,
        {"width": _WIDTH, "g_norm": _G_NORM, "d_norm": _D_NORM, "d_spectral_norm": _SN},
        "images",
        check=_image_check(_check_resnet),
        paper="SNGAN, Miyato et al. 2018, arXiv 1802.05957",
        recipe="sngan",
    ),
    "sagan": Family(
        _sagan,
        {"width": _WIDTH, "g_norm": _G_NORM, "attention": _ATTENTION},
        "images",
        low_precision=True,
        check=_image_check(_check_attention, _check_conditional_bn),
        paper="SAGAN, Zhang et al. 2018, arXiv 1805.08318",
        recipe="sagan",
    ),
    "biggan": Family(
        _biggan,
        {
            "width": _WIDTH,
            "attention": _ATTENTION,
            "shared_dim": schema.positive_int(
                128, "biggan: size of the class embedding shared by G's blocks"
            ),
        },
        "images",
        low_precision=True,
        check=_image_check(_check_attention, _check_latent_chunks),
        paper="BigGAN, Brock et al. 2018, arXiv 1809.11096",
        recipe="biggan",
    ),
    "stylegan": Family(
        _stylegan(1),
        STYLE_KEYS,
        "images",
        low_precision=True,
        check=_check_stylegan,
        paper="StyleGAN, Karras et al. 2019, arXiv 1812.04948",
        own_truncation=True,
        recipe="stylegan",
    ),
    "stylegan2": Family(
        _stylegan(2),
        STYLE_KEYS,
        "images",
        low_precision=True,
        check=_check_stylegan,
        paper="StyleGAN2, Karras et al. 2020, arXiv 1912.04958",
        own_truncation=True,
        recipe="stylegan2",
    ),
    "pggan": Family(
        _pggan,
        {
            "width": _WIDTH,
            "start_resolution": schema.positive_int(
                4, "pggan: the first stage's resolution (the networks' 4x4 block)"
            ),
            "minibatch_stddev": MINIBATCH_KEYS["minibatch_stddev"],
        },
        "images",
        low_precision=True,
        check=_check_pggan,
        paper="Progressive GAN, Karras et al. 2018, arXiv 1710.10196",
        recipe="pggan",
    ),
}


def default_block():
    """The `model` config block: every family's keys at their defaults."""
    return schema.defaults(COMMON_KEYS, *(f.keys for f in MODELS.values()))


def check(config) -> None:
    """ConfigError on a bad ``model.*`` value: the family, its keys, what it can build."""
    model = config.model
    schema.check_block("model", model, COMMON_KEYS)
    family = MODELS[model.name]
    schema.check_block("model", model, family.keys)
    if model.dtype != "float32" and not family.low_precision:
        raise ConfigError("model.dtype", model.dtype, f"'float32' with model.name={model.name!r}")
    if family.check is not None:
        family.check(config)
    for name, key in MINIBATCH_KEYS.items():  # a family without minibatch layers must not drop them
        if name not in family.keys and schema.value(model, MINIBATCH_KEYS, name) != key.default:
            raise ConfigError(
                f"model.{name}", model[name], f"{key.default} with model.name={model.name!r}"
            )


__all__ = [
    "MODELS",
    "BigGANGenerator",
    "Family",
    "RESOLUTIONS",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MaxoutDiscriminator",
    "PGGANDiscriminator",
    "PGGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "StyleDiscriminator",
    "StyleGenerator",
]
