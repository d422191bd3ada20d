"""Improved techniques (Salimans et al. 2016; Karras et al. 2018) against the plain GAN.

    python experiments/improved_techniques.py [--parts=grid25,digits] [--grid_steps=6000]
        [--grid_seeds=0,1,2] [--grid_arms=plain,mbstd] [--digits_steps=2000] [--digits_seeds=0,1]
        [--digits_arms=nsgan,improved,fm,mbd,mbstd] [--workdir=runs/improved]

Two claims, each against the plain non-saturating recipe with the same networks, optimiser,
budget and seeds:

- Minibatch discrimination (``model.minibatch_discrimination``) and its modern form, the
  minibatch stddev (``model.minibatch_stddev``), let the critic see the batch's diversity and so
  should reduce mode collapse. grid25 (``--parts=grid25``): ``configs/nsgan.py:grid25`` on the
  2x128 MLPs of the mode-collapse table (``mode_collapse_2d.OBJECTIVE_NETS``), plain / +
  minibatch stddev (groups of 4) by default, + minibatch discrimination (8 kernels of dimension
  3, ``--grid_arms=mbd``) on request: at batch 256 its pairwise distances make the critic's pass
  ~20x dearer (6.2 against 0.31 CPU ms per forward and backward, measured under load), beyond
  this study's budget. The seeds of an arm train in one vmapped program and are scored by the
  VEEGAN/PacGAN protocol (modes captured, high-quality fraction, reverse KL;
  ``mode_collapse_2d.run_arm``). digits (``--digits_arms=mbd,mbstd``): the nsgan recipe + 32
  kernels of dimension 5 / + the stddev, recall and classes covered against nsgan.
- Feature matching (digits): G trained by feature matching on the critic's features
  (``configs/improved.py``: feature matching + one-sided label smoothing 0.1; ``fm``: without
  the smoothing) trains stably; its Frechet distance, recall and classes covered against
  ``configs/nsgan.py`` at the same budget.

Digits runs go through the trainer (``train.train_and_evaluate``), evaluated every 1000 steps
(digits classifier features, 2500 samples). Arms run one invocation at a time if wanted
(``--grid_arms``, ``--digits_arms``); each keeps the other arms already in the results file.

Writes experiments/results/improved_techniques.json (every seed's numbers, timings) and
improved_techniques.md (the tables).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from experiments import mode_collapse_2d as mc  # noqa: E402
from gan_jax import train  # noqa: E402

RESULTS = REPO / "experiments" / "results"
GRID_ARMS = {
    "plain": ("non-saturating GAN", {}),
    "mbd": (
        "+ minibatch discrimination (8 kernels x 3)",
        {"model.minibatch_discrimination": 8, "model.minibatch_kernel_dim": 3},
    ),
    "mbstd": ("+ minibatch stddev (groups of 4)", {"model.minibatch_stddev": 4}),
}
DIGITS_ARMS = {
    "nsgan": ("non-saturating GAN (configs/nsgan.py)", "nsgan", {}),
    "improved": ("feature matching + label smoothing 0.1 (configs/improved.py)", "improved", {}),
    "mbd": (
        "+ minibatch discrimination (32 kernels x 5; configs/nsgan.py)",
        "nsgan",
        {"model.minibatch_discrimination": 32},
    ),
    "mbstd": (
        "+ minibatch stddev (groups of 4; configs/nsgan.py)",
        "nsgan",
        {"model.minibatch_stddev": 4},
    ),
    "fm": (
        "feature matching alone (configs/improved.py, label smoothing 0)",
        "improved",
        {"objective.label_smoothing": 0.0},
    ),
}
DIGITS_METRICS = ("frechet_distance", "kid", "precision", "recall", "classes_min_fraction")


def grid25(steps: int, seeds: list[int], workdir: pathlib.Path, arms: list[str]) -> list[dict]:
    rows = []
    for name in arms:
        label, overrides = GRID_ARMS[name]
        arm = mc.Arm(name, label, "nsgan", {"grid25": steps}, {**mc.OBJECTIVE_NETS, **overrides})
        shutil.rmtree(workdir / "grid25" / name, ignore_errors=True)  # the seeds' run dirs
        result = mc.run_arm(arm, "grid25", seeds, workdir)
        result.pop("samples")
        rows.append(result)
    return rows


def digits(steps: int, seeds: list[int], workdir: pathlib.Path, arms: list[str]) -> list[dict]:
    rows = []
    for name in arms:
        label, recipe, overrides = DIGITS_ARMS[name]
        per_seed = []
        for seed in seeds:
            config = mc.load_config(recipe, "digits")
            for dotted, value in overrides.items():
                block, key = dotted.split(".")
                config[block][key] = value
            config.seed = seed
            config.train.steps = steps
            config.train.sample_every = 0
            config.eval.every_steps = 1000
            config.eval.at_start = False
            config.checkpoint.every_steps = steps
            run_dir = workdir / "digits" / name / f"seed{seed}"
            t0, cpu0 = time.perf_counter(), time.process_time()
            train.train_and_evaluate(config, run_dir)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            final = json.loads((run_dir / "eval.json").read_text())
            logged = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
            fd = {str(r["step"]): r["eval/frechet_distance"] for r in logged if "eval/kid" in r}
            print(f"  digits {name} seed {seed}: FD {final['frechet_distance']:.1f} ({wall:.0f}s)")
            per_seed.append(
                {
                    "seed": seed,
                    **{k: final[k] for k in DIGITS_METRICS},
                    "fd_history": fd,
                    "wall_s": wall,
                    "cpu_s": cpu,
                }
            )
        summary = {k: mc.mean_se([r[k] for r in per_seed]) for k in DIGITS_METRICS}
        rows.append(
            {"arm": name, "label": label, "steps": steps, "seeds": per_seed, "summary": summary}
        )
    return rows


def header(meta: dict) -> str:
    text = (
        f"Command: `python experiments/improved_techniques.py {meta['args']}`. Machine: "
        f"{meta['machine']}, load average {meta['load_start']} at the start (the cores were "
        "shared). Mean +- standard error over the seeds."
    )
    for more in meta.get("more", []):
        text += f" Then: `python experiments/improved_techniques.py {more}`."
    return text


def markdown(results: dict) -> str:
    lines = ["## Improved techniques against the plain GAN (matched budgets and seeds)", ""]
    if results.get("grid25"):
        lines += [
            "### grid25: mode collapse (2x128 MLPs, Adam 1e-4 b1 0.5, batch 256)",
            "",
            header(results["grid25_meta"]),
            "",
            "| arm | steps | seeds | modes (of 25) | HQ % | reverse KL | modes per seed |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in results["grid25"]:
            s = r["summary"]
            per = ", ".join(str(x["modes"]) for x in r["seeds"])
            lines.append(
                f"| {r['label']} | {r['steps']} | {len(r['seeds'])} | {mc._fmt(*s['modes'])} | "
                f"{mc._fmt(*s['hq_fraction'], scale=100)} | "
                f"{mc._fmt(*s['reverse_kl'], digits=3)} | {per} |"
            )
        lines.append("")
    if results.get("digits"):
        lines += [
            "### digits 16px (DCGAN width 32, Adam 2e-4 b1 0.5, batch 64)",
            "",
            header(results["digits_meta"]),
            "",
            "| arm | steps | seeds | FD | KID | precision | recall | classes >= 3% | FD per "
            "seed at each evaluation |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in results["digits"]:
            s = r["summary"]
            hist = "; ".join(
                f"seed {x['seed']}: "
                + ", ".join(f"{v:.1f} at {k}" for k, v in x["fd_history"].items())
                for x in r["seeds"]
            )
            lines.append(
                f"| {r['label']} | {r['steps']} | {len(r['seeds'])} | "
                f"{mc._fmt(*s['frechet_distance'])} | {mc._fmt(*s['kid'])} | "
                f"{mc._fmt(*s['precision'], digits=2)} | {mc._fmt(*s['recall'], digits=2)} | "
                f"{mc._fmt(*s['classes_min_fraction'])} | {hist} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="grid25,digits")
    parser.add_argument("--grid_steps", type=int, default=6000)
    parser.add_argument("--grid_seeds", default="0,1,2")
    parser.add_argument("--grid_arms", default="plain,mbstd", help=f"of {list(GRID_ARMS)}")
    parser.add_argument("--digits_steps", type=int, default=2000)
    parser.add_argument("--digits_seeds", default="0,1")
    parser.add_argument(
        "--digits_arms", default="nsgan,improved,fm,mbd,mbstd", help=f"of {list(DIGITS_ARMS)}"
    )
    parser.add_argument("--workdir", default="runs/improved")
    parser.add_argument("--table_only", action="store_true", help="Rewrite the .md from the .json")
    args = parser.parse_args()
    out = RESULTS / "improved_techniques.json"
    if args.table_only:
        (RESULTS / "improved_techniques.md").write_text(markdown(json.loads(out.read_text())))
        return
    parts = args.parts.split(",")
    workdir = pathlib.Path(args.workdir)
    meta = {
        "args": " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "load_start": round(os.getloadavg()[0], 2),
    }
    results = {}
    if "grid25" in parts:
        seeds = [int(s) for s in args.grid_seeds.split(",")]
        results["grid25"] = grid25(args.grid_steps, seeds, workdir, args.grid_arms.split(","))
        results["grid25_meta"] = meta
    if "digits" in parts:
        seeds = [int(s) for s in args.digits_seeds.split(",")]
        arms = args.digits_arms.split(",")
        results["digits"] = digits(args.digits_steps, seeds, workdir, arms)
        results["digits_meta"] = meta
    results = json.loads(json.dumps(results, default=lambda x: np.asarray(x).tolist()))
    # The parts may run in separate processes: keep what the file holds of the other part.
    # The parts may run in separate processes, and digits arms one at a time: keep what the
    # file holds of the others.
    saved = json.loads(out.read_text()) if out.is_file() else {}
    for part in ("grid25", "digits"):
        if part in results and part in saved:
            new_arms = {x["arm"] for x in results[part]}
            kept = [r for r in saved[part] if r["arm"] not in new_arms]
            results[part] = kept + results[part]
            if kept:
                meta_key = f"{part}_meta"
                more = saved[meta_key].get("more", [])
                more = [more] if isinstance(more, str) else more
                results[meta_key] = {**saved[meta_key], "more": [*more, results[meta_key]["args"]]}
    results = {**saved, **results}
    out.write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results)
    (RESULTS / "improved_techniques.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
