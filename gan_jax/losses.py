"""GAN objectives and critic penalties as pure functions of discriminator outputs.

Every loss here takes discriminator *logits* (or, for the Wasserstein, hinge and least-squares
objectives, raw critic scores) and returns ``(loss, terms)``: a scalar and a flat dict of the
scalar parts that make it up, for logging. An ``Objective`` record holds a discriminator loss
and a generator loss, both of the form ``(real_out, fake_out) -> (loss, terms)`` (only the
relativistic generator losses read ``real_out``), and optionally a penalty
``(critic, real, fake, key) -> (penalty, terms)`` with an explicit PRNG key. Nothing here touches
parameters, state or global randomness, so the functions can be jit-ted, differentiated and
vmap-ped in a notebook::

    from gan_jax import losses
    obj = losses.get_objective({"name": "hinge", "penalty": "r1", "penalty_weight": 1.0})
    loss, terms = obj.g_loss(real_logits, fake_logits)
    loss, terms = losses.non_saturating_g_loss(fake_logits)

The formulas follow ../shared/GAN-NOTES.md, with D(x) = sigmoid(l(x)):

- ``minimax`` (Goodfellow et al. 2014, eq. 1): the original saturating game. D minimises
  E[softplus(-l(x))] + E[softplus(l(G(z)))]; G minimises E[log(1 - D(G(z)))] =
  -E[softplus(l(G(z)))].
- ``non_saturating``: same D loss; G minimises -E[log D(G(z))] = E[softplus(-l(G(z)))].
- ``wasserstein`` (Arjovsky et al. 2017): critic minimises E[f(G(z))] - E[f(x)], G minimises
  -E[f(G(z))]; the critic's weights are clipped to [-c, c] after each update (``weight_clip``).
- ``wasserstein_gp`` (Gulrajani et al. 2017): the same losses plus
  lambda * E[(||grad f(x^)||_2 - 1)^2] at x^ = e x + (1 - e) G(z), e ~ U[0, 1] per sample.
- ``least_squares`` (Mao et al. 2016, eq. 2): D minimises 1/2 E[(D(x) - b)^2] +
  1/2 E[(D(G(z)) - a)^2], G minimises 1/2 E[(D(G(z)) - c)^2]; default a=0, b=1, c=1.
- ``hinge`` (Lim & Ye 2017; SNGAN, BigGAN): D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))],
  G minimises -E[D(G(z))].
- ``relativistic_average`` (RaSGAN) and ``relativistic_average_ls`` (RaLSGAN),
  Jolicoeur-Martineau 2018: the standard and least-squares losses applied to
  C(x_r) - E[C(x_f)] and C(x_f) - E[C(x_r)], for D and (roles swapped) for G.
- ``relativistic_pairing`` (RpGAN; Jolicoeur-Martineau 2018, the loss of R3GAN, Huang et al.
  2024): D minimises E[softplus(-(C(x_i) - C(G(z_i))))] over pairs, G the same with the roles
  swapped.
- ``f_gan`` (Nowozin et al. 2016): the critic maximises E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))],
  the variational bound on the f-divergence ``objective.divergence`` (``F_DIVERGENCES``, their
  Table 2); G minimises -E_Q[g_f(V(G(z)))] (``alternative``) or the bound (``saturating``).
- ``feature_matching_loss`` (Salimans et al. 2016, section 3.1): a generator loss on the
  critic's features, ||E f(x) - E f(G(z))||^2 (the semi-supervised game's generator).

``label_smoothing`` (minimax and non_saturating, the binary cross-entropy objectives): one-sided
label smoothing, real targets 1 - a and fake targets 0 in D's loss (Salimans et al. 2016,
section 3.4). ``feature_matching_loss`` is G's loss of the same paper (section 3.1), on the
critic's features; gan_jax/games/improved.py uses it.

Penalties (``PENALTIES``; any objective takes any of them through ``get_objective``): ``gp``
(WGAN-GP, two-sided), ``one_sided_gp`` (max(0, ||g|| - 1)^2), ``dragan`` (two-sided around
perturbed real data, Kodali et al. 2017), ``r1`` / ``r2`` (gamma / 2 * E||grad D||^2 on real /
fake data, Mescheder et al. 2018) and ``r1_r2`` (both, R3GAN). ``objective.penalty_every = N``
applies any of them lazily (StyleGAN2): on one critic update in N, times N (``lazy_penalty``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import chex
import jax
import jax.numpy as jnp

from gan_jax import schema
from gan_jax.errors import ConfigError

Array = jax.Array
Terms = dict[str, Array]
LossOut = tuple[Array, Terms]


# --------------------------------------------------------------------------------------------
# Binary cross-entropy games (logits in, never probabilities).


def bce_d_loss(real_logits: Array, fake_logits: Array, *, label_smoothing: float = 0.0) -> LossOut:
    """Discriminator loss of the original game: -E[log D(x)] - E[log(1 - D(G(z)))].

    Computed as E[softplus(-l(x))] + E[softplus(l(G(z)))], which is finite for any logit.
    ``label_smoothing`` a > 0 is one-sided label smoothing (Salimans et al. 2016, section 3.4):
    real samples get the target 1 - a, fakes keep 0, so the real term is the cross-entropy
    E[(1 - a) softplus(-l(x)) + a softplus(l(x))]. Smoothing the fakes' target too would keep
    the optimal D from being small where p_data is small and p_g large, which the paper warns of.
    """
    real = jnp.mean(
        (1.0 - label_smoothing) * jax.nn.softplus(-real_logits)
        + label_smoothing * jax.nn.softplus(real_logits)
    )
    fake = jnp.mean(jax.nn.softplus(fake_logits))
    return real + fake, {"real": real, "fake": fake}


def minimax_g_loss(fake_logits: Array) -> LossOut:
    """Saturating generator loss E[log(1 - D(G(z)))] = -E[softplus(l(G(z)))].

    Goodfellow et al. 2014, eq. 1. Its gradient vanishes as l(G(z)) -> -inf, i.e. exactly when
    the discriminator confidently rejects the fakes.
    """
    fake = -jnp.mean(jax.nn.softplus(fake_logits))
    return fake, {"fake": fake}


def non_saturating_g_loss(fake_logits: Array) -> LossOut:
    """Non-saturating generator loss -E[log D(G(z))] = E[softplus(-l(G(z)))].

    Goodfellow et al. 2014, section 3: same fixed point as the minimax game, strong gradients
    while the discriminator wins.
    """
    fake = jnp.mean(jax.nn.softplus(-fake_logits))
    return fake, {"fake": fake}


# --------------------------------------------------------------------------------------------
# Wasserstein critic.


def wasserstein_d_loss(real_scores: Array, fake_scores: Array) -> LossOut:
    """Critic loss E[f(G(z))] - E[f(x)] (Arjovsky et al. 2017, eq. 3, negated to minimise)."""
    real = -jnp.mean(real_scores)
    fake = jnp.mean(fake_scores)
    return real + fake, {"real": real, "fake": fake}


def wasserstein_g_loss(fake_scores: Array) -> LossOut:
    """Generator loss -E[f(G(z))]."""
    fake = -jnp.mean(fake_scores)
    return fake, {"fake": fake}


# --------------------------------------------------------------------------------------------
# Least squares.


def least_squares_d_loss(
    real_scores: Array, fake_scores: Array, *, a: float = 0.0, b: float = 1.0
) -> LossOut:
    """LSGAN discriminator loss 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] (Mao et al., eq. 2)."""
    real = 0.5 * jnp.mean(jnp.square(real_scores - b))
    fake = 0.5 * jnp.mean(jnp.square(fake_scores - a))
    return real + fake, {"real": real, "fake": fake}


def least_squares_g_loss(fake_scores: Array, *, c: float = 1.0) -> LossOut:
    """LSGAN generator loss 1/2 E[(D(G(z)) - c)^2]."""
    fake = 0.5 * jnp.mean(jnp.square(fake_scores - c))
    return fake, {"fake": fake}


# --------------------------------------------------------------------------------------------
# Hinge.


def hinge_d_loss(real_scores: Array, fake_scores: Array) -> LossOut:
    """Hinge loss E[relu(1 - D(x))] + E[relu(1 + D(G(z)))].

    Lim & Ye 2017 (arXiv 1705.02894), as used by SNGAN (Miyato et al. 2018, arXiv 1802.05957)
    and BigGAN. D is the raw score (no sigmoid).
    """
    real = jnp.mean(jax.nn.relu(1.0 - real_scores))
    fake = jnp.mean(jax.nn.relu(1.0 + fake_scores))
    return real + fake, {"real": real, "fake": fake}


def hinge_g_loss(fake_scores: Array) -> LossOut:
    """Generator loss of the hinge game, -E[D(G(z))] (as in SNGAN and BigGAN)."""
    fake = -jnp.mean(fake_scores)
    return fake, {"fake": fake}


# --------------------------------------------------------------------------------------------
# Relativistic average GANs (Jolicoeur-Martineau 2018, arXiv 1807.00734, section 4).
# With C the critic's raw output, a real sample is judged by C(x_r) - E[C(x_f)] and a fake one by
# C(x_f) - E[C(x_r)], the expectations being batch means. Both players' losses need both
# batches' outputs, hence the two-argument generator losses. Adding a constant to C changes
# neither loss, so the critic's output bias gets no gradient (Adam then moves it by rounding
# noise alone, harmlessly).


def _relative(real_scores: Array, fake_scores: Array) -> tuple[Array, Array]:
    """(C(x_r) - E[C(x_f)], C(x_f) - E[C(x_r)]), the means over the batch."""
    chex.assert_equal_shape([real_scores, fake_scores])
    return real_scores - jnp.mean(fake_scores), fake_scores - jnp.mean(real_scores)


def relativistic_average_d_loss(real_logits: Array, fake_logits: Array) -> LossOut:
    """RaSGAN discriminator loss -E[log sigmoid(r)] - E[log(1 - sigmoid(f))].

    r = C(x_r) - E[C(x_f)], f = C(x_f) - E[C(x_r)] (Jolicoeur-Martineau 2018, section 4), computed
    as E[softplus(-r)] + E[softplus(f)].
    """
    r, f = _relative(real_logits, fake_logits)
    real = jnp.mean(jax.nn.softplus(-r))
    fake = jnp.mean(jax.nn.softplus(f))
    return real + fake, {"real": real, "fake": fake}


def relativistic_average_g_loss(real_logits: Array, fake_logits: Array) -> LossOut:
    """RaSGAN generator loss -E[log sigmoid(f)] - E[log(1 - sigmoid(r))] (section 4).

    The discriminator loss with the roles of real and fake swapped; the real term carries no
    gradient to G through C(x_r) but does through E[C(x_f)] inside r.
    """
    r, f = _relative(real_logits, fake_logits)
    fake = jnp.mean(jax.nn.softplus(-f))
    real = jnp.mean(jax.nn.softplus(r))
    return real + fake, {"real": real, "fake": fake}


def relativistic_average_ls_d_loss(real_scores: Array, fake_scores: Array) -> LossOut:
    """RaLSGAN discriminator loss E[(r - 1)^2] + E[(f + 1)^2] (Jolicoeur-Martineau 2018, section 4).

    The author's code halves both RaLSGAN losses; the factor only rescales the gradient (and
    Adam's updates hardly depend on it), so the paper's form is kept.
    """
    r, f = _relative(real_scores, fake_scores)
    real = jnp.mean(jnp.square(r - 1.0))
    fake = jnp.mean(jnp.square(f + 1.0))
    return real + fake, {"real": real, "fake": fake}


def relativistic_average_ls_g_loss(real_scores: Array, fake_scores: Array) -> LossOut:
    """RaLSGAN generator loss E[(f - 1)^2] + E[(r + 1)^2]."""
    r, f = _relative(real_scores, fake_scores)
    fake = jnp.mean(jnp.square(f - 1.0))
    real = jnp.mean(jnp.square(r + 1.0))
    return real + fake, {"real": real, "fake": fake}


# --------------------------------------------------------------------------------------------
# Relativistic pairing (RpGAN; Jolicoeur-Martineau 2018's RSGAN, the R3GAN loss).


def relativistic_pairing_d_loss(real_logits: Array, fake_logits: Array) -> LossOut:
    """RpGAN discriminator loss E[softplus(-(C(x_i) - C(G(z_i))))], real and fake paired by index.

    Jolicoeur-Martineau 2018 (arXiv 1807.00734, RSGAN) and Huang et al. 2024 (R3GAN, arXiv
    2501.05441, eq. 2 with f = softplus(-t)): each real sample is judged against one fake
    sample, not the batch mean as in ``relativistic_average``.
    """
    chex.assert_equal_shape([real_logits, fake_logits])
    loss = jnp.mean(jax.nn.softplus(fake_logits - real_logits))
    # The paired loss has no real / fake split: "real" holds all of it here, "fake" all of the
    # generator's (so real + fake = loss, as for every objective).
    margin = jnp.mean(real_logits - fake_logits)
    return loss, {"real": loss, "fake": jnp.zeros_like(loss), "margin": margin}


def relativistic_pairing_g_loss(real_logits: Array, fake_logits: Array) -> LossOut:
    """RpGAN generator loss E[softplus(-(C(G(z_i)) - C(x_i)))]: real and fake swapped."""
    chex.assert_equal_shape([real_logits, fake_logits])
    loss = jnp.mean(jax.nn.softplus(real_logits - fake_logits))
    margin = jnp.mean(fake_logits - real_logits)
    return loss, {"real": jnp.zeros_like(loss), "fake": loss, "margin": margin}


# --------------------------------------------------------------------------------------------
# f-GAN (Nowozin et al. 2016, arXiv 1606.00709). The critic's raw output V goes through the
# divergence's output activation, T = g_f(V), which lands in the domain of the Fenchel conjugate
# f*; the critic maximises the variational bound E_P[T(x)] - E_Q[f*(T(G(z)))] <= D_f(P || Q)
# (eq. 6; the bound is tight at T = f'(p / q)), where D_f(P || Q) = E_Q[f(p / q)] and P is the
# data, Q the generator. Each divergence also has f*(g_f(V)) in a closed form that is finite
# for every finite V (computing f* of the activated value loses it: the GAN row's
# -log(1 - exp(t)) at t = -softplus(-v) is softplus(v), which never overflows).


@dataclasses.dataclass(frozen=True)
class FDivergence:
    """One f-divergence of Nowozin et al. 2016, Tables 1 and 2.

    Attributes:
      f: the generator f(u), u = p / q > 0 (convex, f(1) = 0): D_f(P || Q) = E_Q[f(p / q)].
      f_prime: f'(u); the optimal critic is T*(x) = f'(p(x) / q(x)).
      activation: g_f(v), the output activation of Table 2, from R into ``domain``.
      conjugate: f*(t) = sup_u (u t - f(u)) on ``domain``, as Table 2 writes it.
      conjugate_of_activation: f*(g_f(v)) in a form finite for every finite v.
      domain: dom f* (words, for the documentation).
    """

    f: Callable[[Array], Array]
    f_prime: Callable[[Array], Array]
    activation: Callable[[Array], Array]
    conjugate: Callable[[Array], Array]
    conjugate_of_activation: Callable[[Array], Array]
    domain: str


LOG2 = math.log(2.0)

F_DIVERGENCES: dict[str, FDivergence] = {
    # KL(P || Q) = E_P[log p / q]: mode covering.
    "kl": FDivergence(
        f=lambda u: u * jnp.log(u),
        f_prime=lambda u: 1.0 + jnp.log(u),
        activation=lambda v: v,
        conjugate=lambda t: jnp.exp(t - 1.0),
        conjugate_of_activation=lambda v: jnp.exp(v - 1.0),
        domain="R",
    ),
    # KL(Q || P): mode seeking.
    "reverse_kl": FDivergence(
        f=lambda u: -jnp.log(u),
        f_prime=lambda u: -1.0 / u,
        activation=lambda v: -jnp.exp(-v),
        conjugate=lambda t: -1.0 - jnp.log(-t),
        conjugate_of_activation=lambda v: v - 1.0,
        domain="t < 0",
    ),
    # Pearson chi^2 = E_Q[(p / q - 1)^2].
    "pearson": FDivergence(
        f=lambda u: jnp.square(u - 1.0),
        f_prime=lambda u: 2.0 * (u - 1.0),
        activation=lambda v: v,
        conjugate=lambda t: 0.25 * jnp.square(t) + t,
        conjugate_of_activation=lambda v: 0.25 * jnp.square(v) + v,
        domain="R",
    ),
    # Neyman chi^2 = E_P[(q / p - 1)^2].
    "neyman": FDivergence(
        f=lambda u: jnp.square(1.0 - u) / u,
        f_prime=lambda u: 1.0 - 1.0 / jnp.square(u),
        activation=lambda v: -jnp.expm1(-v),
        conjugate=lambda t: 2.0 - 2.0 * jnp.sqrt(1.0 - t),
        conjugate_of_activation=lambda v: 2.0 - 2.0 * jnp.exp(-0.5 * v),
        domain="t < 1",
    ),
    # Squared Hellinger = E_Q[(sqrt(p / q) - 1)^2] = sum (sqrt p - sqrt q)^2.
    "squared_hellinger": FDivergence(
        f=lambda u: jnp.square(jnp.sqrt(u) - 1.0),
        f_prime=lambda u: 1.0 - 1.0 / jnp.sqrt(u),
        activation=lambda v: -jnp.expm1(-v),
        conjugate=lambda t: t / (1.0 - t),
        conjugate_of_activation=lambda v: jnp.expm1(v),
        domain="t < 1",
    ),
    # Table 1's Jensen-Shannon generator; its f-divergence is 2 JS(P || Q), JS = 1/2 KL(P || M)
    # + 1/2 KL(Q || M) with M = (P + Q) / 2 (tests/test_fgan.py), in [0, 2 log 2].
    "jensen_shannon": FDivergence(
        f=lambda u: -(u + 1.0) * jnp.log((1.0 + u) / 2.0) + u * jnp.log(u),
        f_prime=lambda u: jnp.log(2.0 * u / (1.0 + u)),
        activation=lambda v: LOG2 - jax.nn.softplus(-v),
        conjugate=lambda t: -jnp.log(2.0 - jnp.exp(t)),
        conjugate_of_activation=lambda v: jax.nn.softplus(v) - LOG2,
        domain="t < log 2",
    ),
    # The GAN divergence 2 JS(P || Q) - log 4: with g_f(v) = log sigmoid(v) the critic's loss is
    # the BCE of the original game, V the logit (Goodfellow et al. 2014).
    "gan": FDivergence(
        f=lambda u: u * jnp.log(u) - (u + 1.0) * jnp.log(u + 1.0),
        f_prime=lambda u: jnp.log(u / (u + 1.0)),
        activation=lambda v: -jax.nn.softplus(-v),
        conjugate=lambda t: -jnp.log1p(-jnp.exp(t)),
        conjugate_of_activation=jax.nn.softplus,
        domain="t < 0",
    ),
    # Total variation 1/2 E_Q|p / q - 1| = 1/2 sum |p - q|.
    "total_variation": FDivergence(
        f=lambda u: 0.5 * jnp.abs(u - 1.0),
        f_prime=lambda u: 0.5 * jnp.sign(u - 1.0),
        activation=lambda v: 0.5 * jnp.tanh(v),
        conjugate=lambda t: t,
        conjugate_of_activation=lambda v: 0.5 * jnp.tanh(v),
        domain="|t| <= 1/2",
    ),
}
# The generator losses of objective.f_g_loss.
F_GAN_G_LOSSES = ("alternative", "saturating")


def f_gan_d_loss(real_scores: Array, fake_scores: Array, *, divergence: str = "kl") -> LossOut:
    """f-GAN critic loss -(E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))]) (Nowozin et al. 2016, eq. 6).

    Minus the variational lower bound on D_f(P || Q); V is the critic's raw output.
    """
    fd = F_DIVERGENCES[divergence]
    real = -jnp.mean(fd.activation(real_scores))
    fake = jnp.mean(fd.conjugate_of_activation(fake_scores))
    return real + fake, {"real": real, "fake": fake}


def f_gan_g_loss(
    fake_scores: Array, *, divergence: str = "kl", form: str = "alternative"
) -> LossOut:
    """f-GAN generator loss: ``saturating`` -E_Q[f*(g_f(V(G(z))))], the bound G minimises (eq. 6),
    or ``alternative`` -E_Q[g_f(V(G(z)))], the paper's section 3.2 generalisation of Goodfellow
    et al.'s non-saturating trick (for the GAN divergence they are the minimax and the
    non-saturating losses)."""
    fd = F_DIVERGENCES[divergence]
    if form == "saturating":
        fake = -jnp.mean(fd.conjugate_of_activation(fake_scores))
    else:
        fake = -jnp.mean(fd.activation(fake_scores))
    return fake, {"fake": fake}


# Feature matching (Salimans et al. 2016, arXiv 1606.03498, section 3.1): a generator loss on an
# intermediate layer of the critic instead of its output.


def feature_matching_loss(real_features: Array, fake_features: Array) -> LossOut:
    """||E_x f(x) - E_z f(G(z))||_2^2: squared L2 distance of the batch means of the features.

    ``f`` is an intermediate layer of the critic; the features are (B, ...), flattened per
    sample (any trailing shape, the same for both; the batch sizes may differ). Salimans et al.
    2016, section 3.1: G matches the statistics of the real data on the critic's features
    instead of maximising the critic's output. Terms: ``{"feature_matching": value}``.
    """
    chex.assert_equal_shape([real_features[:1], fake_features[:1]])
    real_mean = jnp.mean(real_features.reshape(real_features.shape[0], -1), axis=0)
    fake_mean = jnp.mean(fake_features.reshape(fake_features.shape[0], -1), axis=0)
    value = jnp.sum(jnp.square(real_mean - fake_mean))
    return value, {"feature_matching": value}


# --------------------------------------------------------------------------------------------
# Penalties on the critic's input gradient. Each takes (critic, real, fake, key) and returns
# (penalty, terms); ``critic`` maps a batch to per-sample outputs and must treat samples
# independently (no BatchNorm in training mode), so the gradient of the summed outputs holds
# each sample's own input gradient.

Critic = Callable[[Array], Array]
Penalty = Callable[[Critic, Array, Array, Array], LossOut]


def input_grad_norms(critic: Critic, x: Array) -> Array:
    """||grad_x critic(x)_i||_2 for every sample i of the batch ``x``, shape (B,)."""
    grads = jax.grad(lambda x: jnp.sum(critic(x)))(x)
    return jnp.sqrt(jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=-1))


def _per_sample_uniform(key: Array, like: Array) -> Array:
    """One U[0, 1] draw per sample, broadcastable against ``like``."""
    return jax.random.uniform(key, (like.shape[0],) + (1,) * (like.ndim - 1), dtype=like.dtype)


def _interpolates(real: Array, fake: Array, key: Array) -> Array:
    """x^ = e * real + (1 - e) * fake, one e ~ U[0, 1] per sample."""
    chex.assert_equal_shape([real, fake])
    eps = _per_sample_uniform(key, real)
    return eps * real + (1.0 - eps) * fake


def gradient_penalty(
    critic: Critic,
    real: Array,
    fake: Array,
    key: Array,
    *,
    weight: float = 10.0,
    target: float = 1.0,
) -> LossOut:
    """WGAN-GP penalty weight * E[(||grad_x^ f(x^)||_2 - target)^2] (Gulrajani et al. 2017, eq. 3).

    x^ = e * real + (1 - e) * fake with one e ~ U[0, 1] per sample, drawn from ``key``.
    """
    norms = input_grad_norms(critic, _interpolates(real, fake, key))
    penalty = weight * jnp.mean(jnp.square(norms - target))
    return penalty, {"penalty": penalty, "interp_grad_norm": jnp.mean(norms)}


def one_sided_gradient_penalty(
    critic: Critic, real: Array, fake: Array, key: Array, *, weight: float = 10.0
) -> LossOut:
    """One-sided penalty weight * E[max(0, ||grad_x^ f(x^)||_2 - 1)^2] at the WGAN-GP interpolates.

    Gulrajani et al. 2017 (appendix, "one-sided penalty"); Petzka et al. 2018 (arXiv 1709.08894)
    argue for it: a 1-Lipschitz critic only needs gradient norms at most 1.
    """
    norms = input_grad_norms(critic, _interpolates(real, fake, key))
    penalty = weight * jnp.mean(jnp.square(jax.nn.relu(norms - 1.0)))
    return penalty, {"penalty": penalty, "interp_grad_norm": jnp.mean(norms)}


def dragan_penalty(
    critic: Critic,
    real: Array,
    fake: Array,
    key: Array,
    *,
    weight: float = 10.0,
    c: float = 0.5,
) -> LossOut:
    """DRAGAN penalty weight * E[(||grad D(x~)||_2 - 1)^2] around perturbed real data.

    Kodali et al. 2017 (arXiv 1705.07215), as their reference code computes it: x_p = x + c *
    std(x) * u with u ~ U[0, 1) per element and std over the whole batch, then x~ = x + a (x_p -
    x) with one a ~ U[0, 1] per sample (the paper writes the perturbation as Gaussian noise; the
    code's form is the one their results used). ``fake`` is not used.
    """
    del fake
    key_noise, key_alpha = jax.random.split(key)
    perturbed = real + c * jnp.std(real) * jax.random.uniform(key_noise, real.shape, real.dtype)
    alpha = _per_sample_uniform(key_alpha, real)
    norms = input_grad_norms(critic, real + alpha * (perturbed - real))
    penalty = weight * jnp.mean(jnp.square(norms - 1.0))
    return penalty, {"penalty": penalty, "perturbed_grad_norm": jnp.mean(norms)}


def r1_penalty(
    critic: Critic, real: Array, fake: Array, key: Array, *, gamma: float = 10.0
) -> LossOut:
    """R1 = gamma / 2 * E_{x ~ p_data}[||grad_x D(x)||^2] (Mescheder et al. 2018, eq. 9).

    D is the raw output (logit). ``fake`` and ``key`` are not used.
    """
    del fake, key
    norms = input_grad_norms(critic, real)
    penalty = 0.5 * gamma * jnp.mean(jnp.square(norms))
    return penalty, {"penalty": penalty, "real_grad_norm": jnp.mean(norms)}


def r2_penalty(
    critic: Critic, real: Array, fake: Array, key: Array, *, gamma: float = 10.0
) -> LossOut:
    """R2 = gamma / 2 * E_{x ~ p_g}[||grad_x D(x)||^2] (Mescheder et al. 2018, eq. 10).

    ``real`` and ``key`` are not used.
    """
    del real, key
    norms = input_grad_norms(critic, fake)
    penalty = 0.5 * gamma * jnp.mean(jnp.square(norms))
    return penalty, {"penalty": penalty, "fake_grad_norm": jnp.mean(norms)}


def r1_r2_penalty(
    critic: Critic, real: Array, fake: Array, key: Array, *, gamma: float = 10.0
) -> LossOut:
    """R1 + R2 = gamma / 2 * (E_{p_data}||grad D(x)||^2 + E_{p_g}||grad D(x)||^2).

    The penalty of R3GAN (Huang et al. 2024, arXiv 2501.05441, eq. 4): both of Mescheder et
    al.'s penalties at the same gamma, ``r1_penalty`` plus ``r2_penalty``.
    """
    r1, r1_terms = r1_penalty(critic, real, fake, key, gamma=gamma)
    r2, r2_terms = r2_penalty(critic, real, fake, key, gamma=gamma)
    penalty = r1 + r2
    return penalty, {
        "penalty": penalty,
        "r1": r1,
        "r2": r2,
        "real_grad_norm": r1_terms["real_grad_norm"],
        "fake_grad_norm": r2_terms["fake_grad_norm"],
    }


PENALTIES: dict[str, Penalty] = {
    "gp": gradient_penalty,
    "one_sided_gp": one_sided_gradient_penalty,
    "dragan": dragan_penalty,
    "r1": r1_penalty,
    "r2": r2_penalty,
    "r1_r2": r1_r2_penalty,
}
# The penalties whose strength is gamma (penalty = gamma / 2 * E||grad||^2), not lambda.
GAMMA_PENALTIES = ("r1", "r2", "r1_r2")
# Values of the config key objective.penalty.
PENALTY_NAMES = ("none", *PENALTIES)


def make_penalty(name: str, weight: float = 10.0, dragan_c: float = 0.5) -> Penalty:
    """Penalty ``name`` with its strength bound: lambda for gp / one_sided_gp / dragan, gamma for
    r1 / r2 / r1_r2 (whose penalty is gamma / 2 * E||grad||^2); ``dragan_c`` scales DRAGAN's
    noise."""
    if name not in PENALTIES:
        raise ConfigError("objective.penalty", name, str(list(PENALTIES)))
    if name in GAMMA_PENALTIES:
        return functools.partial(PENALTIES[name], gamma=schema.real(weight))
    if name == "dragan":
        return functools.partial(
            dragan_penalty, weight=schema.real(weight), c=schema.real(dragan_c)
        )
    return functools.partial(PENALTIES[name], weight=schema.real(weight))


def lazy_penalty(
    penalty: Penalty,
    every: int,
    critic: Critic,
    real: Array,
    fake: Array,
    key: Array,
    counter: Array | int,
    *,
    use_cond: bool | None = None,
) -> LossOut:
    """``penalty`` on critic update number ``counter`` with lazy regularisation.

    Karras et al. 2020 (StyleGAN2, arXiv 1912.04958, section 3.1): the penalty runs on one
    update in ``every`` (counter % every == 0), multiplied by ``every`` so that its mean over
    updates, and the gradient it contributes on average, stay those of the penalty applied on
    every update. Between those updates it is 0 (the terms too). ``every`` = 1 is the penalty
    itself. StyleGAN2 runs the penalty as its own optimiser step and rescales Adam's lr and
    betas by every / (every + 1); here it is added to the update's loss, the optimiser unchanged.

    ``use_cond`` (default: everywhere but on CPU): skip the penalty's double backward pass
    between its updates with ``jax.lax.cond`` (a vmapped cond runs both branches). XLA:CPU runs
    the convolutions of a conditional's branches far slower than inline ones (the R3GAN digits
    step took 34 CPU ms with the cond every 4 updates against 13 with R1 + R2 on every update,
    experiments/results/lazy_penalty_cost.md), so on CPU the penalty is computed on every update
    and masked: the same numbers, no saving.
    """
    if every == 1:
        return penalty(critic, real, fake, key)
    on = jnp.asarray(counter) % every == 0

    def apply():
        value, terms = penalty(critic, real, fake, key)
        return every * value, {**terms, "penalty": every * value}

    if use_cond is None:
        use_cond = jax.default_backend() != "cpu"
    if use_cond:
        return jax.lax.cond(on, apply, lambda: jax.tree.map(jnp.zeros_like, jax.eval_shape(apply)))
    return jax.tree.map(lambda x: jnp.where(on, x, jnp.zeros_like(x)), apply())


def critic_penalty(
    objective: Objective, critic: Critic, real: Array, fake: Array, key: Array, counter
) -> LossOut:
    """The objective's penalty on critic update number ``counter`` (``objective.penalty_every``)."""
    return lazy_penalty(
        objective.penalty, objective.penalty_every, critic, real, fake, key, counter
    )


# --------------------------------------------------------------------------------------------
# Objectives: immutable records looked up by name.


def fake_only(g_loss: Callable[[Array], LossOut]) -> Callable[[Array, Array], LossOut]:
    """A generator loss of the fake outputs alone, in the (real_out, fake_out) form all share."""

    def loss(real_out: Array, fake_out: Array) -> LossOut:
        del real_out  # unused, so XLA drops the critic's pass over real data in the G step
        return g_loss(fake_out)

    return loss


@dataclasses.dataclass(frozen=True)
class Objective:
    """One GAN objective, with an optional penalty on the critic.

    Attributes:
      name: registry name.
      d_loss: (real_out, fake_out) -> (loss, terms) for the discriminator / critic.
      g_loss: (real_out, fake_out) -> (loss, terms) for the generator. Only the relativistic
        losses read ``real_out``; for the others it is ignored (``fake_only``).
      penalty: optional (critic_fn, real, fake, key) -> (penalty, terms) added to d_loss.
      penalty_every: lazy regularisation, the penalty on one critic update in N, times N
        (``critic_penalty``); 1: on every update.
      weight_clip: if set, critic weights are projected onto [-c, c] after every update.
      paper: where it comes from (for the zoo table, experiments/zoo.py).
      recipe: its recipe in configs/ (a file stem), or None; the zoo trains every recipe.
      shift_invariant: the loss sees the critic only up to an added constant (Wasserstein,
        relativistic), so the sign of D(x) does not say real or fake (ADA refuses it).
    """

    name: str
    d_loss: Callable[[Array, Array], LossOut]
    g_loss: Callable[[Array, Array], LossOut]
    penalty: Penalty | None = None
    penalty_every: int = 1
    weight_clip: float | None = None
    paper: str = ""
    recipe: str | None = None
    shift_invariant: bool = False


OBJECTIVES: dict[str, Objective] = {
    "minimax": Objective(
        "minimax",
        bce_d_loss,
        fake_only(minimax_g_loss),
        paper="Goodfellow et al. 2014, arXiv 1406.2661",
        recipe="gan",
    ),
    "non_saturating": Objective(
        "non_saturating",
        bce_d_loss,
        fake_only(non_saturating_g_loss),
        paper="Goodfellow et al. 2014; DCGAN, Radford et al. 2015, arXiv 1511.06434",
        recipe="nsgan",
    ),
    "wasserstein": Objective(
        "wasserstein",
        wasserstein_d_loss,
        fake_only(wasserstein_g_loss),
        weight_clip=0.01,
        paper="WGAN, Arjovsky et al. 2017, arXiv 1701.07875",
        recipe="wgan",
        shift_invariant=True,
    ),
    # The WGAN-GP recipe by its old name: the wasserstein losses with the two-sided penalty.
    "wasserstein_gp": Objective(
        "wasserstein_gp",
        wasserstein_d_loss,
        fake_only(wasserstein_g_loss),
        penalty=gradient_penalty,
        paper="WGAN-GP, Gulrajani et al. 2017, arXiv 1704.00028",
        recipe="wgan_gp",
        shift_invariant=True,
    ),
    "least_squares": Objective(
        "least_squares",
        least_squares_d_loss,
        fake_only(least_squares_g_loss),
        paper="LSGAN, Mao et al. 2016, arXiv 1611.04076",
        recipe="lsgan",
    ),
    "hinge": Objective(
        "hinge",
        hinge_d_loss,
        fake_only(hinge_g_loss),
        paper="Lim & Ye 2017, arXiv 1705.02894; SNGAN's hinge recipe",
        recipe="hinge",
    ),
    "relativistic_average": Objective(
        "relativistic_average",
        relativistic_average_d_loss,
        relativistic_average_g_loss,
        paper="RaSGAN, Jolicoeur-Martineau 2018, arXiv 1807.00734",
        shift_invariant=True,
    ),
    "relativistic_average_ls": Objective(
        "relativistic_average_ls",
        relativistic_average_ls_d_loss,
        relativistic_average_ls_g_loss,
        paper="RaLSGAN, Jolicoeur-Martineau 2018, arXiv 1807.00734",
        shift_invariant=True,
    ),
    "relativistic_pairing": Objective(
        "relativistic_pairing",
        relativistic_pairing_d_loss,
        relativistic_pairing_g_loss,
        paper="RpGAN + R1 + R2 (R3GAN), Huang et al. 2024, arXiv 2501.05441",
        recipe="r3gan",
        shift_invariant=True,
    ),
    # At the default divergence; get_objective binds objective.divergence and objective.f_g_loss.
    "f_gan": Objective(
        "f_gan",
        f_gan_d_loss,
        fake_only(f_gan_g_loss),
        paper="f-GAN, Nowozin et al. 2016, arXiv 1606.00709",
        recipe="fgan",
    ),
}


# The keys of the `objective` config block, declared by what reads them (gan_jax/schema.py).
# The objectives whose critic loss is the binary cross-entropy (bce_d_loss).
BCE_OBJECTIVES = ("minimax", "non_saturating")
LABEL_SMOOTHING = schema.Key(
    0.0,
    lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 0.5,
    "a number in [0, 0.5)",
    "minimax / non_saturating: one-sided label smoothing a, D's real target 1 - a (0: off)",
)
OBJECTIVE_KEYS: dict[str, schema.Spec] = {
    **{name: {"label_smoothing": LABEL_SMOOTHING} for name in BCE_OBJECTIVES},
    "wasserstein": {
        "clip": schema.positive(0.01, "wasserstein: critic weights clipped to [-clip, clip]")
    },
    "wasserstein_gp": {"gp_weight": schema.positive(10.0, "wasserstein_gp: lambda")},
    # least_squares targets: D(real) -> b, D(fake) -> a, G wants D(fake) -> c (Mao et al.).
    "least_squares": {
        "ls_a": schema.number(0.0, "least_squares: D(fake) -> a"),
        "ls_b": schema.number(1.0, "least_squares: D(real) -> b"),
        "ls_c": schema.number(1.0, "least_squares: G wants D(fake) -> c"),
    },
}
OBJECTIVE_KEYS["f_gan"] = {
    "divergence": schema.choice(
        "kl", F_DIVERGENCES, "f_gan: the f-divergence (Nowozin et al. 2016, Table 2)"
    ),
    "f_g_loss": schema.choice(
        "alternative",
        F_GAN_G_LOSSES,
        "f_gan: G minimises -E[g_f(V)] (alternative, section 3.2) or -E[f*(g_f(V))] (saturating)",
    ),
}
PENALTY_KEYS: dict[str, schema.Spec] = {
    name: {
        "penalty_weight": schema.positive(
            10.0,
            "lambda, or gamma for r1 / r2 / r1_r2 (whose penalty is gamma / 2 * E||grad D||^2)",
        ),
        "penalty_every": schema.positive_int(
            1, "lazy regularisation: the penalty on one critic update in N, times N (StyleGAN2)"
        ),
    }
    for name in PENALTIES
}
PENALTY_KEYS["dragan"] = {
    **PENALTY_KEYS["dragan"],
    "dragan_c": schema.positive(0.5, "dragan: scale of the perturbation of real data"),
}
BLOCK_KEYS: schema.Spec = {
    "name": schema.choice("non_saturating", OBJECTIVES, "the objective (OBJECTIVES)"),
    "penalty": schema.choice(
        "none",
        PENALTY_NAMES,
        "a penalty on the critic's input gradient, composable with every objective but "
        "wasserstein_gp (which has its own)",
    ),
}


def default_block():
    """The `objective` config block: every objective's and penalty's keys at their defaults."""
    return schema.defaults(BLOCK_KEYS, *OBJECTIVE_KEYS.values(), *PENALTY_KEYS.values())


def check(cfg: Mapping[str, Any]) -> None:
    """ConfigError on a bad ``objective.*`` value: the name, the penalty, the keys they read."""
    schema.check_block("objective", cfg, BLOCK_KEYS)
    name, penalty = cfg["name"], schema.value(cfg, BLOCK_KEYS, "penalty")
    if name == "wasserstein_gp" and penalty != "none":
        raise ConfigError(
            "objective.penalty",
            penalty,
            "'none' with objective.name='wasserstein_gp' (its gradient penalty is built in); "
            "use objective.name='wasserstein' to choose the penalty",
        )
    every = schema.value(cfg, PENALTY_KEYS["r1"], "penalty_every")
    if penalty == "none" and every != 1:
        raise ConfigError(
            "objective.penalty_every", every, "1 with objective.penalty='none' (nothing to apply)"
        )
    if name != "f_gan":  # a divergence chosen for another objective would be silently unused
        for key, spec in OBJECTIVE_KEYS["f_gan"].items():
            if schema.value(cfg, OBJECTIVE_KEYS["f_gan"], key) != spec.default:
                raise ConfigError(
                    f"objective.{key}", cfg[key], f"{spec.default!r} unless objective.name='f_gan'"
                )
    smoothing = cfg["label_smoothing"] if "label_smoothing" in cfg else 0.0
    if name not in BCE_OBJECTIVES and smoothing != 0:
        raise ConfigError(
            "objective.label_smoothing",
            smoothing,
            f"0 with objective.name={name!r} (one-sided label smoothing is for the binary "
            f"cross-entropy objectives {list(BCE_OBJECTIVES)})",
        )
    schema.check_block("objective", cfg, OBJECTIVE_KEYS.get(name, {}))
    schema.check_block("objective", cfg, PENALTY_KEYS.get(penalty, {}))


def penalised(cfg: Mapping[str, Any]) -> bool:
    """Whether the objective block puts a penalty on the critic's input gradient."""
    return cfg["name"] == "wasserstein_gp" or schema.value(cfg, BLOCK_KEYS, "penalty") != "none"


def get_objective(cfg: Mapping[str, Any]) -> Objective:
    """The objective named by ``cfg['name']`` with its hyper-parameters and penalty bound.

    ``cfg`` is the `objective` block (``default_block`` has every key): ``label_smoothing``
    (minimax, non_saturating), ``clip`` (wasserstein), ``gp_weight`` (wasserstein_gp), ``ls_a``,
    ``ls_b``, ``ls_c`` (least_squares), ``divergence``, ``f_g_loss`` (f_gan), and for every
    objective ``penalty`` (one of PENALTY_NAMES), ``penalty_weight`` (lambda, or gamma for r1 /
    r2 / r1_r2), ``penalty_every`` (lazy regularisation) and ``dragan_c``. 'wasserstein_gp'
    carries its own penalty, so it takes
    ``penalty='none'`` only ('wasserstein' with ``penalty='gp'`` is the same objective). A key
    the block lacks takes its declared default. Raises ConfigError on a value or combination
    that is not allowed.
    """
    check(cfg)
    name, penalty = cfg["name"], schema.value(cfg, BLOCK_KEYS, "penalty")
    obj = OBJECTIVES[name]
    get = functools.partial(schema.value, cfg, OBJECTIVE_KEYS.get(name, {}))
    if name in BCE_OBJECTIVES and float(get("label_smoothing")) > 0:
        smoothed = functools.partial(bce_d_loss, label_smoothing=float(get("label_smoothing")))
        obj = dataclasses.replace(obj, d_loss=smoothed)
    if name == "wasserstein":
        obj = dataclasses.replace(obj, weight_clip=schema.real(get("clip")))
    elif name == "wasserstein_gp":
        penalty_fn = functools.partial(gradient_penalty, weight=schema.real(get("gp_weight")))
        obj = dataclasses.replace(obj, penalty=penalty_fn)
    elif name == "f_gan":
        divergence, form = get("divergence"), get("f_g_loss")
        obj = dataclasses.replace(
            obj,
            d_loss=functools.partial(f_gan_d_loss, divergence=divergence),
            g_loss=fake_only(functools.partial(f_gan_g_loss, divergence=divergence, form=form)),
        )
    elif name == "least_squares":
        a, b, c = (schema.real(get(k)) for k in ("ls_a", "ls_b", "ls_c"))
        obj = dataclasses.replace(
            obj,
            d_loss=functools.partial(least_squares_d_loss, a=a, b=b),
            g_loss=fake_only(functools.partial(least_squares_g_loss, c=c)),
        )
    if penalty != "none":
        get = functools.partial(schema.value, cfg, PENALTY_KEYS[penalty])
        extra = {"dragan_c": schema.real(get("dragan_c"))} if penalty == "dragan" else {}
        weight = schema.real(get("penalty_weight"))
        obj = dataclasses.replace(
            obj,
            penalty=make_penalty(penalty, weight, **extra),
            penalty_every=int(get("penalty_every")),
        )
    return obj
