"""Critics with auxiliary heads on the 16x16 digits: AC-GAN, SSGAN, S3GAN against their baselines.

    python experiments/aux_critics_digits.py [--arms=nsgan,cgan,acgan,ssgan,s3gan]
        [--steps=2000] [--seeds=0,1] [--workdir=runs/aux_critics]
        [--previous=results/earlier.json,...] [--name=aux_critics_digits]

Trains every arm's recipe (``configs/<arm>.py``) for the same number of steps and seeds
(workdir/<arm>/seed_<s>, resumed if it holds a checkpoint; one evaluation, at the end) and
measures, at that matched budget:

- every arm: the Frechet distance and KID in the digits CNN's features (eval.json: 2500 samples
  of the run's fixed evaluation inputs against all 1797 digits), precision and recall;
- the conditional arms (cgan, acgan, s3gan): ``acgan.class_measures`` on 200 samples per class:
  the CNN's agreement with the requested class and the per-class diversity (mean pairwise
  distance within a class in the CNN's features) over the real data's (AC-GAN's claims);
- ssgan, s3gan: the rotation head's accuracy on the real digits; s3gan: its class head's
  accuracy on the 90% of the digits whose labels it never read (the inferred labels).

The claims: AC-GAN's samples are recognisably of the requested class (Odena et al. 2017);
self-supervision lowers the unconditional GAN's FD (Chen et al. 2019); S3GAN with 10% of the
labels reaches the fully conditional GAN's FD (Lucic et al. 2019). Writes
experiments/results/<name>.md (the table, then each arm's FD minus the first arm's, paired by
seed, with the paired t test) and .json (every figure). ``--previous`` adds the runs of
earlier JSONs (same steps) and skips training those (arm, seed) again.
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

from experiments.study_runs import arm_table, paired  # noqa: E402
from gan_jax import train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import acgan, s3gan, ssgan  # noqa: E402
from gan_jax.runs import build_run  # noqa: E402

flags.DEFINE_list("arms", ["nsgan", "cgan", "acgan", "ssgan", "s3gan"], "Recipes to train.")
flags.DEFINE_integer("steps", 2000, "Train steps of every arm (the matched budget).")
flags.DEFINE_list("seeds", ["0", "1"], "Seeds to train.")
flags.DEFINE_integer("per_class", 200, "Samples per class for the class measures.")
flags.DEFINE_string("workdir", "runs/aux_critics", "Run directories: <workdir>/<arm>/seed_<s>.")
flags.DEFINE_string("results", str(REPO / "experiments/results"), "Where the outputs go.")
flags.DEFINE_list(
    "previous",
    [],
    "JSON files an earlier run of this script wrote (the same --steps): their runs join the "
    "table, so more seeds can be added without training the old ones again.",
)
flags.DEFINE_string("name", "aux_critics_digits", "Stem of the .md / .json files written.")
FLAGS = flags.FLAGS

CONDITIONAL = ("cgan", "acgan", "s3gan")
COLUMNS = (
    ("frechet_distance", "FD", 1),
    ("kid", "KID", 2),
    ("precision", "precision", 2),
    ("recall", "recall", 2),
    ("class_agreement", "class agreement", 3),
    ("diversity_ratio", "diversity / real", 3),
    ("min_diversity_ratio", "min class div. / real", 3),
    ("rotation_accuracy", "rotation acc.", 3),
    ("inferred_label_accuracy", "inferred label acc.", 3),
    ("cpu_s", "CPU s", 0),
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def arm_config(arm: str, steps: int, seed: int):
    config = importlib.import_module(f"configs.{arm}").get_config()
    config.seed = seed
    config.train.steps = steps
    config.train.sample_every = 0
    config.train.log_every = 500
    config.eval.at_start = False
    config.eval.every_steps = 0
    config.checkpoint.every_steps = steps
    if "headline_samples" in config.game:
        config.game.headline_samples = FLAGS.per_class
    return config


def measure(arm: str, config, workdir: pathlib.Path) -> dict:
    cost_file = workdir / "cost.json"
    cost = json.loads(cost_file.read_text()) if cost_file.is_file() else {}
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    state = train.train_and_evaluate(config, workdir)
    if cost.get("steps") != int(state.step):  # trained now, not read back
        cost = {
            "steps": int(state.step),
            "cpu_s": round(cpu_seconds() - cpu0, 1),
            "wall_s": round(time.perf_counter() - wall0, 1),
        }
        cost_file.write_text(json.dumps(cost) + "\n")
    record = json.loads((workdir / "eval.json").read_text())
    run = build_run(config)
    row = {
        "steps": int(state.step),
        **{k: record[k] for k in ("frechet_distance", "kid", "precision", "recall", "classes")},
        "cpu_s": cost["cpu_s"],
        "wall_s": cost["wall_s"],
    }
    if arm in CONDITIONAL:
        row.update(acgan.class_measures(run, state, FLAGS.per_class))
    if arm in ("ssgan", "s3gan"):
        row.update(ssgan.rotation_accuracy(run, state))
    if arm == "s3gan":
        row.update(s3gan.inferred_label_accuracy(run, state))
    return row


def table(rows: list[dict]) -> list[str]:
    return arm_table(rows, FLAGS.arms, COLUMNS)


def main(argv):
    del argv
    results = pathlib.Path(FLAGS.results)
    results.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in FLAGS.previous:
        old = json.loads(pathlib.Path(path).read_text())
        if old["steps"] != FLAGS.steps:
            sys.exit(f"gan_jax: --previous {path}: steps {old['steps']}, not --steps={FLAGS.steps}")
        rows += [r for r in old["runs"] if r["arm"] in FLAGS.arms]
    done = {(r["arm"], r["seed"]) for r in rows}
    for arm in FLAGS.arms:
        for seed in [int(s) for s in FLAGS.seeds]:
            if (arm, seed) in done:
                continue
            config = arm_config(arm, FLAGS.steps, seed)
            try:
                row = measure(arm, config, pathlib.Path(FLAGS.workdir) / arm / f"seed_{seed}")
            except GanJaxError as e:
                sys.exit(f"gan_jax: {e}")
            rows.append({"arm": arm, "seed": seed, **row})
            shown = {k: round(v, 3) for k, v in row.items() if isinstance(v, float)}
            print(f"{arm} seed {seed}: {shown}", flush=True)
    lines = [
        "## Critics with auxiliary heads on the 16x16 digits (AC-GAN, SSGAN, S3GAN)",
        "",
        f"Command: `python experiments/aux_critics_digits.py --arms={','.join(FLAGS.arms)} "
        f"--steps={FLAGS.steps} --seeds={','.join(FLAGS.seeds)}"
        + "".join(f" --previous={pathlib.Path(p).name}" for p in FLAGS.previous)
        + f"`. Machine: {platform.machine()}, "
        f"{len(jax.devices())} {jax.default_backend()} device(s), jax {jax.__version__}; 2 cores "
        "shared with other jobs. Every arm is its recipe (`configs/<arm>.py`: DCGAN width 32, "
        "batch 64, non-saturating, Adam 2e-4 / beta1 0.5; the conditional arms with an EMA of G, "
        f"decay 0.99) at the same budget, {FLAGS.steps} steps, one evaluation at the end. "
        "Mean +- s.e. over the seeds. FD, KID, precision, recall: digits CNN features "
        "(gan_jax.classifier), 2500 samples of the run's fixed evaluation inputs against all "
        "1797 digits. Class agreement: fraction of "
        f"{FLAGS.per_class} samples per requested class that the CNN labels as that class. "
        "Diversity / real: mean over classes of the mean pairwise distance within a class in "
        "the CNN's 128-d features (samples grouped by requested class), over the same of the "
        "real digits grouped by label; min class div. / real: the least diverse class's ratio "
        "(gan_jax/games/acgan.py). Rotation acc.: the critic's rotation head on all real digits "
        "in all four rotations. Inferred label acc.: S3GAN's class head on the 1617 digits "
        "outside its 10% labelled subset. CPU s: user + system of this process while the arm "
        "trained (its final evaluation included).",
        "",
        *table(rows),
        "",
    ]
    comparisons = [
        paired(rows, FLAGS.arms[0], arm, key)
        for arm in FLAGS.arms[1:]
        for key in ("frechet_distance", "kid")
    ]
    lines += [f"- {c}" for c in comparisons if c] + [""] * any(comparisons)
    (results / f"{FLAGS.name}.md").write_text("\n".join(lines))
    (results / f"{FLAGS.name}.json").write_text(
        json.dumps({"steps": FLAGS.steps, "runs": rows}, indent=2) + "\n"
    )
    print(f"wrote {results / FLAGS.name}.md and {FLAGS.name}.json")


if __name__ == "__main__":
    app.run(main)
