"""Train a GAN: ``python -m gan_jax.main --config=configs/wgan.py [--workdir=DIR]``.

The same command runs on one CPU, on every GPU of a host, and on every host of a TPU pod or
cluster (docs/parallel.md): multi-host runs start JAX's runtime with ``--distributed``
(default 'auto': on when JAX detects a TPU pod, SLURM, Open MPI or Kubernetes job, or when the
manual flags ``--coordinator_address``, ``--num_processes``, ``--process_id`` are given).
"""

import sys

from absl import app, flags
from ml_collections import config_flags

from gan_jax import cli, sharding, train
from gan_jax.errors import GanJaxError

config_flags.DEFINE_config_file(
    "config", None, "Config file, e.g. configs/wgan.py or configs/wgan.py:ring8.", lock_config=True
)
flags.DEFINE_string("workdir", None, "Output directory; default runs/<config stem>[_<preset>].")
flags.DEFINE_enum(
    "distributed",
    "auto",
    list(sharding.DISTRIBUTED_MODES),
    "Start jax.distributed (multi-host): 'auto' when a cluster is detected or the flags below "
    "are given, 'on' always, 'off' never.",
)
flags.DEFINE_string("coordinator_address", None, "Multi-host: host:port of process 0.")
flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
flags.DEFINE_integer("process_id", None, "Multi-host: this process's index, 0..num_processes-1.")
flags.mark_flags_as_required(["config"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    workdir = FLAGS.workdir or train.default_workdir(
        config_flags.get_config_filename(FLAGS["config"])
    )
    try:
        sharding.initialize_distributed(
            FLAGS.distributed, FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id
        )
        train.train_and_evaluate(FLAGS.config, workdir)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")


if __name__ == "__main__":
    cli.run(main)
