"""Paired translation: does pix2pix beat unpaired CycleGAN on error against the truth, and is L1
alone blurrier than L1 + cGAN?

    python experiments/pix2pix_digits.py [--domain_b=rot90] [--steps=600] [--workdir=runs]

Trains (seed 0; each resumes from its workdir's checkpoints) at the same budget, ``--steps`` of
batch 32 on the same domain pair (``data.domain_b``):
pix2pix (``configs/pix2pix.py``: U-Net, conditional PatchGAN, cGAN + 100 L1), its L1-only
ablation (``configs/pix2pix.py:l1``) and CycleGAN (``configs/cyclegan.py``: the unpaired method,
which never sees a pair). All are measured on the same 898 held-out test pairs of
digits_paired (``pix2pix.paired_metrics``: class preservation by the digits classifier, L1 and
PSNR against the true target, FD to the true targets in the target domain, the sharpness
ratio), with the identity map and the true transform as references. Writes
experiments/results/pix2pix_<domain_b>_digits.{md,json} and pix2pix_<domain_b>_translations.png
(rows: input, true target, pix2pix, L1 only, CycleGAN; two test images of each class).
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
from PIL import Image  # noqa: E402

from configs import cyclegan as cyclegan_recipe  # noqa: E402
from configs import pix2pix as pix2pix_recipe  # noqa: E402
from gan_jax import classifier, data, plotting, train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import cyclegan, pix2pix  # noqa: E402

flags.DEFINE_string("domain_b", "rot90", "The domain pair: data.domain_b of every run.")
flags.DEFINE_integer("steps", 600, "Train steps of every run (batch 32).")
flags.DEFINE_integer("seed", 0, "Seed of every run.")
flags.DEFINE_string("workdir", "runs", "Parent of the run directories (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the results go.")
FLAGS = flags.FLAGS
PER_CLASS = 2
KEYS = ("class_preservation", "l1", "psnr", "fd_target", "sharpness")


def configs(domain_b: str, steps: int, seed: int) -> dict:
    out = {
        "pix2pix": pix2pix_recipe.get_config(),
        "L1 only": pix2pix_recipe.get_config("l1"),
        "CycleGAN": cyclegan_recipe.get_config(),
    }
    for c in out.values():
        c.data.domain_b, c.train.steps, c.seed = domain_b, steps, seed
    return out


def picture(path: pathlib.Path, rows: list[np.ndarray], labels: np.ndarray) -> None:
    pick = np.concatenate([np.flatnonzero(labels == k)[:PER_CLASS] for k in range(10)])
    grid = plotting.image_grid(np.concatenate([r[pick] for r in rows]), cols=len(pick))
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(path)


def main(argv):
    del argv
    domain_b = FLAGS.domain_b
    _, test = data.digits_paired_arrays(16, domain_b)
    a, b, label = test
    clf = classifier.digits_classifier(16)
    outputs, seconds = {}, {}
    for name, config in configs(domain_b, FLAGS.steps, FLAGS.seed).items():
        workdir = pathlib.Path(FLAGS.workdir) / f"{name.replace(' ', '_').lower()}_{domain_b}"
        if name == "pix2pix":
            workdir = pathlib.Path(FLAGS.workdir) / f"pix2pix_{domain_b}"
        elif name == "L1 only":
            workdir = pathlib.Path(FLAGS.workdir) / f"pix2pix_l1_{domain_b}"
        t0 = time.perf_counter()
        try:
            state = train.train_and_evaluate(config, workdir)
        except GanJaxError as e:
            sys.exit(f"gan_jax: {e}")
        seconds[name] = time.perf_counter() - t0
        if name == "CycleGAN":
            fake = cyclegan.translate(state, jnp.asarray(a), jnp.asarray(b))["fake_b"]
        else:
            fake = pix2pix.translate(state, jnp.asarray(a))
        outputs[name] = np.asarray(jax.device_get(fake))
    rows = {name: pix2pix.paired_metrics(out, test, clf, domain_b) for name, out in outputs.items()}
    rows["identity map"] = pix2pix.paired_metrics(a, test, clf, domain_b)
    rows["true transform"] = pix2pix.paired_metrics(b, test, clf, domain_b)
    out_dir = pathlib.Path(FLAGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"pix2pix_{domain_b}"
    picture(out_dir / f"{stem}_translations.png", [a, b, *outputs.values()], label)
    setting = (
        f"seed {FLAGS.seed}, data.domain_b={domain_b!r}, {FLAGS.steps} steps of batch 32 for each "
        "method (pix2pix: configs/pix2pix.py, L1 only: configs/pix2pix.py:l1, CycleGAN: "
        "configs/cyclegan.py); wall seconds of this call (0-ish when resumed): "
        + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
    )
    lines = [
        f"# pix2pix vs CycleGAN vs L1 only on digits_paired ({domain_b})",
        "",
        setting + ".",
        "",
        "All 898 held-out test pairs (a, T(a)) of digits_paired (no method trained on them; "
        "CycleGAN's domain B held their targets, unpaired). Class by the digits classifier "
        "after undoing T; FD to the true targets in the classifier's features after undoing T; "
        "sharpness: Laplacian energy of the outputs over that of the true targets.",
        "",
        "| translator | " + " | ".join(KEYS) + " |",
        "|---" * (len(KEYS) + 1) + "|",
    ]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")
    lines += [
        "",
        f"Picture: {stem}_translations.png (rows: input a, true target T(a), pix2pix, L1 only, "
        "CycleGAN G_AB; two test images per class).",
    ]
    (out_dir / f"{stem}_digits.md").write_text("\n".join(lines) + "\n")
    (out_dir / f"{stem}_digits.json").write_text(
        json.dumps({"setting": setting, "results": rows}, indent=2) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
