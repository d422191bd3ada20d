"""Step-time overhead of checkpointing at the default interval, measured in one process.

    python experiments/checkpoint_overhead.py [--config=configs/default.py]
        [--rounds=2] [--segments=1] [--every=N]

Trains the config's model with the trainer's own pieces (``dispatching.make_dispatch``: the sharded
train step, batches sampled in the call and the guard update; ``resume.save``) and
alternates stretches of ``--segments`` x ``checkpoint.every_steps`` steps with and without a
checkpoint at the end of every segment. Each stretch is timed end to end, including
``wait_until_finished`` for its last save, so background writes that spill past a stretch are
charged to it (conservative). Alternating the two kinds
within one process cancels drift in machine load. Prints steps/s for both, the overhead, and
the time one save blocks the loop (the part that is not overlapped with training).
Target: overhead under 5%.
"""

from __future__ import annotations

import pathlib
import shutil
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from gan_jax import checkpointing, divergence, resume, runs, sharding  # noqa: E402
from gan_jax import dispatch as dispatching  # noqa: E402

config_flags.DEFINE_config_file("config", str(REPO / "configs/default.py"), "Config to measure.")
flags.DEFINE_integer("rounds", 2, "Pairs of (without, with) stretches.")
flags.DEFINE_integer("segments", 1, "Checkpoint intervals per stretch.")
flags.DEFINE_integer("every", None, "Override checkpoint.every_steps.")
FLAGS = flags.FLAGS


def main(argv) -> None:
    del argv
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
    config = FLAGS.config
    every = FLAGS.every or config.checkpoint.every_steps
    tc = config.train
    run = runs.build_run(config)
    mesh = sharding.make_mesh()
    replicated = sharding.replicated(mesh)
    root = jax.random.key(config.seed)
    # As in train._train: one dispatch per step (the sharded step, in-call batches, the guard).
    state = jax.jit(run.init_state, out_shardings=replicated)(root)
    dispatch = dispatching.make_dispatch(run, 1, mesh)
    guard = jax.jit(divergence.init_guard, out_shardings=replicated)()

    workdir = tempfile.mkdtemp(prefix="ckpt_overhead_")
    mgr = checkpointing.manager(workdir, config.checkpoint.max_to_keep)
    step = 0
    metrics = {}
    blocking = []

    def segment(save: bool) -> None:
        nonlocal state, guard, step, metrics
        for _ in range(every):
            state, guard, metrics = dispatch(state, guard)
            step += 1
        if save:
            # The save syncs on the divergence guard, which drains the dispatched steps; time the
            # save alone (in a real run the drain costs one step's worth of dispatch overlap).
            jax.block_until_ready(state)
            t = time.perf_counter()
            resume.save(mgr, step, state, guard, metrics, config)
            blocking.append(time.perf_counter() - t)

    # Warm-up: compile the step and pay the first save's one-off costs (Orbax threads, the
    # all-finite check's compile), which a real run pays once, not per interval.
    t = time.perf_counter()
    segment(save=False)
    jax.block_until_ready(state)
    warm_steps = time.perf_counter() - t
    t = time.perf_counter()
    resume.save(mgr, step, state, guard, metrics, config, wait=True)
    first_save = time.perf_counter() - t
    blocking.clear()

    rates = {False: [], True: []}
    for r in range(FLAGS.rounds):
        for save in (False, True) if r % 2 == 0 else (True, False):
            jax.block_until_ready(state)
            t = time.perf_counter()
            for _ in range(FLAGS.segments):
                segment(save)
            jax.block_until_ready(state)
            mgr.wait_until_finished()
            rates[save].append(FLAGS.segments * every / (time.perf_counter() - t))
            print(
                f"  round {r}: {'with' if save else 'without'} checkpoints "
                f"{rates[save][-1]:7.2f} steps/s",
                flush=True,
            )
    mgr.close()

    without, with_ = (statistics.median(rates[k]) for k in (False, True))
    print(
        f"config {config.data.name}/{config.model.name}, batch {tc.batch_size}, checkpoint every "
        f"{every} steps, {FLAGS.rounds} rounds x {FLAGS.segments * every} steps each way, "
        f"{jax.device_count()} {jax.default_backend()} device(s)"
    )
    print(f"warm-up: {every} steps incl. compile {warm_steps:.1f}s; first save {first_save:.2f}s")
    print(f"steps/s without checkpoints (median): {without:.2f}   all: {rates[False]}")
    print(f"steps/s with checkpoints    (median): {with_:.2f}   all: {rates[True]}")
    print(f"overhead: {100 * (without / with_ - 1):.2f}% of step time (target < 5%)")
    print(
        f"loop blocked per save: median {1000 * statistics.median(blocking):.0f} ms "
        f"(max {1000 * max(blocking):.0f} ms) over {len(blocking)} saves"
    )
    shutil.rmtree(workdir)


if __name__ == "__main__":
    app.run(main)
