"""Evaluators: built once per run, then called on generated samples at every evaluation step.

``make_evaluator(dataset, eval_config)`` picks the protocol from ``eval.extractor``:

- ``modes`` (2D mixtures, the default there): modes captured, high-quality fraction and reverse KL
  (``metrics.mode_metrics``).
- ``digits_cnn`` / ``mnist5k_cnn`` (the embedded image datasets digits and mnist5k, the default
  there): the dataset's cached classifier (``gan_jax.classifier``) embeds all its real images once
  and every generated set; the record holds the Frechet distance, KID, precision/recall,
  density/coverage and the classifier statistics.
- ``inception_v3`` (any image dataset; needs ``eval.inception_weights``): Frechet distance, KID,
  precision/recall and density/coverage on Inception-v3 pool features (gan_jax.inception) between
  ``eval.num_samples`` real images drawn from the dataset and as many generated ones, and the
  Inception Score of the generated ones. Images reach 299x299 by ``eval.resize``.
- ``stacked_modes`` (stacked_digits, the default there): the digits classifier on each of the
  three channels; modes reached of the 1000 and KL(q || uniform) (``metrics.stacked_mode_metrics``).
- ``none``: no metrics (an image dataset without an extractor).

An extractor with the real set embedded is an ``Embedding``; ``gan_jax.reference_stats`` writes
the Gaussian statistics of its real features to a file that ``make_evaluator(...,
reference=...)`` (``python -m gan_jax.evaluate --reference_stats=FILE``) compares with as well.

An evaluator returns ``{metric: number, ..., 'protocol': {...}}``: the protocol names the
extractor (and its held-out accuracy or verification), the real and generated sample counts and
the split, so a number is never read without the conditions it was measured under.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from gan_jax import classifier, inception, metrics, schema
from gan_jax.data import EMBEDDED_IMAGES, Dataset, stacked_mode_index
from gan_jax.errors import ConfigError, GanJaxError

# Classifier extractors: extractor -> the embedded dataset it is trained on.
CLASSIFIER_EXTRACTORS = {f"{name}_cnn": name for name in classifier.SOURCES}
EXTRACTORS = ("auto", "modes", "stacked_modes", *CLASSIFIER_EXTRACTORS, "inception_v3", "none")
RESIZE_MODES = inception.RESIZE_MODES  # eval.resize
RESIZE_PROTOCOLS = {
    "bilinear": "bilinear to 299 on the float images (pytorch-fid's F.interpolate, "
    "align_corners=False; verified)",
    "clean": "8-bit quantisation, then PIL bicubic per channel to 299 (clean-fid's "
    "build_resizer('clean'); verified)",
}
IS_SPLITS = 10
PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5
REFERENCE_KEYS = ("mu", "sigma")

# The extractor keys of the `eval` block, declared here where they are read (gan_jax/schema.py).
KEYS: schema.Spec = {
    "num_samples": schema.positive_int(2500, "generated samples per evaluation"),
    # 'auto': mode metrics on 2D data, the dataset's classifier (gan_jax.classifier) on digits
    # and mnist5k.
    "extractor": schema.choice("auto", EXTRACTORS, "the feature extractor"),
    "cache_dir": schema.string("", "where extractors are cached; '': $GAN_JAX_CACHE or ~/.cache"),
    # eval.extractor='inception_v3' (RGB data; see gan_jax/inception.py): an .npz of
    # pytorch-fid's Inception weights, which cannot be downloaded here.
    "inception_weights": schema.string("", "inception_v3: .npz of pytorch-fid's weights"),
    # inception_v3: the resize to 299, 'bilinear' (pytorch-fid's) or 'clean' (clean-fid's PIL
    # bicubic on 8-bit images); FIDs under different resizes are not comparable.
    "resize": schema.choice("bilinear", RESIZE_MODES, "the resize to 299 (inception_v3)"),
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


@dataclasses.dataclass(frozen=True)
class Embedding:
    """A feature extractor with the real set embedded in it.

    Attributes:
      name: the extractor (``eval.extractor``).
      embed: images -> (features, logits): classifier logits, or Inception's IS logits.
      real_features: (N, d) features of the real set.
      protocol: the extractor and the real set (what a record or a stats file must name).
      num_classes: the classifier's classes; 0 for Inception (whose logits feed the IS).
    """

    name: str
    embed: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] = dataclasses.field(repr=False)
    real_features: np.ndarray = dataclasses.field(repr=False)
    protocol: dict[str, Any]
    num_classes: int = 0

    @property
    def feature_dim(self) -> int:
        return int(self.real_features.shape[1])


@dataclasses.dataclass(frozen=True)
class ReferenceStats:
    """Gaussian statistics of a reference set's features, as pytorch-fid and TTUR store them."""

    path: str
    sha256: str  # of the file, so that a record names exactly which statistics it used
    mu: np.ndarray = dataclasses.field(repr=False)
    sigma: np.ndarray = dataclasses.field(repr=False)
    protocol: dict[str, Any] | None  # what gan_jax.reference_stats recorded; None in other files


REFERENCE_ALLOWED = (
    "an .npz with arrays 'mu' (d,) and 'sigma' (d, d), as written by pytorch-fid --save-stats, "
    "TTUR's fid_stats_*.npz or python -m gan_jax.reference_stats"
)


def load_reference_stats(
    path: str | pathlib.Path, flag: str = "--reference_stats"
) -> ReferenceStats:
    """``mu`` and ``sigma`` of ``path``; a one-line GanJaxError naming ``flag`` if unusable."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise GanJaxError(f"{flag}={str(path)!r} is not a file; allowed: {REFERENCE_ALLOWED}")
    try:
        with np.load(path, allow_pickle=False) as blob:
            arrays = {k: blob[k] for k in blob.files}
    except (OSError, ValueError) as e:
        raise GanJaxError(
            f"{flag}={str(path)!r} cannot be read as .npz ({e}); allowed: {REFERENCE_ALLOWED}"
        ) from e
    for key in REFERENCE_KEYS:
        if key not in arrays:
            raise GanJaxError(
                f"{flag}={str(path)!r} has no array {key!r} (it has {sorted(arrays)}); "
                f"allowed: {REFERENCE_ALLOWED}"
            )
    mu, sigma = np.asarray(arrays["mu"], np.float64), np.asarray(arrays["sigma"], np.float64)
    d = mu.shape[0] if mu.ndim == 1 else -1
    if mu.ndim != 1 or sigma.shape != (d, d):
        raise GanJaxError(
            f"{flag}={str(path)!r}: 'mu' has shape {mu.shape} and 'sigma' {sigma.shape}; "
            f"allowed: {REFERENCE_ALLOWED}"
        )
    protocol = json.loads(str(arrays["protocol"])) if "protocol" in arrays else None
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return ReferenceStats(str(path), sha256, mu, sigma, protocol)


def check_reference(reference: ReferenceStats, embedding: Embedding, flag: str) -> None:
    """The reference must live in the embedding's feature space (same dimension)."""
    if reference.mu.shape[0] != embedding.feature_dim:
        raise GanJaxError(
            f"{flag}={reference.path!r} holds {reference.mu.shape[0]}-d statistics ('mu' "
            f"{reference.mu.shape}); allowed: {embedding.feature_dim}-d statistics of "
            f"eval.extractor={embedding.name!r}'s features"
        )


def resolve_extractor(dataset: Dataset, extractor: str) -> str:
    """The extractor ``auto`` stands for on ``dataset``, or ``extractor`` checked against it."""
    if extractor not in EXTRACTORS:
        raise ConfigError("eval.extractor", extractor, str(list(EXTRACTORS)))
    if extractor == "auto":
        if not dataset.is_image:
            return "modes"
        if dataset.name == "stacked_digits":
            return "stacked_modes"
        return f"{dataset.name}_cnn" if dataset.name in EMBEDDED_IMAGES else "none"
    if extractor == "stacked_modes" and dataset.name != "stacked_digits":
        raise ConfigError("eval.extractor", extractor, "'stacked_modes' only on stacked_digits")
    if extractor == "modes" and dataset.modes is None:
        raise ConfigError("eval.extractor", extractor, "'modes' only on the 2D mixtures")
    if extractor in CLASSIFIER_EXTRACTORS and dataset.name != CLASSIFIER_EXTRACTORS[extractor]:
        raise ConfigError(
            "eval.extractor",
            extractor,
            f"{extractor!r} only with data.name={CLASSIFIER_EXTRACTORS[extractor]!r}",
        )
    if extractor == "inception_v3" and not dataset.is_image:
        raise ConfigError("eval.extractor", extractor, "'inception_v3' only on image datasets")
    return extractor


def check_resize(resize: str) -> str:
    """``resize`` if it is an ``eval.resize`` mode, else a ConfigError naming the key."""
    if resize not in RESIZE_MODES:
        raise ConfigError("eval.resize", resize, str(list(RESIZE_MODES)))
    return resize


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


# Real stacked images classified for the protocol's ceiling (a fixed draw, key 0).
STACKED_REFERENCE_KEY = 0


def stacked_mode_evaluator(
    dataset: Dataset, num_samples: int, cache_dir: str | None = None
) -> Evaluator:
    """Stacked digits: each channel classified by the digits CNN, the three classes make the
    sample's mode (``data.stacked_mode_index``); modes reached and KL(q || uniform)
    (``metrics.stacked_mode_metrics``). Mode counts say nothing of quality (noise is read as
    some digit too), so the record adds the CNN's mean confidence on the channels and
    ``channel_fd``, the Frechet distance of the channels' CNN features to the 1797 digits'. The
    protocol carries the same measures on as many real stacked images: the ceiling."""
    resolution = dataset.shape[0]
    clf = classifier.digits_classifier(resolution, cache_dir)
    _, digit_features = clf.logits_and_features(EMBEDDED_IMAGES["digits"](resolution)[0])

    def measure(samples: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
        n, h, w, c = samples.shape
        channels = np.ascontiguousarray(np.moveaxis(samples, -1, 1).reshape(n * c, h, w, 1))
        logits, features = clf.logits_and_features(channels)
        modes = stacked_mode_index(np.argmax(logits, axis=1).reshape(n, c))
        result = metrics.stacked_mode_metrics(modes, dataset.num_classes)
        result["confidence"] = metrics.classifier_metrics(logits, 10)["confidence"]
        result["channel_fd"] = metrics.frechet_distance_features(digit_features, features)
        return result, modes

    real = dataset.sample(jax.random.key(STACKED_REFERENCE_KEY), num_samples)
    real_result, real_modes = measure(np.asarray(real["x"]))
    real_accuracy = float(np.mean(real_modes == np.asarray(real["label"])))

    def evaluate(samples: np.ndarray) -> dict[str, Any]:
        result, _ = measure(samples)
        result["protocol"] = {
            **clf.protocol,
            "extractor": "stacked_modes (the digits classifier on each channel)",
            "dataset": dataset.name,
            "fake_samples": int(len(samples)),
            **{f"real_{k}": v for k, v in real_result.items() if k != "num_samples"},
            "real_mode_accuracy": real_accuracy,
            "reference": "stacked MNIST protocol (Metz et al. 2017, VEEGAN, PacGAN): modes with "
            "at least one sample, KL(q || uniform over 1000); channel_fd: the channels' CNN "
            "features against all 1797 digits'",
        }
        return result

    return Evaluator("stacked_modes", num_samples, evaluate)


def classifier_embedding(dataset: Dataset, cache_dir: str | None = None) -> Embedding:
    """The dataset's classifier (cached, else trained) with all its real images embedded."""
    resolution = dataset.shape[0]
    clf = classifier.dataset_classifier(dataset.name, resolution, cache_dir)
    real_images, _ = EMBEDDED_IMAGES[dataset.name](resolution)
    _, real_features = clf.logits_and_features(real_images)
    protocol = {
        **clf.protocol,
        "real_samples": int(len(real_features)),
        "real_split": f"all {len(real_features)} images of {dataset.name} (the GAN's training data)"
        if not dataset.subset
        else f"all {len(real_features)} images of {dataset.name} (the GAN trains on a fixed "
        f"subset of {dataset.subset}: data.num_examples)",
    }

    def embed(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, features = clf.logits_and_features(images)
        return features, logits

    return Embedding(f"{dataset.name}_cnn", embed, real_features, protocol, clf.num_classes)


def inception_embedding(
    dataset: Dataset,
    num_samples: int,
    weights: str,
    resize: str = "bilinear",
    resolution: int | None = None,
) -> Embedding:
    """Inception-v3 with ``num_samples`` real images (a fixed draw, key 0) embedded."""
    import jax

    if not weights:
        raise ConfigError(
            "eval.inception_weights", weights, "the path of an .npz of pytorch-fid's weights"
        )
    extractor = inception.InceptionExtractor(
        weights, resolution or inception.FID_RESOLUTION, check_resize(resize)
    )
    # A fixed draw of real images (key 0), embedded once; at most all of an embedded dataset.
    if dataset.name in EMBEDDED_IMAGES:
        num_real = min(num_samples, len(EMBEDDED_IMAGES[dataset.name](dataset.shape[0])[0]))
    else:
        num_real = num_samples
    real = np.asarray(dataset.sample(jax.random.key(0), num_real)["x"])
    real_features = extractor.features(real)
    protocol = {
        "extractor": "inception_v3 pool3 (pytorch-fid FIDInceptionV3)",
        "weights": extractor.weights,
        "input_resolution": extractor.resolution,
        "resize": f"{resize}: {RESIZE_PROTOCOLS[resize]}",
        "verified": "architecture, pooling, resize='bilinear' and input scaling equal pytorch-fid "
        "0.3.0's on random weights (experiments/inception_parity.py); this weights file is not "
        "checked against a published FID",
        "real_samples": int(len(real_features)),
        "real_split": f"{dataset.name}, a fixed draw (key 0)",
    }
    return Embedding("inception_v3", extractor.features_and_logits, real_features, protocol)


def feature_evaluator(
    embedding: Embedding, num_samples: int, reference: ReferenceStats | None = None
) -> Evaluator:
    """Feature metrics against the embedded real set (and ``reference``), plus the extractor's
    logit statistics: class statistics for a classifier, the Inception Score for Inception."""
    real = embedding.real_features
    if reference is not None:
        check_reference(reference, embedding, "--reference_stats")

    def evaluate(samples: np.ndarray) -> dict[str, Any]:
        features, logits = embedding.embed(samples)
        result = metrics.feature_metrics(
            real, features, k=PRECISION_RECALL_K, density_k=DENSITY_COVERAGE_K
        )
        protocol = {
            **embedding.protocol,
            "fake_samples": int(len(samples)),
            "fake_noise": "the run's fixed evaluation noise (seed, ROLE_EVAL)",
            "kid": "unbiased MMD^2, cubic polynomial kernel, 100 subsets of "
            f"{min(1000, len(real), len(samples))}",
            "precision_recall": f"k-NN manifolds, k={PRECISION_RECALL_K} "
            "(Kynkaanniemi et al. 2019)",
            "density_coverage": f"real k-NN balls, k={DENSITY_COVERAGE_K} (Naeem et al. 2020)",
        }
        if not embedding.num_classes:
            if len(samples) >= IS_SPLITS:
                result["inception_score"], result["inception_score_std"] = metrics.inception_score(
                    logits, IS_SPLITS
                )
            protocol["inception_score"] = (
                f"exp E KL(p(y|x) || p(y)) over {IS_SPLITS} consecutive splits of the fakes; "
                "1008-way fc logits without the bias (openai/improved-gan, torch-fidelity's "
                "logits_unbiased)"
                + ("" if len(samples) >= IS_SPLITS else f"; not computed (< {IS_SPLITS} samples)")
            )
        else:
            result.update(metrics.classifier_metrics(logits, embedding.num_classes))
            protocol["class_coverage"] = "classes with >= 3% of the samples"
        if reference is not None:
            mu, sigma = metrics.gaussian_stats(features)
            result["reference_frechet_distance"] = metrics.frechet_distance(
                reference.mu, reference.sigma, mu, sigma
            )
            protocol["reference_stats"] = {
                "file": reference.path,
                "sha256": reference.sha256,
                "recorded": reference.protocol
                or "no protocol in the file (a pytorch-fid or TTUR stats file?)",
            }
        result["protocol"] = protocol
        return result

    return Evaluator(embedding.name, num_samples, evaluate)


def make_embedding(dataset: Dataset, eval_config: Mapping[str, Any]) -> Embedding | None:
    """The feature extractor ``eval_config`` asks for, real set embedded; None without one."""
    get = lambda key: schema.value(eval_config, KEYS, key)  # noqa: E731
    extractor = resolve_extractor(dataset, get("extractor"))
    resize = check_resize(get("resize"))
    if extractor in CLASSIFIER_EXTRACTORS:
        return classifier_embedding(dataset, get("cache_dir") or None)
    if extractor == "inception_v3":
        num_samples = int(get("num_samples"))
        weights = get("inception_weights")
        return inception_embedding(dataset, num_samples, weights, resize)
    return None


def make_evaluator(
    dataset: Dataset, eval_config: Mapping[str, Any], reference: ReferenceStats | None = None
) -> Evaluator | None:
    """The evaluator ``eval_config`` (the ``eval`` block) asks for; None for ``none``."""
    extractor = resolve_extractor(dataset, schema.value(eval_config, KEYS, "extractor"))
    num_samples = int(schema.value(eval_config, KEYS, "num_samples"))
    if extractor == "modes":
        return mode_evaluator(dataset, num_samples)
    if extractor == "stacked_modes":
        cache_dir = schema.value(eval_config, KEYS, "cache_dir") or None
        return stacked_mode_evaluator(dataset, num_samples, cache_dir)
    embedding = make_embedding(dataset, eval_config)
    if embedding is None:
        return None
    return feature_evaluator(embedding, num_samples, reference)


def scalars(result: Mapping[str, Any]) -> dict[str, float]:
    """The plain numbers of an evaluation record (for curves, TensorBoard and terminal lines)."""
    return {
        k: float(v)
        for k, v in result.items()
        if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
    }
