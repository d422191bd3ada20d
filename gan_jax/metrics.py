"""Sample-quality metrics, pure NumPy functions of samples or features.

2D mixtures (VEEGAN arXiv 1705.07761 section 5.1; PacGAN arXiv 1712.04086 section 5.1): a sample
is *high quality* if it lies within 3 standard deviations of its nearest mode; a mode is
*captured* if it is the nearest mode of at least one high-quality sample; the *reverse KL* is
KL(q || u) between q, the histogram of the high-quality samples over modes, and the uniform
distribution u over the modes (inf when no sample is high quality).

Feature-space metrics between real features X (n, d) and generated features Y (m, d):

- Frechet distance (Heusel et al. 2017, arXiv 1706.08500, eq. 6; Dowson & Landau 1982):
  ||mu_X - mu_Y||^2 + Tr(S_X + S_Y - 2 (S_X S_Y)^{1/2}), the 2-Wasserstein distance between the
  Gaussians fitted to the two feature sets ("FID" when the features are Inception-v3's).
- KID (Binkowski et al. 2018, arXiv 1801.01401, section 3 and appendix): the unbiased estimator
  of the squared MMD with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over
  random subsets; unbiased, so its expectation is 0 when both sets come from one distribution.
- Precision and recall (Kynkaanniemi et al. 2019, arXiv 1904.06991, eqs. 1-3): each set's
  manifold is the union of balls around its points with radius the distance to the k-th nearest
  neighbour within the set (k = 3); precision is the fraction of generated points inside the
  real manifold, recall the fraction of real points inside the generated manifold.
- Density and coverage (Naeem et al. 2020, arXiv 2002.09797, eqs. 3-4): the same k-NN balls,
  around the real points only (k = 5, the paper's default); density is the mean number of real
  balls a generated point lies in, divided by k (about 1 when both sets come from one
  distribution, above 1 when fakes crowd dense real regions), coverage the fraction of real
  points whose ball holds at least one generated point. As in the authors' code (clovaai/prdc),
  "in the ball" is a strict inequality.
- Inception Score (Salimans et al. 2016, arXiv 1606.03498, section 4):
  exp(E_x KL(p(y|x) || p(y))) from a classifier's logits, p(y) the mean prediction of a split;
  the mean and standard deviation over 10 consecutive splits, as in the authors' code.
- Classifier statistics (Metz et al. 2017, arXiv 1611.02163, section 3.3.2 for mode counting):
  class coverage (classes predicted at all, and with at least 3% of the samples), the KL of the
  predicted-class histogram to the uniform distribution, and the mean top-class probability.

Paired-image metrics between outputs X and their true targets Y (N, H, W, C), pixel values of
range ``data_range`` (2 for gan_jax's [-1, 1] images), averaged over the N images:

- PSNR: 10 log10(data_range^2 / MSE(X_i, Y_i)) per image.
- SSIM (Wang et al. 2004, eq. 13): (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)
  (s_x^2 + s_y^2 + C2)) in every 11x11 Gaussian window (sigma 1.5) that fits in the image,
  C1 = (0.01 L)^2, C2 = (0.03 L)^2, population (co)variances, averaged over windows and channels;
  scikit-image's ``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``
  on the windows away from the border.
- Laplacian energy: the mean squared 4-neighbour Laplacian of the images, a sharpness measure
  (blur lowers it); the ratio of an output set's to its targets' is 1 for sharp outputs.
"""

from __future__ import annotations

import numpy as np


def mode_metrics(samples: np.ndarray, modes: np.ndarray, std: float) -> dict[str, float]:
    """Modes captured, fraction of high-quality samples and reverse KL, on (N, D) samples."""
    samples = np.asarray(samples, np.float64)
    modes = np.asarray(modes, np.float64)
    dists = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)  # (N, K)
    nearest = np.argmin(dists, axis=1)
    hq = dists[np.arange(len(samples)), nearest] <= 3.0 * std
    counts = np.bincount(nearest[hq], minlength=len(modes)).astype(np.float64)
    if counts.sum() > 0:
        q = counts / counts.sum()
        nz = q > 0
        reverse_kl = float(np.sum(q[nz] * np.log(q[nz] * len(modes))))
    else:
        reverse_kl = float("inf")
    return {
        "modes": int(np.count_nonzero(counts)),
        "hq_fraction": float(hq.mean()),
        "reverse_kl": reverse_kl,
        "num_samples": int(len(samples)),
    }


def stacked_mode_metrics(mode_index: np.ndarray, num_modes: int) -> dict[str, float]:
    """Modes reached (at least one sample) and KL(q || uniform) of the samples' mode histogram
    q, the stacked-MNIST protocol of Metz et al. 2017 / VEEGAN / PacGAN; ``mode_index`` (N,)."""
    counts = np.bincount(np.asarray(mode_index), minlength=num_modes).astype(np.float64)
    q = counts / counts.sum()
    nz = q > 0
    return {
        "modes": int(np.count_nonzero(counts)),
        "reverse_kl": float(np.sum(q[nz] * np.log(q[nz] * num_modes))),
        "num_samples": int(len(mode_index)),
    }


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (rows are samples) of (N, d) features, in float64."""
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Tr((S1 S2)^{1/2}) is computed as the sum of the square roots of the eigenvalues of the
    symmetric PSD matrix S1^{1/2} S2 S1^{1/2}, which has the same eigenvalues as S1 S2. Why not
    scipy.linalg.sqrtm(S1 @ S2) (pytorch-fid's way): S1 S2 is not symmetric, so its Schur-based
    square root picks up imaginary parts and fails on the singular covariances that collapsed
    generators produce (pytorch-fid then adds eps*I and discards the imaginary part); two
    symmetric eigendecompositions are exact up to rounding for any PSD pair, need no
    regularisation and agree with sqrtm where sqrtm is well conditioned (tested).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    root1 = _sqrt_psd(sigma1)
    inner = root1 @ sigma2 @ root1
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = float(np.sum(np.sqrt(np.clip(eig, 0.0, None))))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def frechet_distance_features(real: np.ndarray, fake: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to two (N, d) feature sets."""
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))


def polynomial_kernel(
    x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0
) -> np.ndarray:
    """k(x, y) = (x.y / d + coef0)^degree, the KID kernel (Binkowski et al. 2018)."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD (Gretton et al. 2012, eq. 3) with the cubic polynomial kernel.

    MMD_u^2 = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
              - 2/(mn) sum_{i,j} k(x_i, y_j).
    """
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    m, n = len(x), len(y)
    term_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    term_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(term_x + term_y - 2.0 * kxy.mean())


def kernel_inception_distance(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: mean and standard deviation of ``mmd2_unbiased`` over random subset pairs.

    As in Binkowski et al.'s reference code, each of ``num_subsets`` rounds draws
    ``min(subset_size, len(real), len(fake))`` points from each set without replacement. The
    kernel matrices of the full sets are computed once; a subset's kernel sums are then
    s^T K s for its 0/1 indicator s, all subsets in one matrix product (the same numbers as
    ``mmd2_unbiased`` on each subset, ~20x faster for 100 subsets).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples per set; got {len(real)} and {len(fake)}")
    rng = np.random.default_rng(seed)
    s_r = np.zeros((len(real), num_subsets))
    s_f = np.zeros((len(fake), num_subsets))
    for j in range(num_subsets):
        s_r[rng.choice(len(real), size, replace=False), j] = 1.0
        s_f[rng.choice(len(fake), size, replace=False), j] = 1.0
    k_rr, k_ff = polynomial_kernel(real, real), polynomial_kernel(fake, fake)
    sum_rr = np.einsum("ij,ij->j", s_r, k_rr @ s_r) - np.diag(k_rr) @ s_r
    sum_ff = np.einsum("ij,ij->j", s_f, k_ff @ s_f) - np.diag(k_ff) @ s_f
    sum_rf = np.einsum("ij,ij->j", s_r, polynomial_kernel(real, fake) @ s_f)
    pairs = size * (size - 1)
    values = sum_rr / pairs + sum_ff / pairs - 2.0 * sum_rf / (size * size)
    return float(np.mean(values)), float(np.std(values))


def _pairwise_sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(sq, 0.0)


def knn_radii(features: np.ndarray, k: int = 3) -> np.ndarray:
    """Squared distance from each point to its k-th nearest neighbour in the set (self excluded)."""
    d = _pairwise_sq_dists(features, features)
    # Column 0 of the sorted row is the point itself (distance 0): the k-th neighbour is column k.
    return np.partition(d, k, axis=1)[:, k]


def _coverage(
    points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 1024
) -> np.ndarray:
    """For each point, whether it lies in at least one ball (centre, radius^2)."""
    inside = np.zeros(len(points), bool)
    for i in range(0, len(points), chunk):
        d = _pairwise_sq_dists(points[i : i + chunk], centres)
        inside[i : i + chunk] = (d <= radii[None, :]).any(axis=1)
    return inside


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of Kynkaanniemi et al. 2019 (k-NN manifolds, k=3)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    precision = _coverage(fake, real, knn_radii(real, k)).mean()
    recall = _coverage(real, fake, knn_radii(fake, k)).mean()
    return float(precision), float(recall)


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density and coverage of Naeem et al. 2020 (arXiv 2002.09797, eqs. 3-4; k = 5).

    density = 1/(k M) sum_j sum_i 1[||Y_j - X_i|| < r_i],
    coverage = 1/N sum_i 1[min_j ||Y_j - X_i|| < r_i],
    with r_i the distance from real X_i to its k-th nearest real neighbour (self excluded).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    radii = knn_radii(real, k)
    inside_count = np.zeros(len(fake))
    nearest_fake = np.full(len(real), np.inf)
    for i in range(0, len(fake), 1024):
        d = _pairwise_sq_dists(fake[i : i + 1024], real)  # (chunk, N)
        inside_count[i : i + 1024] = (d < radii[None, :]).sum(axis=1)
        nearest_fake = np.minimum(nearest_fake, d.min(axis=0))
    density = inside_count.mean() / k
    coverage = (nearest_fake < radii).mean()
    return float(density), float(coverage)


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Inception Score (Salimans et al. 2016): mean and std over ``splits`` consecutive splits.

    For each split, exp(1/n sum_x KL(p(y|x) || p(y))) with p(y|x) = softmax(logits) and p(y) the
    split's mean prediction; the splits are consecutive blocks of the samples, as in the
    authors' code (openai/improved-gan, inception_score/model.py).
    """
    logits = np.asarray(logits, np.float64)
    if len(logits) < splits:
        raise ValueError(f"the Inception Score needs >= {splits} samples; got {len(logits)}")
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    scores = []
    for i in range(splits):
        part = log_p[i * len(log_p) // splits : (i + 1) * len(log_p) // splits]
        log_marginal = np.log(np.exp(part).mean(axis=0))
        kl = np.sum(np.exp(part) * (part - log_marginal[None, :]), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def classifier_metrics(
    logits: np.ndarray, num_classes: int, min_fraction: float = 0.03
) -> dict[str, float | int | list[float]]:
    """Class coverage, KL(predicted-class histogram || uniform) and mean confidence.

    ``classes`` counts the classes predicted for at least one sample, ``classes_min_fraction``
    those predicted for at least ``min_fraction`` of them (3% by default; with 10 classes a
    uniform generator puts 10% in each).
    """
    logits = np.asarray(logits, np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    pred = probs.argmax(axis=1)
    hist = np.bincount(pred, minlength=num_classes) / len(pred)
    nz = hist > 0
    return {
        "classes": int(np.count_nonzero(hist)),
        "classes_min_fraction": int(np.count_nonzero(hist >= min_fraction)),
        "min_class_fraction": float(hist.min()),
        "class_kl": float(np.sum(hist[nz] * np.log(hist[nz] * num_classes))),
        "confidence": float(probs.max(axis=1).mean()),
        "class_histogram": [round(float(h), 4) for h in hist],
    }


def feature_metrics(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    k: int = 3,
    density_k: int = 5,
) -> dict[str, float]:
    """Frechet distance, KID (mean, std), precision/recall (k) and density/coverage (density_k)."""
    kid, kid_std = kernel_inception_distance(
        real, fake, num_subsets=kid_subsets, subset_size=kid_subset_size
    )
    precision, recall = precision_recall(real, fake, k)
    density, coverage = density_coverage(real, fake, density_k)
    return {
        "frechet_distance": frechet_distance_features(real, fake),
        "kid": kid,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
    }


def psnr(x: np.ndarray, y: np.ndarray, data_range: float = 2.0) -> float:
    """Mean over images of 10 log10(data_range^2 / MSE) between (N, ...) outputs and targets."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    mse = np.mean(np.square(x - y).reshape(x.shape[0], -1), axis=1)
    return float(np.mean(10.0 * np.log10(data_range**2 / np.maximum(mse, 1e-12))))


SSIM_WINDOW, SSIM_SIGMA = 11, 1.5


def _gaussian_filter_valid(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, H - 10, W - 10, C): the normalised 11x11 Gaussian (sigma 1.5) mean of
    every window that fits (separable)."""
    r = np.arange(SSIM_WINDOW) - SSIM_WINDOW // 2
    g = np.exp(-(r**2) / (2 * SSIM_SIGMA**2))
    g /= g.sum()
    view = np.lib.stride_tricks.sliding_window_view
    x = view(x, SSIM_WINDOW, axis=1) @ g
    return view(x, SSIM_WINDOW, axis=2) @ g


def ssim(x: np.ndarray, y: np.ndarray, data_range: float = 2.0) -> float:
    """Mean SSIM (Wang et al. 2004) of (N, H, W, C) outputs against targets, H, W >= 11."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _gaussian_filter_valid(x), _gaussian_filter_valid(y)
    var_x = _gaussian_filter_valid(x * x) - mu_x**2
    var_y = _gaussian_filter_valid(y * y) - mu_y**2
    cov = _gaussian_filter_valid(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float(np.mean(num / den))


def laplacian_energy(x: np.ndarray) -> float:
    """Mean squared 4-neighbour Laplacian of (N, H, W, C) images (interior pixels)."""
    x = np.asarray(x, np.float64)
    lap = x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:] - 4 * x[:, 1:-1, 1:-1]
    return float(np.mean(np.square(lap)))
