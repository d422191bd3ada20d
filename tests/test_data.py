"""The embedded datasets match GAN-NOTES."""

import jax
import numpy as np
import pytest

from gan_jax import data


def test_ring8_and_grid25_modes():
    ring = data.ring8_modes()
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(ring[2], [0.0, 1.0], atol=1e-6)
    grid = data.grid25_modes()
    assert grid.shape == (25, 2)
    assert sorted(set(grid[:, 0].tolist())) == [-4, -2, 0, 2, 4]


@pytest.mark.parametrize("name,std", [("ring8", 0.01), ("grid25", 0.05)])
def test_mixture_samples_stay_near_modes(name, std):
    ds = data.get_dataset({"name": name})
    batch = jax.jit(ds.sample, static_argnums=1)(jax.random.key(0), 4000)
    x, label = np.asarray(batch["x"]), np.asarray(batch["label"])
    offsets = x - ds.modes[label]
    np.testing.assert_allclose(offsets.std(), std, rtol=0.05)
    assert len(np.unique(label)) == len(ds.modes)


def test_digits_scaled_resized_and_distinct_within_a_batch():
    ds = data.get_dataset({"name": "digits", "resolution": 16})
    assert ds.shape == (16, 16, 1) and ds.num_classes == 10
    images, labels = data.digits_arrays(16)
    assert images.shape == (1797, 16, 16, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    batch = ds.sample(jax.random.key(0), 256)
    flat = np.asarray(batch["x"]).reshape(256, -1)
    assert len({row.tobytes() for row in flat}) == 256  # drawn without replacement
    a = ds.sample(jax.random.key(1), 8)["x"]
    np.testing.assert_array_equal(a, ds.sample(jax.random.key(1), 8)["x"])


def test_unknown_dataset():
    with pytest.raises(KeyError, match="allowed"):
        data.get_dataset({"name": "mnist_typo"})
