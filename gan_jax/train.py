"""``train_and_evaluate(config, workdir)``: the training loop, and nothing else.

The loop dispatches ``train.steps_per_dispatch`` train steps per compiled call
(``gan_jax.dispatch``), real batches sampled inside the call, and copies metrics to the host only
on log steps, asynchronously, reading them once the next call is queued. The periodic work is a
list of jobs (``Job``), each with its period written once: log (``train.log_every``), checkpoint
(``checkpoint.every_steps``), samples (``train.sample_every``) and evaluation
(``eval.every_steps``); a multi-step dispatch never runs past a job's step. A game of several
stages (progressive growing, ``steps.Game.stages``) gets one compiled dispatch per stage, and no
call crosses a stage boundary. Evaluation also runs at step 0 (``eval.at_start``: the untrained
generator, the baseline) and at the end.

The workdir receives config.json (the resolved config), metrics.jsonl, tensorboard/, samples/,
eval.json (the final evaluation with its protocol, gan_jax.evaluation), curves.png and Orbax
checkpoints in checkpoints/ (gan_jax.resume, gan_jax.checkpointing). In a multi-process run
every process computes; only process 0 writes.

Fault tolerance: rerunning with the same workdir resumes from the latest readable checkpoint
(bit-identical to an uninterrupted run: the state holds every counter and key, and batch
``step`` is a function of (data key, step)); SIGTERM / SIGINT stop at the next step boundary,
save once, synchronously, and return (preemption.py); a non-finite metric or state stops the run
before anything non-finite is saved (divergence.py).
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import pathlib
import time
from collections.abc import Callable

import jax
import ml_collections
from jax.sharding import Mesh

from gan_jax import dispatch, divergence, evaluation, pictures, resume, runs, sharding
from gan_jax.checkpointing import manager
from gan_jax.errors import WorkdirError
from gan_jax.games import loss_name
from gan_jax.logger import RunLogger, format_duration
from gan_jax.preemption import PreemptionRequest
from gan_jax.runs import Run, build_run
from gan_jax.steps import State


@dataclasses.dataclass(frozen=True)
class Job:
    """Periodic host work: ``run(step)`` every ``every`` train steps (0: never in between).

    ``at_end``: whether it also runs after the last step inside the loop (log, checkpoint);
    samples and evaluation of the last step run after the loop.
    """

    name: str
    every: int
    run: Callable[[int], None]
    at_end: bool = False

    def due(self, step: int, total: int) -> bool:
        if step == total:
            return self.at_end
        return bool(self.every) and step % self.every == 0


def next_stop(jobs: list[Job], done: int, total: int) -> int:
    """The first step after ``done`` at which a job is due, or ``total``."""
    return min([total] + [(done // j.every + 1) * j.every for j in jobs if j.every])


def default_workdir(config_arg: str) -> str:
    """runs/<config file stem>, plus _<preset> when the config string names one."""
    path, _, preset = config_arg.partition(":")
    stem = pathlib.Path(path).stem
    return str(pathlib.Path("runs") / (f"{stem}_{preset}" if preset else stem))


def prepare_workdir(workdir: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(workdir)
    try:
        (path / "samples").mkdir(parents=True, exist_ok=True)
        probe = path / f".write_test_{jax.process_index()}"  # processes may share the workdir
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise WorkdirError(f"workdir={str(workdir)!r} is not writable: {e.strerror or e}") from e
    return path


def run_evaluation(run: Run, state: State, evaluator, step: int, logger: RunLogger) -> dict | None:
    """Evaluate ``state`` (``runs.evaluate``) and log the record."""
    result = runs.evaluate(run, state, evaluator)
    if result is not None:
        logger.log_eval(step, result)
    return result


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *, mesh: Mesh | None = None
) -> State:
    """Train ``config`` to ``train.steps`` train steps, writing everything to ``workdir``.

    Data parallel over ``mesh`` (default: every device of every process, ``gan_jax.sharding``);
    the numbers do not depend on the device count. In a multi-process run every process calls
    this; process 0 writes logs, metrics and samples, and all write the checkpoint together.
    """
    run = build_run(config)
    mesh = sharding.make_mesh() if mesh is None else mesh
    sharding.check_batch_size(config.train.batch_size, mesh.size)
    if run.dataset.on_host:
        run.dataset.host.records()  # a missing dataset fails here, before the workdir is made
    workdir = prepare_workdir(workdir)
    mgr = manager(workdir, config.checkpoint.max_to_keep)
    try:
        return _train(run, workdir, mgr, mesh)
    finally:
        mgr.wait_until_finished()
        mgr.close()


def _train(run: Run, workdir: pathlib.Path, mgr, mesh: Mesh) -> State:
    config = run.config
    tc, ec = config.train, config.eval
    main_process = sharding.is_main_process()
    print = builtins.print if main_process else lambda *a, **k: None  # noqa: A001
    evaluator = evaluation.make_evaluator(run.dataset, ec)  # may train the extractor (cached)
    state, start = resume.resume_or_init(run, mgr, mesh, say=print)
    host_input = resume.open_host_input(run, mgr, start, say=print) if run.dataset.on_host else None
    if main_process:
        (workdir / "config.json").write_text(config.to_json_best_effort(indent=2) + "\n")
        resume.rewind(workdir, start)
    if start >= tc.steps:
        print(
            f"gan_jax: the checkpoint at step {start} already reaches train.steps={tc.steps}: "
            "nothing to train (raise --config.train.steps to train further)",
            flush=True,
        )
        return state

    guard = jax.jit(divergence.init_guard, out_shardings=sharding.replicated(mesh))()
    dispatches: dict[tuple, Callable] = {}  # (stage, steps per call) -> its dispatch
    # Only process 0 logs (metrics.jsonl, TensorBoard, terminal); the others compute the same.
    logger = RunLogger(workdir, tc.steps, start_step=start, active=main_process)
    step_metrics, pending, saved = None, None, None
    t_last, last_logged = 0.0, start

    def write_log(step: int, logged_metrics: dict, logged_guard: divergence.Guard) -> None:
        nonlocal t_last, last_logged
        host = {k: float(v) for k, v in jax.device_get(logged_metrics).items()}
        problem = divergence.describe(logged_guard, logged_metrics)
        if problem is not None:
            raise resume.diverged(mgr, problem, step)
        now = time.perf_counter()
        rate = (step - last_logged) / max(now - t_last, 1e-9) if step > last_logged else math.nan
        t_last, last_logged = now, step
        logger.log_train(step, host, rate)

    def flush_log() -> None:
        nonlocal pending
        if pending is not None:
            write_log(*pending)
            pending = None

    def log(step: int) -> None:
        # Read once the next call is queued (or when the host syncs anyway), so the device
        # does not wait while the host formats the metrics.
        nonlocal pending
        for leaf in jax.tree.leaves(step_metrics):
            leaf.copy_to_host_async()
        pending = (step, step_metrics, guard)

    def checkpoint(step: int) -> None:
        nonlocal saved
        flush_log()
        data = None if host_input is None else host_input.state()
        # The final save is synchronous, so a signal after the loop cannot cut it off.
        resume.save(mgr, step, state, guard, step_metrics, config, wait=step == tc.steps, data=data)
        saved = step

    def samples(step: int) -> None:
        flush_log()
        pictures.write_samples(run, state, workdir, step, logger)

    def evaluate(step: int) -> None:
        flush_log()
        run_evaluation(run, state, evaluator, step, logger)

    jobs = [
        Job("log", tc.log_every, log, at_end=True),
        Job("checkpoint", config.checkpoint.every_steps, checkpoint, at_end=True),
        Job("samples", tc.sample_every, samples),
        Job("evaluate", ec.every_steps, evaluate),
    ]

    with logger, PreemptionRequest() as preemption:
        logger.message(
            f"gan_jax: {loss_name(config)} on {run.dataset.name} with {config.model.name} "
            f"({run.game.name} game), {tc.steps} steps of batch {tc.batch_size} "
            f"({_updates(run)} each) on {jax.device_count()} {jax.default_backend()} "
            f"device(s); workdir {workdir}"
        )
        if ec.at_start and start == 0:
            run_evaluation(run, state, evaluator, 0, logger)
        t_start = time.perf_counter()
        k, done = tc.steps_per_dispatch, start
        while done < tc.steps:
            # A call never crosses a job's step nor a stage boundary (a new compiled step).
            stop = min(next_stop(jobs, done, tc.steps), run.game.next_stage_start(done))
            n = k if done + k <= stop else 1
            stage = run.game.stage_of(done)
            if (stage, n) not in dispatches:
                dispatches[stage, n] = dispatch.make_dispatch(run, n, mesh, stage=stage)
            # Host datasets: this process's rows of the next n steps' batches, made global.
            fed = () if host_input is None else (resume.feed(host_input, n, mesh),)
            # Between log steps the loop only dispatches device work: the data index comes from
            # the on-device state.step, and the guard turns any implicit host transfer into an
            # error.
            with jax.transfer_guard("disallow"):
                state, guard, step_metrics = dispatches[stage, n](state, guard, *fed)
            first, done = done == start, done + n
            logger.advance(n)
            flush_log()
            if first:
                jax.block_until_ready(state)
                logger.message(
                    f"  compiled and ran step {done} in {time.perf_counter() - t_start:.1f}s"
                )
                t_last, last_logged = time.perf_counter(), done
            t_aside = time.perf_counter()
            for job in jobs:
                if job.due(done, tc.steps):
                    if preemption.requested(done) is not None and job.name != "log":
                        break  # stop at this step boundary: skip the rest of the host work
                    job.run(done)
            # Pictures and evaluations are not training time: keep them out of steps/s.
            t_last += time.perf_counter() - t_aside
            reason = preemption.requested(done)
            if reason is not None and done < tc.steps:
                flush_log()
                if saved != done:
                    checkpoint(done)
                mgr.wait_until_finished()
                logger.message(
                    f"  {reason}: saved a checkpoint at step {done} in "
                    f"{mgr.directory / str(done)}; run the same command to resume"
                )
                return state

        flush_log()
        pictures.write_samples(run, state, workdir, tc.steps, logger)
        final = run_evaluation(run, state, evaluator, tc.steps, logger)
        if final is not None and main_process:
            (workdir / "eval.json").write_text(
                json.dumps({"step": tc.steps, **final}, indent=2) + "\n"
            )
    if main_process:
        pictures.write_curves(workdir, f"{loss_name(config)} on {run.dataset.name}")
    print(
        f"  done in {format_duration(time.perf_counter() - t_start)}; "
        f"checkpoint at step {tc.steps}",
        flush=True,
    )
    return state


def _updates(run: Run) -> str:
    """What one train step does, e.g. '5 d updates + 1 g update'."""
    return " + ".join(f"{p.steps} {p.name} update{'s' * (p.steps != 1)}" for p in run.game.players)
