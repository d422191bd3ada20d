"""``train_and_evaluate(config, workdir)``: data, init, the jit-ted loop, logging, checkpoints.

The loop dispatches one compiled train step per generator update and copies metrics to the host
only on log steps. The workdir receives config.json (the resolved config), metrics.jsonl (one
JSON object per log step and per evaluation), tensorboard/ (event files: scalars and sample
grids), samples/ (PNG grids for images; for 2D data, scatters over the true modes and the
discriminator's output), eval.json (the final evaluation with its protocol, see
gan_jax.evaluation), curves.png (losses and metrics against the step) and an Orbax checkpoint of
the final state in checkpoints/. Evaluation runs at step 0 (``eval.at_start``: the untrained
generator, the baseline every later number is compared with), every ``eval.every_steps``
generator updates (0: never in between) and at the end. In a multi-process run every process
computes (samples and evaluations are jit-ted over the global state); only process 0 writes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import time
from typing import Any

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh
from PIL import Image

from gan_jax import checkpointing, evaluation, metrics, plotting, sharding
from gan_jax.data import Dataset, get_dataset
from gan_jax.errors import GanJaxError, WorkdirError
from gan_jax.logger import RunLogger, format_duration
from gan_jax.losses import Objective, get_objective
from gan_jax.models import MODELS
from gan_jax.optim import make_optimizer
from gan_jax.steps import (
    ROLE_DATA,
    ROLE_EVAL,
    GANState,
    apply_model,
    create_state,
    generate,
    make_train_step,
)
from gan_jax.validation import validate


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
        )

    def abstract_state(self) -> GANState:
        return jax.eval_shape(self.init_state, jax.random.key(self.config.seed))

    def fixed_noise(self, n: int) -> jax.Array:
        """The evaluation noise: the same for every sample grid of a run."""
        key = jax.random.fold_in(jax.random.key(self.config.seed), ROLE_EVAL)
        return jax.random.normal(key, (n, self.config.model.z_dim))


def build_run(config: ml_collections.ConfigDict) -> Run:
    """Validate ``config`` and build its components (raises ConfigError on a bad value)."""
    validate(config)
    dataset = get_dataset(config.data)
    evaluation.resolve_extractor(dataset, config.eval.extractor)  # ConfigError if it does not fit
    generator, discriminator = MODELS[config.model.name](config.model, dataset.shape)
    return Run(config, dataset, get_objective(config.objective), generator, discriminator)


def load_run(workdir: str | pathlib.Path) -> tuple[Run, GANState, int]:
    """(Run, state, step) of the latest checkpoint in ``workdir`` (config from its config.json).

    Lives here rather than in the sample CLI so that other entry points (gan_jax.evaluate) can
    use it without importing that module's absl flags.
    """
    cfg_path = pathlib.Path(workdir) / "config.json"
    if not cfg_path.is_file():
        raise GanJaxError(f"workdir={str(workdir)!r} has no config.json: is it a gan_jax run?")
    config = ml_collections.ConfigDict(json.loads(cfg_path.read_text()))
    run = build_run(config)
    state, step = checkpointing.restore_state(workdir, run.abstract_state())
    return run, state, step


def sample_batches(dataset: Dataset, d_steps: int, batch_size: int, key, step) -> dict:
    """The real batches of generator update ``step``: leaves of shape (d_steps, B, ...)."""
    flat = dataset.sample(jax.random.fold_in(key, step), d_steps * batch_size)
    return jax.tree.map(lambda a: a.reshape(d_steps, batch_size, *a.shape[1:]), flat)


def sample_images(run: Run, state: GANState, n: int, batch: int = 500) -> np.ndarray:
    """``n`` generator samples from the fixed evaluation noise, BatchNorm in inference mode."""
    z = run.fixed_noise(n)
    gen = jax.jit(generate)
    return np.concatenate([np.asarray(gen(state, z[i : i + batch])) for i in range(0, n, batch)])


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
    field = critic_field(state, grid)
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


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *, mesh: Mesh | None = None
) -> GANState:
    """Train ``config`` to ``train.steps`` generator updates, writing everything to ``workdir``.

    Data parallel over ``mesh`` (default: every device of every process, ``gan_jax.sharding``);
    the numbers do not depend on the device count. In a multi-process run every process calls
    this; process 0 writes logs, metrics and samples, and all write the checkpoint together.
    """
    run = build_run(config)
    tc, ec = config.train, config.eval
    mesh = sharding.make_mesh() if mesh is None else mesh
    sharding.check_batch_size(tc.batch_size, mesh.size)
    main_process = sharding.is_main_process()
    workdir = prepare_workdir(workdir)
    evaluator = evaluation.make_evaluator(run.dataset, config.eval)  # may train the extractor
    if main_process:
        (workdir / "config.json").write_text(config.to_json_best_effort(indent=2) + "\n")

    root = jax.random.key(config.seed)
    replicated = sharding.replicated(mesh)
    state = jax.jit(run.init_state, out_shardings=replicated)(root)
    step_fn = make_train_step(run.objective, config.model.z_dim, mesh=mesh)
    # Sampled on device; out_shardings makes each device (and process) compute only its shard.
    batch_fn = jax.jit(
        functools.partial(sample_batches, run.dataset, tc.d_steps, tc.batch_size),
        out_shardings=sharding.batch_sharding(mesh, batch_axis=1),
    )
    # A global (replicated) key: device_put cannot place host values on other processes' devices.
    data_key = jax.jit(jax.random.fold_in, out_shardings=replicated)(root, ROLE_DATA)
    mgr = checkpointing.manager(workdir, config.checkpoint.max_to_keep)

    # Only process 0 logs (metrics.jsonl, TensorBoard, terminal); the others compute the same.
    logger = RunLogger(workdir, tc.steps, active=main_process)
    logger.message(
        f"gan_jax: {config.objective.name} on {run.dataset.name} with {config.model.name}, "
        f"{tc.steps} steps of batch {tc.batch_size} ({tc.d_steps} critic steps each) "
        f"on {jax.device_count()} {jax.default_backend()} device(s); workdir {workdir}"
    )
    if ec.at_start:
        run_evaluation(run, state, evaluator, 0, logger)
    t_start = t_last = time.perf_counter()
    last_logged = 0
    for step in range(tc.steps):
        # Between log steps the loop only dispatches device work: the data index comes from the
        # on-device state.step, and the guard turns any implicit host transfer into an error.
        with jax.transfer_guard("disallow"):
            state, step_metrics = step_fn(state, batch_fn(data_key, state.step))
        done = step + 1
        logger.advance()
        if done == 1:
            jax.block_until_ready(state)
            logger.message(f"  compiled and ran step 1 in {time.perf_counter() - t_start:.1f}s")
            t_last, last_logged = time.perf_counter(), 1
        if done % tc.log_every == 0 or done == tc.steps:
            host = {k: float(v) for k, v in jax.device_get(step_metrics).items()}
            now = time.perf_counter()
            rate = (
                (done - last_logged) / max(now - t_last, 1e-9)
                if done > last_logged
                else float("nan")
            )
            logger.log_train(done, host, rate)
            t_last, last_logged = now, done
        if done == tc.steps:
            break
        t_aside = time.perf_counter()
        if tc.sample_every and done % tc.sample_every == 0:
            write_samples(run, state, workdir, done, logger)
        if ec.every_steps and done % ec.every_steps == 0:
            run_evaluation(run, state, evaluator, done, logger)
        # Pictures and evaluations are not training time: keep them out of steps/s.
        t_last += time.perf_counter() - t_aside

    write_samples(run, state, workdir, tc.steps, logger)
    final = run_evaluation(run, state, evaluator, tc.steps, logger)
    if final is not None and main_process:
        (workdir / "eval.json").write_text(json.dumps({"step": tc.steps, **final}, indent=2) + "\n")
    logger.close()
    if main_process:
        write_curves(workdir, f"{config.objective.name} on {run.dataset.name}")
    checkpointing.save(mgr, tc.steps, state, config.to_dict())
    mgr.wait_until_finished()
    mgr.close()
    if main_process:
        print(
            f"  done in {format_duration(time.perf_counter() - t_start)}; "
            f"checkpoint at step {tc.steps}",
            flush=True,
        )
    return state


def write_curves(workdir: pathlib.Path, title: str = "") -> None:
    """curves.png from the run's metrics.jsonl (losses and evaluation metrics)."""
    path = workdir / "metrics.jsonl"
    if path.is_file():
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        plotting.save_curves(workdir / "curves.png", records, title)
