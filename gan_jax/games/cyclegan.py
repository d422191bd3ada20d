"""CycleGAN (Zhu et al. 2017, arXiv 1703.10593): unpaired translation between two image domains.

Networks: generators ``g_ab`` (A -> B) and ``g_ba`` (B -> A), ``models.translation``'s ResNet
generator, trained by ``optim.g``; PatchGAN critics ``d_a`` (real A vs translations into A) and
``d_b``, trained by ``optim.d``. Widths, blocks and critic depth are ``game.*`` keys; the
``model`` block is not read. Data: ``data.name='digits_unpaired'`` (``gan_jax.data``), batches
``{'a', 'b', ...}`` of unpaired images.

Players, every train step, in the reference code's order (``optimize_parameters``):

- ``g`` (role ``ROLE_G``; updates g_ab and g_ba) minimises the least-squares adversarial losses of
  both directions, E[(D_B(G_AB(a)) - c)^2] + E[(D_A(G_BA(b)) - c)^2] (section 4, LSGAN, the
  paper's form: twice ``losses.least_squares_g_loss``), plus ``game.cycle_weight`` (lambda = 10)
  times the cycle-consistency loss E|G_BA(G_AB(a)) - a|_1 + E|G_AB(G_BA(b)) - b|_1 (eq. 2), plus
  ``game.identity_weight`` (0.5 lambda = 5, the reference code's default; section 5.2 uses it for
  painting <-> photo) times the identity loss E|G_AB(b) - b|_1 + E|G_BA(a) - a|_1.
- ``d`` (role ``ROLE_D``; updates d_a and d_b) minimises, per domain, 1/2 E[(D(real) - b)^2] +
  1/2 E[(D(fake) - a)^2] (``losses.least_squares_d_loss``: the paper's objective halved, as the
  reference code does to slow D down), each expectation a mean over the batch and the patches.
  The fakes are translations by the current, frozen generators (the ones the ``g`` update just
  produced; the reference code reuses the fakes of the forward pass before G's update instead,
  which would put a batch of images into the state) passed through a history of
  ``game.pool_size`` = 50 earlier translations per domain (Shrivastava et al. 2017, section 2.3):
  ``pool_query``, vectorised and exact with respect to the reference ImagePool.

The pools live in ``State.aux`` (``pool_a``, ``pool_b``: (pool_size, H, W, C); ``pool_count``:
how many slots are filled); ``d`` draws their random choices from its own update key, so a run
depends on its seed alone and resumes bit-identically. ``objective`` must be least_squares
(``ls_a``, ``ls_b``, ``ls_c`` are its targets) with no penalty.

Evaluation: ``generate`` translates domain-A images into B (``eval_inputs``: a fixed draw of the A
half); ``headline`` measures class preservation with the digits classifier
(``gan_jax.classifier``) on every image of both halves: the fraction of G_AB(a) that the
classifier, after B's transform is undone, assigns a's class, the same for G_BA(b) (no undoing),
the cycle errors and the distance of G_AB to the true transform.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import classifier, schema, steps
from gan_jax.data import DOMAIN_TRANSFORMS, Dataset, digits_unpaired_arrays
from gan_jax.errors import ConfigError
from gan_jax.losses import least_squares_d_loss
from gan_jax.models.translation import NORMS, PatchDiscriminator, ResnetGenerator
from gan_jax.steps import Batch, Context, Game, Network, Player

# The dataset kinds it trains on (data.DatasetEntry.kind).
DATA_KINDS = ("domains",)
PAPER = "CycleGAN, Zhu et al. 2017, arXiv 1703.10593"
RECIPE = "cyclegan"
DEFAULTS: dict = {
    "cycle_weight": 10.0,  # lambda of eq. 3
    "identity_weight": 5.0,  # 0.5 * lambda (reference code: --lambda_identity 0.5); 0: off
    "pool_size": 50,  # fakes the critics' history keeps per domain; 0: no history
    "g_width": 16,  # channels of G's first layer (paper: 64)
    "g_blocks": 3,  # residual blocks at 1/4 resolution (paper: 6 at 128x128, 9 at 256x256)
    "d_width": 16,  # channels of D's first layer (paper: 64)
    "d_layers": 2,  # stride-2 layers of D: the patch map is 1 / 2^d_layers of the image
    "norm": "instance",  # 'instance' (paper) or 'none'
}
DATASET = "digits_unpaired"


def check(config) -> None:
    """game.* values, and the objective, data and train keys CycleGAN needs."""
    game = config.game
    for key in ("cycle_weight", "identity_weight"):
        schema.check_number(f"game.{key}", game[key])
    schema.check_number("game.pool_size", game.pool_size, int)
    for key in ("g_width", "g_blocks", "d_width", "d_layers"):
        schema.check_number(f"game.{key}", game[key], int, 1)
    if game.norm not in NORMS:
        raise ConfigError("game.norm", game.norm, str(list(NORMS)))
    if config.objective.name != "least_squares":
        raise ConfigError("objective.name", config.objective.name, "'least_squares' (CycleGAN)")
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with CycleGAN")
    if config.data.name != DATASET:
        raise ConfigError("data.name", config.data.name, f"{DATASET!r} with game.name='cyclegan'")
    if config.data.resolution % 2**game.d_layers or config.data.resolution % 4:
        raise ConfigError(
            "data.resolution",
            config.data.resolution,
            f"a multiple of 4 and of 2^game.d_layers={2**game.d_layers}",
        )
    if config.train.d_steps != 1:
        raise ConfigError("train.d_steps", config.train.d_steps, "1 with CycleGAN")


# ---------------------------------------------------------------------------------------------
# Losses.


def l1(x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean absolute difference E|x - y|_1 per pixel (the reference code's nn.L1Loss)."""
    return jnp.mean(jnp.abs(x - y))


def ls_generator(scores: jax.Array, c: float = 1.0) -> jax.Array:
    """E[(D(G(x)) - c)^2] over the batch and the patches (Zhu et al., section 4)."""
    return jnp.mean(jnp.square(scores - c))


def generator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    cycle_weight: float,
    identity_weight: float,
    ls_c: float = 1.0,
) -> steps.LossOut:
    """The ``g`` player's loss: adversarial (both directions) + cycle + identity (eq. 3)."""
    del key
    a, b = batch["a"], batch["b"]
    fake_b, fake_a = ctx("g_ab", a, train=True), ctx("g_ba", b, train=True)
    adv_ab = ls_generator(ctx("d_b", fake_b, train=True), ls_c)
    adv_ba = ls_generator(ctx("d_a", fake_a, train=True), ls_c)
    cycle_a = l1(ctx("g_ba", fake_b, train=True), a)
    cycle_b = l1(ctx("g_ab", fake_a, train=True), b)
    terms = {"adv_ab": adv_ab, "adv_ba": adv_ba, "cycle_a": cycle_a, "cycle_b": cycle_b}
    loss = adv_ab + adv_ba + cycle_weight * (cycle_a + cycle_b)
    if identity_weight:
        terms["identity_a"] = l1(ctx("g_ba", a, train=True), a)
        terms["identity_b"] = l1(ctx("g_ab", b, train=True), b)
        loss = loss + identity_weight * (terms["identity_a"] + terms["identity_b"])
    return loss, terms


def pool_draws(key: jax.Array, n: int, size: int) -> tuple[jax.Array, jax.Array]:
    """The pool's random choices for ``n`` new images: a coin u ~ U[0, 1) and a slot each."""
    key_u, key_slot = jax.random.split(key)
    return jax.random.uniform(key_u, (n,)), jax.random.randint(key_slot, (n,), 0, size)


def pool_query(
    pool: jax.Array, count: jax.Array, fakes: jax.Array, key: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The image history buffer (Shrivastava et al. 2017): (new pool, new count, images for D).

    The reference ImagePool.query, image by image: while fewer than ``size`` slots are filled,
    store the image in the next slot and return it; once full, with probability 1/2 (u > 0.5)
    return a random slot's image and store the new one in its place, else return the new one.
    Here all at once and exactly so: image i returns the slot as the images before it in the
    batch left it (the last earlier writer of the slot, else the old pool), and each slot keeps
    its last writer. ``count``: filled slots, an int32 scalar; the choices come from ``key``.
    """
    size, n = pool.shape[0], fakes.shape[0]
    u, slot = pool_draws(key, n, size)
    order = jnp.arange(n)
    arrival = count + order
    filling = arrival < size
    swap = ~filling & (u > 0.5)
    target = jnp.where(filling, arrival, jnp.where(swap, slot, -1))  # the slot i writes, or -1
    # earlier[i, j]: image j < i wrote the slot image i reads.
    earlier = (target[None, :] == slot[:, None]) & (order[None, :] < order[:, None])
    last = jnp.max(jnp.where(earlier, order[None, :], -1), axis=1)
    read = jnp.where(_bcast(last >= 0, fakes), fakes[jnp.maximum(last, 0)], pool[slot])
    out = jnp.where(_bcast(swap, fakes), read, fakes)
    writer = jnp.max(jnp.where(target[None, :] == jnp.arange(size)[:, None], order, -1), axis=1)
    new_pool = jnp.where(_bcast(writer >= 0, pool), fakes[jnp.maximum(writer, 0)], pool)
    return new_pool, jnp.minimum(count + n, size).astype(count.dtype), out


def _bcast(mask: jax.Array, like: jax.Array) -> jax.Array:
    return mask.reshape(mask.shape + (1,) * (like.ndim - 1))


def discriminator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    pool_size: int,
    ls_a: float = 0.0,
    ls_b: float = 1.0,
) -> steps.LossOut:
    """The ``d`` player's loss: least squares on real vs pooled translations, both domains."""
    a, b = batch["a"], batch["b"]
    fake_b = jax.lax.stop_gradient(ctx("g_ab", a, train=True))
    fake_a = jax.lax.stop_gradient(ctx("g_ba", b, train=True))
    if pool_size:
        key_a, key_b = jax.random.split(key)
        count = ctx.aux["pool_count"]
        pool_a, new_count, fake_a = pool_query(ctx.aux["pool_a"], count, fake_a, key_a)
        pool_b, _, fake_b = pool_query(ctx.aux["pool_b"], count, fake_b, key_b)
        fake_a, fake_b = ctx.constrain(fake_a), ctx.constrain(fake_b)
        ctx.set_aux("pool_a", pool_a)
        ctx.set_aux("pool_b", pool_b)
        ctx.set_aux("pool_count", new_count)
    loss_a, terms_a = least_squares_d_loss(
        ctx("d_a", a, train=True), ctx("d_a", fake_a, train=True), a=ls_a, b=ls_b
    )
    loss_b, terms_b = least_squares_d_loss(
        ctx("d_b", b, train=True), ctx("d_b", fake_b, train=True), a=ls_a, b=ls_b
    )
    terms = {
        **{f"a_{k}": v for k, v in terms_a.items()},
        **{f"b_{k}": v for k, v in terms_b.items()},
    }
    return loss_a + loss_b, terms


# ---------------------------------------------------------------------------------------------
# Evaluation.


def draw_images(key: jax.Array, images, n: int) -> jax.Array:
    """``n`` images drawn from the fixed set ``images`` (with replacement only when n exceeds
    it): the translation games' evaluation inputs."""
    images = jnp.asarray(images)
    return images[jax.random.choice(key, images.shape[0], (n,), replace=n > images.shape[0])]


def unpaired_headline(resolution: int, domains, domain_b: str, translate, score=None) -> Callable:
    """The headline of a two-domain translator: ``translate(state, a, b)`` (a dict as this
    module's ``translate``) of every image of both domains, scored by ``score(out, classifier,
    domains, domain_b)`` (default: this module's ``translation_metrics``)."""

    def headline(run, state: steps.State) -> dict[str, float]:
        clf = classifier.digits_classifier(resolution, run.config.eval.get("cache_dir") or None)
        out = jax.device_get(translate(state, jnp.asarray(domains[0]), jnp.asarray(domains[2])))
        return (score or translation_metrics)(out, clf, domains, domain_b)

    return headline


@jax.jit
def translate(state: steps.State, a: jax.Array, b: jax.Array) -> dict[str, jax.Array]:
    """G_AB(a), G_BA(G_AB(a)), G_BA(b), G_AB(G_BA(b)), inference mode."""
    fake_b = steps.apply(state, "g_ab", a)
    fake_a = steps.apply(state, "g_ba", b)
    return {
        "fake_b": fake_b,
        "rec_a": steps.apply(state, "g_ba", fake_b),
        "fake_a": fake_a,
        "rec_b": steps.apply(state, "g_ab", fake_a),
    }


def translation_metrics(
    out: dict[str, np.ndarray], clf: classifier.Classifier, domains: tuple, domain_b: str
) -> dict[str, float]:
    """Class preservation, cycle errors and distances to the true transform of the translations
    ``out`` (``translate``'s keys) of ``domains`` (a, label_a, b, label_b, as
    ``data.digits_unpaired_arrays`` gives them), by the digits classifier ``clf``."""
    a, label_a, b, label_b = domains
    transform, undo = DOMAIN_TRANSFORMS[domain_b]
    # No inverse (thicken, erode): B's images are classified as they are, and G_BA's target is
    # unknown (transform_l1_ba is NaN).
    readable = undo or (lambda x: x)

    def accuracy(images, labels) -> float:
        return clf.accuracy(np.asarray(images), labels)

    return {
        "class_preservation_ab": accuracy(readable(out["fake_b"]), label_a),
        "class_preservation_ba": accuracy(out["fake_a"], label_b),
        "cycle_l1": float(np.mean(np.abs(out["rec_a"] - a))),
        "cycle_l1_b": float(np.mean(np.abs(out["rec_b"] - b))),
        "transform_l1_ab": float(np.mean(np.abs(out["fake_b"] - transform(a)))),
        "transform_l1_ba": float(np.mean(np.abs(out["fake_a"] - undo(b)))) if undo else np.nan,
        # The ceiling: the classifier on the sources themselves (B's transform undone).
        "classifier_accuracy_a": accuracy(a, label_a),
        "classifier_accuracy_b": accuracy(readable(b), label_b),
    }


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    game = config.game
    resolution, domain_b = config.data.resolution, config.data.domain_b
    domains = digits_unpaired_arrays(resolution, domain_b)
    a_np = domains[0]
    example = jnp.zeros((2, *dataset.shape))
    gen = ResnetGenerator(game.g_width, game.g_blocks, game.norm)
    critic = PatchDiscriminator(game.d_width, game.d_layers, game.norm)
    networks = {
        "g_ab": Network(gen, (example,), optim="g"),
        "g_ba": Network(gen, (example,), optim="g"),
        "d_a": Network(critic, (example,), optim="d"),
        "d_b": Network(critic, (example,), optim="d"),
    }
    obj = config.objective
    g_loss = functools.partial(
        generator_loss,
        cycle_weight=float(game.cycle_weight),
        identity_weight=float(game.identity_weight),
        ls_c=float(obj.get("ls_c", 1.0)),
    )
    d_loss = functools.partial(
        discriminator_loss,
        pool_size=int(game.pool_size),
        ls_a=float(obj.get("ls_a", 0.0)),
        ls_b=float(obj.get("ls_b", 1.0)),
    )

    def init_aux() -> dict[str, Any]:
        if not game.pool_size:
            return {}
        # Two arrays, not one twice: the train step donates every buffer of the state.
        pool = lambda: jnp.zeros((game.pool_size, *dataset.shape), jnp.float32)
        return {"pool_a": pool(), "pool_b": pool(), "pool_count": jnp.zeros((), jnp.int32)}

    def generate(state: steps.State, inputs: dict) -> jax.Array:
        return steps.apply(state, "g_ab", inputs["a"])

    def eval_inputs(key: jax.Array, n: int) -> dict:
        return {"a": draw_images(key, a_np, n)}

    return Game(
        name="cyclegan",
        networks=networks,
        players=(
            Player("g", steps.ROLE_G, ("g_ab", "g_ba"), g_loss),
            Player("d", steps.ROLE_D, ("d_a", "d_b"), d_loss),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        init_aux=init_aux,
        headline=unpaired_headline(resolution, domains, domain_b, translate),
    )
