"""Pictures of a run: image sample grids (PNG) and 2D samples over the true modes."""

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


def save_scatter_2d(
    path: str | pathlib.Path, samples: np.ndarray, modes: np.ndarray, title: str = ""
) -> None:
    """Generated 2D samples (blue) over the true mixture means (red crosses)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, label="G(z)")
    ax.scatter(modes[:, 0], modes[:, 1], marker="x", c="red", s=40, label="modes")
    span = np.abs(modes).max() * 1.5
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
