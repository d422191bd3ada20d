"""AC-GAN (Odena et al. 2017, arXiv 1610.09585): a conditional G, a critic that also classifies.

G draws x = G(z, c) for a class c ~ U{0..K-1} (the DCGAN generator conditioned by concatenation,
``model.num_classes = K``). The critic sees no label: it returns the adversarial logit and, from
the same body, the class posterior P(C | x) (a dense head on its last feature map). The paper's
objective (its equations 2 and 3) is the source log-likelihood L_S and the class log-likelihood

    L_C = E[log P(C = c | x_real)] + E[log P(C = c | x_fake)];

D maximises L_S + L_C and G maximises L_C - L_S. Here L_S is any objective of ``losses.py``
(non-saturating in the recipe) and the class term is a cross-entropy: the critic player adds
``game.class_weight * (CE(real) + CE(fake))`` (fakes with stopped gradients) and the generator
player ``game.class_weight * CE(fake)`` (the real term has no gradient in G).

Headline (``Game.headline``, digits only; ``class_measures``, which also reads a classic
conditional run such as configs/cgan.py): ``game.headline_samples`` samples per class (the run's
fixed evaluation noise) are labelled by the digits CNN (``gan_jax.classifier``).
``class_agreement`` is the fraction labelled as the class they were drawn for. Per-class
diversity is the mean pairwise Euclidean distance between the samples drawn for one class in the
CNN's 128-d penultimate feature space (not the paper's MS-SSIM, which needs larger images);
``diversity_ratio`` is its mean over the classes divided by the same mean of the real digits
grouped by their labels (1: as diverse as the data; AC-GAN's known weakness is a ratio well
below 1), ``min_diversity_ratio`` the least diverse class's ratio of the two.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import classifier, data, schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import get_objective
from gan_jax.models.dcgan import HeadedCritic
from gan_jax.steps import Context, Game

KEYS: schema.Spec = {
    "class_weight": schema.non_negative(1.0, "weight of the class cross-entropy in both losses"),
    "headline_samples": schema.positive_int(
        200, "samples per class for the headline class agreement and diversity (digits only)"
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "AC-GAN, Odena et al. 2017, arXiv 1610.09585"
RECIPE = "acgan"


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a model AC-GAN cannot be built on."""
    schema.check_block("game", config.game, KEYS)
    if config.model.name != "dcgan":
        raise ConfigError("model.name", config.model.name, "'dcgan' with game.name='acgan'")
    if config.model.num_classes < 2:
        raise ConfigError(
            "model.num_classes",
            config.model.num_classes,
            "the dataset's number of classes with game.name='acgan' (G is class-conditional)",
        )


@dataclasses.dataclass(frozen=True)
class ClassLatent:
    """z ~ N(0, I) and a class c ~ U{0..K-1}; G sees (z, c), ``extra`` carries c for L_C."""

    z_dim: int
    num_classes: int

    def draw(self, ctx: Context, key: jax.Array, n: int) -> tuple[tuple, Any, dict]:
        (z, labels), _, _ = classic.Latent(self.z_dim, self.num_classes).draw(ctx, key, n)
        return (z, labels), None, {"label": labels}


def class_nll(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """-E[log P(C = c | x)]: softmax cross-entropy, mean over the batch."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def class_terms(
    fake_logits: jax.Array,
    fake_labels: jax.Array,
    real_logits: jax.Array | None,
    real_labels: jax.Array | None,
    *,
    class_weight: float,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``class_weight * (CE(fake) [+ CE(real)])`` and its terms: -L_C of the paper's eq. 3.

    The critic passes both halves, the generator only the fakes. Terms: ``class`` (the weighted
    loss), ``class_fake`` / ``class_real`` (the cross-entropies), ``class_acc_fake`` /
    ``class_acc_real`` (the head's accuracy).
    """
    ce_fake = class_nll(fake_logits, fake_labels)
    terms = {
        "class_fake": ce_fake,
        "class_acc_fake": jnp.mean(jnp.argmax(fake_logits, -1) == fake_labels),
    }
    total = ce_fake
    if real_logits is not None:
        ce_real = class_nll(real_logits, real_labels)
        terms["class_real"] = ce_real
        terms["class_acc_real"] = jnp.mean(jnp.argmax(real_logits, -1) == real_labels)
        total = total + ce_real
    loss = class_weight * total
    return loss, {"class": loss, **terms}


class ACGANCritic(HeadedCritic):
    """The DCGAN discriminator's body with two heads: ``(logit (B,), {'logits': (B, K)})``.

    The class head is one dense layer on the flattened last feature map (the paper's critics end
    in a sigmoid and a softmax on the same features). Labels are ignored: the critic is not told
    the class, it infers it.
    """

    num_classes: int = 10

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        del labels  # the critic infers the class
        out, h = self.features(x, train)
        h = h.reshape(h.shape[0], -1)
        logits = nn.Dense(self.num_classes, name="class_out", dtype=self.dtype)(h)
        return out, {"logits": logits.astype(jnp.float32)}


# --- the headline ------------------------------------------------------------------------------


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over the distinct pairs of rows of ``features`` (N >= 2)."""
    f = np.asarray(features, np.float64)
    sq = np.sum(f * f, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * f @ f.T, 0.0)
    n = f.shape[0]
    return float(np.sqrt(d2)[np.triu_indices(n, k=1)].mean())


def within_class_diversity(
    features: np.ndarray, labels: np.ndarray, num_classes: int
) -> np.ndarray:
    """(K,) mean pairwise feature distance within each class (NaN for a class with < 2 rows)."""
    out = np.full(num_classes, np.nan)
    for c in range(num_classes):
        rows = features[np.asarray(labels) == c]
        if len(rows) >= 2:
            out[c] = mean_pairwise_distance(rows)
    return out


def agreement_and_diversity(
    requested: np.ndarray,
    logits: np.ndarray,
    features: np.ndarray,
    real_diversity: np.ndarray,
) -> dict[str, float]:
    """The headline from the classifier's outputs on samples drawn for the ``requested`` classes
    and the real data's per-class diversity (``within_class_diversity`` of the real features)."""
    k = len(real_diversity)
    fake_diversity = within_class_diversity(features, requested, k)
    return {
        "class_agreement": float(np.mean(np.argmax(logits, axis=1) == requested)),
        "diversity": float(np.nanmean(fake_diversity)),
        "real_diversity": float(np.nanmean(real_diversity)),
        "diversity_ratio": float(np.nanmean(fake_diversity) / np.nanmean(real_diversity)),
        "min_diversity_ratio": float(np.nanmin(fake_diversity / real_diversity)),
    }


@functools.lru_cache(maxsize=4)
def _classifier(resolution: int, cache_dir: str | None) -> classifier.Classifier:
    return classifier.digits_classifier(resolution, cache_dir)


@functools.lru_cache(maxsize=4)
def real_diversity(resolution: int, cache_dir: str | None) -> np.ndarray:
    """(10,) within-class diversity of all 1797 real digits in the classifier's features."""
    images, labels = data.digits_arrays(resolution)
    _, features = _classifier(resolution, cache_dir).logits_and_features(images)
    return within_class_diversity(features, labels, 10)


def class_measures(run, state: steps.State, per_class: int | None = None) -> dict[str, float]:
    """The headline of any class-conditional digits run (AC-GAN, configs/cgan.py): class
    agreement and per-class diversity of ``per_class`` samples per class."""
    from gan_jax.runs import sample_images  # gan_jax.runs imports the games

    k = run.num_classes
    per_class = per_class or schema.value(run.config.game, KEYS, "headline_samples")
    labels = np.repeat(np.arange(k, dtype=np.int32), per_class)
    inputs = run.eval_inputs(k * per_class, labels=labels)
    images = sample_images(run, state, k * per_class, inputs=inputs)
    resolution, cache_dir = run.dataset.shape[0], run.config.eval.get("cache_dir") or None
    logits, features = _classifier(resolution, cache_dir).logits_and_features(images)
    return agreement_and_diversity(labels, logits, features, real_diversity(resolution, cache_dir))


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    k = int(config.model.num_classes)
    latent = ClassLatent(config.model.z_dim, k)
    critic = ACGANCritic.from_config(
        config,
        dataset.shape[0],
        num_classes=k,
    )
    weight = float(gc.class_weight)

    def critic_terms(ctx, fake_out, extra):
        real_logits = extra["real_out"][1]["logits"]
        return class_terms(
            fake_out[1]["logits"],
            extra["label"],
            real_logits,
            extra["real_labels"],
            class_weight=weight,
        )

    def generator_terms(ctx, fake_out, extra):
        return class_terms(fake_out[1]["logits"], extra["label"], None, None, class_weight=weight)

    # The critic is told no labels, but the classic helpers pass the real batch's labels along
    # (``real_labels``) because the latent has classes.
    d_bound = dict(objective=objective, latent=latent, extra_terms=critic_terms)
    g_bound = dict(objective=objective, latent=latent, extra_terms=generator_terms)

    def generate(state, inputs):
        return steps.apply(state, "g", inputs["z"], inputs["label"])

    def eval_inputs(key, n):
        return {
            "z": jax.random.normal(key, (n, latent.z_dim)),
            "label": jnp.arange(n, dtype=jnp.int32) % k,
        }

    return Game(
        name="acgan",
        networks=classic.networks(
            config, dataset, (jnp.zeros((2, latent.z_dim)),), d_module=critic
        ),
        players=classic.players(
            config,
            objective,
            lambda ctx, batch, key: classic.critic_loss(ctx, batch, key, **d_bound),
            lambda ctx, batch, key: classic.generator_loss(ctx, batch, key, **g_bound),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        ema_decay=float(config.model.g_ema_decay),
        headline=class_measures if dataset.name == "digits" else None,
    )
