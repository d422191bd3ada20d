"""Triple-GAN (Li et al. 2017, arXiv 1703.02291): a classifier C as the third player.

Three networks: a conditional generator G(z, y) (p_g(x, y) = p(y) p_g(x | y)), a classifier C
(p_c(x, y) = p(x) p_c(y | x)) and a discriminator D(x, y) of pairs. The game (the paper's eq. 2,
alpha = ``game.alpha`` = 1/2)

    min_{C,G} max_D E_{(x,y)~p}[log D(x, y)] + alpha E_{(x,y)~p_c}[log(1 - D(x, y))]
                    + (1 - alpha) E_{(x,y)~p_g}[log(1 - D(G(z, y), y))],

with the labelled pairs as p, the unlabelled images with C's pseudo-labels as p_c and
G(z, y), y uniform over the classes, as p_g. Players, every train step, in the paper's code's
order (``x2y_yz2x_xy2p_ssl_mnist.py``):

- ``d`` (role 0) minimises E[softplus(-l(x_lab, y_lab))] + alpha E_{y~p_c(y|x_unl)}[softplus(
  l(x_unl, y))] + (1 - alpha) E[softplus(l(G(z, y), y))]. ``game.pairs='integrate'`` (the
  default; the code's ``objective_flag='integrate'``) takes the expectation over the K labels
  exactly, D scoring every (x, y) weighted by p_c(y | x); ``'argmax'`` (the code's default)
  scores only y_c = argmax_y p_c(y | x). With
  ``game.pseudo_positives`` (the default) D's real pairs are, as in the paper's code
  (``dis_out_p`` on ``[x_l, x_u_d]`` with ``[y, argmax C(x_u_d)]``), the labelled pairs plus
  half of the unlabelled batch with C's pseudo-labels, and the other half makes C's fake pairs
  (the code: 1 labelled and 400 pseudo-labelled pairs as real per batch). Without it, D learns
  the 100 labelled pairs by heart, rejects every pair of C's, and C's adversarial term then
  drives its confidence down (measured with argmax pairs: 55% test error at 1000 steps;
  experiments/README.md).
- ``g`` (role 1) minimises (1 - alpha) E[softplus(-l(G(z, y), y))] (non-saturating, as the
  code's ``gen_cost = .5 * bce(D(G), 1)``).
- ``c`` (role 4) minimises alpha E_{y~p_c(y|x)}[softplus(-l(x, y))] (C fools D,
  non-saturating as the code's ``bce(dis_out_p_c, 1)``; the gradient flows through the weights
  p_c(y | x) only). With 'argmax' it is alpha E[p_c(y_c | x) softplus(-l(x, y_c))] (the code's
  ``cla_cost_p_c * p``): a cost > 0 times the argmax's probability, whose gradient always lowers
  C's confidence (the code offsets it with an entropy regulariser; measured at 1000 steps:
  test error 0.41 with 'argmax', 0.23 with 'integrate', the baseline's 0.21; experiments/
  README.md). Plus R_L = CE(C(x_lab), y_lab) + alpha_P R_P, the pseudo-discriminative loss
  R_P = CE(C(G(z, y)), y) on generated pairs (section 3.2), ``game.pseudo_weight`` (0.1, the
  code's ``alpha_cla_g``) from train step ``game.pseudo_start`` on (the code starts it at epoch
  300 of 1000).

Networks (``gan_jax.models.noisy_mlp``): C is the semi-supervised game's classifier (the noisy
MLP; ``game.d_hidden``, ``game.input_noise``, ``game.hidden_noise``; the code's C is a CNN), D
the code's noisy MLP of pairs (the one-hot label concatenated to every layer's input;
``game.pair_hidden``, 500-250-250 in the recipe), G the 500-500 softplus MLP with the label
concatenated to every layer's input. C keeps an exponential moving average of its parameters
(``game.c_ema_decay`` 0.99: the code's ``a + 0.01 (p - a)``), which the headline evaluates, as
the code does. The code's entropy and class-balance regularisers on unlabelled data, additions
to the paper's game, are ``game.entropy_weight`` and ``game.balance_weight`` (0 by default; the
code's 0.3 and 1e-3). ``game.c_pretrain_steps`` > 0 is the code's pre-training of C: a first
stage (``steps.Game.stages``) in which only C trains, on the labels plus those two terms (the
code's pre-training weighs the balance term 0.3; here the game's weight), before the three
players start. Not implemented from the code: C's weight decay.
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
    unlabelled_regularizers,
)
from gan_jax.models.noisy_mlp import SALIMANS_D_HIDDEN, MLPImageGenerator, PairDiscriminator
from gan_jax.steps import Batch, Context, Game, Network, Player

DATA_KINDS = ("semisupervised",)
# What the banner names in place of the objective, which this game does not read.
OWN_LOSS = "Triple-GAN's three-player losses (its own)"
PAPER = "Triple-GAN, Li et al. 2017, arXiv 1703.02291"
RECIPE = "triplegan"
ROLE_C = steps.FIRST_FREE_ROLE
PAIRS = ("integrate", "argmax")

KEYS: schema.Spec = {
    **NETWORK_KEYS,
    "pair_hidden": schema.int_tuple(SALIMANS_D_HIDDEN, "D's hidden layers (ReLU, label at each)"),
    "alpha": schema.unit_interval(
        0.5, "alpha: the weight of C's pairs among D's fakes (G's: 1 - alpha)", "a number in (0, 1)"
    ),
    "pseudo_weight": schema.non_negative(0.1, "alpha_P of the pseudo-discriminative loss R_P"),
    "pseudo_start": schema.non_negative_int(0, "train step from which R_P is added to C's loss"),
    "pairs": schema.choice(
        "integrate",
        PAIRS,
        "C's pairs: every label weighted by p_c(y|x) ('integrate', the paper's expectation), or "
        "the argmax label weighted by C's confidence ('argmax', the code's default)",
    ),
    "pseudo_positives": schema.boolean(
        True, "D's real pairs include unlabelled images with C's labels (the paper's code)"
    ),
    "c_ema_decay": schema.unit_interval(0.99, "decay of C's parameter average (the headline's)"),
    "entropy_weight": schema.non_negative(
        0.0, "weight of the entropy of p_c(y|x) on unlabelled images in C's loss (code: 0.3)"
    ),
    "balance_weight": schema.non_negative(
        0.0, "weight of the class-balance term of C's mean prediction in C's loss (code: 1e-3)"
    ),
    "c_pretrain_steps": schema.non_negative_int(
        0,
        "first train steps in which only C trains, on the labels plus the entropy and balance "
        "terms (the code's pre-training of C); 0: none",
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}


def check(config) -> None:
    """ConfigError on a bad game.* value, or without the ``optim.c`` block C trains with."""
    schema.check_block("game", config.game, KEYS)
    if not 0 < config.game.alpha < 1:
        raise ConfigError("game.alpha", config.game.alpha, "a number in (0, 1)")
    if "c" not in config.optim:
        raise ConfigError("optim", sorted(config.optim), "blocks 'g', 'd' and 'c' (C's optimiser)")
    if config.game.c_pretrain_steps >= config.train.steps:
        raise ConfigError(
            "game.c_pretrain_steps",
            config.game.c_pretrain_steps,
            f"fewer than train.steps={config.train.steps} (the game trains after it)",
        )


def d_loss(
    labelled_logits: jax.Array,
    pseudo_logits: jax.Array,
    fake_logits: jax.Array,
    alpha: float,
    pseudo_weights: jax.Array | None = None,
) -> steps.LossOut:
    """-E log D(x_lab, y) - alpha E_{p_c} log(1 - D(x, y)) - (1 - alpha) E log(1 - D(G(z,y), y)).

    ``pseudo_logits``: D on C's pairs, (B,) for the argmax labels, or (B, K) for every label with
    ``pseudo_weights`` (B, K) = p_c(y | x) (the expectation over y ~ p_c(y | x)).
    """
    real = jnp.mean(jax.nn.softplus(-labelled_logits))
    per_pair = jax.nn.softplus(pseudo_logits)
    if pseudo_weights is not None:
        per_pair = jnp.sum(pseudo_weights * per_pair, axis=-1)
    pseudo = jnp.mean(per_pair)
    fake = jnp.mean(jax.nn.softplus(fake_logits))
    loss = real + alpha * pseudo + (1 - alpha) * fake
    return loss, {"real": real, "pseudo": pseudo, "fake": fake}


def c_loss(
    labelled_logits: jax.Array,
    labels: jax.Array,
    unlabelled_logits: jax.Array,
    pair_d_logits: jax.Array,
    generated_logits: jax.Array,
    generated_labels: jax.Array,
    *,
    alpha: float,
    pseudo_weight: jax.Array | float,
    entropy_weight: float = 0.0,
    balance_weight: float = 0.0,
) -> steps.LossOut:
    """alpha E_{y~p_c(y|x)}[softplus(-l_D(x, y))] + CE(C(x_lab), y) + alpha_P CE(C(G(z, y)), y),
    plus ``entropy_weight`` H(p_c(y | x_unl)) + ``balance_weight`` times the class-balance term
    (``semisupervised.unlabelled_regularizers``; the paper's code's, both 0 by default).

    ``unlabelled_logits``: C's (B, K) logits on the unlabelled batch. ``pair_d_logits``: D's
    logits (gradients stopped) of (x, y) for every label y, (B, K): the expectation over
    p_c(y | x) ('integrate'); or (B,) of the argmax pairs only, weighted by C's confidence
    max_y p_c(y | x) ('argmax', the paper's code's default). Terms: ``adversarial``,
    ``supervised`` (R_L), ``pseudo_discriminative`` (R_P, unweighted), ``entropy`` and
    ``balance`` (unweighted), ``train_acc``.
    """
    probs = jax.nn.softmax(unlabelled_logits, axis=-1)
    fooled = jax.nn.softplus(-jax.lax.stop_gradient(pair_d_logits))
    if pair_d_logits.ndim == 2:
        adversarial = jnp.mean(jnp.sum(probs * fooled, axis=-1))
    else:
        adversarial = jnp.mean(jnp.max(probs, axis=-1) * fooled)
    supervised = optax.softmax_cross_entropy_with_integer_labels(labelled_logits, labels).mean()
    rp = optax.softmax_cross_entropy_with_integer_labels(generated_logits, generated_labels).mean()
    entropy, balance = unlabelled_regularizers(unlabelled_logits)
    loss = alpha * adversarial + supervised + pseudo_weight * rp
    loss = loss + entropy_weight * entropy + balance_weight * balance
    terms = {
        "adversarial": adversarial,
        "supervised": supervised,
        "pseudo_discriminative": rp,
        "entropy": entropy,
        "balance": balance,
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

    def c_pairs(ctx: Context, x: jax.Array, logits: jax.Array, key: jax.Array):
        """D's logits of C's pairs and their weights: (B, K) and p_c ('integrate'), or (B,) of
        the argmax labels and None ('argmax')."""
        if gc.pairs == "argmax":
            y = jnp.argmax(logits, axis=-1)
            return ctx("d", x, y, stream(key, "unlabelled"), train=True), None
        n = x.shape[0]
        xs, ys = jnp.repeat(x, k, axis=0), jnp.tile(jnp.arange(k, dtype=jnp.int32), n)
        out = ctx("d", xs, ys, stream(key, "unlabelled"), train=True).reshape(n, k)
        return out, jax.nn.softmax(logits, axis=-1)

    def discriminator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        n = batch["x"].shape[0]
        x_g, y_g = generated(ctx, key, n, train_g=False)
        logits, y_c = pseudo_labels(ctx, batch["x"], key)
        x_real, y_real = batch["x_labelled"], batch["label_labelled"]
        x_c, logits_c = batch["x"], logits
        if gc.pseudo_positives:  # half the unlabelled batch, with C's labels, counts as real
            x_real = jnp.concatenate([x_real, x_c[: n // 2]])
            y_real = jnp.concatenate([y_real, y_c[: n // 2]])
            x_c, logits_c = x_c[n // 2 :], logits[n // 2 :]
        real = ctx("d", x_real, y_real, stream(key, "labelled"), train=True)
        pseudo, weights = c_pairs(ctx, x_c, logits_c, key)
        fake = ctx("d", x_g, y_g, stream(key, "fake"), train=True)
        return d_loss(real, pseudo, fake, alpha, weights)

    def generator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        x_g, y_g = generated(ctx, key, batch["x"].shape[0], train_g=True)
        fake = ctx("d", x_g, y_g, stream(key, "fake"), train=True)
        value = (1 - alpha) * jnp.mean(jax.nn.softplus(-fake))
        return value, {"fake": value}

    def classifier_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        x_g, y_g = generated(ctx, key, batch["x"].shape[0], train_g=False)
        unl, _ = pseudo_labels(ctx, batch["x"], key)
        pseudo_d, _ = c_pairs(ctx, batch["x"], unl, key)
        lab, _ = ctx("c", batch["x_labelled"], stream(key, "labelled"), train=True)
        gen, _ = ctx("c", x_g, stream(key, "fake"), train=True)
        weight = jnp.where(ctx.step >= gc.pseudo_start, float(gc.pseudo_weight), 0.0)
        return c_loss(
            lab,
            batch["label_labelled"],
            unl,
            pseudo_d,
            gen,
            y_g,
            alpha=alpha,
            pseudo_weight=weight,
            entropy_weight=float(gc.entropy_weight),
            balance_weight=float(gc.balance_weight),
        )

    def pretrain_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        """C alone: CE on the labels plus the unlabelled regularisers (no D, no G)."""
        lab, _ = ctx("c", batch["x_labelled"], stream(key, "labelled"), train=True)
        unl, _ = ctx("c", batch["x"], stream(key, "c_unlabelled"), train=True)
        labels = batch["label_labelled"]
        supervised = optax.softmax_cross_entropy_with_integer_labels(lab, labels).mean()
        entropy, balance = unlabelled_regularizers(unl)
        loss = supervised + gc.entropy_weight * entropy + gc.balance_weight * balance
        terms = {"supervised": supervised, "entropy": entropy, "balance": balance}
        return loss, {**terms, "train_acc": jnp.mean(jnp.argmax(lab, axis=-1) == labels)}

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

    three_players = (
        Player("d", steps.ROLE_D, ("d",), discriminator_loss),
        Player("g", steps.ROLE_G, ("g",), generator_loss),
        Player("c", ROLE_C, ("c",), classifier_loss),
    )
    pretrain = int(gc.c_pretrain_steps)

    def game_at(stage: int) -> Game:
        """Stage 0: C's pre-training alone (with ``c_pretrain_steps``); then the game."""
        pre = pretrain and stage == 0
        return Game(
            name="triplegan",
            networks=networks,
            players=(Player("c", ROLE_C, ("c",), pretrain_loss),) if pre else three_players,
            generate=lambda state, inputs: steps.apply(state, "g", inputs["z"], inputs["label"]),
            eval_inputs=eval_inputs,
            ema_decay=float(gc.c_ema_decay),
            headline=headline,
            stages=(pretrain,) if pretrain else (),
            staged=game_at if pre else None,
        )

    return game_at(0)
