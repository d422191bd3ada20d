"""What lazy regularisation saves: CPU time per train step of the R3GAN recipe on the digits.

    python experiments/lazy_penalty_cost.py [--steps=16] [--every=1,4]

StyleGAN2 (Karras et al. 2020, section 3.1) applies R1 on one critic update in N (times N) to
save the penalty's double backward pass on the others. gan_jax does it with ``jax.lax.cond`` in
``losses.lazy_penalty`` (``objective.penalty_every``). This times one seed's compiled
``train_step`` (``gan_jax.steps.make_train_step``, not vmapped: under vmap a cond runs both
branches) of configs/r3gan.py (DCGAN 16x16 width 32, batch 64, R1 + R2) for each N, with the
backend's way of skipping the penalty (on CPU: masked) and with ``lax.cond`` forced, and for no
penalty, after two warm-up steps, as process CPU time per step (all XLA threads) and wall time.
Writes experiments/results/lazy_penalty_cost.{json,md}.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pathlib
import sys
import time

import jax

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configs import r3gan  # noqa: E402
from gan_jax import losses, runs, steps  # noqa: E402

RESULTS = REPO / "experiments" / "results"


def time_steps(overrides: dict, n: int, use_cond: bool | None = None) -> dict:
    """CPU and wall ms per step; ``use_cond`` forces how the lazy penalty skips (default: the
    backend's, ``losses.lazy_penalty``)."""
    lazy = losses.lazy_penalty
    if use_cond is not None:
        losses.lazy_penalty = functools.partial(lazy, use_cond=use_cond)
    try:
        return _time_steps(overrides, n)
    finally:
        losses.lazy_penalty = lazy


def _time_steps(overrides: dict, n: int) -> dict:
    cfg = r3gan.get_config()
    for key, value in overrides.items():
        cfg.objective[key] = value
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    fn = steps.make_train_step(run.game)
    batches = jax.jit(run.sample_batches)
    key = run.data_key()
    t0 = time.perf_counter()
    for i in range(2):  # compile, then one more so both cond branches have run
        state, metrics = fn(state, batches(key, i))
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(2, 2 + n):
        state, metrics = fn(state, batches(key, i))
    jax.block_until_ready(state)
    return {
        "overrides": overrides,
        "cpu_ms_per_step": 1000 * (time.process_time() - cpu0) / n,
        "wall_ms_per_step": 1000 * (time.perf_counter() - wall0) / n,
        "first_two_steps_s": compile_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16, help="A multiple of every N.")
    parser.add_argument("--every", default="1,4")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    arms = [("no penalty", {"penalty": "none"}, None)]
    for n in args.every.split(","):
        arms.append((f"R1 + R2, every {n}", {"penalty_every": int(n)}, None))
        if int(n) > 1:
            arms.append((f"R1 + R2, every {n}, lax.cond", {"penalty_every": int(n)}, True))
    rows = []
    for label, overrides, use_cond in arms:
        row = {"label": label, **time_steps(overrides, args.steps, use_cond)}
        rows.append(row)
        print(
            f"{label:>18}: {row['cpu_ms_per_step']:.0f} CPU ms / step, "
            f"{row['wall_ms_per_step']:.0f} wall ms",
            flush=True,
        )
    load = os.getloadavg()[0]
    lines = [
        "## Lazy regularisation: the cost of R1 + R2 per train step (configs/r3gan.py, digits)",
        "",
        f"Command: `python experiments/lazy_penalty_cost.py --steps={args.steps} "
        f"--every={args.every}`. One seed, compiled train_step, {args.steps} steps after two "
        f"warm-up steps; jax {jax.__version__} on {jax.default_backend()}, load average "
        f"{load:.1f} at the end (shared cores: CPU time is the steadier figure).",
        "",
        "| arm | CPU ms / step | wall ms / step |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| {r['label']} | {r['cpu_ms_per_step']:.0f} | {r['wall_ms_per_step']:.0f} |" for r in rows
    ]
    out = pathlib.Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lazy_penalty_cost.md").write_text("\n".join(lines) + "\n")
    (out / "lazy_penalty_cost.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
