"""ComboGAN on four digit domains: any-to-any translation, and its cost against the domains.

    python experiments/combogan_digits.py [--config=configs/combogan.py]
        [--workdir=runs/combogan_digits] [--config.train.steps=N ...]

Counts the parameters of ComboGAN for N = 2, 3, 4 domains of digits_domains (by building the
game: no training), with those of one CycleGAN per pair (N (N - 1) / 2 of configs/cyclegan.py)
and of one StarGAN (configs/stargan.py) for comparison. Then trains the recipe (seed 0, four
domains; resumes if the workdir holds a checkpoint) and measures all 12 translations with
``stargan.translation_metrics``: class preservation by the digits classifier (target's
transform undone; thicken as it is), FD in the target domain on the classifier's features, the
cycle error. Baselines: the untrained networks (seed 0) and the true transforms. Writes
experiments/results/combogan_digits.{md,json} and combogan_translations.png (for each source
domain: a row of its images, then their translations into each domain).
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402
from PIL import Image  # noqa: E402

from configs import cyclegan as cyclegan_recipe  # noqa: E402
from configs import stargan as stargan_recipe  # noqa: E402
from gan_jax import classifier, data, plotting, runs, train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import combogan, stargan  # noqa: E402

config_flags.DEFINE_config_file("config", str(REPO / "configs/combogan.py"), "ComboGAN config.")
flags.DEFINE_string("workdir", "runs/combogan_digits", "Run directory (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the figures go.")
flags.DEFINE_string("name", "combogan", "Prefix of the result files.")
FLAGS = flags.FLAGS
DOMAINS = ["identity", "invert", "rot90", "thicken"]


def num_params(config) -> int:
    state = jax.eval_shape(runs.build_run(config).init_state, jax.random.key(0))
    return int(sum(np.size(x) for ms in state.nets.values() for x in jax.tree.leaves(ms.params)))


def picture(path: pathlib.Path, translate_fn, parts: list) -> None:
    rows = []
    for i, (x, labels) in enumerate(parts):
        idx = np.concatenate([np.flatnonzero(labels == k)[:1] for k in range(10)])
        rows.append(x[idx])
        for j in range(len(parts)):
            rows.append(x[idx] if i == j else translate_fn(x[idx], i, j)[0])
    grid = plotting.image_grid(np.concatenate(rows), cols=10)
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(path)


def costs(config) -> list[dict]:
    """Parameters against the number of domains: ComboGAN, one CycleGAN per pair, StarGAN."""
    rows = []
    cycle = cyclegan_recipe.get_config()
    per_pair = num_params(cycle)
    for n in (2, 3, 4):
        domains = ",".join(DOMAINS[:n])
        combo = config.copy_and_resolve_references()
        combo.data.domains, combo.train.batch_size = domains, 12
        star = stargan_recipe.get_config()
        star.data.domains, star.train.batch_size = domains, 12
        rows.append(
            {
                "domains": n,
                "combogan": num_params(combo),
                "cyclegans": per_pair * n * (n - 1) // 2,
                "stargan": num_params(star),
            }
        )
    return rows


def main(argv):
    del argv
    config = FLAGS.config
    cost = costs(config)
    resumed = (pathlib.Path(FLAGS.workdir) / "checkpoints").is_dir()
    t0 = time.perf_counter()
    try:
        state = train.train_and_evaluate(config, FLAGS.workdir)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")
    train_s = time.perf_counter() - t0
    run = runs.build_run(config)
    names = data.domain_names(config.data.domains)
    n = len(names)
    parts = data.digits_domains_arrays(config.data.resolution, config.data.domains)
    clf = classifier.digits_classifier(config.data.resolution, config.eval.cache_dir or None)
    fn = combogan.state_translator(state)
    trained = stargan.translation_metrics(fn, parts, names, clf)
    untrained = stargan.translation_metrics(
        combogan.state_translator(run.init_state(jax.random.key(config.seed))), parts, names, clf
    )

    def exact(x, i, j):
        undo = data.domain_transform(names[i])[1] or (lambda y: y)
        return data.domain_transform(names[j])[0](undo(x)), x

    rows = {
        "ComboGAN (trained)": trained,
        "untrained": untrained,
        "true transforms": stargan.translation_metrics(exact, parts, names, clf),
    }
    out_dir = pathlib.Path(FLAGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    picture(out_dir / f"{FLAGS.name}_translations.png", fn, parts)
    game = config.game
    setting = (
        f"configs/combogan.py, seed {config.seed}, data.domains={config.data.domains!r}, "
        f"{int(state.step)} steps of batch {config.train.batch_size}, cycle_weight "
        f"{game.cycle_weight}, encoders width {game.g_width} x {game.enc_blocks} blocks, decoders "
        f"{game.dec_blocks} blocks, D width {game.d_width} x {game.d_layers} layers; "
        + ("resumed from the workdir's checkpoints" if resumed else f"trained in {train_s:.0f} s")
        + " (wall, shared CPU)"
    )
    lines = [
        f"# ComboGAN on digits_domains ({config.data.domains})",
        "",
        "Parameters against the number of domains N (built, not trained; data.domains = the "
        f"first N of {DOMAINS}):",
        "",
        "| N | ComboGAN | increment | one CycleGAN per pair | StarGAN |",
        "|---|---|---|---|---|",
    ]
    for k, c in enumerate(cost):
        inc = "-" if not k else f"{c['combogan'] - cost[k - 1]['combogan']:,}"
        lines.append(
            f"| {c['domains']} | {c['combogan']:,} | {inc} | {c['cyclegans']:,} | "
            f"{c['stargan']:,} |"
        )
    lines += [
        "",
        setting + ".",
        "",
        "All 12 translations, every image of every domain; class by the digits classifier after "
        "undoing the target's transform (thicken: as it is); FD on its features.",
        "",
        "| networks | class preservation (mean of 12 pairs) | FD (mean) | cycle L1 |",
        "|---|---|---|---|",
    ]
    for name, m in rows.items():
        lines.append(
            f"| {name} | {m['class_preservation']:.3f} | {m['fd']:.1f} | {m['rec_l1']:.3f} |"
        )
    lines += ["", "Per pair (trained: class preservation / FD):", ""]
    lines += ["| from \\ to | " + " | ".join(names) + " |", "|---" * (n + 1) + "|"]
    for i in range(n):
        cells = [
            "-"
            if i == j
            else f"{trained[f'class_preservation_{names[i]}_{names[j]}']:.3f} / "
            f"{trained[f'fd_{names[i]}_{names[j]}']:.0f}"
            for j in range(n)
        ]
        lines.append(f"| {names[i]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Picture: {FLAGS.name}_translations.png (for each source domain: a row of its images, "
        "then their translations into " + ", ".join(names) + ").",
    ]
    (out_dir / f"{FLAGS.name}_digits.md").write_text("\n".join(lines) + "\n")
    payload = {"setting": setting, "params": cost, "results": rows}
    (out_dir / f"{FLAGS.name}_digits.json").write_text(json.dumps(payload, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
