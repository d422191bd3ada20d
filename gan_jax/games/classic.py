"""The classic game: one generator G, one critic D, any objective and penalty of ``losses.py``.

Players, every train step: the critic ``d`` (``train.d_steps`` updates, role 0), then the
generator ``g`` (one update, role 1). The critic's update draws z ~ N(0, I) and (conditional
runs) fake labels uniformly over the classes from its own key, runs G in train mode (its
BatchNorm statistics discarded), and minimises ``objective.d_loss(D(x), D(G(z)))`` plus the
objective's penalty on a fixed critic (inference mode, the update's starting statistics);
WGAN's weight clipping projects its parameters after the update. The generator's update
minimises ``objective.g_loss(D(x), D(G(z)))`` with the critic in train mode and its statistics
discarded; only the relativistic losses read D(x), and for the others XLA drops that pass from
the compiled step. Conditional critics see real samples with their labels and fakes with the
labels they were generated from (Mirza & Osindero 2014; Miyato & Koyama 2018), and a penalty's
critic the real labels. ``model.g_ema_decay > 0`` keeps an EMA of G, which samples. The
``augment.*`` and ``regularizer.*`` blocks (gan_jax/regularizers.py) transform the critic's
inputs in both losses (DiffAugment, ADA's p kept in ``State.aux``) and add LeCam's and bCR's
terms to the critic's loss.

The helpers (``latent``, ``critic_loss``, ``generator_loss``) are the pieces variants with the
same two players build on (InfoGAN adds a code to the latent and a term to both losses).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax

from gan_jax import steps
from gan_jax.data import Dataset
from gan_jax.losses import Objective, critic_penalty, get_objective
from gan_jax.models import MODELS
from gan_jax.regularizers import Regularizer, from_config
from gan_jax.steps import Batch, Context, Game, Network, Player

# The dataset kinds it trains on (data.DatasetEntry.kind).
DATA_KINDS = ("points", "images")
# The classic game has no keys of its own in the `game` block. Its variants are the objectives
# and model families, each with its paper and recipe (losses.OBJECTIVES, models.MODELS).
DEFAULTS: dict = {}
PAPER = "Goodfellow et al. 2014, arXiv 1406.2661"
RECIPE = None


def check(config) -> None:
    """Nothing of its own to check: objective.*, model.* and train.* are checked by their owners."""
    del config


# Folded into an update's key to derive the fake labels' key; keeps the (z, penalty) split of
# unconditional runs as it is.
LABEL_STREAM = 1


@dataclasses.dataclass(frozen=True)
class Latent:
    """How G's inputs are drawn: ``draw(ctx, key, n) -> (g_inputs, d_labels, extra)``.

    ``g_inputs`` is the tuple G is called on, ``d_labels`` the labels the critic sees with the
    fakes (None for an unconditional critic), ``extra`` whatever the loss needs besides (codes).
    """

    z_dim: int
    num_classes: int

    def draw(self, ctx: Context, key: jax.Array, n: int) -> tuple[tuple, Any, dict]:
        key_z = jax.random.split(key)[0]
        z = ctx.normal(key_z, (n, self.z_dim))
        labels = None
        if self.num_classes:
            labels = ctx.randint(jax.random.fold_in(key, LABEL_STREAM), (n,), self.num_classes)
        return (z, labels), labels, {}


def real_labels(batch: Batch, num_classes: int) -> jax.Array | None:
    return batch["label"] if num_classes else None


def critic_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    objective: Objective,
    latent: Latent,
    extra_terms: Callable[[Context, Any, dict], tuple[jax.Array, dict]] | None = None,
    regularizer: Regularizer | None = None,
) -> steps.LossOut:
    """The classic critic loss; ``extra_terms(ctx, fake_out, extra)`` adds a variant's term,
    ``regularizer`` augments the critic's inputs and adds its terms (gan_jax/regularizers.py).

    ``extra`` is the latent's, plus ``fake`` (the generated batch), ``real_out`` (the critic's
    output on the real batch) and ``real_labels`` (its labels, None when unconditional): AC-GAN
    classifies reals too, SSGAN rotates the fakes.
    """
    real = batch["x"]
    key_gp = jax.random.split(key)[1]
    g_inputs, fake_labels, extra = latent.draw(ctx, key, real.shape[0])
    fake = jax.lax.stop_gradient(ctx("g", *g_inputs, train=True))
    chex.assert_equal_shape([real, fake])
    if regularizer is not None:
        real = regularizer.augmented(ctx, key, real, real=True)
        fake = regularizer.augmented(ctx, key, fake, real=False)
    labels = real_labels(batch, latent.num_classes)
    real_out = ctx("d", real, labels, train=True)
    fake_out = ctx("d", fake, fake_labels, train=True)
    loss, terms = objective.d_loss(score(real_out), score(fake_out))
    extra = {**extra, "fake": fake, "real_out": real_out, "real_labels": labels}
    if objective.penalty is not None:
        critic = lambda x: score(ctx("d", x, labels, train=False))
        penalty, pterms = critic_penalty(objective, critic, real, fake, key_gp, ctx.counter)
        loss, terms = loss + penalty, {**terms, **pterms}
    if regularizer is not None:
        critic = lambda x, y: score(ctx("d", x, y, train=True))
        more, more_terms = regularizer.critic_terms(
            ctx, key, critic, (real, labels), (fake, fake_labels), score(real_out), score(fake_out)
        )
        loss, terms = loss + more, {**terms, **more_terms}
    return with_extra_terms(loss, terms, extra_terms, ctx, fake_out, extra)


def generator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    objective: Objective,
    latent: Latent,
    extra_terms: Callable[[Context, Any, dict], tuple[jax.Array, dict]] | None = None,
    regularizer: Regularizer | None = None,
) -> steps.LossOut:
    """The classic generator loss; ``extra_terms(ctx, fake_out, extra)`` adds a variant's term
    (``extra`` as in ``critic_loss``), ``regularizer`` augments what the critic sees
    (DiffAugment: G's gradient passes through T)."""
    real = batch["x"]
    g_inputs, fake_labels, extra = latent.draw(ctx, key, real.shape[0])
    if regularizer is not None:
        real = regularizer.augmented(ctx, key, real, real=True)
    labels = real_labels(batch, latent.num_classes)
    real_out = ctx("d", real, labels, train=True)
    fake = ctx("g", *g_inputs, train=True)
    if regularizer is not None:
        fake = regularizer.augmented(ctx, key, fake, real=False)
    fake_out = ctx("d", fake, fake_labels, train=True)
    loss, terms = objective.g_loss(score(real_out), score(fake_out))
    extra = {**extra, "fake": fake, "real_out": real_out, "real_labels": labels}
    return with_extra_terms(loss, terms, extra_terms, ctx, fake_out, extra)


def with_extra_terms(loss, terms, extra_terms, ctx, fake_out, extra) -> steps.LossOut:
    """``(loss, terms)`` plus a variant's ``extra_terms(ctx, fake_out, extra)``, if it has one."""
    if extra_terms is None:
        return loss, terms
    more, more_terms = extra_terms(ctx, fake_out, extra)
    return loss + more, {**terms, **more_terms}


def score(out: Any) -> jax.Array:
    """The critic's adversarial output: ``out`` itself, or its first element for critics that
    also return auxiliary heads (InfoGAN's Q)."""
    return out[0] if isinstance(out, tuple) else out


def truncation_kwargs(inputs: dict) -> dict:
    """``{'truncation': T}`` when the sampler asked a family that truncates itself for it
    (``models.Family.own_truncation``, gan_jax.runs.truncated), else nothing."""
    return {"truncation": inputs["truncation"]} if "truncation" in inputs else {}


def clip_weights(c: float) -> Callable[[Any], Any]:
    """Project every parameter onto [-c, c] (WGAN's weight clipping)."""

    def project(params):
        lower, upper = (jax.tree.map(lambda _, b=b: b, params) for b in (-c, c))
        return optax.projections.projection_box(params, lower, upper)

    return project


def networks(config, dataset: Dataset, g_inputs: tuple, d_module=None) -> dict[str, Network]:
    """G and D of ``model.name`` (G first: the init keys are split in this order)."""
    generator, discriminator = MODELS[config.model.name](config.model, dataset.shape)
    labels = jnp.zeros((2,), jnp.int32)  # ignored by unconditional models
    ema = float(config.model.g_ema_decay) > 0
    return {
        "g": Network(generator, (*g_inputs, labels), optim="g", ema=ema),
        "d": Network(
            d_module or discriminator, (jnp.zeros((2, *dataset.shape)), labels), optim="d"
        ),
    }


def players(config, objective: Objective, critic, generator) -> tuple[Player, Player]:
    clip = None if objective.weight_clip is None else clip_weights(objective.weight_clip)
    return (
        Player("d", steps.ROLE_D, ("d",), critic, steps=config.train.d_steps, project=clip),
        Player("g", steps.ROLE_G, ("g",), generator),
    )


def build(config, dataset: Dataset) -> Game:
    objective = get_objective(config.objective)
    latent = Latent(config.model.z_dim, int(config.model.num_classes))
    regularizer = from_config(config)
    bound = dict(objective=objective, latent=latent, regularizer=regularizer)

    def generate(state, inputs):
        return steps.apply(
            state, "g", inputs["z"], inputs.get("label"), **truncation_kwargs(inputs)
        )

    def eval_inputs(key, n):
        inputs = {"z": jax.random.normal(key, (n, latent.z_dim))}
        if latent.num_classes:
            inputs["label"] = jnp.arange(n, dtype=jnp.int32) % latent.num_classes
        return inputs

    return Game(
        name="classic",
        networks=networks(config, dataset, (jnp.zeros((2, latent.z_dim)),)),
        players=players(
            config,
            objective,
            lambda ctx, batch, key: critic_loss(ctx, batch, key, **bound),
            lambda ctx, batch, key: generator_loss(ctx, batch, key, **bound),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        init_aux=dict if regularizer is None else regularizer.init_aux,
        ema_decay=float(config.model.g_ema_decay),
    )
