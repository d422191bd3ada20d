"""Semi-supervised GAN (Salimans et al. 2016, arXiv 1606.03498, section 5): a (K+1)-class critic.

The critic ``d`` is a K-class classifier whose logits l_1..l_K stand for "real, of class k"; the
(K+1)-th class, "generated", has its logit fixed at 0 (the paper's over-parameterisation
remark), so with Z(x) = sum_k exp l_k(x)

    D(x) = p(real | x) = Z(x) / (Z(x) + 1),   log D = log Z - softplus(log Z),
    log(1 - D) = -softplus(log Z),

and p(y | x, real) = softmax(l)_y. The critic minimises (the paper's L = L_supervised +
L_unsupervised)

    L_d = CE(l(x_lab), y_lab) + w * (-E[log D(x_unl)] - E[log(1 - D(G(z)))]),

``w`` = ``game.unsupervised_weight``: 0.5 by default, the factor of the paper's MNIST code
(``loss_unl = -0.5 mean(l_unl) + 0.5 mean(softplus(l_unl)) + 0.5 mean(softplus(l_gen))``). The
generator is trained by feature matching, as the paper's semi-supervised experiments do:
``losses.feature_matching_loss`` of the critic's last hidden layer on the unlabelled batch and
on G(z) (section 3.1; the MNIST code's mean absolute difference is the squared L2 here, the
paper's equation). Players: ``d`` (role 0), then ``g`` (role 1), one update each per step.

Networks (``gan_jax.models.noisy_mlp``): the critic is the MNIST code's MLP with Gaussian noise
on every layer (1000-500-250-250-250; ``game.d_hidden``, ``game.input_noise``,
``game.hidden_noise``), the generator a 500-500 softplus MLP with BatchNorm and z ~ N(0, I_100)
(``game.z_dim``; the code draws U[0, 1]). The ``model`` block is not read. Data: a
semi-supervised dataset (``digits_ssl``, ``mnist5k_ssl``: ``gan_jax.data``; the labelled subset
and the TEST split are ``data.labels_per_class`` / ``data.labelled_seed`` and the extractor's
fixed split), batches ``{'x', 'x_labelled', 'label_labelled'}``.

Headline (``Game.headline``): ``test_error``, the critic's K-way classification error (argmax of
l, inference mode, no noise) on the TEST split, which no player sees.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import schema, steps
from gan_jax.data import Dataset, semisupervised_split
from gan_jax.losses import feature_matching_loss
from gan_jax.models.noisy_mlp import SALIMANS_D_HIDDEN, MLPImageGenerator, NoisyMLPClassifier
from gan_jax.steps import Batch, Context, Game, Network, Player

DATA_KINDS = ("semisupervised",)
# What the banner names in place of the objective, which this game does not read.
OWN_LOSS = "the (K+1)-class critic's losses (its own)"
PAPER = "Improved GAN (semi-supervised), Salimans et al. 2016, arXiv 1606.03498"
RECIPE = "ssl_gan"

# Keys shared with Triple-GAN (gan_jax/games/triplegan.py): its classifier is this critic.
NETWORK_KEYS: schema.Spec = {
    "z_dim": schema.positive_int(100, "noise dimensions of G's input"),
    "g_hidden": schema.int_tuple((500, 500), "G's hidden layers (softplus, BatchNorm)"),
    "d_hidden": schema.int_tuple(SALIMANS_D_HIDDEN, "the classifier's hidden layers (ReLU)"),
    "input_noise": schema.non_negative(0.3, "std of the Gaussian noise on the input image"),
    "hidden_noise": schema.non_negative(0.5, "std of the Gaussian noise after every hidden layer"),
}
KEYS: schema.Spec = {
    **NETWORK_KEYS,
    "unsupervised_weight": schema.non_negative(
        0.5, "w of the unsupervised term -log D(x_unl) - log(1 - D(G(z))) (0.5: the paper's code)"
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}


def check(config) -> None:
    """ConfigError on a bad game.* value (the data kind is checked by the validation)."""
    schema.check_block("game", config.game, KEYS)


def unlabelled_regularizers(logits: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(entropy, balance) of a classifier's (B, K) logits on unlabelled images: the mean
    entropy H(p(y | x)) (low: confident predictions; entropy minimisation, Grandvalet & Bengio
    2005) and the cross-entropy of the uniform labels against the batch's mean prediction,
    -(1/K) sum_k log mean_b p(k | x_b) (low: classes used evenly; minimum log K). Triple-GAN's
    code adds both to C's loss (weights 0.3 and 1e-3, ``categorical_crossentropy_ssl_
    separated``); they are not part of its game."""
    log_p = jax.nn.log_softmax(logits, axis=-1)
    entropy = -jnp.mean(jnp.sum(jnp.exp(log_p) * log_p, axis=-1))
    log_mean = jax.nn.logsumexp(log_p, axis=0) - jnp.log(logits.shape[0])
    return entropy, -jnp.mean(log_mean)


def log_partition(logits: jax.Array) -> jax.Array:
    """log Z(x) = logsumexp of the K real-class logits (the fake class's logit is 0)."""
    return jax.nn.logsumexp(logits, axis=-1)


def ssl_critic_loss(
    labelled_logits: jax.Array,
    labels: jax.Array,
    unlabelled_logits: jax.Array,
    fake_logits: jax.Array,
    unsupervised_weight: float,
) -> steps.LossOut:
    """CE(l_lab, y) + w (-E log D(x_unl) - E log(1 - D(G(z)))), D = Z / (Z + 1) (module doc).

    Terms: ``supervised`` (the CE), ``real`` (-E log D(x_unl)), ``fake`` (-E log(1 - D(G(z)))),
    ``unsupervised`` (their sum), ``train_acc`` (accuracy on the labelled batch).
    """
    supervised = optax.softmax_cross_entropy_with_integer_labels(labelled_logits, labels).mean()
    lz_real, lz_fake = log_partition(unlabelled_logits), log_partition(fake_logits)
    real = jnp.mean(jax.nn.softplus(lz_real) - lz_real)
    fake = jnp.mean(jax.nn.softplus(lz_fake))
    unsupervised = real + fake
    terms = {
        "supervised": supervised,
        "real": real,
        "fake": fake,
        "unsupervised": unsupervised,
        "train_acc": jnp.mean(jnp.argmax(labelled_logits, axis=-1) == labels),
    }
    return supervised + unsupervised_weight * unsupervised, terms


def classifier_module(gc, num_classes: int) -> NoisyMLPClassifier:
    return NoisyMLPClassifier(
        num_classes=num_classes,
        hidden=tuple(gc.d_hidden),
        input_noise=float(gc.input_noise),
        hidden_noise=float(gc.hidden_noise),
    )


def game_block(config, keys: schema.Spec) -> ml_collections.ConfigDict:
    """The game block with every key of ``keys`` (a block saved before a key existed reads its
    default)."""
    return ml_collections.ConfigDict({k: schema.value(config.game, keys, k) for k in keys})


def test_error(classify, state: steps.State, test: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``test`` images whose argmax of ``classify(state, x)`` is not their label."""
    fn = jax.jit(classify)
    predictions = np.concatenate(
        [
            np.argmax(np.asarray(fn(state, test[i : i + 1000])), axis=-1)
            for i in range(0, len(test), 1000)
        ]
    )
    return float(np.mean(predictions != labels))


def test_split(config):
    """The run's SemiSupervisedSplit (data.name without its '_ssl' suffix)."""
    d = config.data
    return semisupervised_split(
        d.name.removesuffix("_ssl"), d.resolution, d.labels_per_class, d.labelled_seed
    )


# Folded into an update's key for the critic's noise on each of its inputs.
NOISE_STREAMS = {"labelled": 10, "unlabelled": 11, "fake": 12}


def build(config, dataset: Dataset) -> Game:
    gc = game_block(config, KEYS)
    k, z_dim, w = dataset.num_classes, gc.z_dim, float(gc.unsupervised_weight)
    critic = classifier_module(gc, k)
    generator = MLPImageGenerator(shape=dataset.shape, hidden=tuple(gc.g_hidden))
    networks = {
        "g": Network(generator, (jnp.zeros((2, z_dim)), None), optim="g"),
        "d": Network(critic, (jnp.zeros((2, *dataset.shape)), None), optim="d"),
    }

    def noise(key, stream):
        return jax.random.fold_in(key, NOISE_STREAMS[stream])

    def critic_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        z = ctx.normal(jax.random.split(key)[0], (batch["x"].shape[0], z_dim))
        fake = jax.lax.stop_gradient(ctx("g", z, None, train=True))
        lab, _ = ctx("d", batch["x_labelled"], noise(key, "labelled"), train=True)
        unl, _ = ctx("d", batch["x"], noise(key, "unlabelled"), train=True)
        gen, _ = ctx("d", fake, noise(key, "fake"), train=True)
        return ssl_critic_loss(lab, batch["label_labelled"], unl, gen, w)

    def generator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
        z = ctx.normal(jax.random.split(key)[0], (batch["x"].shape[0], z_dim))
        fake = ctx("g", z, None, train=True)
        _, real_features = ctx("d", batch["x"], noise(key, "unlabelled"), train=True)
        _, fake_features = ctx("d", fake, noise(key, "fake"), train=True)
        return feature_matching_loss(jax.lax.stop_gradient(real_features), fake_features)

    def headline(run, state: steps.State) -> dict[str, float]:
        split = test_split(run.config)
        classify = lambda st, x: steps.apply(st, "d", x)[0]
        return {"test_error": test_error(classify, state, split.test, split.test_labels)}

    return Game(
        name="semisupervised",
        networks=networks,
        players=(
            Player("d", steps.ROLE_D, ("d",), critic_loss),
            Player("g", steps.ROLE_G, ("g",), generator_loss),
        ),
        generate=lambda state, inputs: steps.apply(state, "g", inputs["z"], None),
        eval_inputs=lambda key, n: {"z": jax.random.normal(key, (n, z_dim))},
        headline=headline,
    )
