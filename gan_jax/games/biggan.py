"""BigGAN's training game (Brock et al. 2018, arXiv 1809.11096): the classic game plus
orthogonal regularisation of G and standing statistics for sampling.

The players are the classic ones (``classic.critic_loss`` / ``classic.generator_loss``, any
objective: BigGAN trains with the hinge loss); the generator's loss adds BigGAN's orthogonal
regulariser (section 3.1)

    R_beta(W) = beta * || W^T W (1 - I) ||_F^2,

summed over every weight matrix of G (``game.ortho_reg`` = beta, 1e-4 in the paper; a conv
kernel counts as the matrix of its output filters, (kh kw C_in) x C_out, as in the BigGAN code,
which also leaves out the shared class embedding: only ``kernel`` parameters count).

Sampling: with ``game.standing_stats`` = N > 0 the generator (its EMA copy where the run keeps
one, ``model.g_ema_decay``) samples with "standing statistics" (BigGAN appendix C.1): its
BatchNorm means and variances are replaced by their averages over N train-mode forward passes
of batches of ``train.batch_size`` fresh (z, y), from a fixed key; the EMA network then
normalises with statistics of its own activations instead of the averaged running statistics
of the live network. Spectral-norm vectors, kept in the same collection, are left as they are.
The model family is any (the ``biggan`` family is the intended one: configs/biggan.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.games import classic
from gan_jax.losses import get_objective
from gan_jax.regularizers import from_config
from gan_jax.steps import Game

KEYS: schema.Spec = {
    "ortho_reg": schema.non_negative(
        1e-4, "beta of BigGAN's orthogonal regularisation of G's weights (0: off)"
    ),
    "standing_stats": schema.non_negative_int(
        0,
        "train-mode passes of G averaged into its BatchNorm statistics before sampling "
        "(BigGAN's standing statistics)",
        allowed="a non-negative integer (0: off)",
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "BigGAN, Brock et al. 2018, arXiv 1809.11096"
RECIPE = "biggan"

# Folded into the root key for the standing statistics' noise (beyond any player's role).
STANDING_STREAM = 1_000_003
BN_STATISTICS = ("mean", "var")  # flax BatchNorm's leaves in batch_stats


def check(config) -> None:
    schema.check_block("game", config.game, KEYS)


def orthogonal_regularization(params: Any, beta: float) -> jax.Array:
    """beta * sum over kernels W of ||W^T W * (1 - I)||_F^2 (BigGAN eq. 3).

    Each ``kernel`` leaf is reshaped to (fan_in, C_out); other leaves (biases, embeddings,
    BatchNorm scales) do not count.
    """
    total = jnp.zeros((), jnp.float32)
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        if _leaf_name(path) != "kernel" or leaf.ndim < 2:
            continue
        w = leaf.reshape(-1, leaf.shape[-1]).astype(jnp.float32)
        gram = w.T @ w
        off = gram * (1.0 - jnp.eye(gram.shape[0], dtype=gram.dtype))
        total = total + jnp.sum(jnp.square(off))
    return beta * total


def _leaf_name(path) -> str:
    last = path[-1]
    return str(getattr(last, "key", getattr(last, "name", last)))


def standing_statistics(
    apply_fn: Callable, variables: dict, draw: Callable[[int], tuple], passes: int
) -> dict:
    """``variables`` with every BatchNorm mean / var replaced by its average over ``passes``
    train-mode calls ``apply_fn(..., *draw(i), train=True)``, i = 0 .. passes - 1.

    Each call starts from zero BatchNorm statistics (other leaves as stored), so a BatchNorm of
    momentum m returns (1 - m) * (batch statistic); (1 - m) itself is read off one more call
    from statistics of one (m + (1 - m) * batch), so the average is exact whatever each layer's
    momentum. Leaves other than ``BN_STATISTICS`` (spectral-norm vectors) keep their values.
    """
    stats = variables["batch_stats"]

    def run(start, inputs):
        _, new = apply_fn(
            {"params": variables["params"], "batch_stats": start},
            *inputs,
            train=True,
            mutable=["batch_stats"],
        )
        return new["batch_stats"]

    def filled(value):  # BatchNorm statistics set to ``value``, the other leaves as they are
        return jax.tree_util.tree_map_with_path(
            lambda path, x: jnp.full_like(x, value) if _leaf_name(path) in BN_STATISTICS else x,
            stats,
        )

    zeros, ones = filled(0.0), filled(1.0)
    first = draw(0)
    from_zero = run(zeros, first)
    momentum = jax.tree.map(lambda b, a: b - a, run(ones, first), from_zero)
    total = jax.lax.fori_loop(
        1, passes, lambda i, acc: jax.tree.map(jnp.add, acc, run(zeros, draw(i))), from_zero
    )

    def average(path, old, summed, m):
        if _leaf_name(path) not in BN_STATISTICS:
            return old
        return summed / (passes * (1.0 - m))

    new = jax.tree_util.tree_map_with_path(average, stats, total, momentum)
    return {**variables, "batch_stats": new}


def build(config, dataset: Dataset) -> Game:
    objective = get_objective(config.objective)
    latent = classic.Latent(config.model.z_dim, int(config.model.num_classes))
    regularizer = from_config(config)
    bound = dict(objective=objective, latent=latent, regularizer=regularizer)
    beta = float(config.game.ortho_reg)
    passes = int(config.game.standing_stats)
    batch = int(config.train.batch_size)

    def ortho(ctx, fake_out, extra):
        del fake_out, extra
        r = orthogonal_regularization(ctx.params["g"], beta)
        return r, {"ortho_reg": r}

    def draw_for(key):
        def draw(i):
            k = jax.random.fold_in(key, i)
            z = jax.random.normal(jax.random.fold_in(k, 0), (batch, latent.z_dim))
            y = jax.random.randint(
                jax.random.fold_in(k, 1), (batch,), 0, max(latent.num_classes, 1)
            )
            return z, y

        return draw

    def generate(state, inputs):
        g = state.nets["g"]
        variables = steps.variables(state, "g")
        if passes:
            key = jax.random.fold_in(state.key, STANDING_STREAM)
            variables = standing_statistics(g.apply_fn, variables, draw_for(key), passes)
        z, labels = inputs["z"], inputs.get("label")
        return g.apply_fn(variables, z, labels, train=False, **classic.truncation_kwargs(inputs))

    def eval_inputs(key, n):
        inputs = {"z": jax.random.normal(key, (n, latent.z_dim))}
        if latent.num_classes:
            inputs["label"] = jnp.arange(n, dtype=jnp.int32) % latent.num_classes
        return inputs

    return Game(
        name="biggan",
        networks=classic.networks(config, dataset, (jnp.zeros((2, latent.z_dim)),)),
        players=classic.players(
            config,
            objective,
            lambda ctx, batch, key: classic.critic_loss(ctx, batch, key, **bound),
            lambda ctx, batch, key: classic.generator_loss(
                ctx, batch, key, extra_terms=ortho if beta else None, **bound
            ),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        init_aux=dict if regularizer is None else regularizer.init_aux,
        ema_decay=float(config.model.g_ema_decay),
    )
