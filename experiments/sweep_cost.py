"""What a sweep costs: seed-steps/s of 1, 4 and 16 members in one program vs one run alone.

    python -m experiments.sweep_cost [--members=1,4,16] [--setups=grid25_mlp,digits_dcgan]

For each setup the members are seeds 0..M-1 of one config, trained by ``gan_jax.sweep``'s
program (the trainer's dispatch under ``jax.vmap``); "alone" is the trainer's own compiled
dispatch of seed 0 (``gan_jax.dispatch.make_dispatch``). Each is compiled, run once to warm up,
then timed over ``--calls`` calls of ``steps_per_dispatch`` steps (after ``block_until_ready``):
seed-steps/s = members x steps / wall seconds, and the process CPU seconds per seed-step.
Memory: XLA's own accounting of the compiled call (``memory_analysis()``: arguments, outputs and
temporaries, bytes) and the bytes of the members' state. Writes
experiments/results/sweep_cost.json / .md.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import platform
import time

import jax
from absl import app, flags, logging

from gan_jax import divergence, sweep
from gan_jax.dispatch import make_dispatch
from gan_jax.runs import build_run

# setup -> (config file, preset, overrides, steps per dispatch, timed calls)
SETUPS = {
    "grid25_mlp": ("nsgan", "grid25", {}, 50, 4),
    "digits_dcgan": ("nsgan", "digits", {}, 1, 10),
}


def load_config(name: str, preset: str):
    """configs/<name>.py:get_config(preset), as ``--config=configs/<name>.py:<preset>``."""
    return importlib.import_module(f"configs.{name}").get_config(preset)


def config_of(setup: str):
    file, preset, overrides, k, _ = SETUPS[setup]
    config = load_config(file, preset)
    for dotted, value in overrides.items():
        sweep.set_key(config, dotted, value)
    config.train.steps_per_dispatch = k
    return config


def memory(compiled) -> dict[str, int] | None:
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    if m is None:
        return None
    keys = ("argument_size_in_bytes", "output_size_in_bytes", "temp_size_in_bytes")
    return {k.removesuffix("_size_in_bytes"): int(getattr(m, k)) for k in keys}


def state_bytes(tree) -> int:
    return int(sum(x.nbytes for x in jax.tree.leaves(tree) if hasattr(x, "nbytes")))


def time_calls(call, carry, calls: int) -> tuple[float, float, tuple]:
    """(wall s, process CPU s) of ``calls`` calls after one warm-up call; returns the carry."""
    carry = call(*carry)[:2]
    jax.block_until_ready(carry)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(calls):
        carry = call(*carry)[:2]
    jax.block_until_ready(carry)
    return time.perf_counter() - t0, time.process_time() - c0, carry


def measure_alone(setup: str) -> dict:
    config = config_of(setup)
    run, (_, _, _, k, calls) = build_run(config), SETUPS[setup]
    fn = make_dispatch(run, k)
    state = jax.jit(run.init_state)(jax.random.key(0))
    guard = divergence.init_guard()
    t0 = time.perf_counter()
    compiled = fn.lower(state, guard).compile()
    compile_s = time.perf_counter() - t0
    wall, cpu, _ = time_calls(compiled, (state, guard), calls)
    steps = k * calls
    return {
        "members": 1,
        "mode": "alone",
        "compile_s": compile_s,
        "seed_steps_per_s": steps / wall,
        "cpu_ms_per_seed_step": 1000 * cpu / steps,
        "memory": memory(compiled),
        "state_bytes": state_bytes(state),
    }


def measure_sweep(setup: str, m: int, members_as: str = "vmap") -> dict:
    config = config_of(setup)
    _, _, _, k, calls = SETUPS[setup]
    ms = sweep.members(config, list(range(m)))
    run = build_run(ms[0].config)
    seeds = jax.numpy.arange(m, dtype=jax.numpy.uint32)
    prog = sweep.Program(run, seeds, {}, None, members_as)
    states, guards = prog.init()
    t0 = time.perf_counter()
    compiled = prog.dispatch(k).lower(states, guards).compile()
    compile_s = time.perf_counter() - t0
    wall, cpu, _ = time_calls(compiled, (states, guards), calls)
    steps = m * k * calls
    return {
        "members": m,
        "mode": "sweep" if members_as == "vmap" else f"sweep, {members_as}",
        "compile_s": compile_s,
        "seed_steps_per_s": steps / wall,
        "cpu_ms_per_seed_step": 1000 * cpu / steps,
        "memory": memory(compiled),
        "state_bytes": state_bytes(states),
    }


def markdown(record: dict) -> str:
    lines = [
        "## Sweep cost: members in one program vs one run alone",
        "",
        f"Command: `{record['command']}`. Machine: {record['machine']}; load average "
        f"{record['load_start']} at the start, {record['load_end']} at the end (the 2 cores were "
        "shared with other sessions, so the rates are lower bounds and noisy). Rates after "
        "compilation and one warm-up call; memory is XLA's accounting of the compiled call.",
        "",
        "| setup | run | members | seed-steps/s | vs alone | CPU ms / seed-step | "
        "compile s | args + out + temp MB | state MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for setup, rows in record["setups"].items():
        alone = rows[0]["seed_steps_per_s"]
        for r in rows:
            mem = r["memory"]
            mem_text = f"{sum(mem.values()) / 2**20:.1f}" if mem else "n/a"
            lines.append(
                f"| {setup} | {r['mode']} | {r['members']} | {r['seed_steps_per_s']:.1f} | "
                f"{r['seed_steps_per_s'] / alone:.2f}x | {r['cpu_ms_per_seed_step']:.2f} | "
                f"{r['compile_s']:.1f} | {mem_text} | {r['state_bytes'] / 2**20:.2f} |"
            )
    return "\n".join(lines)


flags.DEFINE_list("members", ["1", "4", "16"], "Member counts of the sweep program.")
flags.DEFINE_list("setups", list(SETUPS), f"Setups, from {list(SETUPS)}.")
flags.DEFINE_list("unrolled", [], "Member counts to measure with members_as='unrolled' too.")
flags.DEFINE_bool("merge", False, "Keep the rows of an existing sweep_cost.json not measured now.")
flags.DEFINE_string("results", "experiments/results", "Where sweep_cost.json / .md go.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    load = round(os.getloadavg()[0], 2)
    record = {
        "command": "python -m experiments.sweep_cost "
        + " ".join(f"--{k}={','.join(FLAGS[k].value)}" for k in ("members", "setups", "unrolled"))
        + (" --merge" if FLAGS.merge else ""),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"jax {jax.__version__} on {jax.default_backend()}",
        "load_start": load,
        "setups": {},
    }
    out = pathlib.Path(FLAGS.results)
    out.mkdir(parents=True, exist_ok=True)
    if FLAGS.merge and (out / "sweep_cost.json").is_file():
        old = json.loads((out / "sweep_cost.json").read_text())
        record["setups"] = old["setups"]
        record["command"] = old["command"] + "; then " + record["command"]
        record["load_start"] = f"{old['load_start']} / {load}"
    for setup in FLAGS.setups:
        rows = [measure_alone(setup)] if not FLAGS.merge else []
        runs_ = [(int(m), "vmap") for m in FLAGS.members if m]
        runs_ += [(int(m), "unrolled") for m in FLAGS.unrolled if m]
        for m, members_as in runs_:
            rows.append(measure_sweep(setup, m, members_as))
            print(setup, rows[-1], flush=True)
        kept = record["setups"].get(setup, [])
        new_keys = {(r["mode"], r["members"]) for r in rows}
        merged = [r for r in kept if (r["mode"], r["members"]) not in new_keys] + rows
        record["setups"][setup] = sorted(
            merged, key=lambda r: (r["mode"] != "alone", r["mode"], r["members"])
        )
        record["load_end"] = round(os.getloadavg()[0], 2)
        (out / "sweep_cost.json").write_text(json.dumps(record, indent=1) + "\n")
        (out / "sweep_cost.md").write_text(markdown(record) + "\n")
    print(markdown(record))


if __name__ == "__main__":
    app.run(main)
