"""Train a GAN: ``python -m gan_jax.main --config=configs/wgan.py [--workdir=DIR]``."""

import sys

from absl import app, flags
from ml_collections import config_flags

from gan_jax import train
from gan_jax.errors import GanJaxError

config_flags.DEFINE_config_file(
    "config", None, "Config file, e.g. configs/wgan.py or configs/wgan.py:ring8.", lock_config=True
)
flags.DEFINE_string("workdir", None, "Output directory; default runs/<config stem>[_<preset>].")
flags.mark_flags_as_required(["config"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    workdir = FLAGS.workdir or train.default_workdir(
        config_flags.get_config_filename(FLAGS["config"])
    )
    try:
        train.train_and_evaluate(FLAGS.config, workdir)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")


if __name__ == "__main__":
    app.run(main)
