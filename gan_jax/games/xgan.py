"""XGAN (Royer et al. 2017, arXiv 1711.05139): two domain autoencoders with a shared embedding.

Networks: ``ae`` (``models.translation.XganAutoencoder``: encoders e_A, e_B and decoders g_A,
g_B whose middle layers are shared, so both domains meet in one embedding), trained by
``optim.g``; the PatchGAN critics ``d_a`` and ``d_b`` and the embedding's domain classifier
``c_dann`` (``EmbeddingClassifier``), trained by ``optim.d``. Translation A -> B is
g_B(e_A(a)). Data: ``data.name='digits_unpaired'`` (batches ``{'a', 'label_a', 'b', 'label_b'}``).

Players, every train step:

- ``g`` (role ``ROLE_G``; updates ``ae``) minimises (section 3.2, eq. 6)
  ``game.rec_weight`` L_rec + ``game.dann_weight`` L_dann + ``game.sem_weight`` L_sem +
  ``game.gan_weight`` L_gan, with L_rec = E|g_A(e_A(a)) - a|_1 + E|g_B(e_B(b)) - b|_1 (eq. 1);
  L_dann, the domain-adversarial loss on the embedding (eq. 2): the classifier's cross-entropy
  with the domain labels FLIPPED (the encoders make e_A(a) read as B and e_B(b) as A; the
  non-saturating form of the paper's gradient reversal); L_sem, the semantic consistency
  (eq. 3): E|e_B(g_B(e_A(a))) - e_A(a)|_1 + E|e_A(g_A(e_B(b))) - e_B(b)|_1, the embedding of a
  translation against the embedding it was decoded from; L_gan, the least-squares generator
  loss of both translations on the critics (eq. 5, LSGAN in place of the paper's minimax GAN, as
  CycleGAN). No teacher loss (eq. 4: it needs a pretrained network of the target domain).
- ``d`` (role ``ROLE_D``; updates d_a, d_b, c_dann) minimises the least-squares critic losses
  (real vs the current translations) and the classifier's cross-entropy with the true domain
  labels of the (frozen) embeddings.

Evaluation: ``generate`` translates a fixed draw of A into B; ``headline`` measures on every
image of both halves the class preservation A -> B (B's transform undone) and B -> A, the FD of
the translations in the target domain (on the digits classifier's features) and the semantic
agreement: E|e_B(g_B(e_A(a))) - e_A(a)|_1 / E|e_A(a)|_1 (0: the translation has the embedding
of its source), both ways.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import classifier, metrics, schema, steps
from gan_jax.data import DOMAIN_TRANSFORMS, Dataset, digits_unpaired_arrays
from gan_jax.errors import ConfigError
from gan_jax.games.cyclegan import draw_images, l1, ls_generator, unpaired_headline
from gan_jax.losses import least_squares_d_loss
from gan_jax.models.translation import (
    NORMS,
    EmbeddingClassifier,
    PatchDiscriminator,
    XganAutoencoder,
)
from gan_jax.steps import Batch, Context, Game, Network, Player

# The dataset kinds it trains on (data.DatasetEntry.kind).
DATA_KINDS = ("domains",)
# What the banner names in place of the objective, which this game does not read.
OWN_LOSS = "XGAN's least squares + embedding losses (its own)"
PAPER = "XGAN, Royer et al. 2017, arXiv 1711.05139"
RECIPE = "xgan"
DEFAULTS: dict = {
    "rec_weight": 10.0,  # omega_rec (ours: images in [-1, 1] give L1 errors ~0.1)
    "dann_weight": 1.0,  # omega_d
    "sem_weight": 1.0,  # omega_s; 0 turns the semantic consistency off
    "gan_weight": 1.0,  # omega_g
    "embed_dim": 64,  # the shared embedding's size (paper: 1024)
    "width": 16,  # channels of the encoders' first layer
    "d_width": 16,  # channels of the critics' first layer
    "d_layers": 2,  # stride-2 layers of the critics
    "dann_hidden": 64,  # units of c_dann's hidden layers
    "norm": "instance",  # 'instance' or 'none'
}
DATASET = "digits_unpaired"


def check(config) -> None:
    """game.* values, and the data keys XGAN needs."""
    game = config.game
    for key in ("rec_weight", "dann_weight", "sem_weight", "gan_weight"):
        schema.check_number(f"game.{key}", game[key])
    for key in ("embed_dim", "width", "d_width", "d_layers", "dann_hidden"):
        schema.check_number(f"game.{key}", game[key], int, 1)
    if game.norm not in NORMS:
        raise ConfigError("game.norm", game.norm, str(list(NORMS)))
    if config.data.name != DATASET:
        raise ConfigError("data.name", config.data.name, f"{DATASET!r} with game.name='xgan'")
    if config.data.resolution % 2**game.d_layers or config.data.resolution % 4:
        raise ConfigError(
            "data.resolution",
            config.data.resolution,
            f"a multiple of 4 and of 2^game.d_layers={2**game.d_layers}",
        )
    if config.train.d_steps != 1:
        raise ConfigError("train.d_steps", config.train.d_steps, "1 with XGAN")


# ---------------------------------------------------------------------------------------------
# Losses.


def domain_bce(logits_a: jax.Array, logits_b: jax.Array, flipped: bool = False) -> jax.Array:
    """Cross-entropy of c_dann on embeddings of A (label 1) and B (label 0), each a mean over
    its batch; ``flipped`` swaps the labels (the encoders' adversarial loss)."""
    la, lb = (0.0, 1.0) if flipped else (1.0, 0.0)
    ce = optax.sigmoid_binary_cross_entropy
    return jnp.mean(ce(logits_a, jnp.full_like(logits_a, la))) + jnp.mean(
        ce(logits_b, jnp.full_like(logits_b, lb))
    )


def semantic_consistency(z: jax.Array, z_back: jax.Array) -> jax.Array:
    """E|e_other(translation) - e_own(x)|_1, per embedding coordinate (eq. 3)."""
    return jnp.mean(jnp.abs(z_back - z))


def _encode(ctx: Context, x: jax.Array, d: str) -> jax.Array:
    return ctx("ae", x, d, train=True, method="encode")


def _decode(ctx: Context, z: jax.Array, d: str) -> jax.Array:
    return ctx("ae", z, d, train=True, method="decode")


def generator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    rec_weight: float,
    dann_weight: float,
    sem_weight: float,
    gan_weight: float,
) -> steps.LossOut:
    """The ``g`` player's loss (eq. 6 without the teacher; see the module docstring)."""
    del key
    a, b = batch["a"], batch["b"]
    z_a, z_b = _encode(ctx, a, "a"), _encode(ctx, b, "b")
    rec = l1(_decode(ctx, z_a, "a"), a) + l1(_decode(ctx, z_b, "b"), b)
    dann = domain_bce(ctx("c_dann", z_a, train=True), ctx("c_dann", z_b, train=True), True)
    fake_b, fake_a = _decode(ctx, z_a, "b"), _decode(ctx, z_b, "a")
    sem = semantic_consistency(z_a, _encode(ctx, fake_b, "b")) + semantic_consistency(
        z_b, _encode(ctx, fake_a, "a")
    )
    gan = ls_generator(ctx("d_b", fake_b, train=True)) + ls_generator(
        ctx("d_a", fake_a, train=True)
    )
    loss = rec_weight * rec + dann_weight * dann + sem_weight * sem + gan_weight * gan
    return loss, {"rec": rec, "dann": dann, "sem": sem, "gan": gan}


def discriminator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
    """The ``d`` player's loss: both critics' least squares and c_dann's cross-entropy."""
    del key
    a, b = batch["a"], batch["b"]
    z_a = jax.lax.stop_gradient(_encode(ctx, a, "a"))
    z_b = jax.lax.stop_gradient(_encode(ctx, b, "b"))
    fake_b = jax.lax.stop_gradient(_decode(ctx, z_a, "b"))
    fake_a = jax.lax.stop_gradient(_decode(ctx, z_b, "a"))
    loss_a, _ = least_squares_d_loss(ctx("d_a", a, train=True), ctx("d_a", fake_a, train=True))
    loss_b, _ = least_squares_d_loss(ctx("d_b", b, train=True), ctx("d_b", fake_b, train=True))
    dann = domain_bce(ctx("c_dann", z_a, train=True), ctx("c_dann", z_b, train=True))
    return loss_a + loss_b + dann, {"a": loss_a, "b": loss_b, "dann": dann}


# ---------------------------------------------------------------------------------------------
# Evaluation.


@jax.jit
def translate(state: steps.State, a: jax.Array, b: jax.Array) -> dict[str, jax.Array]:
    """The translations both ways and the embeddings of sources and translations."""
    enc = lambda x, d: steps.apply(state, "ae", x, d, method="encode")
    dec = lambda z, d: steps.apply(state, "ae", z, d, method="decode")
    z_a, z_b = enc(a, "a"), enc(b, "b")
    fake_b, fake_a = dec(z_a, "b"), dec(z_b, "a")
    return {
        "fake_b": fake_b,
        "fake_a": fake_a,
        "z_a": z_a,
        "z_b": z_b,
        "z_fake_b": enc(fake_b, "b"),
        "z_fake_a": enc(fake_a, "a"),
    }


def translation_metrics(
    out: dict[str, np.ndarray], clf: classifier.Classifier, domains: tuple, domain_b: str
) -> dict[str, float]:
    """Class preservation, FD in the target domain and semantic agreement of ``out``
    (``translate``'s keys) of ``domains`` (a, label_a, b, label_b)."""
    a, label_a, b, label_b = domains
    readable = DOMAIN_TRANSFORMS[domain_b][1] or (lambda x: x)
    logits_b, feat_fake_b = clf.logits_and_features(np.asarray(readable(out["fake_b"])))
    logits_a, feat_fake_a = clf.logits_and_features(np.asarray(out["fake_a"]))
    feat_a = clf.logits_and_features(a)[1]
    feat_b = clf.logits_and_features(np.asarray(readable(b)))[1]

    def agreement(z, z_back) -> float:
        return float(np.mean(np.abs(z_back - z)) / np.mean(np.abs(z)))

    return {
        "class_preservation_ab": float(np.mean(np.argmax(logits_b, 1) == label_a)),
        "class_preservation_ba": float(np.mean(np.argmax(logits_a, 1) == label_b)),
        "fd_ab": metrics.frechet_distance_features(feat_b, feat_fake_b),
        "fd_ba": metrics.frechet_distance_features(feat_a, feat_fake_a),
        "semantic_gap_ab": agreement(out["z_a"], out["z_fake_b"]),
        "semantic_gap_ba": agreement(out["z_b"], out["z_fake_a"]),
    }


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    game = config.game
    resolution, domain_b = config.data.resolution, config.data.domain_b
    domains = digits_unpaired_arrays(resolution, domain_b)
    example = jnp.zeros((2, *dataset.shape))
    ae = XganAutoencoder(
        game.width, game.embed_dim, dataset.shape[0] // 4, dataset.shape[-1], game.norm
    )
    critic = PatchDiscriminator(game.d_width, game.d_layers, game.norm)
    networks = {
        "ae": Network(ae, (example,), optim="g"),
        "d_a": Network(critic, (example,), optim="d"),
        "d_b": Network(critic, (example,), optim="d"),
        "c_dann": Network(
            EmbeddingClassifier(game.dann_hidden), (jnp.zeros((2, game.embed_dim)),), optim="d"
        ),
    }
    g_loss = functools.partial(
        generator_loss,
        rec_weight=float(game.rec_weight),
        dann_weight=float(game.dann_weight),
        sem_weight=float(game.sem_weight),
        gan_weight=float(game.gan_weight),
    )

    def generate(state: steps.State, inputs: dict) -> jax.Array:
        z = steps.apply(state, "ae", inputs["a"], "a", method="encode")
        return steps.apply(state, "ae", z, "b", method="decode")

    def eval_inputs(key: jax.Array, n: int) -> dict:
        return {"a": draw_images(key, domains[0], n)}

    return Game(
        name="xgan",
        networks=networks,
        players=(
            Player("g", steps.ROLE_G, ("ae",), g_loss),
            Player("d", steps.ROLE_D, ("d_a", "d_b", "c_dann"), discriminator_loss),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        headline=unpaired_headline(resolution, domains, domain_b, translate, translation_metrics),
    )
