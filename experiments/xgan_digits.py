"""XGAN's semantic consistency: does the shared embedding of x and of its translation agree, and
does that keep the digit? The recipe with and without the semantic-consistency loss.

    python experiments/xgan_digits.py [--config=configs/xgan.py] [--workdir=runs/xgan_digits]
        [--sem_weights=1.0,0.0] [--config.train.steps=N ...]

Trains configs/xgan.py once per ``game.sem_weight`` (seed 0, the same budget; workdirs
<workdir>_sem<w>, resumed if they hold checkpoints) and measures on every image of both halves
of digits_unpaired with the game's headline (gan_jax/games/xgan.py): class preservation A -> B
(the digits classifier after undoing B's transform) and B -> A, FD in the target domain on the
classifier's features, and the semantic gap E|e_B(g_B(e_A(a))) - e_A(a)|_1 / E|e_A(a)|_1 (and
B -> A). Baseline: the untrained networks (seed 0). Writes experiments/results/xgan_digits.{md,json}
and xgan_translations.png (per setting, rows: a, g_B(e_A(a)), b, g_A(e_B(b))).
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
from gan_jax.games import xgan  # noqa: E402

config_flags.DEFINE_config_file("config", str(REPO / "configs/xgan.py"), "XGAN config.")
flags.DEFINE_string("workdir", "runs/xgan_digits", "Prefix of the run directories.")
flags.DEFINE_list("sem_weights", ["1.0", "0.0"], "game.sem_weight of each run.")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the figures go.")
flags.DEFINE_string("name", "xgan", "Prefix of the result files.")
FLAGS = flags.FLAGS
KEYS = ["class_preservation_ab", "class_preservation_ba", "fd_ab", "fd_ba"]
KEYS += ["semantic_gap_ab", "semantic_gap_ba"]


def main(argv):
    del argv
    base = FLAGS.config
    domain_b = base.data.domain_b
    domains = a, label_a, b, label_b = data.digits_unpaired_arrays(base.data.resolution, domain_b)
    clf = classifier.digits_classifier(base.data.resolution, base.eval.cache_dir or None)
    idx_a = np.concatenate([np.flatnonzero(label_a == k)[:2] for k in range(10)])
    idx_b = np.concatenate([np.flatnonzero(label_b == k)[:2] for k in range(10)])

    def measure(state):
        out = jax.device_get(xgan.translate(state, jnp.asarray(a), jnp.asarray(b)))
        return out, xgan.translation_metrics(out, clf, domains, domain_b)

    rows, settings, picture_rows = {}, {}, []
    for w in FLAGS.sem_weights:
        config = base.copy_and_resolve_references()
        config.game.sem_weight = float(w)
        workdir = f"{FLAGS.workdir}_sem{w}"
        resumed = (pathlib.Path(workdir) / "checkpoints").is_dir()
        t0 = time.perf_counter()
        try:
            state = train.train_and_evaluate(config, workdir)
        except GanJaxError as e:
            sys.exit(f"gan_jax: {e}")
        train_s = time.perf_counter() - t0
        out, rows[f"sem_weight {w}"] = measure(state)
        settings[f"sem_weight {w}"] = (
            "resumed" if resumed else f"trained in {train_s:.0f} s (wall, shared CPU)"
        )
        picture_rows += [a[idx_a], out["fake_b"][idx_a], b[idx_b], out["fake_a"][idx_b]]
    run = runs.build_run(base)
    _, rows["untrained"] = measure(run.init_state(jax.random.key(base.seed)))
    out_dir = pathlib.Path(FLAGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = plotting.image_grid(np.concatenate(picture_rows), cols=len(idx_a))
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(
        out_dir / f"{FLAGS.name}_translations.png"
    )
    game = base.game
    setting = (
        f"configs/xgan.py, seed {base.seed}, data.domain_b={domain_b!r}, {base.train.steps} steps "
        f"of batch {base.train.batch_size} per run, rec {game.rec_weight}, dann "
        f"{game.dann_weight}, gan {game.gan_weight}, embedding {game.embed_dim}, width "
        f"{game.width}, D width {game.d_width} x {game.d_layers} layers"
    )
    lines = [
        f"# XGAN on digits_unpaired ({domain_b}): semantic consistency on and off",
        "",
        setting + "; " + "; ".join(f"{k}: {v}" for k, v in settings.items()) + ".",
        "",
        "Every image of both halves (A: 899 digits, B: 898 others, transformed); class by the "
        "digits classifier after undoing B's transform; FD on its features against the target "
        "domain's real images; semantic gap = E|e(translation) - e(source)|_1 / E|e(source)|_1.",
        "",
        "| run | " + " | ".join(KEYS) + " |",
        "|---" * (len(KEYS) + 1) + "|",
    ]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")
    lines += [
        "",
        f"Picture: {FLAGS.name}_translations.png (for each sem_weight in "
        f"{FLAGS.sem_weights}, rows: a, g_B(e_A(a)), b, g_A(e_B(b))).",
    ]
    (out_dir / f"{FLAGS.name}_digits.md").write_text("\n".join(lines) + "\n")
    payload = {"setting": setting, "runs": settings, "results": rows}
    (out_dir / f"{FLAGS.name}_digits.json").write_text(json.dumps(payload, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
