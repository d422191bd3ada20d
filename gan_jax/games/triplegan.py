"""Triple-GAN (Li et al. 2017, arXiv 1703.02291): a classifier C as the third player.

Three networks: a conditional generator G(z, y) (p_g(x, y) = p(y) p_g(x | y)), a classifier C
(p_c(x, y) = p(x) p_c(y | x)) and a discriminator D(x, y) of pairs. The game (the paper's eq. 2,
alpha = ``game.alpha`` = 1/2)

    min_{C,G} max_D E_{(x,y)~p}[log D(x, y)] + alpha E_{(x,y)~p_c}[log(1 - D(x, y))]
                    + (1 - alpha) E_{(x,y)~p_g}[log(1 - D(G(z, y), y))],

with the labelled pairs as p, the unlabelled images with C's pseudo-labels as p_c and
G(z, y), y uniform over the classes, as p_g. Players, every train step, in the paper's code's
order (``x2y_yz2x_xy2p_ssl_mnist.py``):

- ``d`` (role 0) minimises E[softplus(-l(x_lab, y_lab))] + alpha E[softplus(l(x_unl, y_c))] +
  (1 - alpha) E[softplus(l(G(z, y), y))]; y_c = argmax_y p_c(y | x_unl), the paper's argmax
  approximation of y ~ p_c(y | x) (its code's default ``objective_flag='argmax'``).
- ``g`` (role 1) minimises (1 - alpha) E[softplus(-l(G(z, y), y))] (non-saturating, as the
  code's ``gen_cost = .5 * bce(D(G), 1)``).
- ``c`` (role 4) minimises alpha E[p_c(y_c | x) softplus(-l(x, y_c))] (C fools D; the
  gradient flows through the weight p_c(y_c | x) of the argmax pair, as the code's
  ``cla_cost_p_c * p``) + R_L = CE(C(x_lab), y_lab) + alpha_P R_P, the pseudo-discriminative
  loss R_P = CE(C(G(z, y)), y) on generated pairs (section 3.2), ``game.pseudo_weight`` (0.1,
  the code's ``alpha_cla_g``) from train step ``game.pseudo_start`` on (the code starts it at
  epoch 300 of 1000).

Networks (``gan_jax.models.noisy_mlp``): C is the semi-supervised game's classifier (the noisy
MLP; ``game.d_hidden``, ``game.input_noise``, ``game.hidden_noise``; the code's C is a CNN), D
the code's noisy MLP of pairs (the one-hot label concatenated to every layer's input;
``game.pair_hidden``), G the 500-500 softplus MLP with the label concatenated to every layer's
input. C keeps an exponential moving average of its parameters (``game.c_ema_decay`` 0.99: the
code's ``a + 0.01 (p - a)``), which the headline evaluates, as the code does. Not implemented
from the code: C's pre-training (30 epochs on the labels), its entropy and class-balance
regularisers on unlabelled data and its weight decay, which are additions to the paper's game.
C trains with ``optim.c``, D with ``optim.d``, G with ``optim.g``; the ``model`` block is not read.

Headline (``Game.headline``): ``test_error`` of C's EMA copy on the TEST split (argmax,
inference mode) and ``test_error_live`` of its current parameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games.semisupervised import (
    NETWORK_KEYS,
    classifier_module,
    game_block,
    test_error,
    test_split,
)
from gan_jax.models.noisy_mlp import SALIMANS_D_HIDDEN, MLPImageGenerator, PairDiscriminator
from gan_jax.steps import Batch, Context, Game, Network, Player

DATA_KINDS = ("semisupervised",)
PAPER = "Triple-GAN, Li et al. 2017, arXiv 1703.02291"
RECIPE = "triplegan"
ROLE_C = steps.FIRST_FREE_ROLE

KEYS: schema.Spec = {
    **NETWORK_KEYS,
    "pair_hidden": schema.int_tuple(SALIMANS_D_HIDDEN, "D's hidden layers (ReLU, label at each)"),
    "alpha": schema.unit_interval(
        0.5, "alpha: the weight of C's pairs among D's fakes (G's: 1 - alpha)", "a number in (0, 1)"
    ),
    "pseudo_weight": schema.non_negative(0.1, "alpha_P of the pseudo-discriminative loss R_P"),
    "pseudo_start": schema.non_negative_int(0, "train step from which R_P is added to C's loss"),
    "c_ema_decay": schema.unit_interval(0.99, "decay of C's parameter average (the headline's)"),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}


def check(config) -> None:
    """ConfigError on a bad game.* value, or without the ``optim.c`` block C trains with."""
    schema.check_block("game", config.game, KEYS)
    if not 0 < config.game.alpha < 1:
        raise ConfigError("game.alpha", config.game.alpha, "a number in (0, 1)")
    if "c" not in config.optim:
        raise ConfigError("optim", sorted(config.optim), "blocks 'g', 'd' and 'c' (C's optimiser)")


def d_loss(
    labelled_logits: jax.Array, pseudo_logits: jax.Array, fake_logits: jax.Array, alpha: float
) -> steps.LossOut:
    """-E log D(x_lab, y) - alpha E log(1 - D(x_unl, y_c)) - (1 - alpha) E log(1 - D(G(z,y), y))."""
    real = jnp.mean(jax.nn.softplus(-labelled_logits))
    pseudo = jnp.mean(jax.nn.softplus(pseudo_logits))
    fake = jnp.mean(jax.nn.softplus(fake_logits))
    loss = real + alpha * pseudo + (1 - alpha) * fake
    return loss, {"real": real, "pseudo": pseudo, "fake": fake}


def c_loss(
    labelled_logits: jax.Array,
    labels: jax.Array,
    unlabelled_logits: jax.Array,
    pseudo_d_logits: jax.Array,
    generated_logits: jax.Array,
    generated_labels: jax.Array,
    *,
    alpha: float,
    pseudo_weight: jax.Array | float,
) -> steps.LossOut:
    """alpha E[p_c(y_c|x) softplus(-l_D(x, y_c))] + CE(C(x_lab), y) + alpha_P CE(C(G(z,y)), y).

    ``unlabelled_logits``: C's logits on the unlabelled batch (y_c = their argmax);
    ``pseudo_d_logits``: D's logits of the pairs (x_unl, y_c) (gradients stopped).
    Terms: ``adversarial``, ``supervised`` (R_L), ``pseudo_discriminative`` (R_P, unweighted),
    ``train_acc`` (accuracy on the labelled batch).
    """
    confidence = jnp.max(jax.nn.softmax(unlabelled_logits, axis=-1), axis=-1)
    fooled = jax.nn.softplus(-jax.lax.stop_gradient(pseudo_d_logits))
    adversarial = jnp.mean(confidence * fooled)
    supervised = optax.softmax_cross_entropy_with_integer_labels(labelled_logits, labels).mean()
    rp = optax.softmax_cross_entropy_with_integer_labels(generated_logits, generated_labels).mean()
    loss = alpha * adversarial + supervised + pseudo_weight * rp
    terms = {
        "adversarial": adversarial,
        "supervised": supervised,
        "pseudo_discriminative": rp,
        "train_acc": jnp.mean(jnp.argmax(labelled_logits, axis=-1) == labels),
    }
    return loss, terms


# Folded into an update's key: the networks' noise on each input and the generated labels.
STREAMS = {"labelled": 10, "unlabelled": 11, "fake": 12, "c_unlabelled": 13, "labels": 14}


def build(config, dataset: Dataset) -> Game:
    gc = game_block(config, KEYS)
    k, z_dim, alpha = dataset.num_classes, gc.z_dim, float(gc.alpha)
    labels0 = jnp.zeros((2,), jnp.int32)
    networks = {
        "g": Network(
            MLPImageGenerator(shape=dataset.shape, hidden=tuple(gc.g_hidden), num_classes=k),
            (jnp.zeros((2, z_dim)), labels0),
            optim="g",
        ),
        "c": Network(
            classifier_module(gc, k), (jnp.zeros((2, *dataset.shape)), None), optim="c", ema=True
        ),
        "d": Network(
            PairDiscriminator(
                num_classes=k,
                hidden=tuple(gc.pair_hidden),
                input_noise=float(gc.input_noise),
                hidden_noise=float(gc.hidden_noise),
            ),
            (jnp.zeros((2, *dataset.shape)), labels0, None),
            optim="d",
        ),
    }

    def stream(key, name):
        return jax.random.fold_in(key, STREAMS[name])

    def generated(ctx: Context, key: jax.Array, n: int, train_g: bool):
        z = ctx.normal(jax.random.split(key)[0], (n, z_dim))
        y = ctx.randint(stream(key, "labels"), (n,), k)
        x = ctx("g", z, y, train=True)
        return (x if train_g else jax.lax.stop_gradient(x)), y

    def pseudo_labels(ctx: Context, x: jax.Array, key: jax.Array) -> jax.Array:
        logits, _ = ctx("c", x, stream(key, "c_unlabelled"), train=True)
        return logits, jnp.argmax(logits, axis=-1)

    def discriminator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        x_g, y_g = generated(ctx, key, batch["x"].shape[0], train_g=False)
        _, y_c = pseudo_labels(ctx, batch["x"], key)
        real = ctx(
            "d", batch["x_labelled"], batch["label_labelled"], stream(key, "labelled"), train=True
        )
        pseudo = ctx("d", batch["x"], y_c, stream(key, "unlabelled"), train=True)
        fake = ctx("d", x_g, y_g, stream(key, "fake"), train=True)
        return d_loss(real, pseudo, fake, alpha)

    def generator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        x_g, y_g = generated(ctx, key, batch["x"].shape[0], train_g=True)
        fake = ctx("d", x_g, y_g, stream(key, "fake"), train=True)
        value = (1 - alpha) * jnp.mean(jax.nn.softplus(-fake))
        return value, {"fake": value}

    def classifier_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        x_g, y_g = generated(ctx, key, batch["x"].shape[0], train_g=False)
        unl, y_c = pseudo_labels(ctx, batch["x"], key)
        pseudo_d = ctx("d", batch["x"], y_c, stream(key, "unlabelled"), train=True)
        lab, _ = ctx("c", batch["x_labelled"], stream(key, "labelled"), train=True)
        gen, _ = ctx("c", x_g, stream(key, "fake"), train=True)
        weight = jnp.where(ctx.step >= gc.pseudo_start, float(gc.pseudo_weight), 0.0)
        return c_loss(
            lab, batch["label_labelled"], unl, pseudo_d, gen, y_g, alpha=alpha, pseudo_weight=weight
        )

    def headline(run, state: steps.State) -> dict[str, float]:
        split = test_split(run.config)
        errors = {}
        for name, ema in (("test_error", True), ("test_error_live", False)):
            classify = lambda st, x, ema=ema: steps.apply(st, "c", x, ema=ema)[0]
            errors[name] = test_error(classify, state, split.test, split.test_labels)
        return errors

    def eval_inputs(key, n):
        return {
            "z": jax.random.normal(key, (n, z_dim)),
            "label": jnp.arange(n, dtype=jnp.int32) % k,
        }

    return Game(
        name="triplegan",
        networks=networks,
        players=(
            Player("d", steps.ROLE_D, ("d",), discriminator_loss),
            Player("g", steps.ROLE_G, ("g",), generator_loss),
            Player("c", ROLE_C, ("c",), classifier_loss),
        ),
        generate=lambda state, inputs: steps.apply(state, "g", inputs["z"], inputs["label"]),
        eval_inputs=eval_inputs,
        ema_decay=float(gc.c_ema_decay),
        headline=headline,
    )
