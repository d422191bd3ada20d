"""pix2pix (Isola et al. 2017, arXiv 1611.07004): paired image-to-image translation, a cGAN + L1.

Networks: a U-Net generator ``g`` (``models.translation.UnetGenerator``: skip connections between
mirrored layers, optional dropout noise) trained by ``optim.g``, and a conditional PatchGAN
critic ``d`` (``models.translation.PatchDiscriminator``) of (input, output) pairs, the two images
concatenated along the channels, trained by ``optim.d``. Data: ``data.name='digits_paired'``
or ``'mnist5k_paired'`` (the same pairs of the 32x32 MNIST digits; ``gan_jax.data``), batches
``{'a', 'b', 'label'}`` with b = T(x) the true target of a = S(x) (S = ``data.domain_a``,
'identity' by default; a lossy S makes the target ambiguous).

Players, every train step, in the reference code's order (``optimize_parameters``: D, then G;
the list below is by role):

- ``g`` (role ``ROLE_G``) minimises eq. 4, the objective G* = arg min_G max_D L_cGAN(G, D) +
  lambda L_L1(G): ``game.adv_weight`` times the non-saturating cGAN loss -E[log D(a, G(a))]
  (``losses.non_saturating_g_loss`` of every patch's logit), plus ``game.l1_weight`` (lambda =
  100, the paper's) times E|b - G(a)|_1 (eq. 3). ``adv_weight`` 0 is the paper's "L1 alone"
  ablation (table 1): the critic still trains but G never sees it.
- ``d`` (role ``ROLE_D``) minimises half the cross-entropy of eq. 1 on real pairs (a, b) against
  fake pairs (a, G(a)) (``losses.bce_d_loss``, each expectation a mean over batch and patches;
  halved as in the paper, section 3.3, "to slow down the rate at which D learns").

Noise: with ``game.dropout`` > 0 the generator's first decoder layers drop units with a key drawn
from the player's update key; evaluation runs without dropout.

Evaluation: ``generate`` translates domain-A images (``eval_inputs``: a fixed draw of the test
inputs); ``headline`` measures, on all held-out test pairs (898 digits, 2500 MNIST digits;
``paired_metrics``): the fraction of G(a) that the dataset's classifier, after T is undone,
assigns a's class; L1 and PSNR against the true target T(a); the Frechet distance of the
translations to the true targets in the target domain (the classifier's features after undoing
T, a bijection); and a sharpness ratio (``metrics.laplacian_energy`` of G(a) over that of T(a):
blur < 1).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import classifier, metrics, schema, steps
from gan_jax.data import PAIRED_SOURCES, Dataset, digits_paired_arrays, domain_transform
from gan_jax.errors import ConfigError
from gan_jax.games.cyclegan import draw_images
from gan_jax.losses import bce_d_loss, non_saturating_g_loss
from gan_jax.models.translation import NORMS, PatchDiscriminator, UnetGenerator
from gan_jax.steps import Batch, Context, Game, Network, Player

# The dataset kinds it trains on (data.DatasetEntry.kind).
DATA_KINDS = ("paired",)
PAPER = "pix2pix, Isola et al. 2017, arXiv 1611.07004"
RECIPE = "pix2pix"
DEFAULTS: dict = {
    "l1_weight": 100.0,  # lambda of eq. 4
    "adv_weight": 1.0,  # weight of the cGAN term; 0: the paper's L1-only ablation
    "g_width": 16,  # channels of G's first layer (paper: 64)
    "g_depth": 4,  # stride-2 layers of the U-Net: 16x16 -> 1x1 (paper: 8, 256x256 -> 1x1)
    "dropout": 0.0,  # rate of the decoder's dropout noise (paper: 0.5); 0: none
    "d_width": 16,  # channels of D's first layer (paper: 64)
    "d_layers": 2,  # stride-2 layers of D (the patch map is 1 / 2^d_layers of the image)
    "norm": "instance",  # 'instance' or 'none' (paper: BatchNorm at batch 1, i.e. instance)
}


def check(config) -> None:
    """game.* values, and the objective, data and train keys pix2pix needs."""
    game = config.game
    for key in ("l1_weight", "adv_weight"):
        schema.check_number(f"game.{key}", game[key])
    schema.check_number("game.dropout", game.dropout, (int, float), 0, 1)
    for key in ("g_width", "g_depth", "d_width", "d_layers"):
        schema.check_number(f"game.{key}", game[key], int, 1)
    if game.norm not in NORMS:
        raise ConfigError("game.norm", game.norm, str(list(NORMS)))
    if config.objective.name != "non_saturating":
        raise ConfigError("objective.name", config.objective.name, "'non_saturating' (pix2pix)")
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with pix2pix")
    if config.data.name not in PAIRED_SOURCES:
        raise ConfigError(
            "data.name", config.data.name, f"one of {sorted(PAIRED_SOURCES)} with pix2pix"
        )
    side = 2 ** max(game.g_depth, game.d_layers)
    if config.data.resolution % side:
        raise ConfigError(
            "data.resolution",
            config.data.resolution,
            f"a multiple of 2^max(game.g_depth, game.d_layers) = {side}",
        )
    if config.train.d_steps != 1:
        raise ConfigError("train.d_steps", config.train.d_steps, "1 with pix2pix")


# ---------------------------------------------------------------------------------------------
# Losses.


def l1(x: jax.Array, y: jax.Array) -> jax.Array:
    """E|x - y|_1 per pixel (eq. 3; the reference code's nn.L1Loss)."""
    return jnp.mean(jnp.abs(x - y))


def pair(a: jax.Array, b: jax.Array) -> jax.Array:
    """The conditional critic's input: (input, output) stacked along the channels."""
    return jnp.concatenate([a, b], axis=-1)


def generator_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, l1_weight: float, adv_weight: float
) -> steps.LossOut:
    """The ``g`` player's loss: adv_weight * -E[log D(a, G(a))] + l1_weight * E|b - G(a)|_1."""
    a, b = batch["a"], batch["b"]
    fake = ctx("g", a, key, train=True)
    adv, _ = non_saturating_g_loss(ctx("d", pair(a, fake), train=True))
    err = l1(fake, b)
    return adv_weight * adv + l1_weight * err, {"adv": adv, "l1": err}


def discriminator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
    """The ``d`` player's loss: 1/2 (-E[log D(a, b)] - E[log(1 - D(a, G(a)))]) over patches."""
    a, b = batch["a"], batch["b"]
    fake = jax.lax.stop_gradient(ctx("g", a, key, train=True))
    loss, terms = bce_d_loss(ctx("d", pair(a, b), train=True), ctx("d", pair(a, fake), train=True))
    return 0.5 * loss, terms


# ---------------------------------------------------------------------------------------------
# Evaluation.


@jax.jit
def translate(state: steps.State, a: jax.Array) -> jax.Array:
    """G(a) in inference mode (no dropout)."""
    return steps.apply(state, "g", a)


def paired_metrics(
    fake_b: np.ndarray,
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    clf: classifier.Classifier,
    domain_b: str,
) -> dict[str, float]:
    """Translations ``fake_b`` of the test pairs ``test`` = (a, b = T(a), label) against the truth.

    Any A -> B translator's outputs can be measured here (pix2pix's, CycleGAN's G_AB, a fixed
    map), so the paired and the unpaired methods are compared on the same images.
    """
    a, b, label = test
    # T undone before classifying; a T without an inverse (thicken, erode, ...): classified as is.
    undo = domain_transform(domain_b)[1] or (lambda x: x)
    fake_b = np.asarray(fake_b, np.float32)
    _, f_fake = clf.logits_and_features(np.ascontiguousarray(undo(fake_b)))
    _, f_true = clf.logits_and_features(np.ascontiguousarray(undo(b)))
    return {
        "class_preservation": clf.accuracy(np.ascontiguousarray(undo(fake_b)), label),
        "l1": float(np.mean(np.abs(fake_b - b))),
        "psnr": metrics.psnr(fake_b, b),
        "fd_target": metrics.frechet_distance_features(f_true, f_fake),
        "sharpness": metrics.laplacian_energy(fake_b) / metrics.laplacian_energy(b),
        # The ceiling: the classifier on the sources themselves.
        "classifier_accuracy": clf.accuracy(a, label),
    }


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    game = config.game
    resolution, domain_b = config.data.resolution, config.data.domain_b
    base = PAIRED_SOURCES[config.data.name]
    _, test = digits_paired_arrays(resolution, domain_b, config.data.domain_a, base)
    example = jnp.zeros((2, *dataset.shape))
    gen = UnetGenerator(game.g_width, game.g_depth, game.norm, float(game.dropout))
    critic = PatchDiscriminator(game.d_width, game.d_layers, game.norm)
    networks = {
        "g": Network(gen, (example,), optim="g"),
        "d": Network(critic, (pair(example, example),), optim="d"),
    }
    g_loss = functools.partial(
        generator_loss, l1_weight=float(game.l1_weight), adv_weight=float(game.adv_weight)
    )

    def generate(state: steps.State, inputs: dict) -> jax.Array:
        return steps.apply(state, "g", inputs["a"])

    def eval_inputs(key: jax.Array, n: int) -> dict:
        return {"a": draw_images(key, test[0], n)}

    def headline(run, state: steps.State) -> dict[str, float]:
        cache = run.config.eval.get("cache_dir") or None
        clf = classifier.dataset_classifier(base, resolution, cache)
        fake_b = jax.device_get(translate(state, jnp.asarray(test[0])))
        return paired_metrics(fake_b, test, clf, domain_b)

    return Game(
        name="pix2pix",
        networks=networks,
        players=(
            Player("d", steps.ROLE_D, ("d",), discriminator_loss),
            Player("g", steps.ROLE_G, ("g",), g_loss),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        headline=headline,
    )
