"""XLA:CPU compiler options for the train dispatch (``train.xla_cpu_ynn_fusions``).

XLA:CPU (jaxlib 0.10) hands fused dots, element-wise chains, reductions and single
convolutions to YNNPACK kernels. For gan_jax's small matmuls its own dot path is faster: with
dots left to XLA the toy128 MLP step runs ~1.45x faster and WGAN-GP on dcgan32 ~5% (measured in
experiments/README.md). Its own (Eigen) convolutions are faster too: YNNPACK's weight gradient
of a 3x3 conv (64x32x32x128 -> 128) ran 338 ms against Eigen's 84, its forward pass 85 against
66, so with convolutions left to XLA as well the SNGAN ResNet step runs 1.37x faster, dcgan32
1.08-1.12x, digits 1.05x, WGAN-GP 1.01-1.05x (in-process A/B, idle machine, 2026-12-01). YNNPACK
keeps the reductions.

The option is experimental in XLA (``xla_cpu_experimental_ynn_fusion_type``). It is passed per
compilation (``jax.jit(..., compiler_options=...)``), only when every device is a CPU, and only
after a one-off probe compile accepts it: a jaxlib without it logs a warning and compiles with
its defaults instead of failing.
"""

from __future__ import annotations

import functools
import logging

import jax

from gan_jax import schema
from gan_jax.errors import ConfigError

OPTION = "xla_cpu_experimental_ynn_fusion_type"
FUSION_KINDS = ("dot", "eltwise", "reduce", "individual_convolution", "individual_dot")
DEFAULT = "default"  # train.xla_cpu_ynn_fusions value that leaves XLA's own choice


def parse_kinds(value: str) -> tuple[str, ...] | None:
    """The fusion kinds of a ``train.xla_cpu_ynn_fusions`` value; None for 'default'."""
    if value == DEFAULT:
        return None
    kinds = tuple(k.strip() for k in value.split(","))
    unknown = [k for k in kinds if k not in FUSION_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown fusion kinds {unknown}")
    return kinds


@functools.cache
def _accepted(value: str) -> bool:
    try:
        probe = jax.jit(lambda x: x + 1, compiler_options={OPTION: value})
        probe.lower(jax.ShapeDtypeStruct((), "float32")).compile()
    except Exception as error:  # noqa: BLE001 - any refusal means "not supported here"
        logging.warning("XLA does not take %s=%s (%s); using its defaults", OPTION, value, error)
        return False
    return True


# The key of the `train` block this module reads; its default leaves dots and convolutions to
# XLA's kernels.
KEYS: schema.Spec = {
    "xla_cpu_ynn_fusions": schema.string(
        "reduce",
        "fusion kinds XLA:CPU gives to YNNPACK in the train step ('default': XLA's choice)",
    )
}


def ynn_fusions(train_config) -> str:
    """A ``train`` block's ``xla_cpu_ynn_fusions``."""
    return schema.value(train_config, KEYS, "xla_cpu_ynn_fusions")


def check(train_config) -> None:
    """ConfigError unless ``train.xla_cpu_ynn_fusions`` is 'default' or a list of known kinds."""
    fusions = ynn_fusions(train_config)
    try:
        parse_kinds(fusions)
    except (ValueError, AttributeError) as error:
        allowed = f"'{DEFAULT}' or a comma list of {list(FUSION_KINDS)}"
        raise ConfigError("train.xla_cpu_ynn_fusions", fusions, allowed) from error


def compiler_options(train_config, devices) -> dict[str, str]:
    """``compiler_options`` for ``jax.jit`` of the train dispatch on ``devices`` (empty off CPU)."""
    kinds = parse_kinds(ynn_fusions(train_config))
    if kinds is None or any(d.platform != "cpu" for d in devices):
        return {}
    value = ",".join("LIBRARY_FUSION_TYPE_" + k.upper() for k in kinds)
    return {OPTION: value} if _accepted(value) else {}
