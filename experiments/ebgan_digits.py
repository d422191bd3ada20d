"""Does EBGAN's pulling-away term buy diversity? EBGAN with and without it against the DCGAN.

    python experiments/ebgan_digits.py [--seeds=0,1] [--arms=ebgan,ebgan_nopt,nsgan]
        [--workdir=runs/ebgan_digits] [--steps=N]

Trains each arm on the 16x16 digits at the same budget (configs/nsgan.py's 3500 generator
updates, batch 64, one critic update each): ``ebgan`` (configs/ebgan.py: margin 1,
lambda_PT 0.1), ``ebgan_nopt`` (configs/ebgan.py:digits_nopt: lambda_PT 0), ``ebgan_pt1`` and
``ebgan_pt10`` (lambda_PT 1 and 10, not run by default) and ``nsgan`` (configs/nsgan.py, the
non-saturating DCGAN with the same generator). Reads each run's final
evaluation (eval.json: the digits CNN's features, all 1797 digits against 2500 samples of the
run's fixed evaluation noise): Frechet distance, precision / recall (k-NN manifolds, k = 3),
classes with >= 3% of the samples, the class histogram's KL to uniform and, for the EBGAN arms,
the headline f_PT of the critic's embeddings of the samples. Writes
experiments/results/ebgan_digits.md and ebgan_digits.json.
"""

from __future__ import annotations

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
from absl import app, flags  # noqa: E402

from experiments import study_runs  # noqa: E402
from gan_jax import train  # noqa: E402

# arm -> (recipe, preset, game.pt_weight or None for the preset's).
ARMS = {
    "ebgan": ("ebgan", "digits", None),
    "ebgan_nopt": ("ebgan", "digits_nopt", None),
    "ebgan_pt1": ("ebgan", "digits", 1.0),
    "ebgan_pt10": ("ebgan", "digits", 10.0),
    "nsgan": ("nsgan", "digits", None),
}
METRICS = ("frechet_distance", "precision", "recall", "classes_min_fraction", "class_kl")
flags.DEFINE_list("seeds", ["0", "1"], "Seeds to train.")
flags.DEFINE_list("arms", ["ebgan", "ebgan_nopt", "nsgan"], f"Arms among {list(ARMS)}.")
flags.DEFINE_string("workdir", "runs/ebgan_digits", "Run directories: <workdir>/<arm>/seed_<s>.")
flags.DEFINE_integer("steps", 0, "Train steps (0: the recipes' 3500).")
flags.DEFINE_string("results", str(REPO / "experiments/results"), "Where the outputs go.")
FLAGS = flags.FLAGS


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def arm_config(arm: str, seed: int):
    recipe, preset, pt_weight = ARMS[arm]
    config = importlib.import_module(f"configs.{recipe}").get_config(preset)
    if pt_weight is not None:
        config.game.pt_weight = pt_weight
    config.seed = seed
    if FLAGS.steps:
        config.train.steps = FLAGS.steps
    config.train.sample_every = 0
    config.eval.every_steps = 0
    config.eval.at_start = False
    config.checkpoint.every_steps = config.train.steps
    return config


def train_arm(arm: str, seed: int) -> dict:
    config = arm_config(arm, seed)
    workdir = pathlib.Path(FLAGS.workdir) / arm / f"seed_{seed}"
    cost_file = workdir / "ebgan_digits_cost.json"
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
    row = {"arm": arm, "seed": seed, **cost, **{m: record[m] for m in METRICS}}
    row["class_histogram"] = record["class_histogram"]
    for key in ("pulling_away", "real_energy", "fake_energy"):
        if f"headline/{key}" in record:
            row[key] = record[f"headline/{key}"]
    return row


def mean_se(values, digits: int = 2) -> str:
    return study_runs.mean_se(values, digits)


def main(argv):
    del argv
    results = pathlib.Path(FLAGS.results)
    results.mkdir(parents=True, exist_ok=True)
    rows = []
    for arm in FLAGS.arms:
        for seed in [int(s) for s in FLAGS.seeds]:
            row = train_arm(arm, seed)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "class_histogram"}), flush=True)
    lines = [
        "## EBGAN on the 16x16 digits: the pulling-away term, and the DCGAN at the same budget",
        "",
        f"Command: `python experiments/ebgan_digits.py --seeds={','.join(FLAGS.seeds)} "
        f"--arms={','.join(FLAGS.arms)}`. Machine: {platform.machine()}, {len(jax.devices())} "
        f"{jax.default_backend()} device(s), jax {jax.__version__} (2 cores shared with other "
        "jobs). Every arm: the DCGAN generator (width 32, z 64), batch 64, Adam 2e-4 / 0.5, "
        f"{rows[0]['steps']} generator updates, one critic update each. Metrics of the final "
        "evaluation: the digits CNN's features, all 1797 digits against 2500 samples; recall "
        "and precision are k-NN manifold estimates (k = 3); classes: digits with >= 3% of the "
        "samples; class KL: KL(class histogram || uniform), lower is more even; f_PT: the "
        "pulling-away term of the critic's embeddings of the samples (chunks of 100), lower is "
        "more spread out. CPU s: the training process, evaluation included.",
        "",
        "| arm | seed | FD | precision | recall | classes | class KL | f_PT | CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        pt = f"{r['pulling_away']:.3f}" if "pulling_away" in r else "-"
        lines.append(
            f"| {r['arm']} | {r['seed']} | {r['frechet_distance']:.1f} | {r['precision']:.2f} | "
            f"{r['recall']:.2f} | {r['classes_min_fraction']} | {r['class_kl']:.3f} | {pt} | "
            f"{r['cpu_s']:.0f} |"
        )
    lines += ["", "Mean +- standard error over the seeds:", ""]
    lines += [
        "| arm | FD | precision | recall | class KL |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for arm in FLAGS.arms:
        mine = [r for r in rows if r["arm"] == arm]
        lines.append(
            f"| {arm} | {mean_se([r['frechet_distance'] for r in mine], 1)} | "
            f"{mean_se([r['precision'] for r in mine])} | {mean_se([r['recall'] for r in mine])} | "
            f"{mean_se([r['class_kl'] for r in mine], 3)} |"
        )
    lines.append("")
    (results / "ebgan_digits.md").write_text("\n".join(lines))
    (results / "ebgan_digits.json").write_text(json.dumps({"runs": rows}, indent=2) + "\n")
    print(f"wrote {results / 'ebgan_digits.md'} and ebgan_digits.json")


if __name__ == "__main__":
    app.run(main)
