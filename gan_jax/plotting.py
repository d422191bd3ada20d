"""Pictures of a run: image sample grids, 2D samples over the true modes and D, training curves.

- ``save_image_grid``: NHWC samples in [-1, 1] as one PNG grid (a run writes one per sample step,
  so the grids over time show training progress).
- ``save_scatter_2d``: 2D samples over the mixture means, optionally over a filled contour map of
  the discriminator's output on a grid (where D separates real from fake, and how sharply).
- ``save_curves``: losses and evaluation metrics against the step, read from metrics.jsonl
  records, one panel per group, written at the end of a run.

matplotlib runs with the Agg backend (no display needed).
"""

from __future__ import annotations

import math
import pathlib

import numpy as np
from PIL import Image


def image_grid(images: np.ndarray, cols: int | None = None, pad: int = 1) -> np.ndarray:
    """NHWC images in [-1, 1] -> one uint8 (H', W', C) grid."""
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.float32)
    for i, img in enumerate(images):
        r, col = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = (np.clip(img, -1, 1) + 1) / 2
    return (grid * 255).round().astype(np.uint8)


def save_image_grid(path: str | pathlib.Path, images: np.ndarray, scale: int = 4) -> None:
    grid = image_grid(images)
    pil = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    pil.save(path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def field_grid(modes: np.ndarray, n: int = 101) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (n, n) grid ``save_scatter_2d`` draws over: xs, ys and the (n*n, 2) points."""
    span = float(np.abs(modes).max()) * 1.5
    xs = np.linspace(-span, span, n)
    gx, gy = np.meshgrid(xs, xs)
    return xs, xs, np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def save_scatter_2d(
    path: str | pathlib.Path,
    samples: np.ndarray,
    modes: np.ndarray,
    title: str = "",
    field: np.ndarray | None = None,
    field_label: str = "D(x)",
) -> None:
    """Generated 2D samples (blue) over the true mixture means (red crosses).

    ``field``: the discriminator's output at the points of ``field_grid(modes)``, flat (n*n,),
    drawn as a filled contour map under the samples.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6 if field is not None else 5, 5))
    span = np.abs(modes).max() * 1.5
    if field is not None:
        n = int(round(np.sqrt(field.size)))
        xs, ys, _ = field_grid(modes, n)
        cs = ax.contourf(
            xs, ys, np.asarray(field).reshape(n, n), levels=20, cmap="RdBu_r", alpha=0.6
        )
        fig.colorbar(cs, ax=ax, fraction=0.046, pad=0.04, label=field_label)
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, c="tab:blue", label="G(z)")
    ax.scatter(modes[:, 0], modes[:, 1], marker="x", c="red", s=40, label="modes")
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def save_curves(path: str | pathlib.Path, records: list[dict], title: str = "") -> bool:
    """Loss and metric curves from metrics.jsonl records; False when there is nothing to plot.

    Panels: the training losses (keys ending in /loss) together, then one per numeric
    evaluation metric (keys eval/...); other training scalars stay in TensorBoard.
    """
    series: dict[str, tuple[list[int], list[float]]] = {}
    for rec in records:
        step = rec.get("step")
        for k, v in rec.items():
            if k == "step" or isinstance(v, (bool, dict, list, str)) or v is None:
                continue
            v = float(v)
            if not np.isfinite(v):
                continue
            xs, ys = series.setdefault(k, ([], []))
            xs.append(step)
            ys.append(v)
    losses = sorted(k for k in series if k.endswith("/loss") and not k.startswith("eval/"))
    evals = sorted(
        k for k in series if k.startswith("eval/") and k not in ("eval/num_samples", "eval/kid_std")
    )
    panels = ([losses] if losses else []) + [[k] for k in evals]
    if not panels:
        return False
    plt = _pyplot()
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, keys in zip(axes.ravel(), panels):
        for k in keys:
            xs, ys = series[k]
            ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, ms=3, label=k)
        ax.set_xlabel("generator step")
        ax.set_title(", ".join(keys) if len(keys) == 1 else "losses", fontsize=9)
        if len(keys) > 1:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True
