"""gan_jax/augment.py: each augmentation on constructed inputs, the per-sample probability,
gradients through the policy, the policy parser and ADA's rule for p."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import augment

DIFFAUGMENT = augment.parse_policy("color,translation,cutout")


def one_hot_image(row: int, col: int, side: int = 8) -> jax.Array:
    return jnp.zeros((1, side, side, 1)).at[0, row, col, 0].set(1.0)


@pytest.mark.parametrize("shift", [(2, -1), (0, 0), (-2, 2), (1, 0)])
def test_translation_moves_the_pixel_of_a_one_hot_image(shift):
    out = augment.translate(one_hot_image(3, 4), jnp.array([shift]), max_shift=2)
    (where,) = np.argwhere(np.asarray(out)[0, ..., 0])
    assert tuple(where) == (3 + shift[0], 4 + shift[1])
    assert float(out.sum()) == 1.0


def test_translation_fills_the_vacated_pixels_with_zero():
    out = np.asarray(augment.translate(jnp.ones((1, 8, 8, 1)), jnp.array([[2, -1]]), 2))[0, ..., 0]
    assert (out[:2] == 0).all() and (out[:, -1:] == 0).all()
    assert (out[2:, :-1] == 1).all()
    # A pixel pushed off the image is gone.
    gone = augment.translate(one_hot_image(7, 0), jnp.array([[1, 0]]), 2)
    assert float(gone.sum()) == 0.0


def test_cutout_zeroes_a_square_inside_and_clips_it_at_the_border():
    out = np.asarray(augment.cutout(jnp.ones((2, 8, 8, 1)), jnp.array([[4, 4], [0, 8]]), 4))
    inside = out[0, ..., 0]
    assert (inside[2:6, 2:6] == 0).all() and inside.sum() == 64 - 16
    corner = out[1, ..., 0]  # rows -2..1, cols 6..9: the 2 x 2 corner that is in the image
    assert (corner[:2, 6:] == 0).all() and corner.sum() == 64 - 4


def test_colour_operations_in_closed_form():
    x = jax.random.uniform(jax.random.key(1), (3, 4, 4, 3), minval=-1, maxval=1)
    np.testing.assert_allclose(
        augment.brightness(x, jnp.array([0.1, -0.2, 0.0])),
        x + jnp.array([0.1, -0.2, 0.0])[:, None, None, None],
        atol=1e-6,
    )
    ones = jnp.ones((3,))
    np.testing.assert_allclose(augment.contrast(x, ones), x, atol=1e-6)
    np.testing.assert_allclose(augment.saturation(x, ones), x, atol=1e-6)
    # Contrast 0: every pixel is the image's mean; saturation 0: every pixel is grey.
    flat = augment.contrast(x, jnp.zeros((3,)))
    np.testing.assert_allclose(
        flat, jnp.broadcast_to(x.mean(axis=(1, 2, 3), keepdims=True), x.shape), atol=1e-6
    )
    grey = augment.saturation(x, jnp.zeros((3,)))
    np.testing.assert_allclose(
        grey, jnp.broadcast_to(x.mean(axis=-1, keepdims=True), x.shape), atol=1e-6
    )
    # Contrast keeps the mean; saturation is the identity on one-channel images.
    np.testing.assert_allclose(
        augment.contrast(x, 2 * ones).mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), atol=1e-6
    )
    gray = x[..., :1]
    np.testing.assert_allclose(augment.saturation(gray, 1.7 * ones), gray, atol=1e-6)


def test_p_zero_is_the_identity_and_p_one_transforms_every_sample():
    x = jax.random.uniform(jax.random.key(0), (16, 16, 16, 3), minval=-1, maxval=1)
    key = jax.random.key(5)
    np.testing.assert_array_equal(augment.augment(key, x, DIFFAUGMENT, 0.0), x)
    np.testing.assert_array_equal(augment.augment(key, x, (), 1.0), x)
    out = augment.augment(key, x, DIFFAUGMENT, 1.0)
    changed = np.abs(np.asarray(out - x)).reshape(16, -1).max(axis=1) > 0
    assert changed.all()


def test_each_operation_is_applied_to_each_sample_with_probability_p():
    x = jnp.zeros((4000, 2, 2, 1))
    out = augment.augment(jax.random.key(3), x, ("brightness",), 0.3)
    fraction = float(np.mean(np.abs(np.asarray(out)).reshape(4000, -1).max(axis=1) > 0))
    assert abs(fraction - 0.3) < 0.03  # 4 standard errors
    traced = jax.jit(lambda p: augment.augment(jax.random.key(3), x, ("brightness",), p))(0.3)
    np.testing.assert_array_equal(traced, out)  # a traced p (ADA's) draws the same samples


def test_the_same_key_gives_the_same_augmentation_and_another_key_another():
    x = jax.random.uniform(jax.random.key(0), (8, 16, 16, 1), minval=-1, maxval=1)
    a = augment.augment(jax.random.key(1), x, DIFFAUGMENT)
    np.testing.assert_array_equal(a, augment.augment(jax.random.key(1), x, DIFFAUGMENT))
    assert not np.array_equal(a, augment.augment(jax.random.key(2), x, DIFFAUGMENT))


def test_gradients_flow_through_every_operation():
    x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 3), minval=-1, maxval=1)
    for op in (*augment.POLICIES["color"], "translation", "cutout"):
        grad = jax.grad(
            lambda x, op=op: jnp.sum(augment.augment(jax.random.key(1), x, (op,)) ** 2)
        )(x)
        assert float(jnp.abs(grad).sum()) > 0 and bool(jnp.isfinite(grad).all()), op
    # Translation: d out[i, j] / d x is the one-hot at (i - dy, j - dx).
    grad = jax.grad(lambda x: augment.translate(x, jnp.array([[1, 2]]), 2)[0, 5, 5, 0])(
        jnp.zeros((1, 8, 8, 1))
    )
    assert tuple(np.argwhere(np.asarray(grad)[0, ..., 0])[0]) == (4, 3)


def test_the_policy_names_parse_to_operations_in_the_papers_order():
    assert augment.parse_policy("cutout, color") == (
        "brightness",
        "saturation",
        "contrast",
        "cutout",
    )
    assert augment.parse_policy("") == ()
    with pytest.raises(ValueError):
        augment.parse_policy("color,flip")


def test_ada_moves_p_by_the_sign_of_rt_minus_target_every_interval():
    ada = augment.ADA(target=0.6, interval=4, kimg=1.0)
    step = 8 * 4 / 1000.0  # B * N / (kimg * 1000)
    assert ada.step_size(8) == pytest.approx(step)
    p, signs, count = jnp.float32(0.5), jnp.float32(0.0), jnp.int32(0)
    confident = jnp.full((8,), 3.0)  # r_t = 1 > 0.6: overfitting, p goes up
    for i in range(3):
        p, signs, count, rt = augment.ada_update(p, signs, count, confident, ada)
        assert float(p) == 0.5 and int(count) == i + 1 and float(rt) == 1.0
    p, signs, count, _ = augment.ada_update(p, signs, count, confident, ada)
    assert float(p) == pytest.approx(0.5 + step) and int(count) == 0 and float(signs) == 0.0
    # r_t = mean of the interval's batch means: (1 + 1 - 1 - 0.5) / 4 = 0.125 < 0.6: p goes down.
    half = jnp.array([1.0, -1.0, -1.0, -1.0, 1.0, -1.0, -1.0, -1.0])  # batch mean sign -0.5
    for out in (confident, confident, -confident, half):
        p, signs, count, _ = augment.ada_update(p, signs, count, out, ada)
    assert float(p) == pytest.approx(0.5)


def test_ada_keeps_p_in_the_unit_interval():
    ada = augment.ADA(target=0.6, interval=1, kimg=0.001)  # a step of 8 per update
    p = augment.ada_update(jnp.float32(0.5), jnp.float32(0), jnp.int32(0), -jnp.ones(8), ada)[0]
    assert float(p) == 0.0
    p = augment.ada_update(jnp.float32(0.5), jnp.float32(0), jnp.int32(0), jnp.ones(8), ada)[0]
    assert float(p) == 1.0
