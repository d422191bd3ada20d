"""Subprocess side of tests/test_input_pipeline.py: gan_jax.main under tfds.testing.mock_data.

    python tests/mock_tfds_main.py --num_examples=N <gan_jax.main flags>

runs the real entry point (flags, presets, error handling) with every TFDS dataset faked by
``tfds.testing.mock_data`` (random records, no network, no prepared files).
"""

from __future__ import annotations

import sys

import tensorflow_datasets as tfds
from absl import app, flags

from gan_jax import main as entry

flags.DEFINE_integer("num_examples", 40, "Test only: examples per mocked TFDS split.")


def run(argv):
    with tfds.testing.mock_data(num_examples=flags.FLAGS.num_examples):
        entry.main(argv)


if __name__ == "__main__":
    app.run(run, argv=sys.argv)
