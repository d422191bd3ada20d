"""Write reference statistics: ``python -m gan_jax.reference_stats --config=CFG --out=FILE.npz``.

Embeds a config's real images with the config's extractor (``eval.extractor``, as training
evaluates: gan_jax.evaluation) and writes ``mu`` (d,) and ``sigma`` (d, d), the mean and unbiased
covariance of their features, in the layout of pytorch-fid's ``--save-stats`` and TTUR's
``fid_stats_*.npz`` files, plus ``protocol``: a JSON string naming the extractor, the dataset,
its split, the number of images, the resolution and the resize, which
``python -m gan_jax.evaluate --reference_stats=FILE.npz`` copies into its record.

The real set is the evaluators' own: every image of an embedded dataset (digits, mnist5k); for
``tfds:`` and ``folder:`` data a fixed draw (key 0) of ``--num_samples`` images (default
``eval.num_samples``) from ``data.split``; a count equal to the split's size draws every image
once (e.g. ``--num_samples=50000`` for CIFAR-10's train split, as TTUR's statistics do).
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Mapping
from typing import Any

from absl import app, flags
from ml_collections import config_flags

config_flags.DEFINE_config_file(
    "config", None, "Config file whose data and eval blocks to use, e.g. configs/nsgan.py:mnist5k."
)
flags.DEFINE_string("out", None, "The .npz to write.")
flags.DEFINE_integer(
    "num_samples", None, "Real images for tfds:/folder: data; default: eval.num_samples."
)
flags.mark_flags_as_required(["config", "out"])
FLAGS = flags.FLAGS


def write_reference_stats(
    config, out: str | pathlib.Path, num_samples: int | None = None
) -> dict[str, Any]:
    """Write the statistics of ``config``'s real set to ``out``; returns the recorded protocol."""
    import numpy as np

    from gan_jax import evaluation, metrics
    from gan_jax.data import get_dataset
    from gan_jax.errors import ConfigError, GanJaxError
    from gan_jax.input_pipeline import is_host_dataset
    from gan_jax.validation import validate

    validate(config)
    eval_cfg: Mapping[str, Any] = dict(config.eval)
    if num_samples is not None:
        if num_samples < 2:
            raise ConfigError("--num_samples", num_samples, "an integer >= 2")
        eval_cfg = {**eval_cfg, "num_samples": num_samples}
    dataset = get_dataset(config.data)
    embedding = evaluation.make_embedding(dataset, eval_cfg)
    if embedding is None:
        raise GanJaxError(
            f"eval.extractor={config.eval.extractor!r} has no feature space on "
            f"data.name={config.data.name!r}; allowed: an image dataset with "
            f"{list(evaluation.CLASSIFIER_EXTRACTORS)} or 'inception_v3'"
        )
    mu, sigma = metrics.gaussian_stats(embedding.real_features)
    host = is_host_dataset(config.data.name)
    protocol = {
        **embedding.protocol,
        "dataset": config.data.name,
        "data_split": config.data.split if host else "all images (embedded)",
        "resolution": int(dataset.shape[0]),
        "count": int(len(embedding.real_features)),
        "written_by": "python -m gan_jax.reference_stats",
    }
    out = pathlib.Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as f:
            np.savez(f, mu=mu, sigma=sigma, protocol=np.array(json.dumps(protocol)))
    except OSError as e:
        raise GanJaxError(f"--out={str(out)!r} cannot be written: {e.strerror or e}") from e
    return protocol


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from gan_jax.errors import GanJaxError

    try:
        protocol = write_reference_stats(FLAGS.config, FLAGS.out, FLAGS.num_samples)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")
    print(f"wrote {FLAGS.out}: {protocol['count']} images, {json.dumps(protocol)}")


if __name__ == "__main__":
    app.run(main)
