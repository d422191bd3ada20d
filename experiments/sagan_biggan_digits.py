"""SAGAN and BigGAN on the digits: attention vs none, the DCGAN and SNGAN rows, truncation.

    python experiments/sagan_biggan_digits.py [--steps=1000] [--seeds=0] [--arms=...]
        [--workdir=runs/sagan_biggan]

Every arm trains through the command line (``python -m gan_jax.main``) on the digits at 16x16
for the same number of generator updates at batch 64 and the same seed: SAGAN
(configs/sagan.py), the same networks and recipe without the attention blocks
(configs/sagan.py:no_attention: the paper's claim is that attention improves FD), BigGAN
(configs/biggan.py, class-conditional), the DCGAN row (configs/nsgan.py) and the SNGAN ResNets
(configs/sngan.py at 16x16, D width 16 as the others, its own 5 critic updates per step). A run
directory that already reached the budget is read, not retrained. Then BigGAN's truncation
trade-off: its final state sampled at T = none, 2, 1, 0.5 (``runs.Run.eval_inputs(...,
truncation=T)``), each evaluated like eval.json (2500 samples against the 1797 digits on the
digits classifier's features). Writes experiments/results/sagan_biggan_digits.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import subprocess
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "experiments" / "results"

ARMS = {
    "sagan": ("SAGAN (configs/sagan.py)", "sagan", []),
    "sagan_no_attention": ("SAGAN without attention", "sagan.py:no_attention", []),
    "biggan": ("BigGAN, conditional (configs/biggan.py)", "biggan", []),
    "dcgan": ("DCGAN (configs/nsgan.py)", "nsgan", []),
    "sngan": (
        "SNGAN ResNets (configs/sngan.py, 16px, width 16)",
        "sngan",
        ["--config.data.resolution=16", "--config.model.width=16"],
    ),
}
KEYS = ("frechet_distance", "kid", "precision", "recall", "classes_min_fraction")
THRESHOLDS = (None, 2.0, 1.0, 0.5)


def config_arg(recipe: str) -> str:
    stem, _, preset = recipe.partition(":")
    stem = stem.removesuffix(".py")
    return f"--config=configs/{stem}.py" + (f":{preset}" if preset else "")


def train(arm: str, workdir: pathlib.Path, steps: int, seed: int) -> float | None:
    """Train one arm unless its run reached ``steps``; its CPU seconds (None when not trained)."""
    done = workdir / "eval.json"
    if done.is_file() and json.loads(done.read_text())["step"] == steps:
        return None
    _, recipe, overrides = ARMS[arm]
    command = [sys.executable, "-m", "gan_jax.main", config_arg(recipe)]
    command += [f"--workdir={workdir}", f"--config.train.steps={steps}", f"--config.seed={seed}"]
    command += ["--config.eval.every_steps=0", "--config.eval.at_start=False"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command + overrides, cwd=REPO, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def truncation_sweep(workdir: pathlib.Path) -> dict:
    """FD / KID / precision / recall of the run in ``workdir`` at each of ``THRESHOLDS``, for
    its EMA generator (what eval.json measures) and for the live one (the state without EMA),
    and BigGAN's own fidelity measure in the digits classifier: the classifier score (the
    Inception Score's formula on the digits CNN's logits), its mean confidence, and the
    fraction of samples it assigns the class they were drawn for."""
    from gan_jax import classifier, evaluation, metrics, runs

    run, state, _ = runs.load_run(workdir)
    evaluator = evaluation.make_evaluator(run.dataset, run.config.eval)
    clf = classifier.digits_classifier(run.dataset.shape[0])
    n = evaluator.num_samples
    out = {}
    for which, st in (("ema", state), ("live", state.replace(ema={}))):
        for t in THRESHOLDS:
            inputs = run.eval_inputs(n, truncation=t)
            samples = runs.sample_images(run, st, n, inputs=inputs)
            record = evaluation.scalars(evaluator(samples))
            name = f"{which} " + ("none" if t is None else str(t))
            out[name] = {k: record[k] for k in KEYS}
            logits, _ = clf.logits_and_features(np.asarray(samples))
            out[name]["classifier_score"] = metrics.inception_score(logits)[0]
            out[name]["confidence"] = record["confidence"]
            if "label" in inputs:
                agree = np.argmax(logits, axis=1) == np.asarray(inputs["label"])
                out[name]["class_agreement"] = float(np.mean(agree))
            print("truncation", name, out[name], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--workdir", default="runs/sagan_biggan")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    out = pathlib.Path(args.results)
    json_path = out / "sagan_biggan_digits.json"
    saved = json.loads(json_path.read_text()) if json_path.is_file() else {}
    rows = saved.get("rows", {}) if saved.get("steps") == args.steps else {}
    for seed in seeds:
        for arm in [a for a in args.arms.split(",") if a]:
            workdir = pathlib.Path(args.workdir) / f"{arm}_s{seed}"
            cpu = train(arm, workdir, args.steps, seed)
            record = json.loads((workdir / "eval.json").read_text())
            key = f"{arm}/{seed}"
            cpu = cpu if cpu is not None else rows.get(key, {}).get("cpu_s")
            rows[key] = {"cpu_s": cpu, **{k: record[k] for k in KEYS}}
            print(key, rows[key], flush=True)
    sweep = saved.get("truncation", {})
    biggan = pathlib.Path(args.workdir) / f"biggan_s{seeds[0]}"
    if (biggan / "eval.json").is_file():
        sweep = truncation_sweep(biggan)
    lines = [
        "## SAGAN and BigGAN on the digits (16x16) at a matched budget",
        "",
        f"Command: `python experiments/sagan_biggan_digits.py --steps={args.steps} "
        f"--seeds={args.seeds}`. Every arm {args.steps} generator updates at batch 64 from "
        "the seed shown; final evaluation: 2500 samples against all 1797 real digits on the "
        "digits classifier's features (gan_jax.evaluation). CPU s: the training process's "
        "user + system time on the 2 shared cores (compilation and the evaluation included).",
        "",
        "| arm | seed | FD | KID | precision | recall | classes >= 3% | CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, r in rows.items():
        arm, seed = key.split("/")
        cpu = "-" if r["cpu_s"] is None else f"{r['cpu_s']:.0f}"
        lines.append(
            f"| {ARMS[arm][0]} | {seed} | {r['frechet_distance']:.1f} | {r['kid']:.2f} | "
            f"{r['precision']:.2f} | {r['recall']:.2f} | {r['classes_min_fraction']} | {cpu} |"
        )
    if sweep:
        lines += [
            "",
            f"BigGAN's truncation trick (seed {seeds[0]}'s final generator, its EMA copy and the "
            "live one, both with standing statistics; |z_i| > T resampled):",
            "",
            "| generator, T | FD | KID | precision | recall | classifier score | confidence | "
            "class agreement |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for t, r in sweep.items():
            extra = [
                f"{r[k]:.3f}" if k in r else "-"
                for k in ("classifier_score", "confidence", "class_agreement")
            ]
            lines.append(
                f"| {t} | {r['frechet_distance']:.1f} | {r['kid']:.2f} | "
                f"{r['precision']:.2f} | {r['recall']:.2f} | " + " | ".join(extra) + " |"
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / "sagan_biggan_digits.md").write_text("\n".join(lines) + "\n")
    json_path.write_text(
        json.dumps(
            {"steps": args.steps, "seeds": seeds, "rows": rows, "truncation": sweep}, indent=1
        )
        + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
