"""GAN objectives as pure functions of discriminator outputs.

Every loss here takes discriminator *logits* (or, for the Wasserstein and least-squares
objectives, raw critic scores) and returns ``(loss, terms)``: a scalar and a flat dict of the
scalar parts that make it up, for logging. Nothing here touches parameters, state or global
randomness, so the functions can be jit-ted, differentiated and vmap-ped in a notebook::

    from gan_jax import losses
    obj = losses.OBJECTIVES['non_saturating']
    loss, terms = obj.g_loss(fake_logits)

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
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import chex
import jax
import jax.numpy as jnp

Array = jax.Array
Terms = dict[str, Array]
LossOut = tuple[Array, Terms]


# --------------------------------------------------------------------------------------------
# Binary cross-entropy games (logits in, never probabilities).


def bce_d_loss(real_logits: Array, fake_logits: Array) -> LossOut:
    """Discriminator loss of the original game: -E[log D(x)] - E[log(1 - D(G(z)))].

    Computed as E[softplus(-l(x))] + E[softplus(l(G(z)))], which is finite for any logit.
    """
    real = jnp.mean(jax.nn.softplus(-real_logits))
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


def gradient_penalty(
    critic: Callable[[Array], Array],
    real: Array,
    fake: Array,
    key: Array,
    *,
    weight: float = 10.0,
    target: float = 1.0,
) -> LossOut:
    """WGAN-GP penalty weight * E[(||grad_x^ f(x^)||_2 - target)^2] (Gulrajani et al. 2017, eq. 3).

    x^ = e * real + (1 - e) * fake with one e ~ U[0, 1] per sample, drawn from ``key``.
    ``critic`` maps a batch to per-sample scores and must treat samples independently (no
    BatchNorm), so the gradient of the summed scores holds each sample's own input gradient.
    """
    chex.assert_equal_shape([real, fake])
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = jax.random.uniform(key, eps_shape, dtype=real.dtype)
    interp = eps * real + (1.0 - eps) * fake
    grads = jax.grad(lambda x: jnp.sum(critic(x)))(interp)
    norms = jnp.sqrt(jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=-1))
    penalty = weight * jnp.mean(jnp.square(norms - target))
    return penalty, {"penalty": penalty, "interp_grad_norm": jnp.mean(norms)}


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
# Objectives: immutable records looked up by name.


@dataclasses.dataclass(frozen=True)
class Objective:
    """One GAN objective.

    Attributes:
      name: registry name.
      d_loss: (real_out, fake_out) -> (loss, terms) for the discriminator / critic.
      g_loss: fake_out -> (loss, terms) for the generator.
      penalty: optional (critic_fn, real, fake, key) -> (penalty, terms) added to d_loss.
      weight_clip: if set, critic weights are projected onto [-c, c] after every update.
    """

    name: str
    d_loss: Callable[[Array, Array], LossOut]
    g_loss: Callable[[Array], LossOut]
    penalty: Callable[[Callable[[Array], Array], Array, Array, Array], LossOut] | None = None
    weight_clip: float | None = None


OBJECTIVES: dict[str, Objective] = {
    "minimax": Objective("minimax", bce_d_loss, minimax_g_loss),
    "non_saturating": Objective("non_saturating", bce_d_loss, non_saturating_g_loss),
    "wasserstein": Objective(
        "wasserstein", wasserstein_d_loss, wasserstein_g_loss, weight_clip=0.01
    ),
    "wasserstein_gp": Objective(
        "wasserstein_gp", wasserstein_d_loss, wasserstein_g_loss, penalty=gradient_penalty
    ),
    "least_squares": Objective("least_squares", least_squares_d_loss, least_squares_g_loss),
}


def get_objective(cfg: Mapping[str, Any]) -> Objective:
    """The objective named by ``cfg['name']`` with its hyper-parameters bound from ``cfg``.

    Recognised keys besides ``name``: ``clip`` (wasserstein), ``gp_weight`` (wasserstein_gp),
    ``ls_a``, ``ls_b``, ``ls_c`` (least_squares). Missing keys keep the defaults above.
    """
    name = cfg["name"]
    if name not in OBJECTIVES:
        raise KeyError(f"objective.name={name!r}; allowed: {sorted(OBJECTIVES)}")
    obj = OBJECTIVES[name]
    get = cfg.get
    if name == "wasserstein":
        obj = dataclasses.replace(obj, weight_clip=float(get("clip", obj.weight_clip)))
    elif name == "wasserstein_gp":
        penalty = functools.partial(gradient_penalty, weight=float(get("gp_weight", 10.0)))
        obj = dataclasses.replace(obj, penalty=penalty)
    elif name == "least_squares":
        a, b, c = (float(get(k, d)) for k, d in (("ls_a", 0.0), ("ls_b", 1.0), ("ls_c", 1.0)))
        obj = dataclasses.replace(
            obj,
            d_loss=functools.partial(least_squares_d_loss, a=a, b=b),
            g_loss=functools.partial(least_squares_g_loss, c=c),
        )
    return obj
