"""Input pipeline throughput beside the train step's consumption, in images per second.

    python experiments/input_pipeline.py [--config=configs/default.py:cifar10] [--updates=40]
        [--steps=10] [--examples=2000] [--threads=4] [--source=mock,folder]

Three numbers for the config (default: the ``cifar10`` preset, DCGAN width 64 at 32x32x3,
global batch 64):

- pipeline: ``input_pipeline.HostInput.next`` alone, the process's batches of ``--updates``
  generator updates after a warm-up (grain threads: ``data.num_threads``, overridden by
  ``--threads``), for each ``--source``:
  ``mock``: the config's TFDS dataset under ``tfds.testing.mock_data`` (``--examples`` random
  records generated on read, no ArrayRecord reads and no PNG decoding: TFDS's mock hands over
  decoded arrays), and ``folder``: ``--examples`` random PNGs of the dataset's stored size
  written to a temp folder and read through ``folder:`` (PIL decodes each PNG: the per-image
  work a prepared TFDS dataset also does, minus the ArrayRecord read);
- train step: the trainer's fed dispatch (``dispatching.make_dispatch``) on batches already on the
  device, ``--steps`` updates after compiling;
- both: the trainer's loop body, ``resume.feed`` then the dispatch, so the pipeline's threads and
  the step share the CPU as they do in training.

Images per second counts real images consumed: batch_size * d_steps per generator update.
No network: nothing here reads a real copy of CIFAR-10 (this machine has none).
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402
from PIL import Image  # noqa: E402

from gan_jax import dispatch as dispatching  # noqa: E402
from gan_jax import divergence, input_pipeline, resume, runs, sharding  # noqa: E402
from gan_jax.data import get_dataset  # noqa: E402

config_flags.DEFINE_config_file(
    "config", str(REPO / "configs/default.py") + ":cifar10", "Config to measure."
)
flags.DEFINE_integer("updates", 40, "Generator updates' batches timed per pipeline measurement.")
flags.DEFINE_integer("steps", 10, "Train steps timed (after compiling).")
flags.DEFINE_integer("examples", 2000, "Records in the mock dataset / the generated folder.")
flags.DEFINE_integer("threads", None, "Override data.num_threads.")
flags.DEFINE_list("source", ["mock", "folder"], "Pipelines to time: mock (TFDS), folder (PNGs).")
FLAGS = flags.FLAGS


def make_input(config) -> input_pipeline.HostInput:
    tc, dc = config.train, config.data
    return input_pipeline.HostInput(
        get_dataset(dc).host,
        seed=config.seed,
        layout=input_pipeline.Layout(tc.batch_size, tc.d_steps, jax.process_count()),
        process_index=jax.process_index(),
        num_threads=dc.num_threads,
        prefetch=dc.prefetch,
    )


def images_per_update(config) -> int:
    return config.train.batch_size * config.train.d_steps


def time_pipeline(config, updates: int) -> float:
    host_input = make_input(config)
    host_input.next(2)  # warm-up: open the files, start the threads
    t = time.perf_counter()
    for _ in range(updates):
        host_input.next(1)
    return updates * images_per_update(config) / (time.perf_counter() - t)


def write_folder(root: pathlib.Path, n: int, shape: tuple[int, ...]) -> None:
    """``n`` random PNGs of ``shape`` (the dataset's stored size), in 10 class folders."""
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / f"class_{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(pixels[..., 0] if shape[-1] == 1 else pixels).save(folder / f"{i}.png")


def time_training(config, steps: int) -> tuple[float, float, float]:
    """(compile seconds, step-alone images/s, feed-and-step images/s)."""
    run = runs.build_run(config)
    mesh = sharding.make_mesh()
    replicated = sharding.replicated(mesh)
    state = jax.jit(run.init_state, out_shardings=replicated)(jax.random.key(config.seed))
    guard = jax.jit(divergence.init_guard, out_shardings=replicated)()
    dispatch = dispatching.make_dispatch(run, 1, mesh)
    host_input = make_input(config)
    batches = resume.feed(host_input, 1, mesh)
    t = time.perf_counter()
    state, guard, metrics = dispatch(state, guard, batches)
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - t

    t = time.perf_counter()
    for _ in range(steps):
        state, guard, metrics = dispatch(state, guard, batches)
    jax.block_until_ready(metrics)
    alone = steps * images_per_update(config) / (time.perf_counter() - t)

    t = time.perf_counter()
    for _ in range(steps):
        state, guard, metrics = dispatch(state, guard, resume.feed(host_input, 1, mesh))
    jax.block_until_ready(metrics)
    both = steps * images_per_update(config) / (time.perf_counter() - t)
    return compile_s, alone, both


def main(argv) -> None:
    del argv
    logging.set_verbosity(logging.ERROR)  # tfds warns about mock metadata on every builder
    config = FLAGS.config
    if FLAGS.threads is not None:
        config.data.num_threads = FLAGS.threads
    tc = config.train
    print(
        f"{config.data.name} at {config.data.resolution}px, {config.model.name} width "
        f"{config.model.width}, batch {tc.batch_size} x {tc.d_steps} critic step(s); "
        f"grain threads {config.data.num_threads}, prefetch {config.data.prefetch}; "
        f"{jax.device_count()} {jax.default_backend()} device(s)",
        flush=True,
    )
    with tfds.testing.mock_data(num_examples=FLAGS.examples):
        # The stored image size (e.g. 32x32x3), before the pipeline's crop and resize.
        name = config.data.name.removeprefix(input_pipeline.TFDS_PREFIX)
        stored_shape = tfds.builder(name).info.features["image"].shape
        rows = []
        if "mock" in FLAGS.source:
            rate = time_pipeline(config, FLAGS.updates)
            rows.append((f"pipeline, {name} (TFDS mock, {FLAGS.examples} records)", rate))
        if "folder" in FLAGS.source:
            with tempfile.TemporaryDirectory() as tmp:
                write_folder(pathlib.Path(tmp), FLAGS.examples, stored_shape)
                folder = config.copy_and_resolve_references()
                folder.data.name = f"{input_pipeline.FOLDER_PREFIX}{tmp}"
                rate = time_pipeline(folder, FLAGS.updates)
            rows.append((f"pipeline, folder of {FLAGS.examples} PNGs {stored_shape}", rate))
        compile_s, alone, both = time_training(config, FLAGS.steps)
    rows.append((f"train step alone (compiled in {compile_s:.1f}s)", alone))
    rows.append(("train step fed by the mock pipeline", both))
    width = max(len(r[0]) for r in rows)
    for label, rate in rows:
        print(f"  {label:<{width}}  {rate:9.0f} images/s", flush=True)


if __name__ == "__main__":
    app.run(main)
