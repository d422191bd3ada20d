"""Scaling on paper: the collectives of the data-parallel train step, and what they cost at scale.

    python experiments/scaling.py [--workloads=dcgan32,resnet] [--devices=8,16,32,64]
        [--per_device=4] [--batches=256,512,1024,2048]

For each workload and device count N, a worker process with N fake CPU devices
(``--xla_force_host_platform_device_count``) compiles the train step exactly as
``train_and_evaluate`` does on a mesh of N devices (``steps.make_train_step(game, mesh=...)``: state
replicated, batches split along the batch axis) at a global batch of ``per_device * N``, and reads
from the compiled (SPMD-partitioned, per-device) program

- every collective op (all-reduce, all-gather, reduce-scatter, collective-permute, all-to-all),
  with the bytes of its operands;
- the per-device FLOPs (``compiled.cost_analysis()``).

The train step is a straight-line program (``steps.train_step`` unrolls the players' updates in
Python), so each op in the text runs once per step. Expected pattern: all-reduces only (the
gradients of each update, the BatchNorm statistics of each train-mode pass, the metrics), no
all-gather of activations or parameters. The bytes do not depend on the batch (checked: the
worker compiles two batches for N=8).

The projection (a model, not a measurement) takes those bytes and FLOPs to two machines with
their published figures:

- **8x H100 SXM NVLink node** (NVLink 4: 900 GB/s bidirectional per GPU, so 450 GB/s each way;
  989 TFLOP/s dense bf16), beyond 8 GPUs nodes joined by one 400 Gb/s (50 GB/s) InfiniBand NDR
  link per GPU (the DGX H100 layout): a hierarchical all-reduce, a ring within the node on NVLink
  then a ring across nodes of the node's 1/8 shard on InfiniBand;
- **TPU v5p slice** (docs.cloud.google.com/tpu/docs/v5p-training: 1200 GB/s bidirectional ICI
  per chip, 3D torus, 459 TFLOP/s bf16): a ring all-reduce over all links, 600 GB/s each way.

A ring all-reduce of S bytes on n devices moves 2 (n - 1) / n * S bytes through each device's
link, plus a latency of ALPHA per collective op (assumed: 10 us NVLink/NCCL, 20 us InfiniBand,
5 us ICI). Compute time: the per-device FLOPs at UTILISATION (assumed 40%) of the bf16 peak.
Communication is not overlapped with compute (conservative: XLA and NCCL do overlap some of it).
Scaling efficiency = compute / (compute + communication): the fraction of linear weak scaling.

Writes experiments/results/scaling.json and scaling.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's gan_jax and configs, also in the workers
RESULTS = REPO / "experiments" / "results"
WORKLOADS = ("dcgan32", "resnet")
COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "collective-permute", "all-to-all")
DTYPE_BYTES = {"f32": 4, "bf16": 2, "f16": 2, "s32": 4, "u32": 4, "f64": 8, "s8": 1, "u8": 1}
DTYPE_BYTES["pred"] = 1

# Published figures (see the module docstring) and the model's assumptions.
MACHINES = {
    "H100 NVLink node(s)": {
        "peak_flops": 989e12,
        "local": 8,  # devices per node
        "local_bw": 450e9,  # bytes/s each way per device (NVLink 4)
        "local_alpha": 10e-6,
        "remote_bw": 50e9,  # one 400 Gb/s InfiniBand NDR link per GPU
        "remote_alpha": 20e-6,
    },
    "TPU v5p slice": {
        "peak_flops": 459e12,
        "local": 1 << 30,  # one torus: every chip is 'local'
        "local_bw": 600e9,
        "local_alpha": 5e-6,
        "remote_bw": None,
        "remote_alpha": None,
    },
}
UTILISATION = 0.4

_OP = re.compile(r"= (.*?) (" + "|".join(COLLECTIVES) + r")(-start)?\(")
_SHAPE = re.compile(r"\b(" + "|".join(DTYPE_BYTES) + r")\[([0-9,]*)\]")


def collectives(hlo_text: str) -> list[dict]:
    """Every collective op of a compiled HLO module: ``{'kind', 'bytes', 'operands'}``.

    ``bytes`` sums the shapes of the op's result (for an all-reduce, the bytes reduced; async
    pairs are counted once, at their ``-start``).
    """
    ops = []
    for line in hlo_text.splitlines():
        m = _OP.search(line)
        if not m:
            continue
        shapes = _SHAPE.findall(m.group(1))
        nbytes = 0
        for dtype, dims in shapes:
            size = 1
            for d in filter(None, dims.split(",")):
                size *= int(d)
            nbytes += size * DTYPE_BYTES[dtype]
        ops.append({"kind": m.group(2), "bytes": nbytes, "operands": len(shapes)})
    return ops


def summarise(ops: list[dict]) -> dict:
    kinds = collections.Counter(op["kind"] for op in ops)
    return {
        "ops": dict(kinds),
        "bytes": {k: sum(op["bytes"] for op in ops if op["kind"] == k) for k in kinds},
    }


def workload_config(workload: str):
    """The config of a workload: dcgan32 is benchmark.py's (configs/nsgan.py:cifar10), resnet the
    SNGAN recipe at the paper's width (configs/sngan.py, model.width=128), both 32x32x3."""
    from configs import nsgan, sngan

    if workload == "dcgan32":
        return nsgan.get_config("cifar10")
    if workload == "resnet":
        c = sngan.get_config()
        c.model.width = 128
        return c
    if workload == "tiny":  # the regression test's: the digits DCGAN, narrow
        c = nsgan.get_config()
        c.model.width, c.model.z_dim = 8, 8
        return c
    raise ValueError(f"workload={workload!r}; allowed: {WORKLOADS}")


def compile_step(workload: str, global_batch: int):
    """The compiled data-parallel train step of ``workload`` on every device, and its game."""
    import jax
    import jax.numpy as jnp

    from gan_jax import runs, sharding, steps
    from gan_jax.data import Dataset
    from gan_jax.games import GAMES
    from gan_jax.validation import validate

    cfg = workload_config(workload)
    cfg.train.batch_size = global_batch
    validate(cfg)
    shape = (16, 16, 1) if workload == "tiny" else (32, 32, 3)

    def sample(key, n):  # the data's values do not change the program
        return {"x": jax.random.uniform(key, (n, *shape)), "label": jnp.zeros((n,), jnp.int32)}

    dataset = Dataset("uniform", shape, sample, 1)
    run = runs.Run(cfg, dataset, GAMES[cfg.game.name].build(cfg, dataset))
    mesh = sharding.make_mesh()
    step = steps.make_train_step(run.game, mesh=mesh)
    state = run.abstract_state()
    batches = jax.eval_shape(lambda: run.sample_batches(run.data_key(), 0))
    return step.lower(state, batches).compile(), run, state


def param_bytes(state) -> dict[str, int]:
    import jax

    return {
        name: sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(ms.params))
        for name, ms in state.nets.items()
    }


def worker(workload: str, per_device: int) -> dict:
    """In a process with N fake devices: the collectives and FLOPs of the step."""
    import jax

    n = jax.device_count()
    compiled, run, state = compile_step(workload, per_device * n)
    ops = collectives(compiled.as_text())
    updates = {p.name: p.steps for p in run.game.players}
    out = {
        "devices": n,
        "per_device_batch": per_device,
        "flops_per_device": compiled.cost_analysis()["flops"],
        "param_bytes": param_bytes(state),
        "updates_per_step": updates,
        "collectives": ops,
        **summarise(ops),
    }
    if n == 8:  # the bytes do not depend on the batch
        twice = collectives(compile_step(workload, 2 * per_device * n)[0].as_text())
        out["bytes_at_double_batch"] = summarise(twice)["bytes"]
    return out


def run_worker(workload: str, devices: int, per_device: int) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    command = [sys.executable, __file__, "--worker", workload, f"--per_device={per_device}"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"worker {workload} x{devices} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def allreduce_seconds(machine: dict, n: int, nbytes: float, num_ops: int) -> float:
    """A (hierarchical) ring all-reduce of ``nbytes`` in ``num_ops`` ops on ``n`` devices."""
    local = min(n, machine["local"])
    t = 2 * (local - 1) / local * nbytes / machine["local_bw"] + num_ops * machine["local_alpha"]
    nodes = n // local
    if nodes > 1:  # across nodes, each device reduces its 1/local shard
        t += 2 * (nodes - 1) / nodes * nbytes / local / machine["remote_bw"]
        t += num_ops * machine["remote_alpha"]
    return t


def project(measured: dict, global_batches: list[int]) -> list[dict]:
    """Step time and scaling efficiency of every (machine, devices, global batch)."""
    rows = []
    for name, machine in MACHINES.items():
        for n, m in sorted(measured.items()):
            flops_per_example = m["flops_per_device"] / m["per_device_batch"]
            nbytes = sum(m["bytes"].values())
            num_ops = sum(m["ops"].values())
            comm = allreduce_seconds(machine, n, nbytes, num_ops)
            for batch in global_batches:
                if batch % n or batch < n:
                    continue
                compute = flops_per_example * batch / n / (UTILISATION * machine["peak_flops"])
                rows.append(
                    {
                        "machine": name,
                        "devices": n,
                        "global_batch": batch,
                        "compute_ms": 1e3 * compute,
                        "comm_ms": 1e3 * comm,
                        "step_ms": 1e3 * (compute + comm),
                        "efficiency": compute / (compute + comm),
                    }
                )
    return rows


def markdown(results: dict, args) -> str:
    lines = [
        "# Scaling on paper: collectives of the data-parallel train step",
        "",
        "Written by `python experiments/scaling.py`. Collectives and FLOPs are read from the",
        "compiled per-device program (N fake CPU devices); the step times are a projection from",
        "published interconnect and peak figures (see the script's docstring for the model and its",
        f"assumptions: {UTILISATION:.0%} of bf16 peak, no overlap of communication and compute).",
        "",
        "## What the compiled step communicates",
        "",
        "| workload | devices | updates/step | collective ops | all-reduced MB | other collectives"
        " | params MB (G, D) | GFLOP/device/step |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for workload, measured in results["measured"].items():
        for n, m in sorted(measured.items(), key=lambda kv: int(kv[0])):
            ops = ", ".join(f"{k} {v}" for k, v in sorted(m["ops"].items()))
            other = {k: v for k, v in m["bytes"].items() if k != "all-reduce"}
            params = m["param_bytes"]
            lines.append(
                f"| {workload} | {n} | "
                + ", ".join(f"{k} {v}" for k, v in m["updates_per_step"].items())
                + f" | {ops} | {m['bytes'].get('all-reduce', 0) / 1e6:.2f} | "
                + (", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in other.items()) or "none")
                + f" | {params.get('g', 0) / 1e6:.2f}, {params.get('d', 0) / 1e6:.2f}"
                + f" | {m['flops_per_device'] / 1e9:.2f} |"
            )
    lines += [
        "",
        "## Projected step time and weak-scaling efficiency",
        "",
        "| workload | machine | devices | global batch | compute ms | comm ms | step ms"
        " | efficiency |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for workload, rows in results["projection"].items():
        for r in rows:
            lines.append(
                f"| {workload} | {r['machine']} | {r['devices']} | {r['global_batch']} | "
                f"{r['compute_ms']:.3f} | {r['comm_ms']:.3f} | {r['step_ms']:.3f} | "
                f"{r['efficiency']:.0%} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--devices", default="8,16,32,64")
    parser.add_argument("--per_device", type=int, default=4)
    parser.add_argument("--batches", default="256,512,1024,2048")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS / "scaling"))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.per_device)))
        return
    results = {"measured": {}, "projection": {}, "machines": MACHINES, "utilisation": UTILISATION}
    batches = [int(b) for b in args.batches.split(",")]
    for workload in args.workloads.split(","):
        measured = {}
        for n in (int(d) for d in args.devices.split(",")):
            measured[n] = run_worker(workload, n, args.per_device)
            m = measured[n]
            print(f"{workload} x{n}: {m['ops']} {m['bytes']}", flush=True)
        results["measured"][workload] = measured
        results["projection"][workload] = project(measured, batches)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == "__main__":
    main()
