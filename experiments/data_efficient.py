"""Does augmenting the critic's inputs help a GAN trained on a tenth of the digits? Trains and
measures.

    python experiments/data_efficient.py [--variants=none,diffaugment,ada,lecam,bcr,bcr@1]
        [--seeds=0,1,2] [--data=digits] [--steps=N] [--workdir=runs/data_efficient]

Trains ``configs/diffaugment.py:<variant>,<data>`` (the non-saturating DCGAN on a fixed subset
of 180 of the 1797 digits, or 500 of the 5000 mnist5k digits; ``bcr@W``: bCR with both lambdas W
instead of the recipe's 10) once per variant and seed, all at
the same budget (workdir/<data>/<variant>/seed_<s>, resumed if it holds a checkpoint), and reads
every evaluation of each run (metrics.jsonl): the Frechet distance in the digits CNN's features
against ALL the real images (not only the subset trained on), KID, precision and recall. After
training it measures how far the critic has memorised its subset: the mean sign of D (inference
mode) on the subset trained on and on the images held out of it (ADA's r_t heuristic on both;
a gap means the critic tells its training images from other real ones). Writes
experiments/results/data_efficient_<data>.json (every figure) and .md (the table: mean and
standard error over the seeds per variant).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import platform
import resource
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from experiments import study_runs  # noqa: E402
from gan_jax import data, steps, train  # noqa: E402

RESULTS = REPO / "experiments" / "results"
recipe = importlib.import_module("configs.diffaugment")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def critic_signs(config, state) -> dict[str, float]:
    """Mean sign of D's logit (inference mode) on the subset trained on and on the rest."""
    images, _ = data.EMBEDDED_IMAGES[config.data.name](config.data.resolution)
    train_idx = data.subset_indices(len(images), config.data.num_examples)
    held_out = np.setdiff1d(np.arange(len(images)), train_idx)
    critic = jax.jit(lambda s, x: steps.apply(s, "d", x, None))
    out = {}
    for name, idx in (("train", train_idx), ("held_out", held_out)):
        logits = np.concatenate(
            [np.asarray(critic(state, images[idx[i : i + 500]])) for i in range(0, len(idx), 500)]
        )
        out[f"d_sign_{name}"] = float(np.mean(np.sign(logits)))
    return out


def variant_config(variant: str, dataset: str):
    """The recipe's preset; ``bcr@1`` is the preset with lambda_real = lambda_fake = 1."""
    preset, _, weight = variant.partition("@")
    config = recipe.get_config(f"{preset},{dataset}")
    if weight:
        config.regularizer.bcr_real = config.regularizer.bcr_fake = float(weight)
    return config


def train_one(variant: str, dataset: str, seed: int, steps_: int | None, root: pathlib.Path):
    config = variant_config(variant, dataset)
    config.seed = seed
    if steps_:
        config.train.steps = steps_
    workdir = root / dataset / variant / f"seed_{seed}"
    cost_file = workdir / "data_efficient_cost.json"
    cost = json.loads(cost_file.read_text()) if cost_file.is_file() else {}
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    state = train.train_and_evaluate(config, workdir)
    if int(state.step) != config.train.steps:
        sys.exit(f"data_efficient: {workdir} stopped at step {int(state.step)}; run it again")
    if cost.get("steps") != int(state.step):
        # A resumed run adds its cost to that of the part trained before.
        cost = {
            "steps": int(state.step),
            "cpu_s": round(cost.get("cpu_s", 0) + cpu_seconds() - cpu0, 1),
            "wall_s": round(cost.get("wall_s", 0) + time.perf_counter() - wall0, 1),
        }
        cost_file.write_text(json.dumps(cost) + "\n")
    records = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval/frechet_distance" in r]
    train_logs = [r for r in records if "d/loss" in r]
    final = evals[-1]
    row = {
        "variant": variant,
        "seed": seed,
        "steps": int(state.step),
        "frechet_distance": final["eval/frechet_distance"],
        "kid": final["eval/kid"],
        "precision": final["eval/precision"],
        "recall": final["eval/recall"],
        "fd_by_step": {str(r["step"]): round(r["eval/frechet_distance"], 2) for r in evals},
        **critic_signs(config, state),
        **cost,
    }
    if "augment_p" in state.aux:
        row["ada_p"] = float(state.aux["augment_p"])
        row["ada_p_by_step"] = {
            str(r["step"]): round(r["d/augment_p"], 3) for r in train_logs if "d/augment_p" in r
        }
    return row, config


def mean_se(values, digits: int = 1) -> str:
    return study_runs.mean_se(values, digits)


def write_table(rows: list[dict], dataset: str, config, args) -> str:
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    full = data.EMBEDDED_SIZES[dataset]
    lines = [
        f"## Data-efficient training on {config.data.num_examples} of the {full} {dataset} images",
        "",
        f"Command: `python experiments/data_efficient.py --data={dataset} "
        f"--variants={','.join(variants)} "
        f"--seeds={','.join(str(s) for s in sorted({r['seed'] for r in rows}))}"
        + (f" --steps={args.steps}" if args.steps else "")
        + f"`. Machine: {platform.machine()}, {jax.device_count()} {jax.default_backend()} "
        f"device(s), jax {jax.__version__}. Every run: configs/diffaugment.py (non-saturating "
        f"DCGAN width {config.model.width}, batch {config.train.batch_size}, "
        f"{config.data.resolution}x{config.data.resolution}), the same budget in steps. FD, KID, "
        f"precision, recall: the {dataset} CNN's features, ALL {full} real images against "
        f"{config.eval.num_samples} samples, at the last step; FD by step: the mean over the "
        "seeds at each evaluation. D sign: mean sign of the critic's logit (inference mode) on "
        "its training subset / on the held-out images (ADA's r_t; a gap is memorisation). "
        "Mean +- standard error over the seeds.",
        "",
        "| variant | seeds | steps | FD | KID | precision | recall | FD by step | "
        "D sign train / held out | CPU s per run |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for v in variants:
        rs = [r for r in rows if r["variant"] == v]
        steps_seen = sorted({s for r in rs for s in r["fd_by_step"]}, key=int)
        by_step = ", ".join(
            f"{s}: {np.mean([r['fd_by_step'][s] for r in rs if s in r['fd_by_step']]):.1f}"
            for s in steps_seen
        )
        signs = (
            f"{np.mean([r['d_sign_train'] for r in rs]):.2f} / "
            f"{np.mean([r['d_sign_held_out'] for r in rs]):.2f}"
        )
        name = v + (
            f" (final p {mean_se([r['ada_p'] for r in rs], 2)})" if "ada_p" in rs[0] else ""
        )
        cells = [
            name,
            ",".join(str(r["seed"]) for r in rs),
            str(rs[0]["steps"]),
            mean_se([r["frechet_distance"] for r in rs]),
            mean_se([r["kid"] for r in rs]),
            mean_se([r["precision"] for r in rs], 2),
            mean_se([r["recall"] for r in rs], 2),
            by_step,
            signs,
            f"{np.mean([r['cpu_s'] for r in rs]):.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="none,diffaugment")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--data", default="digits", choices=recipe.DATA)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--workdir", default="runs/data_efficient")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"data_efficient_{args.data}.json"
    # Rows accumulate across invocations (variants trained in several sittings).
    previous = json.loads(out.read_text())["rows"] if out.is_file() else []
    rows, config = [], None
    for variant in args.variants.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            row, config = train_one(
                variant, args.data, seed, args.steps, pathlib.Path(args.workdir)
            )
            rows.append(row)
            print(
                f"{variant} seed {seed}: FD {row['frechet_distance']:.1f} at {row['steps']} steps "
                f"(by step {row['fd_by_step']}), D sign train {row['d_sign_train']:.2f} / held out "
                f"{row['d_sign_held_out']:.2f}, {row['cpu_s']:.0f} CPU s",
                flush=True,
            )
    kept = [
        r
        for r in previous
        if (r["variant"], r["seed"]) not in {(x["variant"], x["seed"]) for x in rows}
    ]
    rows = [r for r in kept if r["steps"] == rows[0]["steps"]] + rows
    order = {v: i for i, v in enumerate(sorted(recipe.VARIANTS, key=lambda v: v != "none"))}
    rows.sort(key=lambda r: (order[r["variant"].partition("@")[0]], r["variant"], r["seed"]))
    out.write_text(json.dumps({"data": args.data, "rows": rows}, indent=1) + "\n")
    table = write_table(rows, args.data, config, args)
    (RESULTS / f"data_efficient_{args.data}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
