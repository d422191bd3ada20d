"""Improved techniques for training GANs (Salimans et al. 2016, arXiv 1606.03498): "ImprovedDCGAN".

The classic game of one generator G and one DCGAN critic D (``gan_jax.games.classic``) with the
paper's two techniques that change the players' losses:

- **Feature matching** (section 3.1). G matches the statistics of the real data on the critic's
  intermediate features f (the last 4x4 feature map of the DCGAN critic, before the logit and
  any minibatch features) instead of maximising the critic's output:

      L_G = fm * ||E_x f(x) - E_z f(G(z))||_2^2 + g_adversarial * L_G^objective,

  with the batch means of one real and one generated batch (``losses.feature_matching_loss``).
  ``game.g_adversarial_weight = 0`` (the default) is the paper's form: feature matching
  replaces the objective's generator loss; the critic keeps the objective's loss.
- **Historical averaging** (section 3.3). Each player adds
  ``historical_averaging * ||theta - (1/t) sum_{i<t} theta[i]||^2`` to its loss, theta being
  all the parameters of its network and theta[i] their value at the start of its i-th update.
  The running means live in ``State.aux`` (``hist_mean/<net>``, one flat vector per network,
  and ``hist_count/<net>``, the updates averaged), so they are checkpointed and resume exactly:
  update t reads the mean of the t updates before it (the term is 0 at the first) and sets
  mean <- mean + (theta - mean) / (t + 1).

The paper's other techniques are registered pieces any recipe can select: one-sided label
smoothing is ``objective.label_smoothing`` (``gan_jax.losses``), minibatch discrimination, the
minibatch stddev of Karras et al. 2018 and virtual batch normalisation are model keys
(``model.minibatch_discrimination``, ``model.minibatch_stddev``, ``model.g_norm='vbn'``,
``gan_jax.models.layers``); configs/improved.py combines them.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
from jax.flatten_util import ravel_pytree

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import feature_matching_loss, get_objective
from gan_jax.models import MODELS
from gan_jax.steps import Batch, Context, Game

# The game block's keys (gan_jax.schema): defaults, checks and what each one means.
KEYS: schema.Spec = {
    "feature_matching": schema.non_negative(
        1.0, "weight of ||E f(x) - E f(G(z))||^2 in G's loss (section 3.1); 0: off"
    ),
    "g_adversarial_weight": schema.non_negative(
        0.0, "weight of the objective's generator loss (0: feature matching replaces it)"
    ),
    "historical_averaging": schema.non_negative(
        0.0, "lambda of ||theta - mean of past theta||^2 in both players' losses (section 3.3)"
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
# The dataset kinds it trains on (data.DatasetEntry.kind), and the zoo's row.
DATA_KINDS = ("images",)
PAPER = "Improved techniques (ImprovedDCGAN), Salimans et al. 2016, arXiv 1606.03498"
RECIPE = "improved"


def check(config) -> None:
    """Raise ConfigError on a bad value of game.*, a G without a loss, or a non-DCGAN model."""
    schema.check_block("game", config.game, KEYS)
    if config.model.name != "dcgan":
        raise ConfigError(
            "model.name", config.model.name, "'dcgan' with game.name='improved' (its features)"
        )
    gc = config.game
    if schema.value(gc, KEYS, "feature_matching") == 0 and (
        schema.value(gc, KEYS, "g_adversarial_weight") == 0
    ):
        raise ConfigError(
            "game.g_adversarial_weight",
            0,
            "> 0 when game.feature_matching=0 (G would have no loss)",
        )


def historical_average(
    params, mean: jax.Array, count: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(||theta - mean||^2, or 0 when nothing is averaged yet; the new mean; the new count).

    ``mean`` is the flat mean of the ``count`` past values of ``params``; the new mean adds the
    current value: mean + (theta - mean) / (count + 1).
    """
    theta = ravel_pytree(params)[0]
    distance = jnp.where(count > 0, jnp.sum(jnp.square(theta - mean)), 0.0)
    new_mean = mean + (theta - mean) / (count + 1).astype(mean.dtype)
    return distance, new_mean, count + 1


def historical_terms(ctx: Context, name: str, weight: float) -> tuple[jax.Array, dict]:
    """The historical-averaging term of network ``name`` (weighted); sets its running mean."""
    mean_key, count_key = f"hist_mean/{name}", f"hist_count/{name}"
    distance, mean, count = historical_average(
        ctx.params[name], ctx.aux[mean_key], ctx.aux[count_key]
    )
    ctx.set_aux(mean_key, mean)
    ctx.set_aux(count_key, count)
    term = weight * distance
    return term, {"historical_averaging": term, "historical_distance": distance}


def flat_features(out) -> jax.Array:
    """The critic's features (the second output of a ``return_features`` critic), (B, F)."""
    features = out[1]
    return features.reshape(features.shape[0], -1).astype(jnp.float32)


def build(config, dataset: Dataset) -> Game:
    # A block saved before a key existed reads its default.
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    fm, adv, hist = (
        float(gc.feature_matching),
        float(gc.g_adversarial_weight),
        float(gc.historical_averaging),
    )
    objective = get_objective(config.objective)
    latent = classic.Latent(config.model.z_dim, int(config.model.num_classes))
    _, critic = MODELS["dcgan"](config.model, dataset.shape)
    critic = critic.clone(return_features=True)
    networks = classic.networks(config, dataset, (jnp.zeros((2, latent.z_dim)),), d_module=critic)

    def critic_extra(ctx, fake_out, extra):
        del fake_out, extra
        if not hist:
            return jnp.zeros(()), {}
        return historical_terms(ctx, "d", hist)

    def critic_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        return classic.critic_loss(
            ctx, batch, key, objective=objective, latent=latent, extra_terms=critic_extra
        )

    def generator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        """fm * feature matching + adv * the objective's G loss (+ historical averaging)."""
        real = batch["x"]
        g_inputs, fake_labels, _ = latent.draw(ctx, key, real.shape[0])
        real_out = ctx("d", real, classic.real_labels(batch, latent.num_classes), train=True)
        fake_out = ctx("d", ctx("g", *g_inputs, train=True), fake_labels, train=True)
        adversarial, terms = objective.g_loss(classic.score(real_out), classic.score(fake_out))
        matching, fm_terms = feature_matching_loss(
            jax.lax.stop_gradient(flat_features(real_out)), flat_features(fake_out)
        )
        loss = fm * matching + adv * adversarial
        terms = {**terms, **fm_terms}
        if hist:
            term, hist_terms = historical_terms(ctx, "g", hist)
            loss, terms = loss + term, {**terms, **hist_terms}
        return loss, terms

    def init_aux() -> dict[str, jax.Array]:
        if not hist:
            return {}
        aux = {}
        for name, net in networks.items():
            shapes = jax.eval_shape(
                lambda net=net: net.module.init(jax.random.key(0), *net.init_inputs, train=False)
            )
            size = sum(leaf.size for leaf in jax.tree.leaves(shapes["params"]))
            aux[f"hist_mean/{name}"] = jnp.zeros((size,), jnp.float32)
            aux[f"hist_count/{name}"] = jnp.zeros((), jnp.int32)
        return aux

    # The classic game's sampler and evaluation inputs; networks, players and arrays are ours.
    return dataclasses.replace(
        classic.build(config, dataset),
        name="improved",
        networks=networks,
        players=classic.players(config, objective, critic_loss, generator_loss),
        init_aux=init_aux,
    )
