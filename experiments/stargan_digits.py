"""Does one StarGAN over four digit domains translate as well as a CycleGAN per pair, for less?

    python experiments/stargan_digits.py [--config=configs/stargan.py]
        [--workdir=runs/stargan_digits] [--config.train.steps=N ...]

Trains the recipe (seed 0; resumes if the workdir holds a checkpoint), then measures with the
game's headline (gan_jax/games/stargan.py) on every image of every domain of digits_domains:
class preservation of all N (N - 1) translations (the digits classifier's class after undoing
the target's transform; thicken has no inverse and is classified as it is) and the FD to the
target domain's real images on the classifier's features. Baselines on the same images: the
untrained generator (seed 0) and the true transforms (the classifier's own accuracy, the
ceiling). The per-pair CycleGANs it is compared with are the saved runs of
experiments/cyclegan_digits.py (identity <-> invert, rot90, thicken: one run each, the same
600 steps of batch 32, seed 0), read from experiments/results/cyclegan*_digits.json; their
parameter counts come from building the games. Writes experiments/results/stargan_digits.{md,json}
and stargan_translations.png (rows: the source images of each domain, then their translations
into each domain in turn).
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
from gan_jax import classifier, data, plotting, runs, train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import stargan  # noqa: E402

config_flags.DEFINE_config_file("config", str(REPO / "configs/stargan.py"), "StarGAN config.")
flags.DEFINE_string("workdir", "runs/stargan_digits", "Run directory (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the figures go.")
flags.DEFINE_string("name", "stargan", "Prefix of the result files.")
FLAGS = flags.FLAGS
PER_CLASS = 1  # columns of the picture per class and source domain
# The per-pair CycleGAN runs (experiments/cyclegan_digits.py --name=...) and their domain B.
CYCLEGANS = {"invert": "cyclegan", "rot90": "cyclegan_rot90", "thicken": "cyclegan_thicken"}


def num_params(state) -> int:
    return int(sum(np.size(x) for ms in state.nets.values() for x in jax.tree.leaves(ms.params)))


def picture(path: pathlib.Path, translate_fn, parts: list) -> None:
    """For each source domain: a row of its images, then their translations into each domain."""
    rows = []
    for i, (x, labels) in enumerate(parts):
        idx = np.concatenate([np.flatnonzero(labels == k)[:PER_CLASS] for k in range(10)])
        rows.append(x[idx])
        for j in range(len(parts)):
            rows.append(x[idx] if i == j else translate_fn(x[idx], i, j)[0])
    grid = plotting.image_grid(np.concatenate(rows), cols=10 * PER_CLASS)
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(path)


def cyclegan_params(domain_b: str) -> int:
    config = cyclegan_recipe.get_config()
    config.data.domain_b = domain_b
    run = runs.build_run(config)
    return num_params(jax.eval_shape(run.init_state, jax.random.key(0)))


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
    names = data.domain_names(config.data.domains)
    n = len(names)
    parts = data.digits_domains_arrays(config.data.resolution, config.data.domains)
    clf = classifier.digits_classifier(config.data.resolution, config.eval.cache_dir or None)

    def measure(s):
        fn = stargan.state_translator(s, n)
        return fn, stargan.translation_metrics(fn, parts, names, clf)

    fn, trained = measure(state)
    _, untrained = measure(run.init_state(jax.random.key(config.seed)))

    def exact(x, i, j):  # the true map: undo domain i's transform (where it can be), apply j's
        undo = data.domain_transform(names[i])[1] or (lambda y: y)
        return data.domain_transform(names[j])[0](undo(x)), x

    rows = {
        "StarGAN (trained)": trained,
        "untrained G": untrained,
        "true transforms": stargan.translation_metrics(exact, parts, names, clf),
    }
    out_dir = pathlib.Path(FLAGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    picture(out_dir / f"{FLAGS.name}_translations.png", fn, parts)

    # The per-pair CycleGANs between identity and each other domain (both directions).
    cyc = {}
    for domain_b, result in CYCLEGANS.items():
        f = out_dir / f"{result}_digits.json"
        if domain_b in names and f.is_file():
            saved = json.loads(f.read_text())
            m = saved["results"]["trained"]
            cyc[domain_b] = {
                "setting": saved["setting"],
                "ab": m["class_preservation_ab"],
                "ba": m["class_preservation_ba"],
                "params": cyclegan_params(domain_b),
            }
    game, steps = config.game, int(state.step)
    setting = (
        f"configs/stargan.py, seed {config.seed}, data.domains={config.data.domains!r}, "
        f"{steps} steps of batch {config.train.batch_size} ({config.train.batch_size // n} per "
        f"domain), L_adv {game.adversarial}, n_critic {config.train.d_steps}, lambda_cls "
        f"{game.cls_weight}, lambda_rec {game.rec_weight}"
        + (f", lambda_gp {game.gp_weight}" if game.adversarial == "wasserstein_gp" else "")
        + f", G width {game.g_width} x "
        f"{game.g_blocks} blocks, D width {game.d_width} x {game.d_layers} layers, targets "
        f"{game.targets!r}, Adam lr {config.optim.g.lr:g} (G) / {config.optim.d.lr:g} (D); "
        + ("resumed from the workdir's checkpoints" if resumed else f"trained in {train_s:.0f} s")
        + " (wall, shared CPU)"
    )
    params = num_params(state)
    lines = [
        f"# StarGAN on digits_domains ({config.data.domains})",
        "",
        setting + ".",
        "",
        "Every image of every domain (~450 each); class by the digits classifier "
        "(gan_jax.classifier) after undoing the target's transform (thicken: as it is); FD on "
        "the classifier's 128 features against the target domain's real images.",
        "",
        f"| G | class preservation (mean of the {n * (n - 1)} pairs) | FD (mean) | rec L1 |",
        "|---|---|---|---|",
    ]
    for name, m in rows.items():
        lines.append(
            f"| {name} | {m['class_preservation']:.3f} | {m['fd']:.1f} | {m.get('rec_l1', 0):.3f} |"
        )
    lines += ["", "Per pair (trained StarGAN: class preservation / FD):", ""]
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
    ceiling = rows["true transforms"]
    lines += [
        "",
        "Classifier ceiling per domain: "
        + ", ".join(f"{d} {ceiling[f'classifier_accuracy_{d}']:.3f}" for d in names)
        + ".",
    ]
    if cyc:
        lines += [
            "",
            "Against one CycleGAN per pair (identity <-> X), class preservation both ways:",
            "",
            "| pair | CycleGAN id->X | StarGAN id->X | CycleGAN X->id | StarGAN X->id |",
            "|---|---|---|---|---|",
        ]
        for d, c in cyc.items():
            lines.append(
                f"| identity <-> {d} | {c['ab']:.3f} | "
                f"{trained[f'class_preservation_identity_{d}']:.3f} | {c['ba']:.3f} | "
                f"{trained[f'class_preservation_{d}_identity']:.3f} |"
            )
        total = sum(c["params"] for c in cyc.values())
        lines += [
            "",
            f"Cost: StarGAN {params:,} parameters (G + D), {steps} train steps, all "
            f"{n * (n - 1)} translations; the {len(cyc)} CycleGANs {total:,} parameters "
            f"({len(cyc)} x 2 G + 2 D), {len(cyc)} x 600 train steps, "
            f"{2 * len(cyc)} of the translations.",
        ]
        lines += ["", "CycleGAN runs: " + "; ".join(c["setting"] for c in cyc.values()) + "."]
    lines += [
        "",
        f"Picture: {FLAGS.name}_translations.png (for each source domain: a row of its images, "
        "then their translations into " + ", ".join(names) + ").",
    ]
    (out_dir / f"{FLAGS.name}_digits.md").write_text("\n".join(lines) + "\n")
    payload = {"setting": setting, "params": params, "results": rows, "cyclegans": cyc}
    (out_dir / f"{FLAGS.name}_digits.json").write_text(json.dumps(payload, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
