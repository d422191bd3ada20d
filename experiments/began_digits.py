"""BEGAN's two claims on the 16x16 digits: M_global tracks convergence, gamma trades diversity.

    python experiments/began_digits.py [--gammas=0.5,0.3,0.7] [--seeds=0]
        [--workdir=runs/began_digits] [--steps=N] [--every=500] [--set=key=value ...]
        [--name=began_digits]

Trains configs/began.py (3500 generator updates, batch 64, gamma, lambda_k 0.001, k_0 = 0) once
per gamma and seed, evaluating every ``--every`` steps and at step 0 (the untrained G). Each
evaluation record (metrics.jsonl) holds the Frechet distance, precision / recall and class
coverage in the digits CNN's features (all 1797 digits against 2500 samples of the run's fixed
evaluation noise) and the headline: k_t and M_global = L(x) + |gamma L(x) - L(G(z))| over 1000
real images and 1000 samples, the critic in inference mode. Also the mean of the training
M_global (``g/m_global``, logged every 100 steps) over the window before each evaluation.
Reported: per run, M_global and FD at every evaluation, the Spearman rank correlation of
M_global with FD over the evaluations (sample quality: lower FD is better), and the final FD,
precision, recall, classes and k per gamma. Writes experiments/results/began_digits.md and
began_digits.json.
"""

from __future__ import annotations

import ast
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
import scipy.stats  # noqa: E402
from absl import app, flags  # noqa: E402

from gan_jax import train  # noqa: E402

flags.DEFINE_list("gammas", ["0.5", "0.3", "0.7"], "Diversity ratios to train.")
flags.DEFINE_list("seeds", ["0"], "Seeds to train.")
flags.DEFINE_string("workdir", "runs/began_digits", "Run directories: <workdir>/g<gamma>_s<seed>.")
flags.DEFINE_integer("steps", 0, "Train steps (0: the recipe's 3500).")
flags.DEFINE_integer("every", 500, "Train steps between evaluations.")
flags.DEFINE_string("results", str(REPO / "experiments/results"), "Where the outputs go.")
flags.DEFINE_multi_string(
    "set", [], "A config override key=value (a Python literal), e.g. --set=game.lambda_k=0.01."
)
flags.DEFINE_string("name", "began_digits", "Stem of the results files.")
FLAGS = flags.FLAGS
FINAL = ("frechet_distance", "precision", "recall", "classes_min_fraction", "class_kl")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_config(gamma: str, seed: int):
    config = importlib.import_module("configs.began").get_config(f"digits_g{gamma}")
    config.seed = seed
    if FLAGS.steps:
        config.train.steps = FLAGS.steps
    config.train.sample_every = 0
    config.eval.every_steps = FLAGS.every
    config.eval.at_start = True
    config.checkpoint.every_steps = config.train.steps
    for item in FLAGS.set:
        dotted, _, text = item.partition("=")
        *parents, leaf = dotted.split(".")
        node = config
        for p in parents:
            node = node[p]
        node[leaf] = ast.literal_eval(text)
    return config


def curves(workdir: pathlib.Path, every: int) -> list[dict]:
    """One entry per evaluation: its step, FD, recall, headline M_global and k, and the mean
    training M_global of the ``every`` steps before it."""
    records = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    train_m = [(r["step"], r["g/m_global"]) for r in records if "g/m_global" in r]
    # A finished run evaluated again (the script rerun) appends its final record once more.
    evals = {r["step"]: r for r in records if "eval/frechet_distance" in r}
    out = []
    for step, r in sorted(evals.items()):
        window = [m for s, m in train_m if step - every < s <= step]
        out.append(
            {
                "step": step,
                "frechet_distance": r["eval/frechet_distance"],
                "recall": r["eval/recall"],
                "precision": r["eval/precision"],
                "m_global": r["eval/headline/m_global"],
                "k": r["eval/headline/k"],
                "ratio": r["eval/headline/ratio"],
                "train_m_global": float(np.mean(window)) if window else None,
            }
        )
    return out


def train_run(gamma: str, seed: int) -> dict:
    config = run_config(gamma, seed)
    tag = "".join(f"_{item}" for item in FLAGS.set)
    workdir = pathlib.Path(FLAGS.workdir) / f"g{gamma}_s{seed}{tag}"
    cost_file = workdir / "began_digits_cost.json"
    cost = json.loads(cost_file.read_text()) if cost_file.is_file() else {}
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    state = train.train_and_evaluate(config, workdir)
    if cost.get("steps") != int(state.step):
        cost = {
            "steps": int(state.step),
            "cpu_s": round(cpu_seconds() - cpu0, 1),
            "wall_s": round(time.perf_counter() - wall0, 1),
        }
        cost_file.write_text(json.dumps(cost) + "\n")
    record = json.loads((workdir / "eval.json").read_text())
    evals = curves(workdir, FLAGS.every)
    trained = [e for e in evals if e["step"] > 0]
    rho = scipy.stats.spearmanr(
        [e["m_global"] for e in trained], [e["frechet_distance"] for e in trained]
    )
    rho_all = scipy.stats.spearmanr(
        [e["m_global"] for e in evals], [e["frechet_distance"] for e in evals]
    )
    return {
        "gamma": float(gamma),
        "seed": seed,
        **cost,
        **{m: record[m] for m in FINAL},
        "k": record["headline/k"],
        "m_global": record["headline/m_global"],
        "ratio": record["headline/ratio"],
        "spearman_m_fd_trained": float(rho.statistic),
        "spearman_m_fd_with_step0": float(rho_all.statistic),
        "evaluations": evals,
    }


def main(argv):
    del argv
    results = pathlib.Path(FLAGS.results)
    results.mkdir(parents=True, exist_ok=True)
    rows = []
    for gamma in FLAGS.gammas:
        for seed in [int(s) for s in FLAGS.seeds]:
            row = train_run(gamma, seed)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "evaluations"}), flush=True)
    lines = [
        "## BEGAN on the 16x16 digits: M_global against sample quality, and the gamma trade-off",
        "",
        f"Command: `python experiments/began_digits.py --gammas={','.join(FLAGS.gammas)} "
        f"--seeds={','.join(FLAGS.seeds)}"
        + "".join(f" --set={item}" for item in FLAGS.set)
        + (f" --name={FLAGS.name}" if FLAGS.name != "began_digits" else "")
        + (f" --steps={FLAGS.steps}" if FLAGS.steps else "")
        + f"`. Machine: {platform.machine()}, {len(jax.devices())} "
        f"{jax.default_backend()} device(s), jax {jax.__version__} (2 cores shared with other "
        f"jobs). configs/began.py: {rows[0]['steps']} generator updates, batch 64, one critic "
        "update each, lambda_k 0.001, k_0 = 0, Adam 2e-4 / 0.5, the autoencoder critic (width "
        "32, ELU, no normalisation, N_h 64) and G of `game.generator` (the recipe's 'decoder': "
        "the shape of the critic's decoder, the paper's; 'dcgan': the DCGAN generator), unless "
        "a --set above changes them. FD, precision, recall, "
        "classes (>= 3% of the samples) and class KL: the digits CNN's features, all 1797 digits "
        "against 2500 samples. M_global: the headline, over 1000 real images and 1000 samples "
        "(inference mode); train M_global: the logged training value, mean over the window "
        "before the evaluation. rho: Spearman correlation of M_global with FD over the "
        "evaluations after step 0 (positive: M_global falls as samples improve).",
        "",
        "### Final evaluation per gamma",
        "",
        "| gamma | seed | FD | precision | recall | classes | class KL | k_t | L(G(z)) / L(x) "
        "| M_global | rho(M, FD) | CPU s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['gamma']:g} | {r['seed']} | {r['frechet_distance']:.1f} | {r['precision']:.2f} "
            f"| {r['recall']:.2f} | {r['classes_min_fraction']} | {r['class_kl']:.3f} | "
            f"{r['k']:.4f} | {r['ratio']:.2f} | {r['m_global']:.4f} | "
            f"{r['spearman_m_fd_trained']:.2f} | {r['cpu_s']:.0f} |"
        )
    for r in rows:
        lines += [
            "",
            f"### M_global and FD during training, gamma {r['gamma']:g}, seed {r['seed']}",
            "",
            "| step | M_global | train M_global | FD | recall | k_t |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for e in r["evaluations"]:
            tm = "-" if e["train_m_global"] is None else f"{e['train_m_global']:.4f}"
            lines.append(
                f"| {e['step']} | {e['m_global']:.4f} | {tm} | {e['frechet_distance']:.1f} | "
                f"{e['recall']:.2f} | {e['k']:.4f} |"
            )
    lines.append("")
    (results / f"{FLAGS.name}.md").write_text("\n".join(lines))
    (results / f"{FLAGS.name}.json").write_text(
        json.dumps({"overrides": FLAGS.set, "runs": rows}, indent=2) + "\n"
    )
    print(f"wrote {results / FLAGS.name}.md and .json")


if __name__ == "__main__":
    app.run(main)
