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


def test_density_coverage_of_identical_sets():
    # Strict inequality: each point's ball holds itself and its k-1 nearer neighbours (not the
    # k-th, at distance exactly r), so every point lies in k balls: density exactly 1.
    x = np.random.default_rng(8).normal(size=(400, 6))
    density, coverage = metrics.density_coverage(x, x.copy(), k=5)
    assert density == pytest.approx(1.0, abs=1e-12)
    assert coverage == 1.0


def test_density_coverage_of_disjoint_far_sets_is_zero():
    rng = np.random.default_rng(9)
    real, far = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 100.0
    assert metrics.density_coverage(real, far) == (0.0, 0.0)


def test_density_coverage_on_a_constructed_line():
    # Real 0, 1, 3, 6 with k=1: radii 1, 1, 2, 3. Fakes 0.5 and 0.9 lie in the balls of 0 and 1,
    # 5.5 in the ball of 6, 100 in none: density (2 + 2 + 1 + 0) / (1 * 4); the real point 3 has
    # no fake within 2 (the nearest is 2.1 away): coverage 3/4.
    real = np.array([[0.0], [1.0], [3.0], [6.0]])
    fake = np.array([[0.5], [0.9], [5.5], [100.0]])
    density, coverage = metrics.density_coverage(real, fake, k=1)
    assert density == pytest.approx(1.25)
    assert coverage == pytest.approx(0.75)


def test_density_coverage_of_one_distribution_match_the_papers_expectations():
    # Naeem et al. 2020: E[density] = 1 and, for N = M, E[coverage] = 1 - prod_{i=1..k}
    # (N - i) / (2N - i) (Lemma 2; ~1 - 2^-k = 0.969 for k = 5) when both sets are i.i.d. draws.
    rng = np.random.default_rng(10)
    n, k = 1000, 5
    density, coverage = metrics.density_coverage(
        rng.normal(size=(n, 8)), rng.normal(size=(n, 8)), k=k
    )
    expected_coverage = 1.0 - np.prod([(n - i) / (2 * n - i) for i in range(1, k + 1)])
    assert density == pytest.approx(1.0, abs=0.1)
    assert coverage == pytest.approx(expected_coverage, abs=0.02)
    # Fakes crowded onto one real point: they lie in many balls (density > 1) but cover few points.
    crowd = np.tile(rng.normal(size=(1, 8)) * 0.1, (n, 1)) + 1e-3 * rng.normal(size=(n, 8))
    real = rng.normal(size=(n, 8))
    density, coverage = metrics.density_coverage(real, crowd, k=k)
    assert density > 1.5 and coverage < 0.05


def test_feature_metrics_report_density_and_coverage_with_k5():
    rng = np.random.default_rng(11)
    real, fake = rng.normal(size=(200, 4)), rng.normal(size=(150, 4)) + 0.3
    result = metrics.feature_metrics(real, fake, kid_subsets=3, kid_subset_size=50)
    assert (result["density"], result["coverage"]) == metrics.density_coverage(real, fake, k=5)
    assert (result["precision"], result["recall"]) == metrics.precision_recall(real, fake, k=3)


def test_inception_score_of_uniform_predictions_is_one():
    mean, std = metrics.inception_score(np.zeros((100, 1008)))
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)
    # One confident class for every sample: p(y|x) = p(y), KL 0.
    mean, _ = metrics.inception_score(np.tile(np.eye(1008)[7] * 50.0, (100, 1)))
    assert mean == pytest.approx(1.0)


@pytest.mark.parametrize("num_classes", [2, 10, 1008])
def test_inception_score_of_k_equally_used_one_hot_classes_is_k(num_classes):
    # Every split holds each class equally often: KL(onehot || uniform over K) = log K.
    logits = np.tile(np.eye(num_classes) * 100.0, (10 * 3, 1))
    mean, std = metrics.inception_score(logits, splits=10)
    assert mean == pytest.approx(num_classes, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-6 * num_classes)


def test_inception_score_closed_form_for_soft_predictions_and_split_statistics():
    # Half the samples predict (a, 1-a), half (1-a, a): p(y) uniform, IS = 2 exp(-H(a)).
    a = 0.8
    probs = np.array([[a, 1 - a], [1 - a, a]] * 50)
    mean, _ = metrics.inception_score(np.log(probs) + 3.0, splits=10)  # logits up to a shift
    entropy = -(a * np.log(a) + (1 - a) * np.log(1 - a))
    assert mean == pytest.approx(2.0 * np.exp(-entropy), rel=1e-12)
    # Splits are consecutive blocks: 5 uniform splits (IS 1) then 5 one-hot splits over 4 classes
    # (IS 4) give mean 2.5 and (population) std 1.5 across the splits.
    uniform = np.zeros((20, 4))
    onehot = np.tile(np.eye(4) * 100.0, (5, 1))
    mean, std = metrics.inception_score(np.concatenate([uniform, onehot]), splits=10)
    assert mean == pytest.approx(2.5) and std == pytest.approx(1.5)
    with pytest.raises(ValueError, match="needs >= 10 samples"):
        metrics.inception_score(np.zeros((9, 4)))
