"""Draw generator samples from a run's latest checkpoint into a .npy file.

    python -m gan_jax.sample --workdir=DIR [--num=N] [--out=FILE.npy] [--seed=S] [--label=C]
                             [--truncation=T]

``--out`` defaults to ``DIR/samples.npy``, beside the run's other outputs. Images come out NHWC
in [-1, 1], 2D data as (N, 2). The noise is drawn from --seed (default: the run's evaluation
noise, the one its sample pictures and eval.json use); BatchNorm runs in inference mode. Runs
that keep a generator EMA sample from it. Conditional runs draw class --label for every sample
(default: the classes in turn, 0, 1, ..., K-1, 0, ...). ``--truncation=T`` applies the
truncation trick (Brock et al. 2018): the Gaussian noise is resampled wherever |z_i| > T, or a
family that truncates itself (``models.Family.own_truncation``, StyleGAN's psi) gets T.
"""

from __future__ import annotations

import pathlib
import sys

import jax
import numpy as np
from absl import flags

from gan_jax import cli
from gan_jax.errors import GanJaxError
from gan_jax.runs import load_run, sample_images

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The CLI's flags, defined only when it runs: importing ``draw`` (experiments, tests,
    notebooks, beside gan_jax.evaluate) defines none."""
    flags.DEFINE_string("workdir", None, "Run directory holding checkpoints/.")
    flags.DEFINE_integer("num", 2500, "Number of samples.")
    flags.DEFINE_string("out", None, "Output .npy path; default: WORKDIR/samples.npy.")
    flags.DEFINE_integer("seed", None, "Noise seed; default: the run's evaluation noise.")
    flags.DEFINE_integer(
        "label", None, "Conditional runs: the class of every sample; default: all."
    )
    flags.DEFINE_float(
        "truncation", None, "Truncation trick at this threshold (> 0); default: none."
    )
    flags.mark_flags_as_required(["workdir"])


def draw(
    workdir: str | pathlib.Path,
    num: int,
    seed: int | None = None,
    labels: int | np.ndarray | None = None,
    truncation: float | None = None,
) -> np.ndarray:
    """``num`` samples of the run in ``workdir``; ``labels`` (conditional runs): one class for
    all samples, or one per sample; default: the classes in turn; ``truncation``: the
    truncation trick at that threshold (``runs.truncated``)."""
    run, state, _ = load_run(workdir)
    inputs = run.eval_inputs(num, seed, requested_labels(run, num, labels), truncation)
    return sample_images(run, state, num, inputs=inputs)


def requested_labels(run, num: int, labels: int | np.ndarray | None) -> jax.Array | None:
    """The labels to generate, checked against the run (GanJaxError on a bad request)."""
    if labels is None:
        return None
    k = run.num_classes
    if not k:
        raise GanJaxError(f"--label={labels} is not allowed: this run is not conditional")
    array = np.broadcast_to(np.asarray(labels, dtype=np.int64), (num,))
    if array.min() < 0 or array.max() >= k:
        raise GanJaxError(f"--label={labels} is not allowed; allowed: 0 <= label < {k}")
    return jax.numpy.asarray(array, dtype=jax.numpy.int32)


def main(argv):
    del argv
    if FLAGS.num <= 0:
        sys.exit(f"gan_jax: --num={FLAGS.num} is not allowed; allowed: a positive integer")
    try:
        samples = draw(FLAGS.workdir, FLAGS.num, FLAGS.seed, FLAGS.label, FLAGS.truncation)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")
    out = pathlib.Path(FLAGS.out) if FLAGS.out else pathlib.Path(FLAGS.workdir) / "samples.npy"
    np.save(out, samples)
    print(f"wrote {samples.shape} samples to {out}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
