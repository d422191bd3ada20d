"""Subprocess side of tests/test_input_pipeline.py: gan_jax.main under tfds.testing.mock_data.

    python tests/mock_tfds_main.py --num_examples=N [--dump_batches=DIR] <gan_jax.main flags>

runs the real entry point (flags, presets, distributed start-up, error handling) with every TFDS
dataset faked by ``tfds.testing.mock_data`` (random records, no network, no prepared files).
Test only: ``--dump_batches`` writes the images this process fed to DIR/process_<i>.npy, shape
(updates, d_steps, B / P, H, W, C).
"""

from __future__ import annotations

import pathlib
import sys

import jax
import numpy as np
import tensorflow_datasets as tfds
from absl import app, flags

from gan_jax import input_pipeline
from gan_jax import main as entry

flags.DEFINE_integer("num_examples", 40, "Test only: examples per mocked TFDS split.")
flags.DEFINE_string("dump_batches", None, "Test only: where to write the images fed.")


def run(argv):
    fed = []
    next_batches = input_pipeline.HostInput.next

    def recording(self, k=1):
        batches = next_batches(self, k)
        fed.extend(np.array(x) for x in batches["x"])
        return batches

    input_pipeline.HostInput.next = recording
    with tfds.testing.mock_data(num_examples=flags.FLAGS.num_examples):
        entry.main(argv)
    if flags.FLAGS.dump_batches:
        path = pathlib.Path(flags.FLAGS.dump_batches) / f"process_{jax.process_index()}.npy"
        np.save(path, np.stack(fed))


if __name__ == "__main__":
    app.run(run, argv=sys.argv)
