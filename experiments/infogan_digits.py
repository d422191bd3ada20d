"""Does InfoGAN's categorical code learn the digit class without labels? Trains and measures.

    python experiments/infogan_digits.py [--seeds=0,1,2] [--workdir=runs/infogan_digits]
        [--config=configs/infogan.py] [--config.train.steps=N ...]

Trains the recipe (configs/infogan.py, 16x16 digits) once per seed (workdir/seed_<s>, resumed
if it holds a checkpoint) and reads the final evaluation (eval.json): the headline
``code_accuracy`` (the 10-way code as a digit classifier after the best one-to-one matching of
codes to the digits CNN's classes; gan_jax/games/infogan.py), ``code_purity`` (many-to-one)
and the Frechet distance in the digits CNN's features. Also records each run's CPU seconds
(user + system of this process while it trained) and which digit each code was matched to.
Writes experiments/results/infogan.md (the table), infogan.json (every figure) and
infogan_codes.png: seed 0's generator, one row per categorical code value, the columns sweeping
continuous code 1 (left panel) or 2 (right panel) from -1 to 1 with the other at 0 and one
noise vector for the whole grid.
"""

from __future__ import annotations

import json
import pathlib
import platform
import resource
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402
from PIL import Image  # noqa: E402

from experiments import study_runs  # noqa: E402
from gan_jax import plotting, steps, train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import infogan  # noqa: E402
from gan_jax.runs import build_run, sample_images  # noqa: E402

config_flags.DEFINE_config_file("config", str(REPO / "configs/infogan.py"), "InfoGAN config.")
flags.DEFINE_string("workdir", "runs/infogan_digits", "Run directories: <workdir>/seed_<s>.")
flags.DEFINE_list("seeds", ["0"], "Seeds to train.")
flags.DEFINE_integer("sweep", 10, "Columns of the continuous-code sweep.")
flags.DEFINE_string("results", str(REPO / "experiments/results"), "Where the outputs go.")
FLAGS = flags.FLAGS


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def code_sweep(run, state, which: int, columns: int) -> np.ndarray:
    """Images (K * columns, H, W, C): row k = code k, continuous code ``which`` from -1 to 1."""
    gc = run.config.game
    k, c = gc.num_categories, gc.num_continuous
    # One noise vector for the whole panel: rows and columns differ by their codes alone.
    z = jax.random.normal(jax.random.key(run.config.seed), (1, run.config.model.z_dim))
    cont = np.zeros((k, columns, c), np.float32)
    if c:
        cont[:, :, which] = np.linspace(-1.0, 1.0, columns)[None, :]
    inputs = {
        "z": jnp.repeat(z, k * columns, axis=0),
        "code": jnp.repeat(jnp.arange(k, dtype=jnp.int32), columns),
        "cont": jnp.asarray(cont.reshape(k * columns, c)),
    }
    return sample_images(run, state, k * columns, inputs=inputs)


def matched_digits(run, state) -> list[int]:
    """The digit each code value is matched to (the headline's one-to-one assignment)."""
    codes, predictions, num_classes = infogan.code_predictions(run, state)
    k = run.config.game.num_categories
    return infogan.matched_classes(
        infogan.confusion_matrix(codes, predictions, k, num_classes)
    ).tolist()


def q_recovery(run, state) -> dict:
    """How well Q reads the codes back from the generator's samples (inference mode): its
    categorical accuracy and, per continuous code, R^2 = 1 - E[(c - mu)^2] / Var(c) over the
    headline's samples (Var = 1/3 for U[-1, 1]; 0: nothing recovered, 1: all)."""
    gc = run.config.game
    n = gc.num_categories * gc.headline_samples
    inputs = run.eval_inputs(n)
    images = sample_images(run, state, n, inputs=inputs)
    q_fn = jax.jit(lambda s, x: steps.apply(s, "d", x, None)[1])
    qs = [q_fn(state, images[i : i + 1000]) for i in range(0, n, 1000)]
    logits = np.concatenate([np.asarray(q["logits"]) for q in qs])
    mean = np.concatenate([np.asarray(q["mean"]) for q in qs])
    cont = np.asarray(inputs["cont"])
    r2 = 1.0 - ((cont - mean) ** 2).mean(axis=0) / (1.0 / 3.0)
    return {
        "q_code_accuracy": float(np.mean(np.argmax(logits, 1) == np.asarray(inputs["code"]))),
        "q_continuous_r2": [round(float(v), 3) for v in r2],
    }


def save_sweeps(run, state, columns: int, path: pathlib.Path) -> None:
    panels = [
        plotting.image_grid(code_sweep(run, state, i, columns), cols=columns)
        for i in range(max(1, min(2, run.config.game.num_continuous)))
    ]
    gap = np.full((panels[0].shape[0], 6, panels[0].shape[2]), 255, np.uint8)
    grid = panels[0] if len(panels) == 1 else np.concatenate([panels[0], gap, panels[1]], axis=1)
    pil = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(path)


def mean_se(values, digits: int = 3) -> str:
    return study_runs.mean_se(values, digits)


def main(argv):
    del argv
    base = FLAGS.config
    if base.game.name != "infogan" or base.data.name != "digits":
        sys.exit("gan_jax: infogan_digits needs an InfoGAN digits config (configs/infogan.py)")
    results = pathlib.Path(FLAGS.results)
    results.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in FLAGS.seeds]:
        config = base.copy_and_resolve_references()
        config.seed = seed
        workdir = pathlib.Path(FLAGS.workdir) / f"seed_{seed}"
        # The cost of a finished run is kept beside it, so tabulating it again keeps its figure.
        cost_file = workdir / "infogan_digits_cost.json"
        cost = json.loads(cost_file.read_text()) if cost_file.is_file() else {}
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        try:
            state = train.train_and_evaluate(config, workdir)
        except GanJaxError as e:
            sys.exit(f"gan_jax: {e}")
        if cost.get("steps") != int(state.step):
            cost = {
                "steps": int(state.step),
                "cpu_s": round(cpu_seconds() - cpu0, 1),
                "wall_s": round(time.perf_counter() - wall0, 1),
            }
            cost_file.write_text(json.dumps(cost) + "\n")
        cpu, wall = cost["cpu_s"], cost["wall_s"]
        record = json.loads((workdir / "eval.json").read_text())
        run = build_run(config)
        row = {
            "seed": seed,
            "steps": int(state.step),
            "code_accuracy": record["headline/code_accuracy"],
            "code_purity": record["headline/code_purity"],
            "code_classes": int(record["headline/code_classes"]),
            "frechet_distance": record["frechet_distance"],
            "classes": record["classes"],
            "matched_digit_of_code": matched_digits(run, state),
            **q_recovery(run, state),
            "cpu_s": cpu,
            "wall_s": wall,
        }
        rows.append(row)
        print(
            f"seed {seed}: code accuracy {row['code_accuracy']:.3f} (purity "
            f"{row['code_purity']:.3f}), FD {row['frechet_distance']:.1f}, {row['steps']} steps, "
            f"{cpu:.0f} CPU s ({wall:.0f} s wall); code -> digit {row['matched_digit_of_code']}; "
            f"Q: code {row['q_code_accuracy']:.3f}, continuous R^2 {row['q_continuous_r2']}",
            flush=True,
        )
        if seed == int(FLAGS.seeds[0]):
            save_sweeps(run, state, FLAGS.sweep, results / "infogan_codes.png")

    gc = base.game
    setup = (
        f"DCGAN width {base.model.width}, z {base.model.z_dim} + {gc.num_categories} cat + "
        f"{gc.num_continuous} cont, lambda {gc.info_weight:g} (cont x{gc.continuous_weight:g}, "
        f"std {'learned' if gc.learn_std else 'fixed 1'}), {base.objective.name}, batch "
        f"{base.train.batch_size}, adam lr G {base.optim.g.lr:g} / D and Q {base.optim.d.lr:g}, b1 "
        f"{base.optim.g.b1:g}"
    )
    lines = [
        "## InfoGAN on the 16x16 digits: the categorical code as a digit classifier",
        "",
        f"Command: `python experiments/infogan_digits.py --seeds={','.join(FLAGS.seeds)}`. "
        f"Machine: {platform.machine()}, {len(jax.devices())} {jax.default_backend()} device(s), "
        f"jax {jax.__version__}; training wall time {sum(r['wall_s'] for r in rows):.0f} s "
        "(2 cores shared with other jobs). Code accuracy: each of the 10 code values generates "
        f"{gc.headline_samples} samples (the run's fixed evaluation noise), the digits CNN "
        "(gan_jax.classifier, 99.4% held-out accuracy on real digits) labels them, codes are "
        "matched one to one to digits by the Hungarian algorithm, accuracy = matched fraction "
        "(the paper: 5% error on MNIST, i.e. 0.95). Purity: each code matched to its own "
        "majority digit. FD: Frechet distance in the CNN's features to all 1797 digits, "
        f"{base.eval.num_samples} samples (eval.json). CPU s: user + system of the training "
        "process, evaluations included (kept from the run that trained it). Q code acc. and Q "
        "cont. R^2: Q (inference mode) reading the codes back from the same samples; R^2 = 1 - "
        "MSE / Var per continuous code (0: nothing recovered).",
        "",
        f"Setup: {setup}.",
        "",
        "| seed | steps | code accuracy | code purity | distinct digits | FD | classes "
        "| Q code acc. | Q cont. R^2 | CPU s | code -> digit |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['steps']} | {r['code_accuracy']:.3f} | {r['code_purity']:.3f} "
            f"| {r['code_classes']} | {r['frechet_distance']:.1f} | {r['classes']} | "
            f"{r['q_code_accuracy']:.3f} | {', '.join(f'{v:.2f}' for v in r['q_continuous_r2'])} "
            f"| {r['cpu_s']:.0f} | {' '.join(map(str, r['matched_digit_of_code']))} |"
        )
    if len(rows) > 1:
        lines.append(
            f"| mean +- s.e. | | {mean_se([r['code_accuracy'] for r in rows])} | "
            f"{mean_se([r['code_purity'] for r in rows])} | | "
            f"{mean_se([r['frechet_distance'] for r in rows], 1)} | | "
            f"{mean_se([r['q_code_accuracy'] for r in rows])} | | "
            f"{mean_se([r['cpu_s'] for r in rows], 0)} | |"
        )
    lines += [
        "",
        "`infogan_codes.png`: seed "
        f"{FLAGS.seeds[0]}, one row per code value, columns sweeping continuous code 1 (left) "
        "and 2 (right) from -1 to 1, the other at 0, one noise vector for all.",
        "",
    ]
    (results / "infogan.md").write_text("\n".join(lines))
    (results / "infogan.json").write_text(
        json.dumps({"config": base.to_dict(), "runs": rows}, indent=2, default=str) + "\n"
    )
    print(f"wrote {results / 'infogan.md'}, infogan.json and infogan_codes.png")


if __name__ == "__main__":
    app.run(main)
