"""Does CoGAN learn the joint distribution of digits and negative digits without pairs?

    python experiments/cogan_digits.py [--steps=N] [--seed=0] [--workdir=runs]

Trains configs/cogan.py (shared weights) and configs/cogan.py:unshared (the same two GANs with
nothing shared: the ablation) at the same budget and seed (each resumes from its workdir), then
measures the game's headline (gan_jax/games/cogan.py) on 1000 pairs (G_A(z), G_B(z)) of the
run's fixed evaluation noise: the fraction the digits classifier calls the same digit (B's
negation undone), the mean |G_B(z) - (-G_A(z))|, the fraction of pairs that are both, and the
same measures on unrelated pairs (G_A(z_i), G_B(z_{i+1})). Writes
experiments/results/cogan_pairs.png (rows: G_A(z), G_B(z) for the shared run, then the
unshared) and experiments/results/cogan_digits.{md,json}.
"""

from __future__ import annotations

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from PIL import Image  # noqa: E402

from configs import cogan as recipe  # noqa: E402
from experiments.study_runs import trained  # noqa: E402
from gan_jax import plotting  # noqa: E402
from gan_jax.games import cogan  # noqa: E402

flags.DEFINE_integer("steps", 0, "Train steps (0: the recipe's).")
flags.DEFINE_integer("seed", 0, "Seed of both runs.")
flags.DEFINE_string("workdir", "runs", "Parent of the run directories (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the results go.")
FLAGS = flags.FLAGS
COLUMNS = 16
WORKDIRS = {"shared": "cogan_digits", "unshared": "cogan_unshared"}
KEYS = ("same_digit", "transform_l1", "pair_fraction", "classes_a")


def main(argv):
    del argv
    rows, pictures, settings = {}, [], []
    for preset in ("shared", "unshared"):
        config = recipe.get_config(preset)
        config.seed = FLAGS.seed
        if FLAGS.steps:
            config.train.steps = FLAGS.steps
        workdir = pathlib.Path(FLAGS.workdir) / WORKDIRS[preset]
        run, state = trained(config, workdir)
        rows[preset] = run.game.headline(run, state)
        z = run.eval_inputs(COLUMNS)["z"]
        xa, xb = jax.device_get(cogan.draw_pairs(state, z))
        pictures += [xa, xb]
        settings.append(f"{preset}: {config.train.steps} steps")
    out = pathlib.Path(FLAGS.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = plotting.image_grid(np.concatenate(pictures), cols=COLUMNS)
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(out / "cogan_pairs.png")
    (out / "cogan_digits.json").write_text(json.dumps({"seed": FLAGS.seed, "rows": rows}, indent=1))
    header = "| G | " + " | ".join(KEYS) + " | same_digit_unpaired | transform_l1_unpaired |"
    lines = [
        "# CoGAN on digits vs negative digits (digits_unpaired, invert)",
        "",
        f"configs/cogan.py, seed {FLAGS.seed}, batch 64, DCGAN width 32, z 64; "
        + "; ".join(settings)
        + ".",
        "",
        "1000 pairs (G_A(z), G_B(z)) of the run's fixed evaluation noise; classes by the digits "
        "classifier (gan_jax.classifier), G_B's negation undone; L1 on pixels in [-1, 1]; "
        "pair_fraction: same digit and L1 < game.pair_l1 = 0.25; unpaired: (G_A(z_i), "
        "G_B(z_{i+1})).",
        "",
        header,
        "|---" * (len(KEYS) + 3) + "|",
    ]
    for name, r in rows.items():
        cells = [f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in KEYS]
        cells += [f"{r['same_digit_unpaired']:.3f}", f"{r['transform_l1_unpaired']:.3f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Picture: cogan_pairs.png (rows: G_A, G_B shared; G_A, G_B unshared)."]
    (out / "cogan_digits.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
