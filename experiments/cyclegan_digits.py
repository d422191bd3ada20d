"""Does CycleGAN translate digits into their inverses and back without changing the digit?

    python experiments/cyclegan_digits.py [--config=configs/cyclegan.py]
        [--workdir=runs/cyclegan_digits] [--config.game.identity_weight=W ...]

Trains the recipe (seed 0; resumes if the workdir holds a checkpoint), then measures with the
game's headline (gan_jax/games/cyclegan.py) on every image of both halves of digits_unpaired:
class preservation A -> B (the digits classifier's class of G_AB(a), B's transform undone,
against a's) and B -> A, the cycle errors and the distance to the true transform. Baselines on
the same images: the untrained generators (the recipe's initialisation, seed 0), the identity
map (G = id), and the true transform (G_AB = T, G_BA = T^-1: class preservation is then the
classifier's own accuracy, the ceiling). Writes experiments/results/cyclegan_translations.png
(rows: domain-A inputs, their translations, their reconstructions, then the same from B) and
experiments/results/cyclegan_digits.{md,json}. The other settings in its table were run as

    python experiments/cyclegan_digits.py --config.game.identity_weight=5.0 \
        --workdir=runs/cyclegan_identity5 --name=cyclegan_identity5
    python experiments/cyclegan_digits.py --config.data.domain_b=rot90 \
        --workdir=runs/cyclegan_rot90 --name=cyclegan_rot90
"""

from __future__ import annotations

import json
import pathlib
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

from gan_jax import classifier, data, plotting, runs, train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import cyclegan  # noqa: E402

config_flags.DEFINE_config_file("config", str(REPO / "configs/cyclegan.py"), "CycleGAN config.")
flags.DEFINE_string("workdir", "runs/cyclegan_digits", "Run directory (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the figures go.")
flags.DEFINE_string("name", "cyclegan", "Prefix of the result files.")
FLAGS = flags.FLAGS
PER_CLASS = 2  # columns of the picture: the first PER_CLASS images of each class


def picture(path: pathlib.Path, out: dict, domains: tuple) -> None:
    """Rows: a, G_AB(a), G_BA(G_AB(a)), b, G_BA(b), G_AB(G_BA(b)); PER_CLASS images a class."""
    a, label_a, b, label_b = domains

    def pick(labels):
        return np.concatenate([np.flatnonzero(labels == k)[:PER_CLASS] for k in range(10)])

    ia, ib = pick(label_a), pick(label_b)
    rows = [a[ia], out["fake_b"][ia], out["rec_a"][ia], b[ib], out["fake_a"][ib], out["rec_b"][ib]]
    grid = plotting.image_grid(np.concatenate(rows), cols=len(ia))
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(path)


def main(argv):
    del argv
    config = FLAGS.config
    resumed = (pathlib.Path(FLAGS.workdir) / "checkpoints").is_dir()
    t0 = time.perf_counter()
    try:
        state = train.train_and_evaluate(config, FLAGS.workdir)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")
    train_s = time.perf_counter() - t0
    run = runs.build_run(config)
    domain_b = config.data.domain_b
    domains = a, _, b, _ = data.digits_unpaired_arrays(config.data.resolution, domain_b)
    transform, undo = data.DOMAIN_TRANSFORMS[domain_b]
    clf = classifier.digits_classifier(config.data.resolution, config.eval.cache_dir or None)

    def measure(s):
        out = jax.device_get(cyclegan.translate(s, jnp.asarray(a), jnp.asarray(b)))
        return out, cyclegan.translation_metrics(out, clf, domains, domain_b)

    trained_out, trained = measure(state)
    _, untrained = measure(run.init_state(jax.random.key(config.seed)))
    identity = {"fake_b": a, "rec_a": a, "fake_a": b, "rec_b": b}
    # No inverse (thicken, erode): G_BA's true map is unknown; b itself stands in for it.
    exact = {"fake_b": transform(a), "rec_a": a, "fake_a": undo(b) if undo else b, "rec_b": b}
    rows = {
        "trained": trained,
        "untrained G": untrained,
        "identity map": cyclegan.translation_metrics(identity, clf, domains, domain_b),
        "true transform": cyclegan.translation_metrics(exact, clf, domains, domain_b),
    }
    out_dir = pathlib.Path(FLAGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    picture(out_dir / f"{FLAGS.name}_translations.png", trained_out, domains)
    game = config.game
    setting = (
        f"configs/cyclegan.py, seed {config.seed}, data.domain_b={domain_b!r}, "
        f"{config.train.steps} steps of batch {config.train.batch_size}, "
        f"cycle_weight {game.cycle_weight}, identity_weight {game.identity_weight}, "
        f"pool {game.pool_size}, G width {game.g_width} x {game.g_blocks} blocks, "
        f"D width {game.d_width} x {game.d_layers} layers; "
        + ("resumed from the workdir's checkpoints" if resumed else f"trained in {train_s:.0f} s")
        + " (wall, shared CPU)"
    )
    keys = ["class_preservation_ab", "class_preservation_ba", "cycle_l1", "cycle_l1_b"]
    keys += ["transform_l1_ab", "transform_l1_ba"]
    lines = [
        f"# CycleGAN on digits_unpaired ({domain_b})",
        "",
        setting + ".",
        "",
        "Every image of both halves (A: 899 digits, B: 898 others, transformed); class by the "
        "digits classifier (gan_jax.classifier) after undoing B's transform.",
        "",
        "| G | " + " | ".join(keys) + " |",
        "|---" * (len(keys) + 1) + "|",
    ]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
    lines += [
        "",
        f"Picture: {FLAGS.name}_translations.png (rows: a, G_AB(a), G_BA(G_AB(a)), "
        "b, G_BA(b), G_AB(G_BA(b))).",
    ]
    # The other settings this script was run with (--name=<name>_<variant>), as they were saved.
    others = sorted(out_dir.glob(f"{FLAGS.name}_*_digits.json"))
    if others:
        lines += ["", "Other settings (their own runs of this script, `--name`):", ""]
        lines += ["| run | setting | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
        for f in others:
            saved = json.loads(f.read_text())
            m = saved["results"]["trained"]
            lines.append(
                f"| {f.stem} | {saved['setting']} | "
                + " | ".join(f"{m[k]:.3f}" for k in keys)
                + " |"
            )
    (out_dir / f"{FLAGS.name}_digits.md").write_text("\n".join(lines) + "\n")
    (out_dir / f"{FLAGS.name}_digits.json").write_text(
        json.dumps({"setting": setting, "results": rows}, indent=2) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
