"""The pictures of a run: sample grids, 2D scatters over the critic's field, loss curves.

``write_samples`` draws the game's samples from the run's fixed evaluation inputs: a grid of 64
for image data; for 2D data a scatter of ``eval.num_samples`` samples over the true modes and over
a contour map of the critic's raw output (logit or critic score) when the game has one
unconditional critic ``d``. Every process computes (a jit over the global state runs on all
processes); only an active logger writes.
"""

from __future__ import annotations

import json
import pathlib

import jax
import numpy as np
from PIL import Image

from gan_jax import metrics, plotting, steps
from gan_jax.logger import RunLogger
from gan_jax.runs import Run, sample_images


@jax.jit
def _critic(state: steps.State, x: jax.Array) -> jax.Array:
    return steps.apply(state, "d", x, None)


def critic_field(state: steps.State, points: np.ndarray) -> np.ndarray:
    """The critic ``d``'s raw output (logit or critic score) at ``points``, in inference mode."""
    return np.asarray(_critic(state, points))


def write_samples(
    run: Run, state: steps.State, workdir: pathlib.Path, step: int, logger: RunLogger
) -> None:
    """Write the sample picture of ``step`` to samples/ and TensorBoard."""
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
    # A conditional critic has one field per class, a packed one (PacGAN) scores packs of
    # points, not points: no contours then.
    packed = run.config.model.get("pac", 1) > 1
    plain_critic = "d" in state.nets and not run.num_classes and not packed
    field = critic_field(state, grid) if plain_critic else None
    if not logger.active:
        return
    result = metrics.mode_metrics(pts, ds.modes, ds.mode_std)
    title = (
        f"{ds.name} step {step}: {result['modes']}/{len(ds.modes)} modes, "
        f"{100 * result['hq_fraction']:.1f}% HQ; contours: D's logit / critic score"
    )
    plotting.save_scatter_2d(path, pts, ds.modes, title, field=field, field_label="D output")
    logger.log_image(step, "samples", np.asarray(Image.open(path).convert("RGB")))


def write_curves(workdir: pathlib.Path, title: str = "") -> None:
    """curves.png from the run's metrics.jsonl (losses and evaluation metrics)."""
    path = workdir / "metrics.jsonl"
    if path.is_file():
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        plotting.save_curves(workdir / "curves.png", records, title)
