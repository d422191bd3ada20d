"""Sample-quality metrics with their protocol written next to the number.

2D mixtures (VEEGAN arXiv 1705.07761 section 5.1; PacGAN arXiv 1712.04086 section 5.1): a sample
is *high quality* if it lies within 3 standard deviations of its nearest mode; a mode is
*captured* if it is the nearest mode of at least one high-quality sample; the *reverse KL* is
KL(q || u) between q, the histogram of the high-quality samples over modes, and the uniform
distribution u over the modes (inf when no sample is high quality).
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
