"""Evaluators: built once per run, then called on generated samples at every evaluation step.

``make_evaluator(dataset, eval_config)`` picks the protocol from ``eval.extractor``:

- ``modes`` (2D mixtures, the default there): modes captured, high-quality fraction and reverse KL
  (``metrics.mode_metrics``).
- ``digits_cnn`` (digits, the default there): the cached digits classifier
  (``gan_jax.classifier``) embeds all 1797 real digits once and every generated set; the record
  holds the Frechet distance, KID, precision/recall and the classifier statistics.
- ``inception_v3`` (any image dataset; needs ``eval.inception_weights``): Frechet distance, KID
  and precision/recall on Inception-v3 pool features (gan_jax.inception) between
  ``eval.num_samples`` real images drawn from the dataset and as many generated ones.
  UNVERIFIED against pytorch-fid: the protocol record says so.
- ``none``: no metrics (an image dataset without an extractor).

An evaluator returns ``{metric: number, ..., 'protocol': {...}}``: the protocol names the
extractor (and its held-out accuracy), the real and generated sample counts and the split, so a
number is never read without the conditions it was measured under.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gan_jax import classifier, metrics, schema
from gan_jax.data import Dataset, digits_arrays
from gan_jax.errors import ConfigError

EXTRACTORS = ("auto", "modes", "digits_cnn", "inception_v3", "none")
# The extractor keys of the `eval` block, declared here where they are read (gan_jax/schema.py).
KEYS: schema.Spec = {
    # 'auto': mode metrics on 2D data, the digits classifier (gan_jax.classifier) on digits.
    "extractor": schema.choice("auto", EXTRACTORS, "the feature extractor"),
    "cache_dir": schema.string("", "where extractors are cached; '': $GAN_JAX_CACHE or ~/.cache"),
    # eval.extractor='inception_v3' (RGB data; see gan_jax/inception.py): an .npz of
    # pytorch-fid's Inception weights, which cannot be downloaded here.
    "inception_weights": schema.string("", "inception_v3: .npz of pytorch-fid's weights"),
}


def check(eval_config: Mapping[str, Any]) -> None:
    """ConfigError on a bad extractor key of the `eval` block."""
    schema.check_block("eval", eval_config, KEYS)
    if eval_config["extractor"] == "inception_v3" and not eval_config["inception_weights"]:
        raise ConfigError(
            "eval.inception_weights",
            eval_config["inception_weights"],
            "the path of an .npz of pytorch-fid's Inception weights with "
            "eval.extractor='inception_v3' (they cannot be downloaded here)",
        )


@dataclasses.dataclass(frozen=True)
class Evaluator:
    """``evaluator(samples) -> record``; ``num_samples`` is how many samples it wants."""

    name: str
    num_samples: int
    fn: Callable[[np.ndarray], dict[str, Any]] = dataclasses.field(repr=False)

    def __call__(self, samples: np.ndarray) -> dict[str, Any]:
        return self.fn(np.asarray(samples))


def resolve_extractor(dataset: Dataset, extractor: str) -> str:
    """The extractor ``auto`` stands for on ``dataset``, or ``extractor`` checked against it."""
    if extractor not in EXTRACTORS:
        raise ConfigError("eval.extractor", extractor, str(list(EXTRACTORS)))
    if extractor == "auto":
        if not dataset.is_image:
            return "modes"
        return "digits_cnn" if dataset.name == "digits" else "none"
    if extractor == "modes" and dataset.modes is None:
        raise ConfigError("eval.extractor", extractor, "'modes' only on the 2D mixtures")
    if extractor == "digits_cnn" and dataset.name != "digits":
        raise ConfigError("eval.extractor", extractor, "'digits_cnn' only with data.name='digits'")
    if extractor == "inception_v3" and not dataset.is_image:
        raise ConfigError("eval.extractor", extractor, "'inception_v3' only on image datasets")
    return extractor


def mode_evaluator(dataset: Dataset, num_samples: int) -> Evaluator:
    def evaluate(samples: np.ndarray) -> dict[str, Any]:
        result = metrics.mode_metrics(samples, dataset.modes, dataset.mode_std)
        result["protocol"] = {
            "extractor": "none (2D points)",
            "dataset": dataset.name,
            "fake_samples": int(len(samples)),
            "high_quality": f"within 3 std ({3 * dataset.mode_std:g}) of the nearest mode",
            "reference": "VEEGAN/PacGAN 2D protocol",
        }
        return result

    return Evaluator("modes", num_samples, evaluate)


def digits_evaluator(dataset: Dataset, num_samples: int, cache_dir: str | None = None) -> Evaluator:
    resolution = dataset.shape[0]
    clf = classifier.digits_classifier(resolution, cache_dir)
    real_images, _ = digits_arrays(resolution)
    _, real_features = clf.logits_and_features(real_images)

    def evaluate(samples: np.ndarray) -> dict[str, Any]:
        logits, features = clf.logits_and_features(samples)
        result = {
            **metrics.feature_metrics(real_features, features),
            **metrics.classifier_metrics(logits, clf.num_classes),
        }
        result["protocol"] = {
            **clf.protocol,
            "real_samples": int(len(real_features)),
            "real_split": "all 1797 digits (the GAN's training data)",
            "fake_samples": int(len(samples)),
            "fake_noise": "the run's fixed evaluation noise (seed, ROLE_EVAL)",
            "kid": "unbiased MMD^2, cubic polynomial kernel, 100 subsets of "
            f"{min(1000, len(real_features), len(samples))}",
            "precision_recall": "k-NN manifolds, k=3 (Kynkaanniemi et al. 2019)",
            "class_coverage": "classes with >= 3% of the samples",
        }
        return result

    return Evaluator("digits_cnn", num_samples, evaluate)


def inception_evaluator(
    dataset: Dataset, num_samples: int, weights: str, resolution: int | None = None
) -> Evaluator:
    import jax

    from gan_jax import inception

    if not weights:
        raise ConfigError(
            "eval.inception_weights", weights, "the path of an .npz of pytorch-fid's weights"
        )
    extractor = inception.InceptionExtractor(weights, resolution or inception.FID_RESOLUTION)
    # A fixed draw of real images (key 0), embedded once; for digits at most its 1797 images.
    num_real = min(num_samples, 1797) if dataset.name == "digits" else num_samples
    real = np.asarray(dataset.sample(jax.random.key(0), num_real)["x"])
    real_features = extractor.features(real)

    def evaluate(samples: np.ndarray) -> dict[str, Any]:
        result = metrics.feature_metrics(real_features, extractor.features(samples))
        result["protocol"] = {
            "extractor": "inception_v3 pool3 (pytorch-fid FIDInceptionV3 layout)",
            "weights": extractor.weights,
            "input_resolution": extractor.resolution,
            "verified": "NO: not yet compared with pytorch-fid; not comparable with published FIDs",
            "real_samples": int(len(real_features)),
            "real_split": f"{dataset.name}, a fixed draw (key 0)",
            "fake_samples": int(len(samples)),
            "fake_noise": "the run's fixed evaluation noise (seed, ROLE_EVAL)",
            "kid": "unbiased MMD^2, cubic polynomial kernel, 100 subsets of "
            f"{min(1000, len(real_features), len(samples))}",
            "precision_recall": "k-NN manifolds, k=3 (Kynkaanniemi et al. 2019)",
        }
        return result

    return Evaluator("inception_v3", num_samples, evaluate)


def make_evaluator(dataset: Dataset, eval_config: Mapping[str, Any]) -> Evaluator | None:
    """The evaluator ``eval_config`` (the ``eval`` block) asks for; None for ``none``."""
    extractor = resolve_extractor(dataset, eval_config["extractor"])
    num_samples = int(eval_config["num_samples"])
    if extractor == "modes":
        return mode_evaluator(dataset, num_samples)
    if extractor == "digits_cnn":
        return digits_evaluator(dataset, num_samples, eval_config["cache_dir"] or None)
    if extractor == "inception_v3":
        return inception_evaluator(dataset, num_samples, eval_config["inception_weights"])
    return None


def scalars(result: Mapping[str, Any]) -> dict[str, float]:
    """The plain numbers of an evaluation record (for curves, TensorBoard and terminal lines)."""
    return {
        k: float(v)
        for k, v in result.items()
        if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
    }
