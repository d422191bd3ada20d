"""Data parallelism over every device of every host: the mesh, the shardings, multi-host setup.

One global-view program runs everywhere. The train step is ``jax.jit``-ted with NamedShardings
over a 1-D device mesh whose single axis is ``data``: the state is replicated (``P()``) and every
batch is split along its batch axis (``P('data')``, or ``P(None, 'data')`` for the train step's
``(d_steps, B, ...)`` batches). XLA's SPMD partitioner then inserts the all-reduces that the
pmap-style program writes by hand (``lax.pmean`` of gradients, metrics and BatchNorm statistics).

Why jit + NamedSharding rather than ``jax.shard_map`` with explicit ``lax.pmean``: the step in
``gan_jax.steps`` stays the plain single-device program, so

- BatchNorm statistics are means over the *global* batch axis, i.e. cross-replica BatchNorm
  without an ``axis_name`` threaded through every Flax module;
- noise z and gradient-penalty coefficients are drawn with the global shape from the same key,
  so they are the same numbers on 1 or 512 devices (JAX guarantees a jitted function's values do
  not depend on its shardings; ``jax_threefry_partitionable``, on by default since JAX 0.5, lets
  each device generate only its own slice instead of the whole array). Per-device draws inside
  shard_map would depend on the device count;
- the same code runs un-sharded in tests and notebooks.

The state is replicated, not sharded (FSDP/ZeRO): GAN networks here have a few million
parameters, so every device holding all of them costs little, and sharding would add an
all-gather per layer to every step.

Multi-host (TPU pods, several GPU hosts): every process runs the same program; ``jax.devices()``
lists all devices of all hosts and the mesh spans them. ``initialize_distributed`` starts JAX's
own multi-host runtime (``jax.distributed``) before anything touches a device. A process only
ever materialises its own part of a global batch: jit with ``out_shardings`` computes only the
addressable shards, and ``global_batch`` assembles a process-local host batch into a global array
with ``jax.make_array_from_process_local_data``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from gan_jax.errors import ConfigError

log = logging.getLogger(__name__)

DATA_AXIS = "data"
DISTRIBUTED_MODES = ("auto", "on", "off")


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh with axis ``data`` over ``devices`` (default: every device of every process).

    Auto axis types: jax.make_mesh defaults to Explicit sharding types, under which jit-ted
    global-view code would need explicit sharding annotations (../shared/FACTS.md).
    """
    devices = list(jax.devices() if devices is None else devices)
    return jax.make_mesh(
        (len(devices),), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,), devices=devices
    )


def replicated(mesh: Mesh) -> NamedSharding:
    """Every device holds the whole array (the train state, the metrics)."""
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, batch_axis: int = 0) -> NamedSharding:
    """Split axis ``batch_axis`` across ``data``; other axes are whole on every device."""
    return NamedSharding(mesh, P(*([None] * batch_axis), DATA_AXIS))


def check_batch_size(batch_size: int, num_devices: int) -> None:
    """``train.batch_size`` is global: each device gets batch_size / num_devices examples."""
    if batch_size % num_devices:
        lower = batch_size // num_devices * num_devices
        nearest = " or ".join(str(b) for b in (lower, lower + num_devices) if b > 0)
        raise ConfigError(
            "train.batch_size",
            batch_size,
            f"a multiple of the number of devices, {num_devices}, since the global batch is "
            f"split evenly across them (nearest: {nearest})",
        )


def global_batch(local_batch: Any, mesh: Mesh, batch_axis: int = 0) -> Any:
    """Assemble each process's host batch (a pytree of arrays) into global ``jax.Array``s.

    Every process passes the ``global / process_count`` examples it loaded for its own devices;
    the result is one array of the global shape, split along ``batch_axis`` across the mesh.
    This is the entry point for host input pipelines (TFDS, grain); the embedded datasets are
    sampled on device instead.
    """
    sharding = batch_sharding(mesh, batch_axis)
    return jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch
    )


def process_batch_size(batch_size: int) -> int:
    """The part of the global batch one process loads (its devices' shards together)."""
    return batch_size * jax.local_device_count() // jax.device_count()


def is_main_process() -> bool:
    """Process 0 writes logs, metrics, samples and progress lines; the others stay silent."""
    return jax.process_index() == 0


def cluster_detected() -> bool:
    """Whether JAX recognises a multi-host environment it can bootstrap from (TPU pod, SLURM,
    Open MPI, Kubernetes): the environments ``jax.distributed.initialize()`` with no arguments
    auto-detects. Uses JAX's own detectors (jax._src.clusters, the registry behind
    ``initialize``); opt-in detectors (mpi4py) are skipped, as ``initialize`` skips them.
    """
    try:
        from jax._src.clusters import ClusterEnv
    except ImportError:  # private module: if a JAX release moves it, fall back to "not detected"
        log.warning("gan_jax: cannot import jax._src.clusters; cluster auto-detection is off")
        return False
    return any(
        env.is_env_present() for env in ClusterEnv._cluster_types if not env.opt_in_only_method
    )


def initialize_distributed(
    mode: str = "auto",
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Start JAX's multi-host runtime if asked; returns whether it was started.

    ``mode``: 'auto' starts it when the manual arguments are given or JAX detects a cluster,
    'on' always (missing arguments are auto-detected by JAX), 'off' never. Must run before any
    other JAX call touches a device. One host with several GPUs needs no multi-host runtime: one
    process drives all its local devices.
    """
    if mode not in DISTRIBUTED_MODES:
        raise ConfigError("--distributed", mode, str(list(DISTRIBUTED_MODES)))
    manual = {
        "--coordinator_address": coordinator_address,
        "--num_processes": num_processes,
        "--process_id": process_id,
    }
    given = {k: v for k, v in manual.items() if v is not None}
    if mode == "off":
        if given:
            flag = next(iter(given))
            raise ConfigError(flag, given[flag], "unset with --distributed=off")
        return False
    if num_processes is not None and num_processes < 1:
        raise ConfigError("--num_processes", num_processes, "a positive integer")
    if process_id is not None and num_processes is not None and not 0 <= process_id < num_processes:
        raise ConfigError("--process_id", process_id, f"0 <= process_id < {num_processes}")
    detected = cluster_detected()
    if mode == "auto" and not given and not detected:
        return False
    missing = [k for k, v in manual.items() if v is None]
    if missing and not detected:
        what = {
            "--coordinator_address": "host:port of process 0",
            "--num_processes": "the number of processes",
            "--process_id": "this process's index",
        }[missing[0]]
        raise ConfigError(
            missing[0],
            None,
            f"{what}; outside a cluster JAX detects (TPU pod, SLURM, Open MPI, Kubernetes) a "
            "multi-process run needs --coordinator_address, --num_processes and --process_id",
        )
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
    return True
