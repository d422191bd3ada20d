"""Paired translation: does pix2pix beat unpaired CycleGAN on error against the truth, and is L1
alone blurrier than L1 + cGAN?

    python experiments/pix2pix_digits.py [--domain_b=rot90] [--steps=600] [--workdir=runs]
    python experiments/pix2pix_digits.py --domain_a=occlude --domain_b=identity --seeds=0,1,2
    python experiments/pix2pix_digits.py --data=mnist5k_paired --domain_a=occlude \
        --domain_b=identity --seeds=0,1,2   # the same on the 32x32 MNIST digits

Trains (each resumes from its workdir's checkpoints) at the same budget, ``--steps`` of batch
32 on the same domain pair (``data.domain_a`` -> ``data.domain_b``), once per seed of
``--seeds``:
pix2pix (``configs/pix2pix.py``: U-Net, conditional PatchGAN, cGAN + 100 L1), its L1-only
ablation (``configs/pix2pix.py:l1``) and CycleGAN (``configs/cyclegan.py``: the unpaired method,
which never sees a pair). All are measured on the same 898 held-out test pairs of
digits_paired (``pix2pix.paired_metrics``: class preservation by the digits classifier, L1 and
PSNR against the true target, FD to the true targets in the target domain, the sharpness
ratio), with the identity map and the true transform as references. A lossy source
(``--domain_a=occlude``: inpaint the lower half; ``lowres``: 4x super-resolution) makes the
target ambiguous, the setting of the paper's claim that L1 alone blurs; CycleGAN is then left
out. Writes experiments/results/pix2pix_<pair>_digits.{md,json} and pix2pix_<pair>_translations.png
(<pair>: domain_b, or <domain_a>_to_<domain_b>; rows: input, true target, pix2pix, L1 only,
CycleGAN; two test images of each class, first seed).
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
from experiments import study_runs  # noqa: E402
from gan_jax import classifier, data, plotting, train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import cyclegan, pix2pix  # noqa: E402

flags.DEFINE_string("domain_b", "rot90", "The target's transform T: data.domain_b of every run.")
flags.DEFINE_string(
    "domain_a",
    "identity",
    "The source's transform S (data.domain_a of the paired runs): 'occlude' or 'lowres' with "
    "--domain_b=identity make the target ambiguous (CycleGAN is then not run: its unpaired data "
    "have no source transform).",
)
flags.DEFINE_enum(
    "data",
    "digits_paired",
    ["digits_paired", "mnist5k_paired"],
    "The paired dataset: the 16x16 digits, or the 32x32 MNIST digits (U-Net depth 5: down to "
    "1x1, as at 16 px with depth 4; CycleGAN is then not run: its unpaired data are the digits).",
)
flags.DEFINE_integer("steps", 600, "Train steps of every run (batch 32).")
flags.DEFINE_string("seeds", "0", "Comma-separated seeds; every method runs once per seed.")
flags.DEFINE_string("workdir", "runs", "Parent of the run directories (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the results go.")
FLAGS = flags.FLAGS
PER_CLASS = 2
KEYS = ("class_preservation", "l1", "psnr", "fd_target", "sharpness")
DIGITS = {"class_preservation": 3, "l1": 3, "psnr": 1, "fd_target": 1, "sharpness": 2}


def configs(
    domain_b: str, steps: int, seed: int, domain_a: str = "identity", dataset="digits_paired"
) -> dict:
    out = {
        "pix2pix": pix2pix_recipe.get_config(),
        "L1 only": pix2pix_recipe.get_config("l1"),
    }
    if domain_a == "identity" and dataset == "digits_paired":
        out["CycleGAN"] = cyclegan_recipe.get_config()
    for c in out.values():
        c.data.domain_b, c.train.steps, c.seed = domain_b, steps, seed
    for name in ("pix2pix", "L1 only"):
        out[name].data.domain_a = domain_a
        if dataset == "mnist5k_paired":
            out[name].data.name, out[name].data.resolution = dataset, 32
            out[name].game.g_depth = 5
    return out


def picture(path: pathlib.Path, rows: list[np.ndarray], labels: np.ndarray) -> None:
    pick = np.concatenate([np.flatnonzero(labels == k)[:PER_CLASS] for k in range(10)])
    grid = plotting.image_grid(np.concatenate([r[pick] for r in rows]), cols=len(pick))
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(path)


def run_dir(name: str, pair: str, seed: int) -> pathlib.Path:
    stem = {"pix2pix": "pix2pix", "L1 only": "pix2pix_l1"}.get(name, name.lower())
    suffix = "" if seed == 0 else f"_seed{seed}"
    return pathlib.Path(FLAGS.workdir) / f"{stem}_{pair}{suffix}"


def main(argv):
    del argv
    domain_a, domain_b = FLAGS.domain_a, FLAGS.domain_b
    seeds = [int(s) for s in FLAGS.seeds.split(",")]
    # The run names of one pair: the target's transform alone when the source is the digit.
    pair = domain_b if domain_a == "identity" else f"{domain_a}_to_{domain_b}"
    base = data.PAIRED_SOURCES[FLAGS.data]
    if base != "digits":
        pair = f"{base}_{pair}"
    resolution = 16 if base == "digits" else 32
    try:
        _, test = data.digits_paired_arrays(resolution, domain_b, domain_a, base)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")
    a, b, label = test
    clf = classifier.dataset_classifier(base, resolution)
    rows, seconds, pictures = [], {}, {}
    for seed in seeds:
        for name, config in configs(domain_b, FLAGS.steps, seed, domain_a, FLAGS.data).items():
            t0 = time.perf_counter()
            try:
                state = train.train_and_evaluate(config, run_dir(name, pair, seed))
            except GanJaxError as e:
                sys.exit(f"gan_jax: {e}")
            seconds[f"{name} (seed {seed})"] = time.perf_counter() - t0
            if name == "CycleGAN":
                fake = cyclegan.translate(state, jnp.asarray(a), jnp.asarray(b))["fake_b"]
            else:
                fake = pix2pix.translate(state, jnp.asarray(a))
            fake = np.asarray(jax.device_get(fake))
            if seed == seeds[0]:
                pictures[name] = fake
            m = pix2pix.paired_metrics(fake, test, clf, domain_b)
            rows.append({"arm": name, "seed": seed, **m})
    arms = [*pictures, "identity map", "true transform"]
    for name, images in (("identity map", a), ("true transform", b)):
        rows.append(
            {"arm": name, "seed": "-", **pix2pix.paired_metrics(images, test, clf, domain_b)}
        )
    out_dir = pathlib.Path(FLAGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"pix2pix_{pair}"
    picture(out_dir / f"{stem}_translations.png", [a, b, *pictures.values()], label)
    setting = (
        f"seeds {seeds}, data.name={FLAGS.data!r} at {resolution} px, data.domain_a={domain_a!r}, "
        f"data.domain_b={domain_b!r}, "
        f"{FLAGS.steps} steps of batch 32 for each method (pix2pix: configs/pix2pix.py, L1 "
        "only: configs/pix2pix.py:l1"
        + (", CycleGAN: configs/cyclegan.py" if "CycleGAN" in pictures else "")
        + "); wall seconds of this call (0-ish when resumed): "
        + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
    )
    columns = [(k, k, DIGITS[k]) for k in KEYS]
    lines = [
        f"# pix2pix vs L1 only on {FLAGS.data} ({domain_a} -> {domain_b})",
        "",
        setting + ".",
        "",
        f"All {len(a)} held-out test pairs (S(x), T(x)) of {FLAGS.data} (no method trained on "
        "them; CycleGAN's domain B held their targets, unpaired). Class by the "
        f"{base} classifier "
        "after undoing T; FD to the true targets in the classifier's features after undoing T; "
        "sharpness: Laplacian energy of the outputs over that of the true targets. Mean +- s.e. "
        "over the seeds; 'identity map' outputs the source itself.",
        "",
        *study_runs.arm_table(rows, arms, columns),
        "",
        "Per seed:",
        "",
        "| translator | seed | " + " | ".join(KEYS) + " |",
        "|---" * (len(KEYS) + 2) + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['arm']} | {r['seed']} | "
            + " | ".join(f"{r[k]:.{DIGITS[k]}f}" for k in KEYS)
            + " |"
        )
    lines += [
        "",
        f"Picture: {stem}_translations.png (rows: input a, true target, "
        + ", ".join(pictures)
        + f"; seed {seeds[0]}; two test images per class).",
    ]
    (out_dir / f"{stem}_digits.md").write_text("\n".join(lines) + "\n")
    (out_dir / f"{stem}_digits.json").write_text(
        json.dumps({"setting": setting, "results": rows}, indent=2) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
