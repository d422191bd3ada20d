"""Draw generator samples from a run's latest checkpoint into a .npy file.

    python -m gan_jax.sample --workdir=DIR --num=N --out=FILE.npy [--seed=S]

Images come out NHWC in [-1, 1], 2D data as (N, 2). The noise is drawn from --seed (default: the
run's evaluation noise, the one its sample pictures and eval.json use); BatchNorm runs in
inference mode.
"""

from __future__ import annotations

import pathlib
import sys

import jax
import numpy as np
from absl import app, flags

from gan_jax.errors import GanJaxError
from gan_jax.steps import generate
from gan_jax.train import load_run, sample_images  # noqa: F401  (load_run: public here too)

flags.DEFINE_string("workdir", None, "Run directory holding checkpoints/.")
flags.DEFINE_integer("num", 2500, "Number of samples.")
flags.DEFINE_string("out", None, "Output .npy path.")
flags.DEFINE_integer("seed", None, "Noise seed; default: the run's evaluation noise.")
FLAGS = flags.FLAGS


def draw(workdir: str | pathlib.Path, num: int, seed: int | None = None) -> np.ndarray:
    run, state, _ = load_run(workdir)
    if seed is None:
        return sample_images(run, state, num)
    z = jax.random.normal(jax.random.key(seed), (num, run.config.model.z_dim))
    return np.asarray(jax.jit(generate)(state, z))


def main(argv):
    del argv
    if FLAGS.num <= 0:
        sys.exit(f"gan_jax: --num={FLAGS.num} is not allowed; allowed: a positive integer")
    try:
        samples = draw(FLAGS.workdir, FLAGS.num, FLAGS.seed)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")
    np.save(FLAGS.out, samples)
    print(f"wrote {samples.shape} samples to {FLAGS.out}")


if __name__ == "__main__":
    # Required only for the CLI: importing draw / load_run (experiments do) must not demand them.
    flags.mark_flags_as_required(["workdir", "out"])
    app.run(main)
