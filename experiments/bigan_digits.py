"""Does the BiGAN / ALI encoder learn a representation of the digits without labels?

    python experiments/bigan_digits.py [--steps=N] [--seed=0] [--workdir=runs]

Trains configs/bigan.py (BiGAN: a point encoder) and configs/bigan.py:ali (ALI: a Gaussian
encoder) at the same budget and seed (each resumes from its workdir), then measures the game's
headline (gan_jax/games/bigan.py) on the digits classifier's split (1437 training, 360 held-out
digits): a linear probe and the 1-nearest-neighbour classifier on E(x), fitted on the training
split and scored on the held-out one, against the same on the untrained encoder (the run's
initialisation) and on the pixels; the class preservation of G(E(x)) on the held-out digits.
Writes experiments/results/bigan_reconstructions.png (rows: held-out digits, BiGAN's G(E(x)),
ALI's G(E(x)); two of each class) and experiments/results/bigan_digits.{md,json}.
"""

from __future__ import annotations

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from configs import bigan as recipe  # noqa: E402
from experiments.study_runs import held_out_examples, save_rows, trained  # noqa: E402
from gan_jax.games import bigan  # noqa: E402

flags.DEFINE_integer("steps", 0, "Train steps (0: the recipe's).")
flags.DEFINE_integer("seed", 0, "Seed of both runs.")
flags.DEFINE_string("workdir", "runs", "Parent of the run directories (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the results go.")
FLAGS = flags.FLAGS
WORKDIRS = {"bigan": "bigan_digits", "ali": "ali_digits"}


def main(argv):
    del argv
    results, settings = {}, []
    examples = held_out_examples(16)
    rows = [examples]
    for preset, name in WORKDIRS.items():
        config = recipe.get_config(preset)
        config.seed = FLAGS.seed
        if FLAGS.steps:
            config.train.steps = FLAGS.steps
        run, state = trained(config, pathlib.Path(FLAGS.workdir) / name)
        results[preset] = bigan.representation_metrics(run, state)
        rows.append(np.asarray(bigan.reconstruct(state, jnp.asarray(examples))))
        settings.append(f"{preset}: {config.train.steps} steps")
    out = pathlib.Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    save_rows(out / "bigan_reconstructions.png", rows)
    (out / "bigan_digits.json").write_text(
        json.dumps({"seed": FLAGS.seed, "rows": results}, indent=1)
    )
    lines = [
        "# BiGAN / ALI on the digits (16x16)",
        "",
        f"configs/bigan.py, seed {FLAGS.seed}, batch 64, DCGAN width 32, z 64; "
        + "; ".join(settings)
        + ".",
        "",
        "Probes fitted on E(x) of the digits classifier's 1437 training digits, accuracy on its "
        "360 held-out digits (linear: multinomial logistic regression on standardised "
        "features; 1-NN: Euclidean on standardised features). Untrained: the same encoder at the "
        "run's initialisation. Class preservation: the digits classifier's class of G(E(x)) "
        "equals x's, held-out digits (chance 0.1).",
        "",
        "| run | linear probe E(x) | untrained E | pixels | 1-NN E(x) | untrained E | pixels | "
        "class preservation G(E(x)) | L1 G(E(x)) - x |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, r in results.items():
        keys = ["probe_accuracy", "probe_accuracy_untrained", "probe_accuracy_pixels"]
        keys += ["nn_accuracy", "nn_accuracy_untrained", "nn_accuracy_pixels"]
        keys += ["class_preservation", "reconstruction_l1"]
        lines.append(f"| {preset} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    lines += ["", "Picture: bigan_reconstructions.png (held-out x; BiGAN G(E(x)); ALI G(E(x)))."]
    (out / "bigan_digits.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
