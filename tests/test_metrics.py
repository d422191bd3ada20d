"""Metrics on constructed cases with known answers (closed forms, perfect and collapsed samples)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from gan_jax import metrics
from gan_jax.data import grid25_modes, ring8_modes

MIXTURES = {"ring8": (ring8_modes(), 0.01), "grid25": (grid25_modes(), 0.05)}


def balanced_samples(modes, std, per_mode, rng, max_norm=2.9):
    """``per_mode`` samples around every mode, each within ``max_norm`` std of it."""
    noise = rng.normal(size=(len(modes), per_mode, modes.shape[1]))
    norms = np.linalg.norm(noise, axis=-1, keepdims=True)
    noise = noise * np.minimum(1.0, max_norm / norms)
    return (modes[:, None, :] + std * noise).reshape(-1, modes.shape[1])


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_perfect_samples_capture_every_mode(name):
    modes, std = MIXTURES[name]
    samples = balanced_samples(modes, std, 100, np.random.default_rng(0))
    result = metrics.mode_metrics(samples, modes, std)
    assert result["modes"] == len(modes)
    assert result["hq_fraction"] == 1.0
    assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert result["num_samples"] == len(modes) * 100


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_single_mode_generator(name):
    modes, std = MIXTURES[name]
    samples = balanced_samples(modes[3:4], std, 2500, np.random.default_rng(1))
    result = metrics.mode_metrics(samples, modes, std)
    assert result["modes"] == 1
    assert result["hq_fraction"] == 1.0
    # All mass on one of K modes: KL(q || uniform) = log K.
    assert result["reverse_kl"] == pytest.approx(np.log(len(modes)))


def test_samples_off_every_mode_are_low_quality():
    modes, std = MIXTURES["ring8"]
    samples = np.zeros((100, 2))  # the ring's centre, 1 away from every mode
    result = metrics.mode_metrics(samples, modes, std)
    assert result["modes"] == 0 and result["hq_fraction"] == 0.0
    assert result["reverse_kl"] == float("inf")


def _random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_of_diagonal_gaussians_matches_closed_form():
    # For commuting (here diagonal) covariances W2^2 = ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2.
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    a, b = rng.uniform(0.1, 2.0, 5), rng.uniform(0.1, 2.0, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_matches_sqrtm_formula_for_general_covariances():
    rng = np.random.default_rng(1)
    s1, s2 = _random_spd(rng, 16), _random_spd(rng, 16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_samples_converges_to_closed_form():
    rng = np.random.default_rng(2)
    d, n = 4, 200_000
    x = rng.normal(size=(n, d))  # N(0, I)
    y = 1.0 + 2.0 * rng.normal(size=(n, d))  # N(1, 4 I)
    expected = d * 1.0 + d * (1.0 - 2.0) ** 2
    assert metrics.frechet_distance_features(x, y) == pytest.approx(expected, rel=0.02)


def test_frechet_distance_is_finite_for_singular_covariance():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(500, 8))
    collapsed = np.tile(rng.normal(size=(1, 8)), (500, 1))  # zero covariance
    fd = metrics.frechet_distance_features(real, collapsed)
    assert np.isfinite(fd) and fd > 0


def test_kid_matches_mmd_on_the_same_subsets():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(300, 8)), rng.normal(size=(400, 8)) + 0.2
    kid, _ = metrics.kernel_inception_distance(x, y, num_subsets=5, subset_size=100, seed=7)
    draw = np.random.default_rng(7)
    direct = []
    for _ in range(5):
        r = draw.choice(300, 100, replace=False)
        f = draw.choice(400, 100, replace=False)
        direct.append(metrics.mmd2_unbiased(x[r], y[f]))
    assert kid == pytest.approx(np.mean(direct), rel=1e-9)


def test_kid_of_one_distribution_is_near_zero_and_unbiased():
    rng = np.random.default_rng(5)
    d = 16
    # Many small independent pairs: the unbiased estimator averages to 0 (within 3 s.e.) while the
    # biased V-statistic, which keeps the i == j terms, stays clearly positive.
    unbiased, biased = [], []
    for _ in range(200):
        x, y = rng.normal(size=(20, d)), rng.normal(size=(20, d))
        unbiased.append(metrics.mmd2_unbiased(x, y))
        k = metrics.polynomial_kernel
        biased.append(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())
    se = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * se
    assert np.mean(biased) > 10 * se
    # One large pair: near 0 next to the KID between two different distributions.
    x, y = rng.normal(size=(2000, d)), rng.normal(size=(2000, d))
    same, _ = metrics.kernel_inception_distance(x, y)
    shifted, _ = metrics.kernel_inception_distance(x, y + 0.5)
    assert abs(same) < 0.02 * shifted


def test_precision_recall_of_identical_sets_is_one():
    x = np.random.default_rng(6).normal(size=(500, 10))
    assert metrics.precision_recall(x, x.copy()) == (1.0, 1.0)


def test_precision_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(1000, 2))
    far = rng.normal(size=(1000, 2)) + 100.0
    assert metrics.precision_recall(real, far) == (0.0, 0.0)
    # Fakes from one half of the real distribution: precise, but they cover only part of it.
    half = real[real[:, 0] > 0]
    precision, recall = metrics.precision_recall(real, half)
    assert precision == 1.0
    assert 0.3 < recall < 0.8


def test_knn_radii_exclude_the_point_itself():
    x = np.array([[0.0], [1.0], [3.0], [6.0]])
    # Squared distances to the 1st neighbour: 1, 1, 4, 9.
    np.testing.assert_allclose(metrics.knn_radii(x, k=1), [1.0, 1.0, 4.0, 9.0])


def test_classifier_metrics_uniform_and_collapsed():
    eye = np.eye(10) * 20.0
    uniform = metrics.classifier_metrics(np.tile(eye, (30, 1)), 10)
    assert uniform["classes"] == 10 and uniform["classes_min_fraction"] == 10
    assert uniform["class_kl"] == pytest.approx(0.0, abs=1e-12)
    assert uniform["confidence"] == pytest.approx(1.0, abs=1e-6)
    collapsed = metrics.classifier_metrics(np.tile(eye[4], (300, 1)), 10)
    assert collapsed["classes"] == 1 and collapsed["class_kl"] == pytest.approx(np.log(10))
    # 2% in one class: predicted, but under the 3% coverage threshold.
    logits = np.concatenate([np.tile(eye[0], (2, 1)), np.tile(eye[1], (98, 1))])
    few = metrics.classifier_metrics(logits, 10)
    assert few["classes"] == 2 and few["classes_min_fraction"] == 1
    assert few["min_class_fraction"] == 0.0
    assert metrics.classifier_metrics(np.zeros((5, 10)), 10)["confidence"] == pytest.approx(0.1)
