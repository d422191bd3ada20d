"""The study scripts' shared pieces: a run trained or loaded from its workdir, the held-out
digits they reconstruct, and a picture of rows of digits (bigan_digits.py, vaegan_digits.py,
cogan_digits.py)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
from PIL import Image

from gan_jax import classifier, data, plotting, runs, train

PER_CLASS = 2


def held_out_examples(resolution: int) -> np.ndarray:
    """The first PER_CLASS held-out digits of each class."""
    images, labels = data.digits_arrays(resolution)
    _, test_idx = classifier.split_indices(len(images))
    pick = [test_idx[labels[test_idx] == k][:PER_CLASS] for k in range(10)]
    return images[np.concatenate(pick)]


def save_rows(path: pathlib.Path, rows: list[np.ndarray]) -> None:
    grid = plotting.image_grid(np.concatenate(rows), cols=len(rows[0]))
    pil = Image.fromarray(grid[..., 0])
    pil.resize((pil.width * 4, pil.height * 4), Image.NEAREST).save(path)


def trained(config, workdir: pathlib.Path):
    """(run, final state) of ``config`` in ``workdir``: loaded if it finished, else trained."""
    done = workdir / "eval.json"
    if done.is_file() and json.loads(done.read_text())["step"] == config.train.steps:
        run, state, _ = runs.load_run(workdir)
        return run, state
    state = train.train_and_evaluate(config, workdir)
    return runs.build_run(config), state
