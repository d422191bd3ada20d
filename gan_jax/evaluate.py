"""Evaluate a run's latest checkpoint: ``python -m gan_jax.evaluate --workdir=DIR``.

Draws ``--num_samples`` samples (default: the run's ``eval.num_samples``) from the run's fixed
evaluation noise, evaluates them with the run's protocol (gan_jax.evaluation) and writes the
record, protocol included, to ``--out`` (default ``DIR/eval.json``, which the end of training
also writes). ``--reference_stats=FILE.npz`` (``mu``, ``sigma`` of the extractor's features, as
pytorch-fid's ``--save-stats``, TTUR's ``fid_stats_*.npz`` and ``python -m
gan_jax.reference_stats`` store them) adds ``reference_frechet_distance`` against that file.
"""

from __future__ import annotations

import json
import pathlib
import sys

from absl import app, flags

from gan_jax import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The CLI's flags, defined only when it runs: importing ``evaluate_checkpoint`` defines
    none (so it imports beside gan_jax.sample)."""
    flags.DEFINE_string("workdir", None, "Run directory holding config.json and checkpoints/.")
    flags.DEFINE_integer(
        "num_samples", None, "Generated samples; default: the run's eval.num_samples."
    )
    flags.DEFINE_string("out", None, "Output JSON; default: WORKDIR/eval.json.")
    flags.DEFINE_string(
        "reference_stats",
        None,
        "An .npz of reference feature statistics (mu, sigma): also report the Frechet distance "
        "to it.",
    )
    flags.mark_flags_as_required(["workdir"])


def evaluate_checkpoint(
    workdir: str | pathlib.Path,
    num_samples: int | None = None,
    reference_stats: str | pathlib.Path | None = None,
) -> dict:
    """The evaluation record of the latest checkpoint in ``workdir`` (``{'step': ..., ...}``).

    ``reference_stats``: a stats file to compare with as well (``reference_frechet_distance``).
    """
    from gan_jax import evaluation, runs
    from gan_jax.errors import GanJaxError

    # Read the stats file first: a bad one is reported before the run is loaded.
    reference = evaluation.load_reference_stats(reference_stats) if reference_stats else None
    run, state, step = runs.load_run(workdir)
    if reference is not None and not run.dataset.is_image:
        raise GanJaxError(
            f"--reference_stats={str(reference_stats)!r} is not allowed with "
            f"data.name={run.config.data.name!r}; allowed: only for image datasets"
        )
    eval_cfg = dict(run.config.eval)
    if num_samples is not None:
        eval_cfg["num_samples"] = num_samples
    evaluator = evaluation.make_evaluator(run.dataset, eval_cfg, reference)
    record = runs.evaluate(run, state, evaluator)
    if record is None:
        raise GanJaxError(
            f"data.name={run.config.data.name!r} has no evaluation protocol "
            f"(eval.extractor={run.config.eval.extractor!r})"
        )
    return {"step": int(step), **record}


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from gan_jax.errors import GanJaxError

    if FLAGS.num_samples is not None and FLAGS.num_samples < 2:
        sys.exit(
            f"gan_jax: --num_samples={FLAGS.num_samples} is not allowed; allowed: an integer >= 2"
        )
    try:
        record = evaluate_checkpoint(FLAGS.workdir, FLAGS.num_samples, FLAGS.reference_stats)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")
    workdir = pathlib.Path(FLAGS.workdir)
    out = pathlib.Path(FLAGS.out) if FLAGS.out else workdir / "eval.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    numbers = "  ".join(
        f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, (int, float)) and k != "step"
    )
    print(f"step {record['step']}: {numbers}")
    print(f"protocol: {json.dumps(record['protocol'])}")
    print(f"wrote {out}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
