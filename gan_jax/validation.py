"""Config validation: every user-settable key checked before anything is built or trained.

``validate(config)`` raises one ``ConfigError`` naming the key, the value and what is allowed.
"""

from __future__ import annotations

from gan_jax import xla_cpu
from gan_jax.data import DATASETS, Dataset
from gan_jax.errors import ConfigError
from gan_jax.evaluation import EXTRACTORS, RESIZE_MODES
from gan_jax.input_pipeline import FOLDER_PREFIX, TFDS_PREFIX, is_host_dataset
from gan_jax.losses import OBJECTIVES, PENALTY_NAMES
from gan_jax.models import MODELS, RESOLUTIONS
from gan_jax.models.layers import DOWNSAMPLES, UPSAMPLES
from gan_jax.optim import OPTIMIZERS, SCHEDULES

NORMS = ("batch", "layer", "none")
POINT_DATASETS = ("ring8", "grid25")
POINT_MODELS = ("mlp", "pacgan_mlp")
IMAGE_MODELS = ("dcgan", "resnet")
DTYPES = ("float32", "bfloat16")
# Families whose layers take model.dtype (the maxout critic and the ResNets compute in float32).
LOW_PRECISION_MODELS = ("mlp", "dcgan")


def _check_choice(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(key, value, str(sorted(allowed)))


def _check_unit_interval(key: str, value) -> None:
    """0 <= value < 1 (Adam's betas)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(key, value, "a number in [0, 1)")


def _check_positive(key: str, value, kind=(int, float)) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        what = "a positive integer" if kind is int else "a positive number"
        raise ConfigError(key, value, what)


def _check_non_negative_int(key: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(key, value, "a non-negative integer")


def _check_objective(config) -> None:
    """objective.*: the name, the penalty and the numbers the chosen ones use."""
    obj = config.objective
    _check_choice("objective.name", obj.name, OBJECTIVES)
    penalty = obj.get("penalty", "none")
    _check_choice("objective.penalty", penalty, PENALTY_NAMES)
    if obj.name == "wasserstein_gp" and penalty != "none":
        raise ConfigError(
            "objective.penalty",
            penalty,
            "'none' with objective.name='wasserstein_gp' (its gradient penalty is built in); "
            "use objective.name='wasserstein' to choose the penalty",
        )
    if obj.name == "wasserstein":
        _check_positive("objective.clip", obj.clip)
    if obj.name == "wasserstein_gp":
        _check_positive("objective.gp_weight", obj.gp_weight)
    if penalty != "none":
        _check_positive("objective.penalty_weight", obj.penalty_weight)
    if penalty == "dragan":
        _check_positive("objective.dragan_c", obj.dragan_c)


def validate(config) -> None:
    """Raise ConfigError on the first key whose value is not allowed."""
    _check_objective(config)
    name = config.data.name
    if is_host_dataset(name):
        if name in (TFDS_PREFIX, FOLDER_PREFIX):
            raise ConfigError("data.name", name, f"'{name}' followed by a dataset name or path")
        for key in ("num_threads", "prefetch"):
            value = config.data.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"data.{key}", value, "a non-negative integer")
    else:
        allowed = sorted(DATASETS) + [f"{TFDS_PREFIX}<name>[/<config>]", f"{FOLDER_PREFIX}<path>"]
        _check_choice("data.name", name, allowed)
    _check_choice("model.name", config.model.name, MODELS)
    for net in ("g", "d"):
        opt = config.optim[net]
        _check_choice(f"optim.{net}.name", opt.name, OPTIMIZERS)
        _check_positive(f"optim.{net}.lr", opt.lr)
        _check_choice(f"optim.{net}.schedule", opt.get("schedule", "constant"), SCHEDULES)
        if opt.get("schedule", "constant") != "constant":
            _check_positive(f"optim.{net}.decay_steps", opt.decay_steps, int)
        if opt.name == "adam":
            for beta in ("b1", "b2"):
                _check_unit_interval(f"optim.{net}.{beta}", opt.get(beta, 0.9))
    _check_positive("train.batch_size", config.train.batch_size, int)
    _check_positive("train.steps", config.train.steps, int)
    _check_positive("train.d_steps", config.train.d_steps, int)
    _check_positive("train.log_every", config.train.log_every, int)
    _check_positive("train.steps_per_dispatch", config.train.steps_per_dispatch, int)
    fusions = xla_cpu.ynn_fusions(config.train)
    try:
        xla_cpu.parse_kinds(fusions)
    except (ValueError, AttributeError) as error:
        allowed = f"'{xla_cpu.DEFAULT}' or a comma list of {list(xla_cpu.FUSION_KINDS)}"
        raise ConfigError("train.xla_cpu_ynn_fusions", fusions, allowed) from error
    _check_positive("model.z_dim", config.model.z_dim, int)
    _check_positive("eval.num_samples", config.eval.num_samples, int)
    _check_positive("checkpoint.every_steps", config.checkpoint.every_steps, int)
    _check_positive("checkpoint.max_to_keep", config.checkpoint.max_to_keep, int)
    every = config.eval.every_steps
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise ConfigError("eval.every_steps", every, "a non-negative integer (0: only at the end)")
    _check_choice("eval.extractor", config.eval.extractor, EXTRACTORS)
    _check_choice("eval.resize", config.eval.get("resize", "bilinear"), RESIZE_MODES)
    if config.eval.extractor == "inception_v3" and not config.eval.get("inception_weights"):
        raise ConfigError(
            "eval.inception_weights",
            config.eval.get("inception_weights", ""),
            "the path of an .npz of pytorch-fid's Inception weights with "
            "eval.extractor='inception_v3' (they cannot be downloaded here)",
        )
    _check_choice("model.g_norm", config.model.g_norm, NORMS)
    _check_choice("model.d_norm", config.model.d_norm, NORMS)
    _check_conditioning_and_ema(config.model)
    dtype = config.model.get("dtype", "float32")
    _check_choice("model.dtype", dtype, DTYPES)
    if dtype != "float32" and config.model.name not in LOW_PRECISION_MODELS:
        raise ConfigError("model.dtype", dtype, f"'float32' with model.name={config.model.name!r}")
    obj = config.objective
    penalised = obj.name == "wasserstein_gp" or obj.get("penalty", "none") != "none"
    if penalised and config.model.d_norm == "batch":
        which = (
            "objective.name='wasserstein_gp'"
            if obj.name == "wasserstein_gp"
            else f"objective.penalty={obj.penalty!r}"
        )
        raise ConfigError(
            "model.d_norm",
            "batch",
            f"'layer' or 'none' with {which} (a gradient penalty is per sample; BatchNorm mixes "
            "samples)",
        )
    points = config.data.name in POINT_DATASETS
    if points:
        if config.model.name not in POINT_MODELS:
            raise ConfigError(
                "model.name",
                config.model.name,
                f"one of {list(POINT_MODELS)} for data.name={config.data.name!r}",
            )
        _check_non_negative_int("data.num_points", config.data.get("num_points", 0))
        pac = config.model.get("pac", 1)
        _check_positive("model.pac", pac, int)
        if config.model.name == "pacgan_mlp":
            _check_positive("model.maxout_pieces", config.model.maxout_pieces, int)
        if config.train.batch_size % pac:
            raise ConfigError(
                "train.batch_size",
                config.train.batch_size,
                f"a multiple of model.pac={pac} (the discriminator judges packs of pac samples)",
            )
        if pac > 1 and penalised:
            raise ConfigError(
                "model.pac", pac, "1 with a gradient penalty (it is computed per sample)"
            )
    if not points:
        if config.model.name not in IMAGE_MODELS:
            raise ConfigError(
                "model.name", config.model.name, f"one of {list(IMAGE_MODELS)} for image datasets"
            )
        if config.model.name == "resnet" and config.model.d_norm != "none":
            raise ConfigError(
                "model.d_norm", config.model.d_norm, "'none' with model.name='resnet' (SNGAN)"
            )
        _check_choice("data.resolution", config.data.resolution, RESOLUTIONS)
        _check_choice("model.upsample", config.model.upsample, UPSAMPLES)
        _check_choice("model.downsample", config.model.downsample, DOWNSAMPLES)
        _check_positive("model.width", config.model.width, int)
        if config.data.get("num_points", 0) != 0:
            raise ConfigError(
                "data.num_points",
                config.data.num_points,
                "0 for image datasets (ring8/grid25 only)",
            )
        if config.model.get("pac", 1) != 1:
            raise ConfigError("model.pac", config.model.pac, "1 for image datasets (MLPs only)")
    if config.data.name == "digits" and config.train.batch_size * config.train.d_steps > 1797:
        raise ConfigError(
            "train.batch_size",
            config.train.batch_size,
            "batch_size * d_steps <= 1797 (digits draws each step's images without replacement)",
        )


def _check_conditioning_and_ema(model) -> None:
    k = model.get("num_classes", 0)
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigError("model.num_classes", k, "a non-negative integer (0: unconditional)")
    decay = model.get("g_ema_decay", 0.0)
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < 1:
        raise ConfigError("model.g_ema_decay", decay, "a number in [0, 1) (0: no EMA)")
    sn = model.get("d_spectral_norm", False)
    if not isinstance(sn, bool):
        raise ConfigError("model.d_spectral_norm", sn, "True or False")
    if sn and model.name == "pacgan_mlp":
        raise ConfigError(
            "model.d_spectral_norm", sn, "False with model.name='pacgan_mlp' (maxout critic)"
        )
    if k and model.name == "resnet" and model.g_norm != "batch":
        raise ConfigError(
            "model.g_norm",
            model.g_norm,
            "'batch' for a conditional resnet (its generator uses class-conditional BatchNorm)",
        )


def validate_for_dataset(config, dataset: Dataset) -> None:
    """Checks that need the built dataset: a conditional model has the dataset's classes."""
    k = config.model.get("num_classes", 0)
    if k and k != dataset.num_classes:
        raise ConfigError(
            "model.num_classes",
            k,
            f"0 (unconditional) or {dataset.num_classes}, the number of classes of "
            f"data.name={dataset.name!r}",
        )
