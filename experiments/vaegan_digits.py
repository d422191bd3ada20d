"""VAE-GAN against the plain GAN at the same budget: reconstructions and sample quality.

    python experiments/vaegan_digits.py [--steps=N] [--seed=0] [--workdir=runs] [--vae_kl=1,0.1]

Trains configs/vaegan.py, the plain VAE of the same encoder and generator
(configs/vaegan.py:vae, one run per ``--vae_kl`` weight: the paper's VAE baseline) and the plain
non-saturating GAN configs/nsgan.py (same DCGAN, width,
z, batch, optimiser, steps and seed; each resumes from its workdir), then reads each run's final
evaluation (Frechet distance, KID, precision, recall on the digits classifier's features, 2500
samples of the run's fixed noise against all 1797 digits) and VAE-GAN's headline
(gan_jax/games/vaegan.py): the class preservation and L1 error of the reconstructions G(mu(x))
of the 360 held-out digits. Writes experiments/results/vaegan_reconstructions.png (rows:
held-out digits, their VAE-GAN reconstructions, VAE-GAN samples, plain-GAN samples) and
experiments/results/vaegan_digits.{md,json}.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from experiments.study_runs import held_out_examples, save_rows, trained  # noqa: E402
from gan_jax import data, metrics, runs  # noqa: E402
from gan_jax.games import bigan  # noqa: E402

flags.DEFINE_integer("steps", 0, "Train steps of every run (0: VAE-GAN's recipe's).")
flags.DEFINE_list(
    "settings",
    ["1:1", "0.01:1", "0.01:10"],
    "VAE-GAN runs as recon_weight:kl_weight (the game's defaults 1:1, the recipe's 0.01:10).",
)
flags.DEFINE_list(
    "vae_kl",
    ["1", "0.1", "0.01"],
    "KL weights of the plain-VAE baseline runs (configs/vaegan.py:vae: pixel likelihood, no "
    "GAN); the paper's VAE row. Empty: none.",
)
flags.DEFINE_integer("seed", 0, "Seed of both runs.")
flags.DEFINE_string("workdir", "runs", "Parent of the run directories (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the results go.")
FLAGS = flags.FLAGS
METRICS = ("frechet_distance", "kid", "precision", "recall", "sharpness")
SHARPNESS_SAMPLES = 1000


def main(argv):
    del argv
    steps = FLAGS.steps or importlib.import_module("configs.vaegan").get_config().train.steps
    results, samples = {}, []
    examples = held_out_examples(16)
    rows = [examples]
    runs_ = [("nsgan", "vaegan_baseline_nsgan", {})]
    for setting in FLAGS.settings:
        recon, kl = setting.split(":")
        overrides = {"recon_weight": float(recon), "kl_weight": float(kl)}
        runs_.append(
            (f"vaegan gamma {recon}, KL weight {kl}", f"vaegan_g{recon}_kl{kl}", overrides)
        )
    for kl in FLAGS.vae_kl:
        runs_.append(
            (f"VAE (pixels), KL weight {kl}", f"vaegan_vae_kl{kl}", {"kl_weight": float(kl)})
        )
    real = data.digits_arrays(16)[0]
    for name, workdir, overrides in runs_:
        recipe = "nsgan" if name == "nsgan" else "vaegan"
        preset = "vae" if name.startswith("VAE") else None
        config = importlib.import_module(f"configs.{recipe}").get_config(preset)
        config.seed, config.train.steps = FLAGS.seed, steps
        config.game.update(overrides)
        workdir = pathlib.Path(FLAGS.workdir) / workdir
        run, state = trained(config, workdir)
        record = json.loads((workdir / "eval.json").read_text())
        results[name] = {k: v for k, v in record.items() if isinstance(v, (int, float))}
        many = np.asarray(runs.sample_images(run, state, SHARPNESS_SAMPLES))
        # Blur of the samples: their Laplacian energy over the digits' (< 1: blurrier).
        results[name]["sharpness"] = metrics.laplacian_energy(many) / metrics.laplacian_energy(real)
        samples.append(many[: len(examples)])
        if recipe == "vaegan":
            rows.append(np.asarray(bigan.reconstruct(state, jnp.asarray(examples))))
    out = pathlib.Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    save_rows(out / "vaegan_reconstructions.png", rows + samples)
    (out / "vaegan_digits.json").write_text(
        json.dumps({"seed": FLAGS.seed, "steps": steps, "rows": results}, indent=1)
    )
    lines = [
        "# VAE-GAN against the plain GAN on the digits (16x16)",
        "",
        f"Seed {FLAGS.seed}, {steps} steps of batch 64 each, DCGAN width 32, z 64, Adam 2e-4 / "
        "0.5 (configs/vaegan.py with the game's weights below; configs/nsgan.py).",
        "",
        "Samples: 2500 of the run's fixed noise against the 1797 digits, features of the digits "
        "classifier (gan_jax.classifier). Reconstructions G(mu(x)) of the 360 held-out digits: "
        "the classifier's class equals x's (chance 0.1), mean L1 (pixels in [-1, 1]). "
        f"Sharpness: the Laplacian energy of {SHARPNESS_SAMPLES} samples over that of the "
        "1797 digits (< 1: blurrier than the data). VAE rows: configs/vaegan.py:vae, the same "
        "encoder and generator as a plain VAE (pixel likelihood, no GAN, no critic).",
        "",
        "| run | " + " | ".join(METRICS) + " | reconstructions' class | reconstruction L1 |",
        "|---" * (len(METRICS) + 3) + "|",
    ]
    for name, r in results.items():
        cells = [f"{r[k]:.3g}" for k in METRICS]
        cells += [
            f"{r[k]:.3f}" if k in r else "-"
            for k in ("headline/class_preservation", "headline/reconstruction_l1")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Picture: vaegan_reconstructions.png (rows: held-out x; the G(mu(x)) of each VAE-GAN "
        "and each VAE; then the samples of every run, in the table's order).",
    ]
    (out / "vaegan_digits.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
