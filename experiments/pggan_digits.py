"""Progressive growing against the same networks trained at full resolution, on the digits 16px.

    python experiments/pggan_digits.py [--steps=1500] [--batch=32] [--seed=0] [--skip=hinge]
        [--name=pggan_digits]

The claim (Karras et al. 2018, section 2 and table 1): growing 4 -> 8 -> 16 px reaches a given
Frechet distance sooner, in wall time and in steps, than the same networks trained at 16 px from
the start. Trains configs/pggan.py (growing) and configs/pggan.py:flat (the same networks, the
last stage from step 0) for the same steps, batch and seed, then the DCGAN recipes
configs/nsgan.py and configs/hinge.py at that budget (their own widths), all evaluated by the
trainer's evaluator (digits classifier features: FD, KID, precision, recall) every
``steps / 6`` steps. Training seconds come from the runs' own steps/s records (evaluations and
pictures excluded; the compiles of later stages included). Writes
experiments/results/pggan_digits.json and .md; runs live in runs/pggan_digits/.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gan_jax import train  # noqa: E402

RESULTS = REPO / "experiments" / "results"
RUNS = {
    "pggan (growing 4-8-16)": ("pggan", None),
    "pggan:reset (growing, optimisers reset per stage)": ("pggan", "reset"),
    "pggan:flat (16 px from the start)": ("pggan", "flat"),
    "nsgan (DCGAN)": ("nsgan", None),
    "hinge (DCGAN + SN, SNGAN recipe)": ("hinge", None),
}
METRICS = ("frechet_distance", "kid", "precision", "recall")


def config_for(recipe: str, preset: str | None, steps: int, batch: int, seed: int):
    c = importlib.import_module(f"configs.{recipe}").get_config(preset)
    c.seed = seed
    c.train.steps, c.train.batch_size = steps, batch
    every = max(steps // 6, 1)
    c.train.log_every = c.eval.every_steps = every
    c.eval.at_start = False
    c.train.sample_every = 0
    c.checkpoint.every_steps = steps
    if recipe == "pggan" and preset != "flat":
        c.game.stage_steps = steps // 3
        c.game.fade_steps = steps // 6
    return c


def curves(workdir: pathlib.Path) -> list[dict]:
    """Per evaluation: step, training seconds so far, the metrics."""
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    seconds, last, out = 0.0, 0, []
    for r in records:
        if r.get("steps_per_sec", 0) > 0 and r["step"] > last:
            seconds += (r["step"] - last) / r["steps_per_sec"]
            last = r["step"]
        if "eval/frechet_distance" in r:
            point = {"step": r["step"], "train_seconds": round(seconds, 1)}
            point.update({m: r[f"eval/{m}"] for m in METRICS})
            out.append(point)
    return out


def first_reaching(curve: list[dict], target: float) -> dict | None:
    return next((p for p in curve if p["frechet_distance"] <= target), None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", default="")
    parser.add_argument("--name", default="pggan_digits", help="stem of the results files")
    args = parser.parse_args()
    results = {}
    for name, (recipe, preset) in RUNS.items():
        if recipe in args.skip.split(","):
            continue
        config = config_for(recipe, preset, args.steps, args.batch, args.seed)
        workdir = REPO / "runs" / args.name / f"{recipe}_{preset or 'default'}"
        if not (workdir / "eval.json").is_file():
            t0 = time.process_time()
            train.train_and_evaluate(config, workdir)
            cpu = time.process_time() - t0
        else:
            cpu = None
        results[name] = {
            "recipe": f"{recipe}{':' + preset if preset else ''}",
            "width": config.model.width,
            "cpu_seconds": cpu,
            "curve": curves(workdir),
        }
    grow = results["pggan (growing 4-8-16)"]["curve"]
    flat = results["pggan:flat (16 px from the start)"]["curve"]
    target = flat[-1]["frechet_distance"]  # the baseline's final FD
    summary = {
        "target_fd": target,
        "growing_reaches_it": first_reaching(grow, target),
        "flat_reaches_it": flat[-1],
    }
    out = {
        "steps": args.steps,
        "batch": args.batch,
        "seed": args.seed,
        "runs": results,
        "summary": summary,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        f"# Progressive growing on digits 16px ({args.steps} steps, batch {args.batch}, "
        f"seed {args.seed})",
        "",
        "| run | width | step | train s | FD | KID | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        for p in r["curve"]:
            lines.append(
                f"| {name} | {r['width']} | {p['step']} | {p['train_seconds']} | "
                f"{p['frechet_distance']:.1f} | {p['kid']:.2f} | {p['precision']:.3f} | "
                f"{p['recall']:.3f} |"
            )
    g = summary["growing_reaches_it"]
    lines += [
        "",
        f"Target: the flat run's final FD {target:.1f} (step {flat[-1]['step']}, "
        f"{flat[-1]['train_seconds']} s). Growing reaches it: "
        + (f"at step {g['step']}, {g['train_seconds']} s." if g else "not within the budget."),
    ]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
