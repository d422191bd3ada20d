"""The trainer's checkpoint policy: start or resume a run, save it, open its input where it was.

``resume_or_init`` restores the latest readable checkpoint of the workdir (refusing config
changes that would change the state or the data, setting unreadable checkpoints aside) or
initialises the state; ``save`` writes a checkpoint unless the run has diverged (then nothing is
written and ``DivergenceError`` names the first bad step and term); ``rewind_log`` drops the
metrics.jsonl records of steps after the resumed one; ``open_host_input`` positions a host
input pipeline where the checkpoint left it.
"""

from __future__ import annotations

import builtins
import json
import pathlib

import jax
from jax.sharding import Mesh

from gan_jax import checkpointing, divergence, input_pipeline, sharding
from gan_jax.errors import DivergenceError
from gan_jax.runs import Run
from gan_jax.steps import State


def resume_or_init(run: Run, mgr, mesh: Mesh, say=builtins.print) -> tuple[State, int]:
    """The latest readable checkpoint's (state, step) if there is one, else (init, 0).

    The state is replicated over ``mesh``. Says (through ``say``) what it does: incomplete saves
    ignored, unreadable checkpoints set aside, the step resumed from and every config change
    since (refused ones raise CheckpointError).
    """
    config = run.config
    replicated = sharding.replicated(mesh)
    for name in checkpointing.incomplete_saves(pathlib.Path(mgr.directory).parent):
        say(f"  ignoring {name}: a save that was interrupted before it committed", flush=True)
    now = config.to_dict()

    def abstract_state_for(saved: dict) -> State:
        checkpointing.check_resume_config(saved, now, f"the checkpoint in {mgr.directory}")
        return run.abstract_state()

    restored = checkpointing.restore(
        mgr,
        abstract_state_for,
        log=lambda m: say(m, flush=True),
        default_sharding=replicated,
    )
    if restored is None:
        return jax.jit(run.init_state, out_shardings=replicated)(jax.random.key(config.seed)), 0
    if restored.unreadable and sharding.is_main_process():
        for path in checkpointing.set_aside(mgr, [s for s, _ in restored.unreadable]):
            say(f"  moved the unreadable checkpoint to {path}", flush=True)
    # Embedded datasets need no data state: batch `step` is a function of (data key, step).
    # A stateful pipeline restores its iterator from restored.data (open_host_input).
    say(f"  resuming from the checkpoint at step {restored.step} in {mgr.directory}", flush=True)
    for key, old, new in checkpointing.config_changes(restored.config, now):
        say(f"  config changed since that checkpoint: {key}: {old!r} -> {new!r}", flush=True)
    return restored.state, restored.step


def save(
    mgr, step: int, state: State, guard, metric_names, config, *, wait: bool = False, data=None
) -> None:
    """Save ``state`` at ``step`` unless the run has diverged (then raise DivergenceError).

    The divergence check is the host's only sync besides log steps: a non-finite metric since
    the start (the guard) or a non-finite value in the state itself means nothing is written,
    so the last good checkpoint stays the latest. Every process calls this (Orbax writes a
    multi-process checkpoint together). ``data``: a host pipeline's position (JSON), if any.
    """
    problem = divergence.describe(guard, metric_names)
    if problem is None and not bool(divergence.all_finite(state)):
        problem = f"non-finite values in the state at step {step}"
    if problem is not None:
        raise diverged(mgr, problem, step)
    checkpointing.save(mgr, step, state, config.to_dict(), data)
    if wait:
        mgr.wait_until_finished()


def diverged(mgr, problem: str, step: int) -> DivergenceError:
    """The error that stops a diverged run, naming the checkpoint that holds the last good state."""
    mgr.wait_until_finished()
    latest = mgr.latest_step()
    kept = (
        f"the latest checkpoint, step {latest} in {mgr.directory}, holds the last good state"
        if latest is not None
        else "no checkpoint had been written yet"
    )
    return DivergenceError(
        f"training diverged: {problem}; stopped at step {step} without saving it; {kept}. "
        "Lower the learning rates or change the objective, then rerun to resume from there."
    )


def rewind_log(path: pathlib.Path, step: int) -> None:
    """Drop records past ``step`` (from a run killed after its last checkpoint) before resuming.

    A line cut short by a kill is dropped too.
    """
    if not path.is_file():
        return

    def keep(line: str) -> bool:
        try:
            return json.loads(line).get("step", 0) <= step
        except json.JSONDecodeError:
            return False

    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if keep(line)]
    if len(kept) != len(lines):
        path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in kept))


def open_host_input(run: Run, mgr, start: int, say=builtins.print) -> input_pipeline.HostInput:
    """This process's iterator over a host dataset, at the position saved with step ``start``.

    The checkpoint's ``data`` item holds the position (the same on every process); a run that
    starts from scratch, or a checkpoint without one, starts at the beginning of the stream.
    """
    dc, tc = run.config.data, run.config.train
    host_input = input_pipeline.HostInput(
        run.dataset.host,
        seed=run.config.seed,
        layout=input_pipeline.Layout(tc.batch_size, run.game.batches_per_step, jax.process_count()),
        process_index=jax.process_index(),
        num_threads=dc.num_threads,
        prefetch=dc.prefetch,
    )
    saved = checkpointing.restore_data(mgr, start) if start else None
    if saved is not None:
        say("  " + host_input.restore(saved), flush=True)
    elif start:
        say(f"  input: the checkpoint at step {start} has no input position; from the start")
    return host_input


def feed(host_input: input_pipeline.HostInput, n: int, mesh: Mesh) -> dict:
    """The next ``n`` steps' batches as global arrays (leaves (n, batches per step, B, ...))."""
    return sharding.global_batch(host_input.next(n), mesh, batch_axis=2)
