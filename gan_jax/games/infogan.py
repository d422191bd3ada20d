"""InfoGAN (Chen et al. 2016, arXiv 1606.03657): the classic game with a latent code G must keep.

G's input is the noise z next to a code c: one categorical code (``game.num_categories`` values,
one-hot) and ``game.num_continuous`` continuous codes, uniform in [-1, 1]. A head Q on the
critic's body predicts c from an image, and both players minimise the negative of the
variational lower bound of the mutual information I(c; G(z, c)) (the paper's section 5):

    L_I = E_{c ~ p(c), x ~ G(z, c)}[log Q(c | x)] + H(c) <= I(c; G(z, c)),
    info loss = CE(Q's logits, c_cat) + continuous_weight * NLL_Gauss(c_cont | Q's means, stds),

so that maximising L_I is minimising the info loss (H(c) is a constant). Following the paper's
code (``infogan/algos/infogan_trainer.py``: ``discriminator_loss -= info_reg_coeff * mi_est``
and ``generator_loss -= info_reg_coeff * mi_est``), the critic player adds
``game.info_weight * info loss`` (updating the body and Q, on fakes with stopped gradients) and
the generator player adds the same term (updating G through the frozen critic and Q). The
adversarial part is the classic game's, for any objective of ``losses.py`` (non-saturating in
the recipe).

Q(c_cont | x) is a factored Gaussian (the paper's section 6, Implementation). With
``game.learn_std=False`` (the default) its standard deviation is fixed at 1, as in the paper's
MNIST code (``Uniform(1, fix_std=True)``), so the NLL is 0.5 (c - mu)^2 + 0.5 log(2 pi) per
code; with ``learn_std=True`` Q also predicts log sigma per code. ``game.continuous_weight``
scales the continuous NLL against the categorical CE: the paper sets lambda = 1 for discrete
codes and "a smaller lambda" with continuous ones; its MNIST code uses 1 for both with the
fixed std, as here.
The paper's code draws its 62 noise variables from U[-1, 1] (``game.noise='uniform'``); the
default is z ~ N(0, I), as in every gan_jax game.

The critic (``InfoGANCritic``) is the DCGAN discriminator's body (``gan_jax.models.layers``)
with two heads: the DCGAN logit and Q (dense ``game.q_hidden`` units, normalisation, LeakyReLU,
then the code's logits, means and, if learned, log stds), as in the paper's MNIST networks
(its appendix), where Q shares every layer of D but D's output and adds a 128-unit layer.

Headline (``Game.headline``, digits only): the categorical code as a digit classifier. For each
code value, ``game.headline_samples`` samples (the run's fixed evaluation inputs, codes cycling
0..K-1) are classified by the digits CNN (``gan_jax.classifier``); the codes are matched one to
one to classes by the assignment that maximises the agreement (Hungarian algorithm), and
``code_accuracy`` is the fraction of samples whose class is their code's match (the paper
reports 5% error on MNIST). ``code_purity`` matches each code to its own majority class
(many-to-one, an upper bound of the accuracy).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import scipy.optimize

from gan_jax import classifier, schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import get_objective
from gan_jax.models.dcgan import HeadedCritic
from gan_jax.models.layers import norm_layer
from gan_jax.steps import Context, Game

NOISES = ("normal", "uniform")

# The game block's keys (gan_jax.schema): defaults, checks and what each one means.
KEYS: schema.Spec = {
    "num_categories": schema.Key(
        10,
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2,
        "an integer >= 2",
        "values of the categorical code (one digit class each, ideally)",
    ),
    "num_continuous": schema.non_negative_int(2, "continuous codes, uniform in [-1, 1]"),
    "noise": schema.choice(
        "normal", NOISES, "z ~ N(0, I), or U[-1, 1] ('uniform', as the paper's code draws it)"
    ),
    "info_weight": schema.non_negative(1.0, "lambda: the info loss's weight in both losses"),
    "continuous_weight": schema.non_negative(
        1.0, "the continuous codes' NLL relative to the categorical cross-entropy"
    ),
    "learn_std": schema.boolean(False, "Q predicts each continuous code's log std; else std 1"),
    "q_hidden": schema.positive_int(128, "units of Q's hidden layer"),
    "headline_samples": schema.positive_int(
        1000, "samples per code value for the headline code_accuracy (digits only)"
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
# The dataset kinds it trains on (data.DatasetEntry.kind), and the zoo's row.
DATA_KINDS = ("images",)
PAPER = "InfoGAN, Chen et al. 2016, arXiv 1606.03657"
RECIPE = "infogan"

# Folded into an update's key for the codes; the z draw (split(key)[0]) and the penalty's key
# (split(key)[1]) stay the classic game's.
CODE_STREAM, CONTINUOUS_STREAM = 2, 3


def draw_noise(key: jax.Array, shape: tuple[int, ...], noise: str) -> jax.Array:
    """z ~ N(0, I) ('normal') or U[-1, 1] ('uniform')."""
    if noise == "uniform":
        return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
    return jax.random.normal(key, shape)


def check(config) -> None:
    """Raise ConfigError on a bad value of game.* or a model InfoGAN cannot be built on."""
    schema.check_block("game", config.game, KEYS)
    if config.model.name != "dcgan":
        raise ConfigError("model.name", config.model.name, "'dcgan' with game.name='infogan'")
    if config.model.num_classes != 0:
        raise ConfigError(
            "model.num_classes",
            config.model.num_classes,
            "0 with game.name='infogan' (the code replaces labels)",
        )


def generator_input(z: jax.Array, code: jax.Array, cont: jax.Array, num_categories: int):
    """G's input: [z, one-hot(code), cont] along the features."""
    onehot = jax.nn.one_hot(code, num_categories, dtype=z.dtype)
    return jnp.concatenate([z, onehot, cont.astype(z.dtype)], axis=-1)


@dataclasses.dataclass(frozen=True)
class CodeLatent:
    """InfoGAN's latent (the duck type of ``classic.Latent``): z, a categorical and continuous
    codes; ``extra`` is ``{'code': (B,) int32, 'cont': (B, C)}`` for the info loss."""

    z_dim: int  # noise dimensions (model.z_dim); G's input has z_dim + K + C
    num_categories: int
    num_continuous: int
    noise: str = "normal"
    num_classes: int = 0  # the critic is unconditional

    def draw(self, ctx: Context, key: jax.Array, n: int) -> tuple[tuple, Any, dict]:
        z = ctx.constrain(draw_noise(jax.random.split(key)[0], (n, self.z_dim), self.noise))
        code = ctx.randint(jax.random.fold_in(key, CODE_STREAM), (n,), self.num_categories)
        cont = ctx.constrain(
            jax.random.uniform(
                jax.random.fold_in(key, CONTINUOUS_STREAM),
                (n, self.num_continuous),
                minval=-1.0,
                maxval=1.0,
            )
        )
        g_in = generator_input(z, code, cont, self.num_categories)
        return (g_in, None), None, {"code": code, "cont": cont}


def categorical_nll(logits: jax.Array, code: jax.Array) -> jax.Array:
    """-E[log Q(c | x)] of the categorical code: softmax cross-entropy, mean over the batch."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, code).mean()


def gaussian_nll(mean: jax.Array, log_std: jax.Array, cont: jax.Array) -> jax.Array:
    """-E[log Q(c | x)] of a factored Gaussian: sum over the codes, mean over the batch.

    Per code: 0.5 ((c - mu) / sigma)^2 + log sigma + 0.5 log(2 pi).
    """
    per_code = (
        0.5 * ((cont - mean) * jnp.exp(-log_std)) ** 2 + log_std + 0.5 * math.log(2 * math.pi)
    )
    return per_code.sum(axis=-1).mean()


def info_terms(
    q: dict[str, jax.Array],
    extra: dict[str, jax.Array],
    *,
    info_weight: float,
    continuous_weight: float,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``info_weight * (CE + continuous_weight * NLL)`` and its terms, from Q's outputs on fakes.

    Terms: ``info`` (the weighted loss), ``info_cat`` (CE), ``info_cont`` (Gaussian NLL, 0
    without continuous codes), ``mi_bound`` (log K - CE: the lower bound of I(c_cat; x) in
    nats), ``code_acc`` (Q's accuracy on the categorical code).
    """
    logits = q["logits"]
    ce = categorical_nll(logits, extra["code"])
    nll = jnp.zeros((), jnp.float32)
    if extra["cont"].shape[-1]:
        nll = gaussian_nll(q["mean"], q["log_std"], extra["cont"])
    loss = info_weight * (ce + continuous_weight * nll)
    terms = {
        "info": loss,
        "info_cat": ce,
        "info_cont": nll,
        "mi_bound": math.log(logits.shape[-1]) - ce,
        "code_acc": jnp.mean(jnp.argmax(logits, axis=-1) == extra["code"]),
    }
    return loss, terms


class InfoGANCritic(HeadedCritic):
    """The DCGAN discriminator's body with two heads: ``(logit (B,), q)``.

    ``q``: ``logits`` (B, K) of the categorical code, ``mean`` and ``log_std`` (B, C) of the
    continuous ones (``log_std`` zeros unless ``learn_std``). Q's head: Dense(q_hidden) (no bias
    before BatchNorm), normalisation ``norm``, LeakyReLU(0.2), Dense to the code's parameters.
    """

    num_categories: int = 10
    num_continuous: int = 2
    learn_std: bool = False
    q_hidden: int = 128

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        del labels  # unconditional
        out, x = self.features(x, train)
        dtype = self.dtype

        h = x.reshape(x.shape[0], -1)
        h = nn.Dense(self.q_hidden, use_bias=self.norm != "batch", name="q_hidden", dtype=dtype)(h)
        h = nn.leaky_relu(norm_layer(self.norm, train, name="q_norm", dtype=dtype)(h), 0.2)
        k, c = self.num_categories, self.num_continuous
        params = nn.Dense(k + c * (1 + self.learn_std), name="q_out", dtype=dtype)(h)
        params = params.astype(jnp.float32)
        log_std = params[:, k + c :] if self.learn_std else jnp.zeros_like(params[:, k : k + c])
        return out, {"logits": params[:, :k], "mean": params[:, k : k + c], "log_std": log_std}


def confusion_matrix(
    codes: np.ndarray, predictions: np.ndarray, num_categories: int, num_classes: int
) -> np.ndarray:
    """``confusion[c, y]``: how many samples of code value c the classifier calls class y."""
    confusion = np.zeros((num_categories, num_classes), np.int64)
    np.add.at(confusion, (np.asarray(codes), np.asarray(predictions)), 1)
    return confusion


def matched_classes(confusion: np.ndarray) -> np.ndarray:
    """The class matched to each code value (-1 if none): the one-to-one matching that
    maximises the matched counts (scipy's linear_sum_assignment, the Hungarian algorithm)."""
    rows, cols = scipy.optimize.linear_sum_assignment(confusion, maximize=True)
    matched = np.full(confusion.shape[0], -1, np.int64)
    matched[rows] = cols
    return matched


def code_matching(
    codes: np.ndarray, predictions: np.ndarray, num_categories: int, num_classes: int
) -> dict[str, float]:
    """How well the categorical code classifies, after the best one-to-one code -> class match.

    Returns ``code_accuracy`` (fraction of samples whose class is their code's match),
    ``code_purity`` (each code matched to its majority class, many-to-one) and
    ``code_classes`` (distinct majority classes among the codes).
    """
    confusion = confusion_matrix(codes, predictions, num_categories, num_classes)
    matched = matched_classes(confusion)
    rows = np.flatnonzero(matched >= 0)
    total = confusion.sum()
    return {
        "code_accuracy": float(confusion[rows, matched[rows]].sum() / total),
        "code_purity": float(confusion.max(axis=1).sum() / total),
        "code_classes": int(len(set(np.argmax(confusion, axis=1).tolist()))),
    }


@functools.lru_cache(maxsize=4)
def _digits_classifier(resolution: int, cache_dir: str | None) -> classifier.Classifier:
    # One instance per process, so its jit-ted apply compiles once across evaluations.
    return classifier.digits_classifier(resolution, cache_dir)


def code_predictions(run, state: steps.State) -> tuple[np.ndarray, np.ndarray, int]:
    """(codes, the digits CNN's predicted classes, number of classes) of ``headline_samples``
    samples per code value from the run's fixed evaluation inputs (codes cycle 0..K-1)."""
    from gan_jax.runs import sample_images  # gan_jax.runs imports the games

    n = run.config.game.num_categories * run.config.game.headline_samples
    inputs = run.eval_inputs(n)
    images = sample_images(run, state, n, inputs=inputs)
    clf = _digits_classifier(run.dataset.shape[0], run.config.eval.get("cache_dir") or None)
    logits, _ = clf.logits_and_features(images)
    return np.asarray(inputs["code"]), np.argmax(logits, axis=1), clf.num_classes


def code_accuracy(run, state: steps.State) -> dict[str, float]:
    """The headline: ``code_matching`` of the digits CNN's predictions on the run's samples."""
    codes, predictions, num_classes = code_predictions(run, state)
    return code_matching(codes, predictions, run.config.game.num_categories, num_classes)


def build(config, dataset: Dataset) -> Game:
    # A block saved before a key existed reads its default.
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    latent = CodeLatent(config.model.z_dim, gc.num_categories, gc.num_continuous, gc.noise)
    resolution = dataset.shape[0]
    critic = InfoGANCritic.from_config(
        config,
        resolution,
        num_categories=gc.num_categories,
        num_continuous=gc.num_continuous,
        learn_std=gc.learn_std,
        q_hidden=gc.q_hidden,
    )
    weights = dict(info_weight=float(gc.info_weight), continuous_weight=float(gc.continuous_weight))

    def extra_terms(ctx, fake_out, extra):
        return info_terms(fake_out[1], extra, **weights)

    bound = dict(objective=objective, latent=latent, extra_terms=extra_terms)
    g_dim = latent.z_dim + latent.num_categories + latent.num_continuous

    def generate(state, inputs):
        g_in = generator_input(inputs["z"], inputs["code"], inputs["cont"], latent.num_categories)
        return steps.apply(state, "g", g_in, None)

    def eval_inputs(key, n):
        key_z, key_c = jax.random.split(key)
        return {
            "z": draw_noise(key_z, (n, latent.z_dim), latent.noise),
            "code": jnp.arange(n, dtype=jnp.int32) % latent.num_categories,
            "cont": jax.random.uniform(key_c, (n, latent.num_continuous), minval=-1.0, maxval=1.0),
        }

    return Game(
        name="infogan",
        networks=classic.networks(config, dataset, (jnp.zeros((2, g_dim)),), d_module=critic),
        players=classic.players(
            config,
            objective,
            lambda ctx, batch, key: classic.critic_loss(ctx, batch, key, **bound),
            lambda ctx, batch, key: classic.generator_loss(ctx, batch, key, **bound),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        ema_decay=float(config.model.g_ema_decay),
        headline=code_accuracy if dataset.name == "digits" else None,
    )
