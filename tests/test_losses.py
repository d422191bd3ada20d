"""Every objective against its closed form, at extreme logits, and its gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import losses

REAL = jnp.array([2.0, -1.0, 0.5, 3.0])
FAKE = jnp.array([-2.0, 0.3, 1.5, -0.7])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def test_bce_d_loss_closed_form():
    loss, terms = losses.bce_d_loss(REAL, FAKE)
    expected_real = -np.mean(np.log(sigmoid(REAL)))
    expected_fake = -np.mean(np.log(1 - sigmoid(FAKE)))
    np.testing.assert_allclose(terms["real"], expected_real, rtol=1e-6)
    np.testing.assert_allclose(terms["fake"], expected_fake, rtol=1e-6)
    np.testing.assert_allclose(loss, expected_real + expected_fake, rtol=1e-6)


def test_minimax_g_loss_is_log_one_minus_d():
    loss, terms = losses.minimax_g_loss(FAKE)
    np.testing.assert_allclose(loss, np.mean(np.log(1 - sigmoid(FAKE))), rtol=1e-6)
    assert terms["fake"] == loss


def test_non_saturating_g_loss_is_minus_log_d():
    loss, _ = losses.non_saturating_g_loss(FAKE)
    np.testing.assert_allclose(loss, -np.mean(np.log(sigmoid(FAKE))), rtol=1e-6)


def test_wasserstein_closed_form():
    loss, terms = losses.wasserstein_d_loss(REAL, FAKE)
    np.testing.assert_allclose(loss, np.mean(FAKE) - np.mean(REAL), rtol=1e-6)
    np.testing.assert_allclose(terms["real"], -np.mean(REAL), rtol=1e-6)
    g, _ = losses.wasserstein_g_loss(FAKE)
    np.testing.assert_allclose(g, -np.mean(FAKE), rtol=1e-6)


@pytest.mark.parametrize("a,b,c", [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0)])
def test_least_squares_closed_form(a, b, c):
    obj = losses.get_objective({"name": "least_squares", "ls_a": a, "ls_b": b, "ls_c": c})
    d, terms = obj.d_loss(REAL, FAKE)
    expected_real = 0.5 * np.mean((np.asarray(REAL) - b) ** 2)
    expected_fake = 0.5 * np.mean((np.asarray(FAKE) - a) ** 2)
    np.testing.assert_allclose(d, expected_real + expected_fake, rtol=1e-6)
    np.testing.assert_allclose(terms["real"], expected_real, rtol=1e-6)
    g, _ = obj.g_loss(FAKE)
    np.testing.assert_allclose(g, 0.5 * np.mean((np.asarray(FAKE) - c) ** 2), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(losses.OBJECTIVES))
@pytest.mark.parametrize("logit", [80.0, -80.0])
def test_finite_values_and_gradients_at_extreme_logits(name, logit):
    obj = losses.OBJECTIVES[name]
    x = jnp.full((4,), logit)
    d_val, d_grads = jax.value_and_grad(lambda r, f: obj.d_loss(r, f)[0], argnums=(0, 1))(x, -x)
    g_val, g_grad = jax.value_and_grad(lambda f: obj.g_loss(f)[0])(x)
    for v in (d_val, g_val, *d_grads, g_grad):
        assert np.all(np.isfinite(np.asarray(v))), (name, logit, v)


def test_bce_stays_accurate_where_probabilities_underflow():
    # sigmoid(-80) underflows to 0 in float32, so log(D) would be -inf; softplus is exact.
    loss, _ = losses.non_saturating_g_loss(jnp.array([-80.0]))
    np.testing.assert_allclose(loss, 80.0, rtol=1e-6)


def test_saturating_gradient_vanishes_where_non_saturating_does_not():
    """Goodfellow et al. 2014: when D rejects fakes confidently, log(1 - D) saturates."""
    confident_reject = jnp.full((8,), -10.0)
    g_mm = jax.grad(lambda f: losses.minimax_g_loss(f)[0])(confident_reject)
    g_ns = jax.grad(lambda f: losses.non_saturating_g_loss(f)[0])(confident_reject)
    # d/dl of -softplus(l) / n = -sigmoid(l) / n ~ -4.5e-5 / 8; of softplus(-l) / n ~ -1 / 8.
    assert np.max(np.abs(g_mm)) < 1e-5
    assert np.min(np.abs(g_ns)) > 0.12
    np.testing.assert_allclose(g_mm, -sigmoid(-10.0) / 8, rtol=1e-4)


def test_gradient_penalty_hand_computed_linear_critic():
    # f(x) = w . x has grad w everywhere: penalty = weight * (||w|| - 1)^2 for any interpolate.
    w = jnp.array([3.0, 4.0])  # ||w|| = 5
    critic = lambda x: x @ w  # noqa: E731
    real = jnp.ones((6, 2))
    fake = jnp.zeros((6, 2))
    pen, terms = losses.gradient_penalty(critic, real, fake, jax.random.key(0), weight=10.0)
    np.testing.assert_allclose(pen, 10.0 * (5.0 - 1.0) ** 2, rtol=1e-6)
    np.testing.assert_allclose(terms["interp_grad_norm"], 5.0, rtol=1e-6)


def test_gradient_penalty_hand_computed_quadratic_critic():
    # f(x) = 1/2 ||x||^2 has grad x^ = e x + (1 - e) y, so the penalty depends on e per sample.
    critic = lambda x: 0.5 * jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=-1)  # noqa: E731
    real = jax.random.normal(jax.random.key(1), (5, 3, 2, 1))
    fake = jax.random.normal(jax.random.key(2), (5, 3, 2, 1))
    key = jax.random.key(3)
    eps = jax.random.uniform(key, (5, 1, 1, 1))
    interp = np.asarray(eps * real + (1 - eps) * fake).reshape(5, -1)
    expected = 2.0 * np.mean((np.linalg.norm(interp, axis=1) - 1.0) ** 2)
    pen, _ = losses.gradient_penalty(critic, real, fake, key, weight=2.0)
    np.testing.assert_allclose(pen, expected, rtol=1e-5)


def test_losses_vmap_and_jit():
    batched = jnp.stack([REAL, FAKE, REAL * 2])
    out = jax.jit(jax.vmap(lambda r: losses.bce_d_loss(r, FAKE)[0]))(batched)
    np.testing.assert_allclose(out[0], losses.bce_d_loss(REAL, FAKE)[0], rtol=1e-6)


def test_registry_names_and_config_binding():
    assert set(losses.OBJECTIVES) == {
        "minimax",
        "non_saturating",
        "wasserstein",
        "wasserstein_gp",
        "least_squares",
    }
    assert losses.get_objective({"name": "wasserstein", "clip": 0.05}).weight_clip == 0.05
    gp = losses.get_objective({"name": "wasserstein_gp", "gp_weight": 3.0})
    critic = lambda x: x @ jnp.array([0.0, 2.0])  # noqa: E731
    pen, _ = gp.penalty(critic, jnp.ones((2, 2)), jnp.zeros((2, 2)), jax.random.key(0))
    assert math.isclose(float(pen), 3.0, rel_tol=1e-6)
    with pytest.raises(KeyError, match="allowed"):
        losses.get_objective({"name": "hinge_typo"})
