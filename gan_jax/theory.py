"""Closed-form GAN theory on tabulated densities, for notebooks and tests.

Densities are arrays of non-negative values on a common grid (a discrete distribution, or a
density times cell volume); functions normalise nothing unless they say so. With
D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1) the value function
satisfies V(D*, G) = 2 JS(p_data || p_g) - log 4 (Theorem 1), which
``value_function(optimal_discriminator(p, q), p, q)`` against ``2 * js_divergence(p, q) - log 4``
shows numerically. The same holds for every f-divergence of f-GAN (Nowozin et al. 2016): the
variational bound E_P[T] - E_Q[f*(T)] at the optimal critic T* = f'(p / q) equals D_f(P || Q)
(``f_variational_bound(optimal_f_critic(p, q, name), p, q, name)`` against
``f_divergence(p, q, name)``), and the GAN row's D_f is 2 JS - log 4 again.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gan_jax.losses import F_DIVERGENCES

Array = jax.Array


def _xlogy_ratio(p: Array, q: Array) -> Array:
    """p * log(p / q) with the convention 0 log 0 = 0."""
    return jnp.where(p > 0, p * (jnp.log(jnp.where(p > 0, p, 1.0)) - jnp.log(q)), 0.0)


def optimal_discriminator(p_data: Array, p_g: Array) -> Array:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)); 1/2 where both densities vanish."""
    total = p_data + p_g
    return jnp.where(total > 0, p_data / jnp.where(total > 0, total, 1.0), 0.5)


def kl_divergence(p: Array, q: Array) -> Array:
    """KL(p || q) = sum p log(p / q) for discrete distributions (inf if q = 0 where p > 0)."""
    return jnp.sum(_xlogy_ratio(p, q))


def js_divergence(p: Array, q: Array) -> Array:
    """JS(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2; in [0, log 2]."""
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def value_function(d: Array, p_data: Array, p_g: Array) -> Array:
    """V(D, G) = E_{p_data}[log D] + E_{p_g}[log(1 - D)] for D given as probabilities on the grid.

    Terms with zero weight contribute 0 even where log D or log(1 - D) is -inf.
    """
    real = jnp.where(p_data > 0, p_data * jnp.log(jnp.where(p_data > 0, d, 1.0)), 0.0)
    fake = jnp.where(p_g > 0, p_g * jnp.log1p(-jnp.where(p_g > 0, d, 0.0)), 0.0)
    return jnp.sum(real) + jnp.sum(fake)


def value_function_from_logits(logits: Array, p_data: Array, p_g: Array) -> Array:
    """V(D, G) with D = sigmoid(logits): equals minus gan_jax.losses.bce_d_loss in expectation."""
    return jnp.sum(p_data * jax.nn.log_sigmoid(logits)) + jnp.sum(p_g * jax.nn.log_sigmoid(-logits))


def f_divergence(p: Array, q: Array, name: str) -> Array:
    """D_f(P || Q) = sum q f(p / q) for the f of ``losses.F_DIVERGENCES[name]``; needs q > 0."""
    return jnp.sum(q * F_DIVERGENCES[name].f(p / q))


def optimal_f_critic(p: Array, q: Array, name: str) -> Array:
    """T*(x) = f'(p(x) / q(x)), the critic that makes the f-GAN bound tight (Nowozin et al. 2016,
    section 2.2); needs q > 0 (and p > 0 for the rows whose f' diverges at 0)."""
    return F_DIVERGENCES[name].f_prime(p / q)


def f_variational_bound(t: Array, p: Array, q: Array, name: str) -> Array:
    """E_P[T] - E_Q[f*(T)] for a critic T given on the grid (inside dom f*): <= D_f(P || Q)."""
    return jnp.sum(p * t) - jnp.sum(q * F_DIVERGENCES[name].conjugate(t))


def f_variational_bound_from_outputs(v: Array, p: Array, q: Array, name: str) -> Array:
    """The bound for raw critic outputs V, T = g_f(V): equals minus ``losses.f_gan_d_loss`` in
    expectation."""
    fd = F_DIVERGENCES[name]
    return jnp.sum(p * fd.activation(v)) - jnp.sum(q * fd.conjugate_of_activation(v))
