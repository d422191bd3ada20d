"""The optimal-discriminator identities of Goodfellow et al. 2014 on tabulated densities."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import losses, theory


def densities(seed, n=50):
    k1, k2 = jax.random.split(jax.random.key(seed))
    p = jax.random.uniform(k1, (n,)) ** 2
    q = jax.random.uniform(k2, (n,)) ** 2
    return p / p.sum(), q / q.sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_at_optimal_discriminator_is_two_js_minus_log4(seed):
    p, q = densities(seed)
    v = theory.value_function(theory.optimal_discriminator(p, q), p, q)
    np.testing.assert_allclose(v, 2 * theory.js_divergence(p, q) - math.log(4), atol=1e-6)


def test_optimal_discriminator_maximises_value():
    p, q = densities(3)
    d_star = theory.optimal_discriminator(p, q)
    v_star = theory.value_function(d_star, p, q)
    for eps in (0.05, -0.05):
        assert theory.value_function(jnp.clip(d_star + eps, 1e-6, 1 - 1e-6), p, q) < v_star


def test_identical_distributions_give_minus_log4_and_zero_js():
    p, _ = densities(4)
    np.testing.assert_allclose(theory.js_divergence(p, p), 0.0, atol=1e-7)
    np.testing.assert_allclose(theory.optimal_discriminator(p, p), 0.5)
    np.testing.assert_allclose(
        theory.value_function(theory.optimal_discriminator(p, p), p, p), -math.log(4), atol=1e-6
    )


def test_disjoint_supports_give_js_log2():
    p = jnp.array([0.5, 0.5, 0.0, 0.0])
    q = jnp.array([0.0, 0.0, 0.3, 0.7])
    np.testing.assert_allclose(theory.js_divergence(p, q), math.log(2), rtol=1e-6)
    np.testing.assert_allclose(
        theory.value_function(theory.optimal_discriminator(p, q), p, q), 0.0, atol=1e-6
    )


def test_kl_closed_form():
    p = jnp.array([0.25, 0.75])
    q = jnp.array([0.5, 0.5])
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    np.testing.assert_allclose(theory.kl_divergence(p, q), expected, rtol=1e-6)


def test_value_from_logits_matches_bce_loss():
    # Sampling real and fake from the tabulated densities, E[bce_d_loss] = -V(D, G).
    p, q = densities(5, n=4)
    logits = jnp.array([1.0, -2.0, 0.5, 3.0])
    v = theory.value_function_from_logits(logits, p, q)
    np.testing.assert_allclose(v, theory.value_function(jax.nn.sigmoid(logits), p, q), rtol=1e-5)
    # Weight the per-sample BCE by the densities: the same expectation, exactly.
    real = jnp.sum(p * jax.nn.softplus(-logits))
    fake = jnp.sum(q * jax.nn.softplus(logits))
    np.testing.assert_allclose(-(real + fake), v, rtol=1e-6)
    assert losses.bce_d_loss(logits, logits)[0] > 0
