"""Subprocess side of tests/test_parallel.py (not a test module: pytest does not collect it).

Each mode runs in a fresh interpreter, so XLA_FLAGS can fake CPU devices before JAX starts:

    python tests/parallel_worker.py meshes OUT_DIR
        (with XLA_FLAGS=--xla_force_host_platform_device_count=8) trains the tiny configs below
        through train.train_and_evaluate on meshes of 1, 4 and 8 devices; writes each run's final
        state to OUT_DIR/<run>.npz and the number of traces of the step and batch functions to
        OUT_DIR/traces.json.

    python tests/parallel_worker.py main --dump_dir=DIR <gan_jax.main flags>
        runs the real entry point (gan_jax.main.main, distributed flags and all) and, test-only,
        writes this process's copy of the final state to DIR/process_<i>.npz.

A dump holds every local device's replica of every parameter and BatchNorm statistic, so the
test can check that replicas agree within and across processes.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import sys

import jax
import numpy as np

from gan_jax import dispatch, runs, sharding, steps, train
from gan_jax.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[1]  # on PYTHONPATH in the subprocesses

# Tiny configs: (config file:preset, overrides). Global batch 16 splits over 1, 4, 8.
# SGD, not Adam, for objectives that do not change when a constant is added to the critic's
# output (hinge while every sample is inside the margin, the relativistic ones, Wasserstein):
# some critic biases (the output bias, those of units active on the whole batch) then have a
# gradient of exactly zero up to rounding, and Adam's normalised step turns that rounding, which
# differs between 1 and 8 devices, into steps of +-lr. Adam itself is compared across devices
# by the runs above.
_SGD = {"optim.g.name": "sgd", "optim.d.name": "sgd", "optim.g.lr": 0.01, "optim.d.lr": 0.01}
CONFIGS = {
    "dcgan_bn": (
        "default.py:digits",
        {
            "model.width": 8,
            "model.z_dim": 16,
            "train.batch_size": 16,
            "train.steps": 4,
            "train.log_every": 2,
            "train.sample_every": 0,
            "eval.num_samples": 64,
        },
    ),
    "mlp": (
        "default.py:ring8",
        {
            "model.g_hidden": (32, 32),
            "model.d_hidden": (32, 32),
            "train.batch_size": 16,
            "train.steps": 4,
            "train.log_every": 2,
            "eval.num_samples": 64,
        },
    ),
    # Conditional (labels from the batch, fake labels from the key), spectrally normalised
    # critic, generator EMA: the state that only the new research options carry.
    "cgan": (
        "cgan.py",
        {
            "model.width": 8,
            "model.z_dim": 16,
            "model.d_spectral_norm": True,
            "model.g_ema_decay": 0.9,
            "train.batch_size": 16,
            "train.steps": 2,
            "train.log_every": 2,
            "train.sample_every": 0,
            "eval.num_samples": 64,
        },
    ),
    # The SNGAN ResNets (spectral norm, no critic BatchNorm), 16x16.
    "sngan": (
        "sngan.py",
        {
            "data.resolution": 16,
            "model.width": 8,
            "model.z_dim": 16,
            "train.d_steps": 1,
            "train.batch_size": 16,
            "train.steps": 2,
            "train.log_every": 2,
            "train.sample_every": 0,
            "eval.num_samples": 64,
        },
    ),
    # configs/hinge.py (5 critic steps), its MLP preset, with SGD for the reason given above.
    "hinge": (
        "hinge.py:ring8",
        {
            **_SGD,
            "model.g_hidden": (32, 32),
            "model.d_hidden": (32, 32),
            "train.batch_size": 16,
            "train.steps": 4,
            "train.log_every": 2,
            "eval.num_samples": 64,
        },
    ),
    # A relativistic objective (batch means inside both players' losses) with the R1 penalty.
    "ralsgan_r1": (
        "default.py:ring8",
        {
            **_SGD,
            "objective.name": "relativistic_average_ls",
            "objective.penalty": "r1",
            "model.g_hidden": (32, 32),
            "model.d_hidden": (32, 32),
            "train.batch_size": 16,
            "train.steps": 4,
            "train.log_every": 2,
            "eval.num_samples": 64,
        },
    ),
}
# run name -> (config, number of devices in the mesh)
MESH_RUNS = {
    "dcgan_bn_1": ("dcgan_bn", 1),
    "dcgan_bn_8": ("dcgan_bn", 8),
    "dcgan_bn_4": ("dcgan_bn", 4),
    "mlp_1": ("mlp", 1),
    "mlp_8": ("mlp", 8),
    "cgan_1": ("cgan", 1),
    "cgan_8": ("cgan", 8),
    "sngan_1": ("sngan", 1),
    "sngan_8": ("sngan", 8),
    "hinge_1": ("hinge", 1),
    "hinge_8": ("hinge", 8),
    "ralsgan_r1_1": ("ralsgan_r1", 1),
    "ralsgan_r1_8": ("ralsgan_r1", 8),
}


def get_config(name: str):
    config_string, overrides = CONFIGS[name]
    path, _, preset = config_string.partition(":")
    module = importlib.import_module(f"configs.{path.removesuffix('.py')}")
    config = module.get_config(preset or None)
    config.update_from_flattened_dict(overrides)
    return config


def main_flags(name: str) -> list[str]:
    """The same config as ``get_config(name)``, as gan_jax.main flags."""
    config_string, overrides = CONFIGS[name]
    flags = [f"--config={ROOT / 'configs' / config_string}"]
    for key, value in overrides.items():
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        flags.append(f"--config.{key}={'(' + text + ',)' if isinstance(value, tuple) else text}")
    return flags


def dump_state(state: steps.State, path: pathlib.Path) -> None:
    """Every leaf of params, BatchNorm statistics (and spectral-norm vectors) and the generator
    EMA, one array per local device replica."""
    trees = {
        "g": (state.nets["g"].params, state.nets["g"].batch_stats),
        "d": (state.nets["d"].params, state.nets["d"].batch_stats),
    }
    if state.ema:
        trees["g_ema"] = state.ema["g"]
    arrays = {}
    for leaf_path, leaf in jax.tree_util.tree_leaves_with_path(trees):
        for i, shard in enumerate(leaf.addressable_shards):
            arrays[f"{jax.tree_util.keystr(leaf_path)}@{i}"] = np.asarray(shard.data)
    np.savez(path, **arrays)


def counted(fn, name: str, counts: dict[str, int]):
    """``fn`` counting its calls in ``counts[name]``; under jit a call is a trace."""

    def wrapper(*args, **kwargs):
        counts[name] = counts.get(name, 0) + 1
        return fn(*args, **kwargs)

    return wrapper


def capturing(make_dispatch, captured: dict):
    """``make_dispatch`` whose dispatch keeps itself and its first arguments' layouts."""

    def make(*args, **kwargs):
        dispatch_fn = make_dispatch(*args, **kwargs)

        def dispatch(state, guard):
            if "args" not in captured:
                captured["fn"] = dispatch_fn
                captured["args"] = jax.tree.map(
                    lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
                    (state, guard),
                )
            return dispatch_fn(state, guard)

        return dispatch

    return make


def run_meshes(out_dir: pathlib.Path) -> None:
    report = {}
    originals = steps.train_step, runs.sample_batches, dispatch.make_dispatch
    for run, (config_name, num_devices) in MESH_RUNS.items():
        counts: dict[str, int] = {}
        captured: dict = {}
        # train.py and make_train_step look these up at call time, so the jit-ted ones count.
        steps.train_step = counted(originals[0], "train_step", counts)
        runs.sample_batches = counted(originals[1], "sample_batches", counts)
        dispatch.make_dispatch = capturing(originals[2], captured)
        try:
            mesh = sharding.make_mesh(jax.devices()[:num_devices])
            state = train.train_and_evaluate(get_config(config_name), out_dir / run, mesh=mesh)
        finally:
            steps.train_step, runs.sample_batches, dispatch.make_dispatch = originals
        dump_state(state, out_dir / f"{run}.npz")
        report[run] = {"traces": dict(counts)}
        if config_name == "mlp":  # compiling again costs seconds; the small model shows it too
            # XLA's count of one device's floating-point work in the compiled dispatch.
            cost = captured["fn"].lower(*captured["args"]).compile().cost_analysis()
            report[run]["flops_per_device"] = cost["flops"]
    (out_dir / "compiled.json").write_text(json.dumps(report))

    config = get_config("dcgan_bn")
    config.train.batch_size = 12
    try:
        train.train_and_evaluate(config, out_dir / "bad_batch", mesh=sharding.make_mesh())
    except ConfigError as e:
        (out_dir / "batch_error.txt").write_text(str(e))

    host = np.arange(2 * 16 * 3, dtype=np.float32).reshape(2, 16, 3)
    array = sharding.global_batch({"x": host}, sharding.make_mesh(), batch_axis=1)["x"]
    report = {
        "shape": list(array.shape),
        "shard_shapes": [list(s.data.shape) for s in array.addressable_shards],
        "in_order": bool(
            np.array_equal(np.asarray(array), host)
            and all(
                np.array_equal(np.asarray(s.data), host[s.index]) for s in array.addressable_shards
            )
        ),
    }
    (out_dir / "global_batch.json").write_text(json.dumps(report))


def check_global_batch(batch_size: int) -> dict:
    """This process's part of a global batch, assembled by ``sharding.global_batch``.

    Process p loads rows [p * n, (p + 1) * n) of a (batch_size, 3) batch; its devices must hold
    exactly those rows, in order, and the global array must have the global shape.
    """
    n = sharding.process_batch_size(batch_size)
    host = np.arange(batch_size * 3, dtype=np.float32).reshape(batch_size, 3)
    local = host[jax.process_index() * n : (jax.process_index() + 1) * n]
    array = sharding.global_batch({"x": local}, sharding.make_mesh())["x"]
    shards = sorted(array.addressable_shards, key=lambda s: s.index[0].start)
    held = np.concatenate([np.asarray(s.data) for s in shards])
    return {
        "process_batch_size": n,
        "global_shape": list(array.shape),
        "holds_its_rows": bool(np.array_equal(held, local)),
    }


def run_main(argv: list[str]) -> None:
    from absl import app, flags

    from gan_jax import main as entry

    flags.DEFINE_string("dump_dir", None, "Test only: where each process dumps its final state.")
    train_and_evaluate = train.train_and_evaluate

    def train_and_dump(config, workdir, **kwargs):
        state = train_and_evaluate(config, workdir, **kwargs)
        dump_dir, i = pathlib.Path(flags.FLAGS.dump_dir), jax.process_index()
        dump_state(state, dump_dir / f"process_{i}.npz")
        (dump_dir / f"process_{i}.json").write_text(json.dumps(check_global_batch(16)))
        return state

    train.train_and_evaluate = train_and_dump
    app.run(entry.main, argv=argv)


if __name__ == "__main__":
    if sys.argv[1] == "meshes":
        run_meshes(pathlib.Path(sys.argv[2]))
    elif sys.argv[1] == "main":
        run_main([sys.argv[0], *sys.argv[2:]])
    else:
        sys.exit(f"unknown mode {sys.argv[1]!r}")
