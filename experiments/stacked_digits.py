"""Stacked digits (the stacked-MNIST mode-collapse benchmark): do the minibatch layers cover more
of the 1000 modes, or cover them more evenly, than the plain GAN?

    python experiments/stacked_digits.py [--arms=nsgan,mbstd,mbdisc] [--seeds=0,1,2]
        [--steps=N] [--workdir=runs/stacked_digits]

Data: ``data.name='stacked_digits'`` (gan_jax/data.py): three of the 1797 digits drawn
independently as the three channels of one 16x16 image, 1000 modes (Metz et al. 2017, VEEGAN and
PacGAN use MNIST the same way). Every arm trains configs/nsgan.py:stacked_digits's budget
(the non-saturating DCGAN, width 32, z 64, batch 64, Adam 2e-4 / 0.5) with one change:

- ``nsgan``: none;
- ``mbstd``: the critic's minibatch standard deviation (Karras et al. 2018, section 3; group 4,
  ``model.minibatch_stddev``), the modern form of minibatch discrimination; ``mbstd64``: one
  group of the whole batch of 64;
- ``mbdisc``: minibatch discrimination (Salimans et al. 2016, section 3.2; 32 kernels of
  dimension 5 on the critic's last feature map, ``model.minibatch_discrimination``);
- ``ebgan`` / ``ebgan_nopt``: configs/ebgan.py (the autoencoder critic, margin 1) with and
  without the pulling-away term (lambda_PT 0.1 / 0), EBGAN's diversity claim (not default).

Measured as the papers do (``eval.extractor='stacked_modes'``): 26000 samples, each channel
classified by the digits CNN; modes with at least one sample, and KL(q || uniform) of the
samples' mode histogram (lower is more even), with two measures of quality, since a mode count
reads noise as digits too: the CNN's mean confidence on the channels and the Frechet distance of
the channels' CNN features to the 1797 digits' (the same classifier on 26000 real stacked images
gives the ceilings in the table's caption). Writes experiments/results/stacked_digits.{md,json}.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from absl import app, flags  # noqa: E402

from configs import default, nsgan  # noqa: E402
from experiments import study_runs  # noqa: E402

# arm -> (recipe, its model.* overrides, its game.* overrides); every recipe is switched to the
# stacked_digits preset and to configs/nsgan.py:stacked_digits's budget.
ARMS = {
    "nsgan": ("nsgan", {}, {}),
    "mbstd": ("nsgan", {"minibatch_stddev": 4}, {}),
    "mbstd64": ("nsgan", {"minibatch_stddev": 64}, {}),
    "mbdisc": ("nsgan", {"minibatch_discrimination": 32, "minibatch_kernel_dim": 5}, {}),
    "ebgan": ("ebgan", {}, {}),
    "ebgan_nopt": ("ebgan", {}, {"pt_weight": 0.0}),
}
flags.DEFINE_list("arms", ["nsgan", "mbstd", "mbdisc"], f"Arms among {list(ARMS)}.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds to train.")
flags.DEFINE_integer("steps", 0, "Train steps (0: the recipe's).")
flags.DEFINE_string("workdir", "runs/stacked_digits", "Run directories: <workdir>/<arm>/seed_<s>.")
flags.DEFINE_string("results", str(REPO / "experiments/results"), "Where the outputs go.")
FLAGS = flags.FLAGS
COLUMNS = [
    ("modes", "modes (of 1000)", 1),
    ("reverse_kl", "KL(q || uniform)", 3),
    ("confidence", "CNN confidence", 3),
    ("channel_fd", "channel FD", 1),
]


def arm_config(arm: str, seed: int):
    recipe, model, game = ARMS[arm]
    config = importlib.import_module(f"configs.{recipe}").get_config()
    default.apply_preset(config, "stacked_digits")
    config.model.update(model)
    config.game.update(game)
    config.seed = seed
    config.train.steps = FLAGS.steps or nsgan.get_config("stacked_digits").train.steps
    config.eval.every_steps = config.train.steps
    config.eval.at_start = False
    config.train.sample_every = 0
    config.checkpoint.every_steps = config.train.steps
    return config


def main(argv):
    del argv
    rows, protocol = [], {}
    for arm in FLAGS.arms:
        for seed in [int(s) for s in FLAGS.seeds]:
            config = arm_config(arm, seed)
            workdir = pathlib.Path(FLAGS.workdir) / arm / f"seed_{seed}"
            study_runs.trained(config, workdir)
            record = json.loads((workdir / "eval.json").read_text())
            protocol = record["protocol"]
            row = {"arm": arm, "seed": seed, "steps": record["step"]}
            row.update({k: record[k] for k, _, _ in COLUMNS})
            rows.append(row)
            print(json.dumps(row), flush=True)
    steps = rows[0]["steps"]
    lines = [
        "# Stacked digits: modes of 1000 reached by the plain GAN and the minibatch layers",
        "",
        f"Written by `python experiments/stacked_digits.py --arms={','.join(FLAGS.arms)} "
        f"--seeds={','.join(FLAGS.seeds)}`. Each arm's recipe on stacked_digits (the DCGAN "
        f"generator, width 32, z 64, batch 64, Adam 2e-4 / 0.5), {steps} steps; arms "
        "(recipe, model.*, game.*): " + "; ".join(f"{a} {ARMS[a]}" for a in FLAGS.arms) + ". "
        f"{protocol.get('fake_samples')} samples, each channel classified by the digits CNN; "
        "modes: those with at least one sample; KL(q || uniform over the 1000 modes); quality "
        "(mode counts read noise as digits too): the CNN's mean confidence on the channels and "
        "channel FD, the Frechet distance of the channels' CNN features to the 1797 digits'. "
        f"Real stacked images through the same classifier: {protocol.get('real_modes')} modes, "
        f"KL {protocol.get('real_reverse_kl', float('nan')):.3f}, confidence "
        f"{protocol.get('real_confidence', float('nan')):.3f}, channel FD "
        f"{protocol.get('real_channel_fd', float('nan')):.2f}, mode accuracy "
        f"{protocol.get('real_mode_accuracy', float('nan')):.3f}. Mean +- s.e. over the seeds.",
        "",
        *study_runs.arm_table(rows, FLAGS.arms, COLUMNS),
        "",
        "| arm | seed | modes | KL | confidence | channel FD |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['arm']} | {r['seed']} | {r['modes']} | {r['reverse_kl']:.3f} | "
            f"{r['confidence']:.3f} | {r['channel_fd']:.1f} |"
            for r in rows
        ),
        "",
    ]
    out = pathlib.Path(FLAGS.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stacked_digits.md").write_text("\n".join(lines))
    (out / "stacked_digits.json").write_text(
        json.dumps({"protocol": protocol, "runs": rows}, indent=2) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
