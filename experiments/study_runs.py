"""The study scripts' shared pieces: a run trained or loaded from its workdir, the held-out
digits they reconstruct, a picture of rows of digits (bigan_digits.py, vaegan_digits.py,
cogan_digits.py), and the mean +- standard error cells, per-arm tables and paired seed
comparisons of the seed studies."""

from __future__ import annotations

import json
import pathlib

import numpy as np
from PIL import Image
from scipy import stats

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


def mean_se(values, digits: int) -> str:
    """'mean +- s.e.' (ddof 1) of ``values`` at ``digits`` decimals; the value alone for one."""
    a = np.asarray(values, np.float64)
    if len(a) == 1:
        return f"{a[0]:.{digits}f}"
    return f"{a.mean():.{digits}f} +- {a.std(ddof=1) / np.sqrt(len(a)):.{digits}f}"


def arm_table(rows: list[dict], arms, columns) -> list[str]:
    """Markdown lines: one row per arm (its seeds, then ``mean_se`` of each ``columns`` entry
    (key, title, digits) over the arm's ``rows``; '-' where none has the key)."""
    lines = [
        "| arm | seeds | " + " | ".join(title for _, title, _ in columns) + " |",
        "| --- | --- |" + " ---: |" * len(columns),
    ]
    for arm in arms:
        mine = [r for r in rows if r["arm"] == arm]
        cells = []
        for key, _, digits in columns:
            values = [r[key] for r in mine if key in r]
            cells.append(mean_se(values, digits) if values else "-")
        seeds = ",".join(str(r["seed"]) for r in mine)
        lines.append(f"| `{arm}` | {seeds} | " + " | ".join(cells) + " |")
    return lines


def paired(rows: list[dict], base: str, arm: str, key: str = "frechet_distance") -> str | None:
    """``arm`` minus ``base`` on ``key``, seed by seed over the seeds both have: mean +- s.e.,
    the paired t statistic and its two-sided p (scipy's ttest_rel); None under 2 seeds."""
    by = {(r["arm"], r["seed"]): r[key] for r in rows}
    seeds = sorted(s for a, s in by if a == arm and (base, s) in by)
    if len(seeds) < 2:
        return None
    a, b = np.array([by[(arm, s)] for s in seeds]), np.array([by[(base, s)] for s in seeds])
    d = a - b
    se = d.std(ddof=1) / np.sqrt(len(d))
    t, p = stats.ttest_rel(a, b)
    lower = int(np.sum(d < 0))
    return (
        f"`{arm}` - `{base}`, {key}, paired over {len(d)} seeds: {d.mean():+.2f} +- {se:.2f} "
        f"(t = {t:.2f}, {len(d) - 1} d.f., two-sided p = {p:.3f}); lower on {lower} of {len(d)}."
    )
