"""``train_and_evaluate(config, workdir)``: data, init, the jit-ted loop, logging, checkpoints.

The loop dispatches ``train.steps_per_dispatch`` generator updates per compiled call, real batches
sampled inside the call (``make_dispatch``), and copies metrics to the host only on log steps,
asynchronously, reading them once the next call is queued. The workdir receives config.json (the
resolved config), metrics.jsonl (one JSON object per log step and per evaluation), tensorboard/
(event files: scalars and sample grids), samples/ (PNG grids for images; for 2D data, scatters over
the true modes and the discriminator's output), eval.json (the final evaluation with its
protocol, see gan_jax.evaluation), curves.png (losses and metrics against the step) and Orbax
checkpoints in checkpoints/ (checkpointing.py). Evaluation runs at step 0 (``eval.at_start``: the
untrained generator, the baseline every later number is compared with), every
``eval.every_steps`` generator updates (0: never in between) and at the end. In a multi-process
run every process computes (samples and evaluations are jit-ted over the global state); only
process 0 writes.

Fault tolerance: rerunning with the same workdir resumes from the latest readable checkpoint
(bit-identical to an uninterrupted run: the state holds every counter and key, and batch
``step`` is a function of (data key, step)); checkpoints are written asynchronously every
``checkpoint.every_steps`` and at the end; SIGTERM / SIGINT finish the step, save synchronously
and return (preemption.py); a non-finite metric or state stops the run before anything
non-finite is saved (divergence.py).
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import operator
import pathlib
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh
from PIL import Image

from gan_jax import (
    checkpointing,
    divergence,
    evaluation,
    input_pipeline,
    metrics,
    plotting,
    sharding,
    xla_cpu,
)
from gan_jax.data import Dataset, get_dataset
from gan_jax.errors import DivergenceError, GanJaxError, WorkdirError
from gan_jax.logger import RunLogger, format_duration
from gan_jax.losses import Objective, get_objective
from gan_jax.models import MODELS
from gan_jax.optim import make_optimizer
from gan_jax.preemption import PreemptionRequest
from gan_jax.steps import (
    ROLE_DATA,
    ROLE_EVAL,
    GANState,
    apply_model,
    create_state,
    generate,
    make_train_step,
)
from gan_jax.validation import validate, validate_for_dataset


@dataclasses.dataclass(frozen=True)
class Run:
    """Everything a config builds: data, objective, networks and the state initialiser."""

    config: ml_collections.ConfigDict
    dataset: Dataset
    objective: Objective
    generator: Any
    discriminator: Any

    def init_state(self, key: jax.Array) -> GANState:
        return create_state(
            key,
            generator=self.generator,
            discriminator=self.discriminator,
            g_tx=make_optimizer(self.config.optim.g),
            d_tx=make_optimizer(self.config.optim.d),
            z_dim=self.config.model.z_dim,
            sample_shape=self.dataset.shape,
            g_ema=self.ema_decay > 0,
        )

    @property
    def num_classes(self) -> int:
        """Classes a conditional model is conditioned on; 0 when unconditional."""
        return int(self.config.model.get("num_classes", 0))

    @property
    def ema_decay(self) -> float:
        """The generator EMA's decay; 0 when the run keeps no EMA."""
        return float(self.config.model.get("g_ema_decay", 0.0))

    def abstract_state(self) -> GANState:
        return jax.eval_shape(self.init_state, jax.random.key(self.config.seed))

    def fixed_noise(self, n: int) -> jax.Array:
        """The evaluation noise: the same for every sample grid of a run."""
        key = jax.random.fold_in(jax.random.key(self.config.seed), ROLE_EVAL)
        return jax.random.normal(key, (n, self.config.model.z_dim))

    def fixed_labels(self, n: int) -> jax.Array | None:
        """The evaluation labels of a conditional run: 0, 1, ..., K-1, 0, 1, ... (else None)."""
        k = self.num_classes
        return jax.numpy.arange(n, dtype=jax.numpy.int32) % k if k else None


def build_run(config: ml_collections.ConfigDict) -> Run:
    """Validate ``config`` and build its components (raises ConfigError on a bad value)."""
    validate(config)
    dataset = get_dataset(config.data)
    evaluation.resolve_extractor(dataset, config.eval.extractor)  # ConfigError if it does not fit
    validate_for_dataset(config, dataset)
    generator, discriminator = MODELS[config.model.name](config.model, dataset.shape)
    return Run(config, dataset, get_objective(config.objective), generator, discriminator)


def load_run(workdir: str | pathlib.Path, step: int | None = None) -> tuple[Run, GANState, int]:
    """(Run, state, step) of the latest readable checkpoint in ``workdir`` (or of ``step``).

    The run is rebuilt from the config saved in that checkpoint, through the same restore path
    as training's auto-resume (checkpointing.restore: falls back past unreadable steps). Lives
    here rather than in the sample CLI so that other entry points (gan_jax.evaluate) can use it
    without importing that module's absl flags.
    """
    path = pathlib.Path(workdir)
    if not (path / "config.json").is_file() and not checkpointing.checkpoint_dir(path).is_dir():
        raise GanJaxError(
            f"workdir={str(workdir)!r} has no config.json and no checkpoints/: is it a gan_jax run?"
        )

    def abstract_state_for(saved: dict):
        return build_run(ml_collections.ConfigDict(saved)).abstract_state()

    log = lambda message: print(message, file=sys.stderr)  # stdout may be piped
    restored = checkpointing.load(workdir, abstract_state_for, step=step, log=log)
    return build_run(ml_collections.ConfigDict(restored.config)), restored.state, restored.step


def sample_batches(dataset: Dataset, d_steps: int, batch_size: int, key, step) -> dict:
    """The real batches of generator update ``step``: leaves of shape (d_steps, B, ...)."""
    flat = dataset.sample(jax.random.fold_in(key, step), d_steps * batch_size)
    return jax.tree.map(lambda a: a.reshape(d_steps, batch_size, *a.shape[1:]), flat)


# Model families whose multi-update dispatch is a rolled lax.scan; all others are unrolled.
ROLLED_MODELS = ("mlp", "pacgan_mlp")


def make_dispatch(
    run: Run, steps_per_dispatch: int = 1, mesh: Mesh | None = None, *, jit: bool = True
) -> Callable[..., tuple[GANState, divergence.Guard, dict]]:
    """``(state, guard) -> (state, guard, metrics)``: ``steps_per_dispatch`` generator updates.

    The trainer's one compiled call. Each update samples its real batches inside the call from
    the run's data key and ``state.step``, as ``sample_batches`` does, then runs
    ``steps.train_step`` and folds its metrics into the divergence guard, so k updates per call
    give the numbers of k calls of one and no host work sits between updates. The state is
    donated; the metrics are the last update's. With a ``mesh`` the call is data parallel as
    ``make_train_step``'s step is, and each device samples only its shard of the batches.

    MLPs loop with a rolled lax.scan (one compiled body whatever k). Convnets are unrolled into
    k copies: XLA:CPU keeps convolution gradients on its fast kernels only outside while loops
    (see ``steps.train_step``), so a rolled loop would be many times slower; their compile time
    grows with k (experiments/README.md).

    Host datasets (``run.dataset.on_host``: TFDS, image folders) cannot be sampled in the graph;
    their dispatch is ``(state, guard, batches) -> ...`` with the k updates' batches stacked on
    the host (leaves (k, d_steps, B, ...), split over the mesh along B): one transfer per call,
    so k > 1 still saves the per-call overhead, at the cost of k updates of input in memory.

    ``jit=False`` returns the pure function, with an optional fourth argument ``seed`` (default
    ``config.seed``) whose data stream it samples: ``jax.vmap`` over states, guards and seeds
    trains several seeds in one program (experiments/mode_collapse_2d.py).
    """
    tc = run.config.train
    fed = run.dataset.on_host
    step_fn = make_train_step(
        run.objective,
        run.config.model.z_dim,
        jit=False,
        mesh=mesh,
        num_classes=run.num_classes,
        ema_decay=run.ema_decay,
    )
    layout = None if mesh is None else sharding.batch_sharding(mesh, batch_axis=1)
    rolled = run.config.model.name in ROLLED_MODELS

    def update(state, guard, batches=None, seed=run.config.seed):
        if batches is None:
            data_key = jax.random.fold_in(jax.random.key(seed), ROLE_DATA)
            batches = sample_batches(run.dataset, tc.d_steps, tc.batch_size, data_key, state.step)
        if layout is not None:
            batches = jax.lax.with_sharding_constraint(batches, layout)
        state, metrics = step_fn(state, batches)
        return state, divergence.update_guard(guard, metrics, state.step), metrics

    def dispatch(state, guard, fed_batches=None, seed=run.config.seed):
        if rolled and steps_per_dispatch > 1:

            def body(carry, batches):
                state, guard, metrics = update(*carry, batches, seed)
                return (state, guard), metrics

            (state, guard), metrics = jax.lax.scan(
                body, (state, guard), fed_batches, length=steps_per_dispatch
            )
            return state, guard, jax.tree.map(lambda m: m[-1], metrics)
        for i in range(steps_per_dispatch):
            # Update i's slice of the fed batches (None stays None: the batches are sampled).
            batches = jax.tree.map(operator.itemgetter(i), fed_batches)
            state, guard, metrics = update(state, guard, batches, seed)
        return state, guard, metrics

    if not jit:
        return dispatch
    devices = jax.devices() if mesh is None else mesh.devices.flat
    options = xla_cpu.compiler_options(tc, devices)
    if mesh is None:
        return jax.jit(dispatch, donate_argnums=0, compiler_options=options)
    rep = sharding.replicated(mesh)
    in_shardings = (rep, rep, sharding.batch_sharding(mesh, batch_axis=2)) if fed else (rep, rep)
    return jax.jit(
        dispatch,
        in_shardings=in_shardings,
        out_shardings=(rep, rep, rep),
        donate_argnums=0,
        compiler_options=options,
    )


def next_stop(config: ml_collections.ConfigDict, done: int) -> int:
    """The first step after ``done`` at which the loop needs the state on the host side.

    Log, sample, evaluation and checkpoint steps and the last step; a multi-update dispatch
    never runs past one.
    """
    tc = config.train
    every = (tc.log_every, tc.sample_every, config.eval.every_steps, config.checkpoint.every_steps)
    periods = [p for p in every if p]
    return min([tc.steps] + [(done // p + 1) * p for p in periods])


def sample_images(
    run: Run, state: GANState, n: int, batch: int = 500, labels: jax.Array | None = None
) -> np.ndarray:
    """``n`` generator samples from the fixed evaluation noise, BatchNorm in inference mode.

    The EMA generator when the run keeps one (``steps.generate``). Conditional runs generate
    ``labels`` (default: the classes in turn, ``Run.fixed_labels``).
    """
    z = run.fixed_noise(n)
    if labels is None:
        labels = run.fixed_labels(n)
    gen = jax.jit(generate)
    return np.concatenate(
        [
            np.asarray(
                gen(state, z[i : i + batch], None if labels is None else labels[i : i + batch])
            )
            for i in range(0, n, batch)
        ]
    )


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


@jax.jit
def _critic(state: GANState, x: jax.Array) -> jax.Array:
    return apply_model(state.d, state.d.params, x, False)[0]


def critic_field(state: GANState, points: np.ndarray) -> np.ndarray:
    """The discriminator's raw output (logit or critic score) at ``points``, in inference mode."""
    return np.asarray(_critic(state, points))


def write_samples(
    run: Run, state: GANState, workdir: pathlib.Path, step: int, logger: RunLogger
) -> None:
    """Write the sample picture of ``step`` to samples/ and TensorBoard.

    Every process computes the samples (a jit over the global state runs on all processes);
    only process 0 (``logger.active``) writes.
    """
    ds = run.dataset
    path = workdir / "samples" / f"step_{step:07d}.png"
    if ds.is_image:
        images = sample_images(run, state, 64)
        if logger.active:
            plotting.save_image_grid(path, images)
            logger.log_image(step, "samples", plotting.image_grid(images))
        return
    pts = sample_images(run, state, run.config.eval.num_samples)
    _, _, grid = plotting.field_grid(ds.modes)
    # A conditional critic has one field per class: no contours then.
    field = None if run.num_classes else critic_field(state, grid)
    if not logger.active:
        return
    result = metrics.mode_metrics(pts, ds.modes, ds.mode_std)
    title = (
        f"{ds.name} step {step}: {result['modes']}/{len(ds.modes)} modes, "
        f"{100 * result['hq_fraction']:.1f}% HQ; contours: D's logit / critic score"
    )
    plotting.save_scatter_2d(path, pts, ds.modes, title, field=field, field_label="D output")
    logger.log_image(step, "samples", np.asarray(Image.open(path).convert("RGB")))


def run_evaluation(
    run: Run, state: GANState, evaluator: evaluation.Evaluator | None, step: int, logger: RunLogger
) -> dict | None:
    """Evaluate ``state`` on the run's fixed evaluation noise and log the record."""
    if evaluator is None:
        return None
    result = evaluator(sample_images(run, state, evaluator.num_samples))
    logger.log_eval(step, result)
    return result


def write_curves(workdir: pathlib.Path, title: str = "") -> None:
    """curves.png from the run's metrics.jsonl (losses and evaluation metrics)."""
    path = workdir / "metrics.jsonl"
    if path.is_file():
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        plotting.save_curves(workdir / "curves.png", records, title)


def _rewind_log(path: pathlib.Path, step: int) -> None:
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


def resume_or_init(
    run: Run, mgr, workdir: pathlib.Path, mesh: Mesh, say=builtins.print
) -> tuple[GANState, int]:
    """The latest readable checkpoint's (state, step) if ``workdir`` has one, else (init, 0).

    The state is replicated over ``mesh``. Says (through ``say``) what it does: incomplete saves
    ignored, unreadable checkpoints set aside, the step resumed from and every config change
    since (refused ones raise CheckpointError).
    """
    config = run.config
    replicated = sharding.replicated(mesh)
    for name in checkpointing.incomplete_saves(workdir):
        say(f"  ignoring {name}: a save that was interrupted before it committed", flush=True)
    now = config.to_dict()

    def abstract_state_for(saved: dict) -> GANState:
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
    # A stateful pipeline restores its iterator from restored.data here.
    say(f"  resuming from the checkpoint at step {restored.step} in {mgr.directory}", flush=True)
    for key, old, new in checkpointing.config_changes(restored.config, now):
        say(f"  config changed since that checkpoint: {key}: {old!r} -> {new!r}", flush=True)
    return restored.state, restored.step


def save_checkpoint(
    mgr, step: int, state: GANState, guard, metric_names, config, *, wait: bool = False, data=None
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
        raise _diverged(mgr, problem, step)
    checkpointing.save(mgr, step, state, config.to_dict(), data)
    if wait:
        mgr.wait_until_finished()


def _diverged(mgr, problem: str, step: int) -> DivergenceError:
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


def open_host_input(run: Run, mgr, start: int, say=builtins.print) -> input_pipeline.HostInput:
    """This process's iterator over a host dataset, at the position saved with step ``start``.

    The checkpoint's ``data`` item holds the position (the same on every process); a run that
    starts from scratch, or a checkpoint without one, starts at the beginning of the stream.
    """
    dc, tc = run.config.data, run.config.train
    host_input = input_pipeline.HostInput(
        run.dataset.host,
        seed=run.config.seed,
        layout=input_pipeline.Layout(tc.batch_size, tc.d_steps, jax.process_count()),
        process_index=jax.process_index(),
        num_threads=dc.get("num_threads", 4),
        prefetch=dc.get("prefetch", 8),
    )
    saved = checkpointing.restore_data(mgr, start) if start else None
    if saved is not None:
        say("  " + host_input.restore(saved), flush=True)
    elif start:
        say(f"  input: the checkpoint at step {start} has no input position; from the start")
    return host_input


def feed(host_input: input_pipeline.HostInput, n: int, mesh: Mesh) -> dict:
    """The next ``n`` updates' batches as global arrays (leaves (n, d_steps, B, ...))."""
    return sharding.global_batch(host_input.next(n), mesh, batch_axis=2)


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *, mesh: Mesh | None = None
) -> GANState:
    """Train ``config`` to ``train.steps`` generator updates, writing everything to ``workdir``.

    Data parallel over ``mesh`` (default: every device of every process, ``gan_jax.sharding``);
    the numbers do not depend on the device count. In a multi-process run every process calls
    this; process 0 writes logs, metrics and samples, and all write the checkpoint together.
    Resumes from the latest checkpoint in ``workdir`` if there is one; checkpoints every
    ``checkpoint.every_steps`` and at the end; a preemption (SIGTERM / SIGINT) saves and
    returns early.
    """
    run = build_run(config)
    mesh = sharding.make_mesh() if mesh is None else mesh
    sharding.check_batch_size(config.train.batch_size, mesh.size)
    if run.dataset.on_host:
        run.dataset.host.records()  # a missing dataset fails here, before the workdir is made
    workdir = prepare_workdir(workdir)
    mgr = checkpointing.manager(workdir, config.checkpoint.max_to_keep)
    try:
        return _train(run, workdir, mgr, mesh)
    finally:
        mgr.wait_until_finished()
        mgr.close()


def _train(run: Run, workdir: pathlib.Path, mgr, mesh: Mesh) -> GANState:
    config = run.config
    tc, ec = config.train, config.eval
    main_process = sharding.is_main_process()
    print = builtins.print if main_process else lambda *a, **k: None  # noqa: A001
    evaluator = evaluation.make_evaluator(run.dataset, ec)  # may train the extractor (cached)
    state, start = resume_or_init(run, mgr, workdir, mesh, say=print)
    host_input = open_host_input(run, mgr, start, say=print) if run.dataset.on_host else None
    if main_process:
        (workdir / "config.json").write_text(config.to_json_best_effort(indent=2) + "\n")
    if start >= tc.steps:
        print(
            f"gan_jax: the checkpoint at step {start} already reaches train.steps={tc.steps}: "
            "nothing to train (raise --config.train.steps to train further)",
            flush=True,
        )
        return state

    replicated = sharding.replicated(mesh)
    guard = jax.jit(divergence.init_guard, out_shardings=replicated)()
    # Updates per call -> its compiled dispatch; one-update calls only where k does not fit.
    dispatches: dict[int, Callable] = {}

    if main_process:
        _rewind_log(workdir / "metrics.jsonl", start)
    # Only process 0 logs (metrics.jsonl, TensorBoard, terminal); the others compute the same.
    logger = RunLogger(workdir, tc.steps, start_step=start, active=main_process)
    with logger, PreemptionRequest() as preemption:
        logger.message(
            f"gan_jax: {config.objective.name} on {run.dataset.name} with {config.model.name}, "
            f"{tc.steps} steps of batch {tc.batch_size} ({tc.d_steps} critic steps each) "
            f"on {jax.device_count()} {jax.default_backend()} device(s); workdir {workdir}"
        )
        if ec.at_start and start == 0:
            run_evaluation(run, state, evaluator, 0, logger)
        t_start = t_last = time.perf_counter()
        last_logged = start

        def log(done: int, step_metrics: dict, guard: divergence.Guard) -> None:
            nonlocal t_last, last_logged
            host = {k: float(v) for k, v in jax.device_get(step_metrics).items()}
            problem = divergence.describe(guard, step_metrics)
            if problem is not None:
                raise _diverged(mgr, problem, done)
            now = time.perf_counter()
            rate = (
                (done - last_logged) / max(now - t_last, 1e-9) if done > last_logged else math.nan
            )
            t_last, last_logged = now, done
            logger.log_train(done, host, rate)

        k, done, pending = tc.steps_per_dispatch, start, None
        while done < tc.steps:
            n = k if done + k <= next_stop(config, done) else 1
            if n not in dispatches:
                dispatches[n] = make_dispatch(run, n, mesh)
            # Host datasets: this process's rows of the next n updates' batches, made global.
            fed = () if host_input is None else (feed(host_input, n, mesh),)
            # Between log steps the loop only dispatches device work: the data index comes from
            # the on-device state.step, and the guard turns any implicit host transfer into an
            # error.
            with jax.transfer_guard("disallow"):
                state, guard, step_metrics = dispatches[n](state, guard, *fed)
            first, done = done == start, done + n
            logger.advance(n)
            if pending is not None:
                # A log step's metrics are read once the next call is queued, so the device
                # does not wait while the host formats them.
                log(*pending)
                pending = None
            if first:
                jax.block_until_ready(state)
                logger.message(
                    f"  compiled and ran step {done} in {time.perf_counter() - t_start:.1f}s"
                )
                t_last, last_logged = time.perf_counter(), done
            if done % tc.log_every == 0 or done == tc.steps:
                for leaf in jax.tree.leaves(step_metrics):
                    leaf.copy_to_host_async()
                pending = (done, step_metrics, guard)
            reason = preemption.requested(done)
            save = done % config.checkpoint.every_steps == 0 or done == tc.steps
            sample = tc.sample_every and done % tc.sample_every == 0 and done != tc.steps
            evaluate = ec.every_steps and done % ec.every_steps == 0 and done != tc.steps
            if pending is not None and (reason is not None or save or sample or evaluate):
                log(*pending)  # these steps sync the host anyway
                pending = None
            data = None if host_input is None else host_input.state()
            if reason is not None:
                save_checkpoint(mgr, done, state, guard, step_metrics, config, wait=True, data=data)
                logger.message(
                    f"  {reason}: saved a checkpoint at step {done} in "
                    f"{mgr.directory / str(done)}; run the same command to resume"
                )
                return state
            if save:
                # The final save is synchronous, so a signal after the loop cannot cut it off.
                save_checkpoint(
                    mgr, done, state, guard, step_metrics, config, wait=done == tc.steps, data=data
                )
            t_aside = time.perf_counter()
            if sample:
                write_samples(run, state, workdir, done, logger)
            if evaluate:
                run_evaluation(run, state, evaluator, done, logger)
            # Pictures and evaluations are not training time: keep them out of steps/s.
            t_last += time.perf_counter() - t_aside

        write_samples(run, state, workdir, tc.steps, logger)
        final = run_evaluation(run, state, evaluator, tc.steps, logger)
        if final is not None and main_process:
            (workdir / "eval.json").write_text(
                json.dumps({"step": tc.steps, **final}, indent=2) + "\n"
            )
    if main_process:
        write_curves(workdir, f"{config.objective.name} on {run.dataset.name}")
    print(
        f"  done in {format_duration(time.perf_counter() - t_start)}; "
        f"checkpoint at step {tc.steps}",
        flush=True,
    )
    return state
