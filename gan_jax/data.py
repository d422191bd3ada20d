"""Embedded, offline datasets; every one yields the same batch format.

A batch is a dict ``{'x': float32 array (B, ...), 'label': int32 array (B,)}``: 2D points
(B, 2) or NHWC images in [-1, 1]. Embedded datasets are pure functions of a PRNG key, so they
are endless streams that need no host I/O and can be sampled inside a jit-ted step:

- ``ring8``: 8 Gaussians, means (cos 2 pi k/8, sin 2 pi k/8), std 0.01 (GAN-NOTES, VEEGAN).
- ``grid25``: 25 Gaussians, means {-4, -2, 0, 2, 4}^2, std 0.05.
- ``data.num_points = N > 0`` turns a mixture into a *fixed training set*: N points drawn once
  from ``jax.random.key(0)`` (the same set for every run seed), then sampled uniformly with
  replacement, as PacGAN trains on 100k points drawn once (arXiv 1712.04086, section 5.1).
  0 (the default) keeps the endless stream.
- ``digits``: scikit-learn's bundled 8x8 digits (1797 images, values 0..16), scaled to [-1, 1]
  and bilinearly resized to 16x16x1. Each batch draws distinct images uniformly at random.
- ``digits_unpaired``: two unpaired image domains for translation (CycleGAN): A = the digits,
  B = the digits transformed by ``data.domain_b`` (``DOMAIN_TRANSFORMS``: 'invert', -x, the
  default; 'rot90'), from disjoint halves of the 1797 digits, so no image has its pair in the
  other domain. Batches are ``{'a', 'label_a', 'b', 'label_b'}``, a and b drawn independently.

Host datasets (``tfds:<name>[/<config>]``, ``folder:<path>``; gan_jax.input_pipeline) are read
from files by grain on the host instead, so they carry a ``host`` source and the trainer feeds
their batches to the compiled step; their ``sample`` draws a fixed set of records on the host
(for evaluators that compare with real images), it is not jit-able.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import input_pipeline
from gan_jax.errors import ConfigError
from gan_jax.input_pipeline import HostSource

Batch = dict[str, jax.Array]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """An endless stream: ``sample(key, batch_size) -> batch``, pure and jit-able (embedded).

    Attributes:
      name: as in ``data.name``.
      shape: one sample's shape, without the batch axis.
      sample: (key, batch_size) -> {'x', 'label'}.
      num_classes: number of distinct labels.
      modes: (K, D) mixture means for the 2D datasets, else None.
      mode_std: the mixture components' standard deviation, else None.
      host: the file-backed source of a host dataset (read through grain), else None.
    """

    name: str
    shape: tuple[int, ...]
    sample: Callable[[jax.Array, int], Batch] = dataclasses.field(repr=False)
    num_classes: int
    modes: np.ndarray | None = dataclasses.field(default=None, repr=False)
    mode_std: float | None = None
    host: HostSource | None = dataclasses.field(default=None, repr=False)

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @property
    def on_host(self) -> bool:
        """Whether batches come from a host pipeline (fed to the step) rather than ``sample``."""
        return self.host is not None


def ring8_modes() -> np.ndarray:
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def grid25_modes() -> np.ndarray:
    axis = np.arange(-4, 5, 2, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


# The key of the fixed training sets (data.num_points > 0): one set shared by all run seeds.
FIXED_SET_KEY = 0


def mixture(name: str, modes: np.ndarray, std: float, num_points: int = 0) -> Dataset:
    """Equal-weight Gaussian mixture; an endless stream, or ``num_points`` points drawn once."""
    # A NumPy constant, turned into a jax value inside the traced sampler: a captured jax.Array
    # would be read back from the device when a program embedding it is compiled.
    means_np = np.asarray(modes, np.float32)

    def stream(key: jax.Array, batch_size: int) -> Batch:
        means = jnp.asarray(means_np)
        key_c, key_n = jax.random.split(key)
        comp = jax.random.randint(key_c, (batch_size,), 0, means.shape[0])
        noise = jax.random.normal(key_n, (batch_size, means.shape[1]))
        return {"x": means[comp] + std * noise, "label": comp.astype(jnp.int32)}

    if num_points == 0:
        return Dataset(name, (modes.shape[1],), stream, len(modes), modes, std)
    fixed = jax.device_get(
        jax.jit(stream, static_argnums=1)(jax.random.key(FIXED_SET_KEY), num_points)
    )

    def sample(key: jax.Array, batch_size: int) -> Batch:
        idx = jax.random.randint(key, (batch_size,), 0, num_points)
        return {k: jnp.asarray(v)[idx] for k, v in fixed.items()}

    return Dataset(name, (modes.shape[1],), sample, len(modes), modes, std)


@functools.lru_cache(maxsize=1)
def digits_arrays(resolution: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as (N, R, R, 1) float32 in [-1, 1] and their int32 labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0 * 2.0 - 1.0
    n = images.shape[0]
    resized = jax.image.resize(
        jnp.asarray(images)[..., None], (n, resolution, resolution, 1), method="linear"
    )
    return np.clip(np.asarray(resized), -1.0, 1.0), bunch.target.astype(np.int32)


def digits(resolution: int = 16) -> Dataset:
    images_np, labels_np = digits_arrays(resolution)

    def sample(key: jax.Array, batch_size: int) -> Batch:
        images, labels = jnp.asarray(images_np), jnp.asarray(labels_np)
        idx = jax.random.choice(key, images.shape[0], (batch_size,), replace=False)
        return {"x": images[idx], "label": labels[idx]}

    return Dataset("digits", images_np.shape[1:], sample, 10)


# data.domain_b of digits_unpaired: name -> (transform, its inverse), on NHWC batches.
DOMAIN_TRANSFORMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "invert": (lambda x: -x, lambda x: -x),
    # np.rot90 of each image (a quarter turn counterclockwise) and back.
    "rot90": (lambda x: x[:, :, ::-1].swapaxes(1, 2), lambda x: x[:, ::-1].swapaxes(1, 2)),
}
# The fixed split of digits_unpaired into its A and B halves (one split for every run seed).
DOMAIN_SPLIT_SEED = 0


def digits_unpaired_arrays(
    resolution: int = 16, domain_b: str = "invert"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(a, label_a, b, label_b) of ``digits_unpaired``: the digits split by a fixed permutation
    (seed ``DOMAIN_SPLIT_SEED``), the first 899 as domain A, the other 898 transformed as B."""
    if domain_b not in DOMAIN_TRANSFORMS:
        raise ConfigError("data.domain_b", domain_b, str(sorted(DOMAIN_TRANSFORMS)))
    images, labels = digits_arrays(resolution)
    perm = np.random.default_rng(DOMAIN_SPLIT_SEED).permutation(len(images))
    idx_a, idx_b = np.sort(perm[: (len(images) + 1) // 2]), np.sort(perm[(len(images) + 1) // 2 :])
    transform = DOMAIN_TRANSFORMS[domain_b][0]
    b = np.ascontiguousarray(transform(images[idx_b]))
    return images[idx_a], labels[idx_a], b, labels[idx_b]


def digits_unpaired(resolution: int = 16, domain_b: str | None = None) -> Dataset:
    """Unpaired domains A (digits) and B (``domain_b`` of other digits, default 'invert')."""
    domain_b = domain_b or "invert"
    a_np, label_a_np, b_np, label_b_np = digits_unpaired_arrays(resolution, domain_b)

    def sample(key: jax.Array, batch_size: int) -> Batch:
        key_a, key_b = jax.random.split(key)
        idx_a = jax.random.choice(key_a, a_np.shape[0], (batch_size,), replace=False)
        idx_b = jax.random.choice(key_b, b_np.shape[0], (batch_size,), replace=False)
        return {
            "a": jnp.asarray(a_np)[idx_a],
            "label_a": jnp.asarray(label_a_np)[idx_a],
            "b": jnp.asarray(b_np)[idx_b],
            "label_b": jnp.asarray(label_b_np)[idx_b],
        }

    return Dataset("digits_unpaired", a_np.shape[1:], sample, 10)


def host_dataset(cfg: Mapping[str, Any]) -> Dataset:
    """A ``tfds:`` or ``folder:`` dataset; its files are opened on first use."""
    source = input_pipeline.host_source(cfg)

    def sample(key: jax.Array, batch_size: int) -> dict[str, np.ndarray]:
        ds = source.records()
        idx = jax.random.choice(key, len(ds), (batch_size,), replace=batch_size > len(ds))
        items = [ds[int(i)] for i in np.asarray(idx)]
        return {k: np.stack([item[k] for item in items]) for k in items[0]}

    return Dataset(cfg["name"], source.shape, sample, source.num_classes, host=source)


# data.name -> builder taking the `data` config block.
DATASETS: dict[str, Callable[[Mapping[str, Any]], Dataset]] = {
    "ring8": lambda cfg: mixture("ring8", ring8_modes(), 0.01, cfg.get("num_points", 0)),
    "grid25": lambda cfg: mixture("grid25", grid25_modes(), 0.05, cfg.get("num_points", 0)),
    "digits": lambda cfg: digits(cfg.get("resolution", 16)),
    "digits_unpaired": lambda cfg: digits_unpaired(cfg.get("resolution", 16), cfg.get("domain_b")),
}


def get_dataset(cfg: Mapping[str, Any]) -> Dataset:
    """The dataset named by ``cfg['name']`` (the `data` config block)."""
    name = cfg["name"]
    if input_pipeline.is_host_dataset(name):
        return host_dataset(cfg)
    if name not in DATASETS:
        raise KeyError(f"data.name={name!r}; allowed: {sorted(DATASETS)}, 'tfds:...', 'folder:...'")
    return DATASETS[name](cfg)
