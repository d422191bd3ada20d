"""4x super-resolution of MNIST: is SRGAN's PSNR below the MSE network's while its FD is better?

    python experiments/srgan_mnist5k.py [--steps=2000] [--workdir=runs] [--rows=srresnet,srgan]

Trains (seed 0; each resumes from its workdir's checkpoints) at the same budget, ``--steps`` of
batch 16 on 4000 of the mnist5k digits at 32x32 (inputs: their 8x8 area downsamplings):
SRResNet (``configs/srgan.py:srresnet``, pixel MSE, the paper's MSE network), the content loss
alone (``configs/srgan.py:features``: the embedded classifier's conv features, no critic) and
SRGAN (``configs/srgan.py``: that content loss + 1e-3 adversarial). All are measured on the 1000
held-out digits (``srgan.sr_metrics``: PSNR, SSIM, and the FD of the super-resolutions to the
true 32x32 images in the mnist5k classifier's penultimate features), with bicubic upsampling as
the reference. Writes experiments/results/srgan_mnist5k.{md,json} and srgan_mnist5k.png (rows:
low-res input, bicubic, SRResNet, features only, SRGAN, the truth; two test digits a class).
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

from configs import srgan as recipe  # noqa: E402
from gan_jax import classifier, data, plotting, train  # noqa: E402
from gan_jax.errors import GanJaxError  # noqa: E402
from gan_jax.games import srgan  # noqa: E402

flags.DEFINE_integer("steps", 2000, "Train steps of every run (batch 16).")
flags.DEFINE_integer("seed", 0, "Seed of every run.")
flags.DEFINE_list("rows", ["srresnet", "features", "srgan"], "Which networks to train.")
flags.DEFINE_string("workdir", "runs", "Parent of the run directories (resumed if present).")
flags.DEFINE_string("out", str(REPO / "experiments/results"), "Where the results go.")
FLAGS = flags.FLAGS
PER_CLASS = 2
PRESETS = {"srresnet": "srresnet", "features": "features", "srgan": None}
NAMES = {"srresnet": "SRResNet (MSE)", "features": "features only", "srgan": "SRGAN"}
KEYS = ("psnr", "ssim", "fd")


def picture(path: pathlib.Path, rows: list[np.ndarray], labels: np.ndarray) -> None:
    pick = np.concatenate([np.flatnonzero(labels == k)[:PER_CLASS] for k in range(10)])
    grid = plotting.image_grid(np.concatenate([r[pick] for r in rows]), cols=len(pick))
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 2, pil.height * 2), Image.NEAREST).save(path)


def main(argv):
    del argv
    base = recipe.get_config()
    name, res, n = base.data.name, base.data.resolution, base.data.num_examples
    images, labels = data.mnist5k_arrays(res)
    held = np.setdiff1d(np.arange(len(images)), data.subset_indices(len(images), n))
    hr, label = images[held], labels[held]
    lr = srgan.downsample(jnp.asarray(hr))
    clf = classifier.dataset_classifier(name, res)
    outputs = {"bicubic": np.asarray(srgan.bicubic(lr))}
    seconds, setting = {}, []
    for row in FLAGS.rows:
        config = recipe.get_config(PRESETS[row])
        config.train.steps, config.seed = FLAGS.steps, FLAGS.seed
        t0 = time.perf_counter()
        try:
            state = train.train_and_evaluate(config, pathlib.Path(FLAGS.workdir) / f"srgan_{row}")
        except GanJaxError as e:
            sys.exit(f"gan_jax: {e}")
        seconds[row] = time.perf_counter() - t0
        outputs[NAMES[row]] = np.asarray(jax.device_get(srgan.super_resolve(state, lr)))
        g = config.game
        setting.append(
            f"{NAMES[row]}: content {g.content!r}, adv_weight {g.adv_weight}, "
            f"wall {seconds[row]:.0f} s"
        )
    rows = {k: srgan.sr_metrics(v, hr, clf) for k, v in outputs.items()}
    rows["truth"] = srgan.sr_metrics(hr, hr, clf)
    out_dir = pathlib.Path(FLAGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    nearest = np.repeat(np.repeat(np.asarray(lr), 4, axis=1), 4, axis=2)
    picture(out_dir / "srgan_mnist5k.png", [nearest, *outputs.values(), hr], label)
    g = base.game
    header = (
        f"seed {FLAGS.seed}, {FLAGS.steps} steps of batch {base.train.batch_size} for each "
        f"network on {n} mnist5k digits at {res}x{res} from 8x8 area downsamplings; G width "
        f"{g.g_width} x {g.g_blocks} blocks, D width {g.d_width} x {g.d_stages} stages; "
        "Adam 1e-4 (0.9, 0.999); " + "; ".join(setting) + " (wall: shared CPU, ~0 if resumed)"
    )
    lines = [
        "# 4x super-resolution of mnist5k (8x8 -> 32x32): bicubic, SRResNet, SRGAN",
        "",
        header + ".",
        "",
        f"The {len(hr)} held-out digits. PSNR (dB) and SSIM against the truth ([-1, 1], range 2); "
        "FD: Frechet distance to the true 32x32 digits in the mnist5k classifier's penultimate "
        "features (gan_jax.classifier; lower is closer to real digits).",
        "",
        "| method | " + " | ".join(KEYS) + " |",
        "|---" * (len(KEYS) + 1) + "|",
    ]
    for k, m in rows.items():
        lines.append(f"| {k} | " + " | ".join(f"{m[key]:.3f}" for key in KEYS) + " |")
    lines += [
        "",
        "Picture: srgan_mnist5k.png (rows: the 8x8 input (nearest), bicubic, "
        + ", ".join(NAMES[r] for r in FLAGS.rows)
        + ", the truth; two held-out digits per class).",
    ]
    (out_dir / "srgan_mnist5k.md").write_text("\n".join(lines) + "\n")
    (out_dir / "srgan_mnist5k.json").write_text(
        json.dumps({"setting": header, "results": rows}, indent=2) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
