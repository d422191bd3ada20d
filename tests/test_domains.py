"""The image domains of gan_jax/data.py: each transform on constructed images (known inputs ->
known outputs), its inverse where it has one, and the multi-domain dataset digits_domains."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from conftest import load_config

from gan_jax import data
from gan_jax.errors import ConfigError


def one_pixel(i: int, j: int, size: int = 5) -> np.ndarray:
    """A (1, size, size, 1) background image (-1) with one stroke pixel (+1) at (i, j)."""
    x = -np.ones((1, size, size, 1), np.float32)
    x[0, i, j, 0] = 1.0
    return x


def test_thicken_dilates_a_pixel_into_its_3x3_block_and_erode_removes_it():
    thicken, undo_t = data.DOMAIN_TRANSFORMS["thicken"]
    erode, undo_e = data.DOMAIN_TRANSFORMS["erode"]
    assert undo_t is None and undo_e is None  # no inverse: the measures classify as is
    out = thicken(one_pixel(2, 2))[0, ..., 0]
    expected = -np.ones((5, 5))
    expected[1:4, 1:4] = 1.0
    np.testing.assert_array_equal(out, expected)
    # At the corner, the padding is background: only the 2x2 block inside the image lights up.
    corner = thicken(one_pixel(0, 0))[0, ..., 0]
    assert corner.sum() == 4 * 1.0 + 21 * -1.0
    np.testing.assert_array_equal(erode(one_pixel(2, 2)), -np.ones((1, 5, 5, 1)))
    # Erosion of the dilated pixel gives the pixel back (an opening of a 3x3 block).
    np.testing.assert_array_equal(erode(thicken(one_pixel(2, 2))), one_pixel(2, 2))


@pytest.mark.parametrize(
    "name,moved_to",
    [("rot180", (4, 3)), ("flip", (0, 3)), ("rot90", (3, 0)), ("invert", None)],
)
def test_geometric_transforms_move_a_pixel_where_expected_and_invert_exactly(name, moved_to):
    transform, undo = data.DOMAIN_TRANSFORMS[name]
    x = one_pixel(0, 1)
    y = np.asarray(transform(x))
    if moved_to is None:
        np.testing.assert_array_equal(y, -x)
    else:
        np.testing.assert_array_equal(y, one_pixel(*moved_to))
        np.testing.assert_array_equal(
            y[0, ..., 0],
            {
                "rot180": np.rot90(x[0, ..., 0], 2),
                "flip": x[0, :, ::-1, 0],
                "rot90": np.rot90(x[0, ..., 0]),
            }[name],
        )
    np.testing.assert_array_equal(np.asarray(undo(y)), x)


def test_digits_domains_puts_each_digit_in_one_domain_transformed():
    parts = data.digits_domains_arrays(16, "identity,invert,thicken")
    assert [len(p[0]) for p in parts] == [599, 599, 599]
    images, labels = data.digits_arrays(16)
    perm = np.random.default_rng(data.DOMAIN_SPLIT_SEED).permutation(len(images))
    for d, (x, y) in enumerate(parts):
        idx = np.sort(perm[d::3])
        transform = data.domain_transform(["identity", "invert", "thicken"][d])[0]
        np.testing.assert_array_equal(x, transform(images[idx]))
        np.testing.assert_array_equal(y, labels[idx])
    # No digit in two domains: the identity part and the inverses of the invert part differ.
    seen = {tuple(np.round(x, 4).ravel()) for x in parts[0][0]}
    assert not seen & {tuple(np.round(-x, 4).ravel()) for x in parts[1][0]}


def test_digits_domains_batches_hold_each_domain_in_order():
    ds = data.get_dataset({"name": "digits_domains", "domains": "identity,invert"})
    batch = jax.jit(ds.sample, static_argnums=1)(jax.random.key(0), 8)
    np.testing.assert_array_equal(batch["domain"], [0, 0, 0, 0, 1, 1, 1, 1])
    assert batch["x"].shape == (8, 16, 16, 1) and batch["label"].shape == (8,)
    # The invert block is negated digits: its mean is above the identity block's.
    assert float(batch["x"][4:].mean()) > 0 > float(batch["x"][:4].mean())
    again = ds.sample(jax.random.key(0), 8)
    np.testing.assert_array_equal(batch["x"], again["x"])


@pytest.mark.parametrize(
    "domains,batch_size,match",
    [
        ("identity,blur", 8, "data.domains"),
        ("identity", 8, "data.domains"),
        ("invert,invert", 8, "data.domains"),
        ("identity,invert,rot90", 8, "train.batch_size"),
    ],
)
def test_bad_domains_or_batch_sizes_are_refused_in_one_line(domains, batch_size, match):
    cfg = load_config("nsgan")
    cfg.data.name, cfg.data.domains, cfg.train.batch_size = "digits_domains", domains, batch_size
    with pytest.raises(ConfigError, match=match):
        data.check(cfg)


def test_cyclegan_measures_cope_with_a_transform_without_inverse(digits_classifier):
    from gan_jax.games import cyclegan

    domains = a, _, b, _ = data.digits_unpaired_arrays(16, "thicken")
    thicken = data.DOMAIN_TRANSFORMS["thicken"][0]
    # G_AB = the transform; G_BA has no true target: b itself stands in for it.
    out = {"fake_b": thicken(a), "rec_a": a, "fake_a": b, "rec_b": b}
    m = cyclegan.translation_metrics(out, digits_classifier, domains, "thicken")
    assert m["transform_l1_ab"] == 0.0 and np.isnan(m["transform_l1_ba"])
    # Thickened digits are classified as they are, on both sides.
    assert m["class_preservation_ba"] == m["classifier_accuracy_b"] > 0.9
    assert m["class_preservation_ab"] > 0.9
