"""StackGAN++ (Zhang et al. 2017, arXiv 1710.10916) on class labels: a tree of generators.

There is no text here: the condition is a learned embedding e of the class label (digits:
10 classes) where the paper uses a sentence embedding. Networks:

- ``g`` (``models.pyramid.StackGenerator``): conditioning augmentation (StackGAN, arXiv
  1612.03242, section 3.1) c = mu(e) + sigma(e) * eps, eps ~ N(0, I) (``game.ca_dim``), then a
  trunk from (z, c) at 4x4 that doubles to the data resolution, c joined to the hidden features
  before every doubling, and an image head at each of the last ``game.stages`` resolutions
  (digits 16 px, stages 2: an 8x8 and a 16x16 image from one tree; stages 3: 4, 8, 16).
- ``d<R>`` per output scale (``StackCritic``): StackGAN++'s joint critic, an unconditional
  logit D_i(x) and a conditional logit D_i(x, y) from one body (its eq. 5), the condition the
  critic's own embedding of the class.

Players, every train step: ``d`` (role ``ROLE_D``; every critic) minimises, per scale i, the
objective's critic loss of the conditional logits plus ``game.uncond_weight`` times that of the
unconditional ones, reals (the data's Gaussian pyramid level at scale i, 2x2 average pools) with
their labels and fakes with the labels they were drawn for. ``g`` (role ``ROLE_G``) minimises the
same sums of the generator loss (non-saturating in the recipe: eq. 6), plus
``game.kl_weight`` * KL(N(mu, sigma^2) || N(0, I)) (StackGAN's eq. 6 regulariser; only with
``game.conditioning_augmentation``) and the colour-consistency term between consecutive scales
(StackGAN++ eq. 8): lambda_1 ||mu_i - mu_{i-1}||^2 + lambda_2 ||Sigma_i - Sigma_{i-1}||_F^2,
mu and Sigma the mean and covariance of one sample's pixels (over its H x W pixels; for
grayscale digits, the mean and variance), averaged over the batch; lambda_1 = 1, lambda_2 = 5
as in the paper. Not built: StackGAN v1's separately trained stage-II encoder-decoder (v1 is the
same tree with ``game.stages=2``, ``colour_*_weight=0``, trained jointly), the mismatched
(real image, wrong condition) pairs of the text model, GLU units (ReLU here).

``game.stages=1`` is the single-stage conditional GAN of the same generator and critic (no
intermediate image, no colour term): the matched baseline of the multi-stage claim.
``game.conditioning_augmentation=False`` uses c = mu(e) (no sampling, no KL): the baseline of
the diversity claim. Headline (digits): ``acgan.class_measures`` (class agreement and per-class
diversity of ``game.headline_samples`` samples per class at the final scale).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import acgan, classic
from gan_jax.losses import get_objective
from gan_jax.models import compute_dtype
from gan_jax.models import pyramid as pyr
from gan_jax.steps import Context, Game, Network, Player

KEYS: schema.Spec = {
    "stages": schema.positive_int(2, "output scales of the tree, finest last (1: single stage)"),
    "conditioning_augmentation": schema.boolean(True, "c ~ N(mu(e), sigma(e)) with its KL"),
    "kl_weight": schema.non_negative(1.0, "weight of KL(N(mu, sigma) || N(0, I)) in G's loss"),
    "colour_mean_weight": schema.non_negative(1.0, "lambda_1: pixel-mean consistency"),
    "colour_cov_weight": schema.non_negative(5.0, "lambda_2: pixel-covariance consistency"),
    "uncond_weight": schema.non_negative(1.0, "weight of the unconditional critic terms"),
    "embed_dim": schema.positive_int(32, "dimensions of the class embedding e"),
    "ca_dim": schema.positive_int(16, "dimensions of the condition c"),
    "headline_samples": schema.positive_int(200, "samples per class for the headline (digits)"),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "StackGAN++, Zhang et al. 2017, arXiv 1710.10916 (StackGAN: arXiv 1612.03242)"
RECIPE = "stackgan"


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a combination StackGAN++ cannot train."""
    schema.check_block("game", config.game, KEYS)
    r = config.data.resolution
    if r < 8 or r & (r - 1):
        raise ConfigError("data.resolution", r, "a power of 2 >= 8 with game.name='stackgan'")
    most = len(pyr.resolutions(r, 4))
    if config.game.stages > most:
        raise ConfigError("game.stages", config.game.stages, f"1 to {most} at resolution {r}")
    check_conditional(config)


def check_conditional(config) -> None:
    """The checks every StackGAN game shares: class-conditional, no gradient penalty."""
    if config.model.num_classes < 2:
        raise ConfigError(
            "model.num_classes",
            config.model.num_classes,
            f"the dataset's number of classes with game.name={config.game.name!r} "
            "(class-conditional)",
        )
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with StackGAN")


def kl_standard_normal(mu: jax.Array, logvar: jax.Array) -> jax.Array:
    """KL(N(mu, diag exp(logvar)) || N(0, I)), summed over dimensions, mean over the batch."""
    return jnp.mean(0.5 * jnp.sum(jnp.exp(logvar) + mu**2 - 1.0 - logvar, axis=-1))


def pixel_moments(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per image, the mean (B, C) and covariance (B, C, C) of its H x W pixels (1/N, biased)."""
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    mu = flat.mean(axis=1)
    centred = flat - mu[:, None, :]
    return mu, jnp.einsum("bnc,bnd->bcd", centred, centred) / flat.shape[1]


def colour_consistency(
    fine: jax.Array, coarse: jax.Array, mean_weight: float, cov_weight: float
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """StackGAN++ eq. 8: lambda_1 E||mu_f - mu_c||^2 + lambda_2 E||Sigma_f - Sigma_c||_F^2."""
    mu_f, cov_f = pixel_moments(fine)
    mu_c, cov_c = pixel_moments(coarse)
    mean_term = jnp.mean(jnp.sum((mu_f - mu_c) ** 2, axis=-1))
    cov_term = jnp.mean(jnp.sum((cov_f - cov_c) ** 2, axis=(-2, -1)))
    loss = mean_weight * mean_term + cov_weight * cov_term
    return loss, {"colour_mean": mean_term, "colour_cov": cov_term}


def draw(ctx: Context, key: jax.Array, n: int, z_dim: int, ca_dim: int, num_classes: int):
    """G's inputs (z, labels, eps) from the update's key."""
    key_z, key_eps = jax.random.split(key)
    z = ctx.normal(key_z, (n, z_dim))
    eps = ctx.normal(key_eps, (n, ca_dim))
    labels = ctx.randint(jax.random.fold_in(key, classic.LABEL_STREAM), (n,), num_classes)
    return z, labels, eps


def scale_terms(objective, ctx, d, real, real_labels, fake, fake_labels, uncond_weight, player):
    """One scale's adversarial loss: conditional + uncond_weight * unconditional terms."""
    real_u, real_c = ctx(d, real, real_labels, train=True)
    fake_u, fake_c = ctx(d, fake, fake_labels, train=True)
    loss_fn = objective.d_loss if player == "d" else objective.g_loss
    cond, cond_terms = loss_fn(real_c, fake_c)
    uncond, uncond_terms = loss_fn(real_u, fake_u)
    terms = {**steps.prefixed("cond", cond_terms), **steps.prefixed("uncond", uncond_terms)}
    return cond + uncond_weight * uncond, terms


def stack_loss(ctx, batch, key, *, objective, gc, names, z_dim, num_classes, player: str):
    """Every scale's critic (``player='d'``) or generator loss, and G's KL and colour terms."""
    real = batch["x"]
    z, fake_labels, eps = draw(ctx, key, real.shape[0], z_dim, gc.ca_dim, num_classes)
    fakes, (mu, logvar) = ctx("g", z, fake_labels, eps, train=True)
    reals = pyr.gaussian_pyramid(real, len(names))
    total, terms = 0.0, {}
    for i, (d, real_i, fake_i) in enumerate(zip(names, reals, fakes)):
        if player == "d":
            fake_i = jax.lax.stop_gradient(fake_i)
        loss, t = scale_terms(
            objective, ctx, d, real_i, batch["label"], fake_i, fake_labels, gc.uncond_weight, player
        )
        total = total + loss
        terms.update(steps.prefixed(f"s{real_i.shape[1]}", t))
        if player == "g" and i > 0:
            colour, ct = colour_consistency(
                fake_i, fakes[i - 1], gc.colour_mean_weight, gc.colour_cov_weight
            )
            total = total + colour
            terms.update(steps.prefixed(f"s{real_i.shape[1]}", ct))
    if player == "g" and gc.conditioning_augmentation:
        kl = kl_standard_normal(mu, logvar)
        total, terms = total + gc.kl_weight * kl, {**terms, "kl": kl}
    return total, terms


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    r, c = dataset.shape[0], dataset.shape[-1]
    stages = int(gc.stages)
    names = tuple(f"d{s}" for s in pyr.resolutions(r, 4)[-stages:])
    z_dim, k, width = (
        int(config.model.z_dim),
        int(config.model.num_classes),
        int(config.model.width),
    )
    dtype = compute_dtype(config.model)
    generator = pyr.StackGenerator(
        resolution=r,
        width=width,
        channels=c,
        num_classes=k,
        embed_dim=int(gc.embed_dim),
        ca_dim=int(gc.ca_dim),
        stages=stages,
        augment=bool(gc.conditioning_augmentation),
        dtype=dtype,
    )
    labels2 = jnp.zeros((2,), jnp.int32)
    g_inputs = (jnp.zeros((2, z_dim)), labels2, jnp.zeros((2, int(gc.ca_dim))))
    networks = {"g": Network(generator, g_inputs, optim="g", ema=config.model.g_ema_decay > 0)}
    for d in names:
        s = int(d[1:])
        critic = pyr.StackCritic(width, k, int(gc.embed_dim), dtype)
        networks[d] = Network(critic, (jnp.zeros((2, s, s, c)), labels2), optim="d")
    bound = dict(objective=objective, gc=gc, names=names, z_dim=z_dim, num_classes=k)

    def generate(state, inputs):
        images, _ = steps.apply(state, "g", inputs["z"], inputs["label"], inputs["eps"])
        return images[-1]

    def eval_inputs(key, n):
        key_z, key_eps = jax.random.split(key)
        return {
            "z": jax.random.normal(key_z, (n, z_dim)),
            "eps": jax.random.normal(key_eps, (n, int(gc.ca_dim))),
            "label": jnp.arange(n, dtype=jnp.int32) % k,
        }

    def headline(run, state):
        return acgan.class_measures(run, state, int(gc.headline_samples))

    return Game(
        name="stackgan",
        networks=networks,
        players=(
            Player(
                "d",
                steps.ROLE_D,
                names,
                lambda ctx, batch, key: stack_loss(ctx, batch, key, player="d", **bound),
                steps=config.train.d_steps,
            ),
            Player(
                "g",
                steps.ROLE_G,
                ("g",),
                lambda ctx, batch, key: stack_loss(ctx, batch, key, player="g", **bound),
            ),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        ema_decay=float(config.model.g_ema_decay),
        headline=headline if dataset.name == "digits" else None,
    )
