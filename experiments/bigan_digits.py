"""Does the BiGAN / ALI encoder learn a representation without labels, beyond random features?

    python experiments/bigan_digits.py [--presets=bigan,ali] [--steps=N] [--seed=0]
        [--workdir=runs] [--name=bigan_digits]

Trains configs/bigan.py presets (default BiGAN, a point encoder, and ALI, a Gaussian one; add
`bigan_mnist5k` for the 5000 MNIST digits at 32x32) at the same budget and seed (each resumes
from its workdir), then measures the game's headline (gan_jax/games/bigan.py) on the dataset
classifier's split (digits: 1437 training, 360 held-out; mnist5k: 4000 / 1000): a linear probe
and the 1-nearest-neighbour classifier fitted on 10 labelled training images a class (mean over
5 draws of them) and scored on the held-out images, on E(x) (z_dim 32) against the same on the
untrained encoder (the run's initialisation), a Gaussian random projection of the pixels and
their PCA (both to 32 dimensions) and the raw pixels; and the class preservation of G(E(x)) on
the held-out images (chance 0.1). Writes experiments/results/<name>.{md,json} and
<name>_reconstructions.png (rows: held-out digits, then G(E(x)) of each preset; digits only).
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from configs import bigan as recipe  # noqa: E402
from experiments.study_runs import held_out_examples, save_rows, trained  # noqa: E402
from gan_jax.games import bigan  # noqa: E402

flags.DEFINE_list("presets", ["bigan", "ali"], "configs/bigan.py presets to train.")
flags.DEFINE_integer("steps", 0, "Train steps (0: the recipe's).")
flags.DEFINE_integer("seed", 0, "Seed of every run.")
flags.DEFINE_string("workdir", "runs", "Parent of the run directories (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the results go.")
flags.DEFINE_string("name", "bigan_digits", "Stem of the results files.")
FLAGS = flags.FLAGS
FEATURES = ("", "_untrained", "_random_projection", "_pca", "_pixels")


def main(argv):
    del argv
    results, settings = {}, []
    examples = held_out_examples(16)
    rows = [examples]
    for preset in FLAGS.presets:
        config = recipe.get_config(preset)
        config.seed = FLAGS.seed
        if FLAGS.steps:
            config.train.steps = FLAGS.steps
        t0 = time.process_time()
        workdir = pathlib.Path(FLAGS.workdir) / f"{preset}_z{config.model.z_dim}_s{FLAGS.seed}"
        run, state = trained(config, workdir)
        record = json.loads((workdir / "eval.json").read_text())
        results[preset] = {
            **bigan.representation_metrics(run, state),
            "frechet_distance": record["frechet_distance"],
            "process_cpu_s": round(time.process_time() - t0, 1),
        }
        if run.dataset.shape[0] == 16:
            rows.append(np.asarray(bigan.reconstruct(state, jnp.asarray(examples))))
        settings.append(f"{preset}: {config.train.steps} steps on {config.data.name}")
    out = pathlib.Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    if len(rows) > 1:
        save_rows(out / f"{FLAGS.name}_reconstructions.png", rows)
    (out / f"{FLAGS.name}.json").write_text(
        json.dumps({"seed": FLAGS.seed, "rows": results}, indent=1) + "\n"
    )
    lines = [
        "# BiGAN / ALI: few-label probes of E(x) against random features of the same dimension",
        "",
        f"configs/bigan.py, seed {FLAGS.seed}, batch 64, DCGAN width 32, z 32, critic dropout "
        "0.2; " + "; ".join(settings) + ".",
        "",
        "Probes fitted on 10 labelled training images a class (mean over 5 draws), accuracy on "
        "the held-out split (linear: multinomial logistic regression on standardised features; "
        "1-NN: Euclidean on standardised features). Untrained: the same encoder at the run's "
        "initialisation; random proj.: a Gaussian projection of the pixels to 32 dimensions; "
        "PCA: the pixels' first 32 principal components (fitted on the training images). Class "
        "preservation: the dataset classifier's class of G(E(x)) equals x's (chance 0.1).",
        "",
        "| run | linear E(x) | untrained E | random proj. | PCA | pixels | 1-NN E(x) | untrained "
        "E | random proj. | PCA | pixels | class of G(E(x)) | L1 | FD |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, r in results.items():
        keys = [f"probe_accuracy{f}" for f in FEATURES] + [f"nn_accuracy{f}" for f in FEATURES]
        keys += ["class_preservation", "reconstruction_l1"]
        cells = [f"{r[k]:.3f}" for k in keys] + [f"{r['frechet_distance']:.1f}"]
        lines.append(f"| {preset} | " + " | ".join(cells) + " |")
    (out / f"{FLAGS.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
