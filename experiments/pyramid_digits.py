"""Multi-scale GANs on the 16x16 digits: LAPGAN and StackGAN++ against single-scale baselines.

    python experiments/pyramid_digits.py [--arms=nsgan,lapgan,lapgan:base8,cgan,stackgan,
        stackgan:single,stackgan:no_ca,stackgan_v1,stackgan_v1:no_ca] [--steps=2000] [--seeds=0]
        [--workdir=runs/pyramid]

Trains every arm (``configs/<recipe>.py[:preset]``) for the same number of steps, batch (64)
and seeds (workdir/<arm>/seed_<s>, resumed if it holds a checkpoint; one evaluation, at the end)
and measures, at that matched budget, the Frechet distance, KID, precision and recall in the
digits CNN's features (eval.json: 2500 samples of the run's fixed evaluation inputs against all
1797 digits) and, for the class-conditional arms, ``acgan.class_measures`` (class agreement and
per-class diversity over the real data's, 200 samples per class). The parameter counts of G
(all generators) and D (all critics) are listed beside them.

The claims: LAPGAN's coarse-to-fine samples beat a single-scale GAN of similar capacity
(Denton et al. 2015: nsgan is the single-scale DCGAN); StackGAN++'s multi-stage tree improves FD
and class agreement at the final scale over the single-stage model of the same generator
(stackgan vs stackgan:single; cgan, the DCGAN conditional GAN, for reference) and conditioning
augmentation increases the per-class diversity (stackgan vs stackgan:no_ca); StackGAN v1's
Stage-II GAN corrects and refines the Stage-I images it is given (stackgan_v1: its final FD
against the FD of its own Stage-I images upsampled). Writes
experiments/results/pyramid_digits.md (the table) and .json (every figure).
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

from experiments.study_runs import arm_table  # noqa: E402
from gan_jax import train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import acgan  # noqa: E402
from gan_jax.runs import build_run  # noqa: E402

ARMS = [
    "nsgan",
    "lapgan",
    "lapgan:base8",
    "cgan",
    "stackgan",
    "stackgan:single",
    "stackgan:no_ca",
    "stackgan_v1",
    "stackgan_v1:no_ca",
]
flags.DEFINE_list("arms", ARMS, "Recipes (recipe or recipe:preset) to train.")
flags.DEFINE_integer("steps", 2000, "Train steps of every arm (the matched budget).")
flags.DEFINE_list("seeds", ["0"], "Seeds to train.")
flags.DEFINE_integer("per_class", 200, "Samples per class for the class measures.")
flags.DEFINE_string("workdir", "runs/pyramid", "Run directories: <workdir>/<arm>/seed_<s>.")
flags.DEFINE_string("results", str(REPO / "experiments/results"), "Where the outputs go.")
FLAGS = flags.FLAGS

COLUMNS = (
    ("frechet_distance", "FD", 1),
    ("kid", "KID", 3),
    ("precision", "precision", 2),
    ("recall", "recall", 2),
    ("class_agreement", "class agreement", 3),
    ("diversity_ratio", "diversity / real", 3),
    ("min_diversity_ratio", "min class div. / real", 3),
    ("stage1_fd", "Stage-I FD (upsampled)", 1),
    ("g_params", "G params", 0),
    ("d_params", "D params", 0),
    ("cpu_s", "CPU s", 0),
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def arm_config(arm: str, steps: int, seed: int):
    recipe, _, preset = arm.partition(":")
    config = importlib.import_module(f"configs.{recipe}").get_config(preset or None)
    config.seed = seed
    config.train.steps = steps
    config.train.sample_every = 0
    config.train.log_every = 500
    config.eval.at_start = False
    config.eval.every_steps = 0
    config.checkpoint.every_steps = steps
    if config.game.name == "stackgan_v1":  # half the budget per stage, as the recipe's 1000 + 1000
        config.game.stage1_steps = steps // 2
    return config


def param_counts(state) -> dict[str, int]:
    count = lambda names: sum(
        int(x.size) for n in names for x in jax.tree.leaves(state.nets[n].params)
    )
    return {
        "g_params": count([n for n in state.nets if n.startswith("g")]),
        "d_params": count([n for n in state.nets if n.startswith("d")]),
    }


def measure(config, workdir: pathlib.Path) -> dict:
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
        **param_counts(state),
        "cpu_s": cost["cpu_s"],
        "wall_s": cost["wall_s"],
    }
    if config.model.num_classes:
        row.update(acgan.class_measures(run, state, FLAGS.per_class))
    if "headline/stage1_fd" in record:  # StackGAN v1: its Stage-I images, upsampled
        row["stage1_fd"] = record["headline/stage1_fd"]
    return row


def table(rows: list[dict]) -> list[str]:
    # Every arm measured so far (pyramid_digits.json accumulates across invocations).
    known = list(ARMS)
    for arm in [r["arm"] for r in rows] + list(FLAGS.arms):
        if arm not in known:
            known.append(arm)
    return arm_table(rows, [a for a in known if any(r["arm"] == a for r in rows)], COLUMNS)


def main(argv):
    del argv
    results = pathlib.Path(FLAGS.results)
    results.mkdir(parents=True, exist_ok=True)
    out_json = results / "pyramid_digits.json"
    rows = json.loads(out_json.read_text())["runs"] if out_json.is_file() else []
    for arm in FLAGS.arms:
        for seed in [int(s) for s in FLAGS.seeds]:
            config = arm_config(arm, FLAGS.steps, seed)
            workdir = pathlib.Path(FLAGS.workdir) / arm.replace(":", "_") / f"seed_{seed}"
            try:
                row = measure(config, workdir)
            except GanJaxError as e:
                sys.exit(f"gan_jax: {e}")
            rows = [r for r in rows if (r["arm"], r["seed"]) != (arm, seed)]
            rows.append({"arm": arm, "seed": seed, **row})
            shown = {k: round(v, 3) for k, v in row.items() if isinstance(v, float)}
            print(f"{arm} seed {seed}: {shown}", flush=True)
            # Written after every arm, so a run cut short keeps what it measured.
            out_json.write_text(json.dumps({"steps": FLAGS.steps, "runs": rows}, indent=2) + "\n")
    lines = [
        "## Multi-scale GANs on the 16x16 digits (LAPGAN, StackGAN++, StackGAN v1)",
        "",
        "Rows accumulate in pyramid_digits.json across invocations; the last: "
        f"`python experiments/pyramid_digits.py --arms={','.join(FLAGS.arms)} "
        f"--steps={FLAGS.steps} --seeds={','.join(FLAGS.seeds)}`. Machine: {platform.machine()}, "
        f"{len(jax.devices())} {jax.default_backend()} device(s), jax {jax.__version__}; 2 cores "
        "shared with other jobs. Every arm is its recipe at the same budget, "
        f"{FLAGS.steps} steps of batch 64 (Adam 2e-4 / beta1 0.5, non-saturating), one "
        "evaluation at the end. `nsgan`: the single-scale DCGAN (width 32); `lapgan`: levels "
        "4 -> 8 -> 16, width 32 per level; `cgan`: the DCGAN conditional GAN (EMA 0.99); "
        "`stackgan`: the StackGAN++ tree with 8 and 16 px outputs, CA, one critic per scale, "
        "colour consistency (EMA 0.99); `stackgan:single`: the same generator and critic with "
        "the 16 px output only; `stackgan:no_ca`: c = mu(e), no KL; `stackgan_v1`: StackGAN "
        "v1, a Stage-I GAN at 8 px for the first half of the budget, then a Stage-II GAN "
        "(encoder, residual blocks, up to 16 px) on its images for the second half with "
        "Stage-I fixed (EMA 0.99); Stage-I FD: its Stage-I images upsampled (nearest) to 16 "
        "px, from the same inputs as its Stage-II images; `stackgan_v1:no_ca`: c = mu(e) in both "
        "stages. FD, KID, precision, "
        "recall: digits CNN features (gan_jax.classifier), 2500 samples of the run's fixed "
        "evaluation inputs against all 1797 digits. Class agreement, diversity / real: "
        f"`acgan.class_measures`, {FLAGS.per_class} samples per class. CPU s: user + system "
        "of this process while the arm trained (its final evaluation included).",
        "",
        *table(rows),
        "",
    ]
    (results / "pyramid_digits.md").write_text("\n".join(lines))
    print(f"wrote {results / 'pyramid_digits.md'} and {out_json.name}")


if __name__ == "__main__":
    app.run(main)
