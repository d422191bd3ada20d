"""StarGAN (Choi et al. 2018, arXiv 1711.09020): one generator translates among N domains.

Networks: the generator ``g`` (``models.translation``'s ResNet generator; the target domain's
one-hot code is tiled over the image and concatenated to its channels, section 3.1), trained by
``optim.g``, with zero-padded convolutions as the paper's (appendix table 4, P3 / P1) rather
than CycleGAN's reflection padding: the tiled code is constant planes, and reflection padding
followed by instance norm (which subtracts every channel's spatial mean) erases it exactly,
leaving G blind to its target (the test checks G(x, c) depends on c); the critic ``d``
(``StarDiscriminator``: a patch score D_src and a domain classifier D_cls on one trunk), trained
by ``optim.d``. Data: ``data.name='digits_domains'`` (batches
``{'x', 'label', 'domain'}``, B / N images of each of the ``data.domains``).

Players, every train step:

- ``d`` (role ``ROLE_D``, ``train.d_steps`` updates: n_critic = 5 in the paper) minimises
  -L_adv + lambda_cls L_cls^r (eq. 5): the WGAN-GP critic loss E[D_src(G(x, c))] - E[D_src(x)] +
  lambda_gp E[(||grad D_src(x^)||_2 - 1)^2] (eq. 8, ``losses.wasserstein_d_loss`` and
  ``losses.gradient_penalty``, D_src averaged over its patches) and the cross-entropy of D_cls
  on the REAL images' own domains c' (eq. 3).
- ``g`` (role ``ROLE_G``) minimises L_adv + lambda_cls L_cls^f + lambda_rec L_rec (eq. 6):
  -E[D_src(G(x, c))], the cross-entropy of D_cls(G(x, c)) against the target c (eq. 4) and the
  reconstruction E|x - G(G(x, c), c')|_1 (eq. 4, the cycle back to the source domain c').

Targets c are drawn uniformly over the N domains for every image (``game.targets='any'``; the
reference code permutes the batch's labels, and a draw can equal the source domain, as there),
or uniformly over the N - 1 others (``'other'``). With few domains the difference matters: at
N = 2 half of the 'any' draws are copies G(x, c') of a real image that the critic is told to
call fake, where on the paper's CelebA (five attributes, a permuted batch) few are. The paper's
weights:
lambda_cls = 1, lambda_rec = 10, lambda_gp = 10 (``game.*``).

The critic: the paper's one network (``game.critic='star'``: D_src, one patch map judging
realism whatever the domain, and D_cls), or, as an ablation, one CycleGAN PatchGAN critic per
domain (``'per_domain'``, ``models.translation.PerDomainCritics``): a real image is scored by its
own domain's critic and a translation by its target's, with least squares only and no D_cls
(lambda_cls must be 0). Its cost grows with N, which the paper's design avoids; it measures how
much of a failure is the shared critic's (experiments/README.md, "Multi-domain translation").

Evaluation: ``generate`` translates a fixed draw of domain-0 images into the domains 0..N-1 in
turn (``eval_inputs``). ``headline`` translates every image of every domain into every other
(N (N - 1) translations) and measures class preservation with the digits classifier
(``gan_jax.classifier``) after undoing the target domain's transform (classified as it is where
the transform has no inverse: thicken, erode), the Frechet distance of the translations to the
target domain's real images on the classifier's features, and the reconstruction error.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import classifier, metrics, schema, steps
from gan_jax.data import Dataset, digits_domains_arrays, domain_names, domain_transform
from gan_jax.errors import ConfigError
from gan_jax.losses import (
    gradient_penalty,
    least_squares_d_loss,
    least_squares_g_loss,
    wasserstein_d_loss,
    wasserstein_g_loss,
)
from gan_jax.models.translation import (
    NORMS,
    PerDomainCritics,
    ResnetGenerator,
    StarDiscriminator,
)
from gan_jax.steps import Batch, Context, Game, Network, Player

# The dataset kinds it trains on (data.DatasetEntry.kind).
DATA_KINDS = ("multidomain",)
# What the banner names in place of the objective, which this game does not read.
OWN_LOSS = "StarGAN's adversarial (game.adversarial) + domain losses (its own)"
PAPER = "StarGAN, Choi et al. 2018, arXiv 1711.09020"
RECIPE = "stargan"
DEFAULTS: dict = {
    "cls_weight": 1.0,  # lambda_cls of eqs. 5-6
    "rec_weight": 10.0,  # lambda_rec of eq. 6
    "gp_weight": 10.0,  # lambda_gp of eq. 8
    "g_width": 16,  # channels of G's first layer (paper: 64)
    "g_blocks": 3,  # residual blocks at 1/4 resolution (paper: 6)
    "d_width": 16,  # channels of D's first layer (paper: 64)
    "d_layers": 2,  # stride-2 layers of D (paper: 6 at 128x128)
    "norm": "instance",  # G's norm: 'instance' (paper) or 'none'
    "adversarial": "wasserstein_gp",  # L_adv: the paper's WGAN-GP, or CycleGAN's least squares
    "targets": "any",  # target domains: uniform over all N ('any') or over the N - 1 others
    "critic": "star",  # the paper's one critic (D_src + D_cls), or one PatchGAN per domain
}
ADVERSARIAL = ("wasserstein_gp", "least_squares")
TARGETS = ("any", "other")
CRITICS = ("star", "per_domain")
DATASET = "digits_domains"


def check(config) -> None:
    """game.* values, and the data keys StarGAN needs."""
    game = config.game
    for key in ("cls_weight", "rec_weight", "gp_weight"):
        schema.check_number(f"game.{key}", game[key])
    for key in ("g_width", "g_blocks", "d_width", "d_layers"):
        schema.check_number(f"game.{key}", game[key], int, 1)
    if game.norm not in NORMS:
        raise ConfigError("game.norm", game.norm, str(list(NORMS)))
    if game.adversarial not in ADVERSARIAL:
        raise ConfigError("game.adversarial", game.adversarial, str(list(ADVERSARIAL)))
    if game.targets not in TARGETS:
        raise ConfigError("game.targets", game.targets, str(list(TARGETS)))
    if game.critic not in CRITICS:
        raise ConfigError("game.critic", game.critic, str(list(CRITICS)))
    if game.critic == "per_domain":
        if game.adversarial != "least_squares":
            raise ConfigError(
                "game.adversarial",
                game.adversarial,
                "'least_squares' with game.critic='per_domain' (CycleGAN's critics and loss)",
            )
        if game.cls_weight != 0:
            raise ConfigError(
                "game.cls_weight",
                game.cls_weight,
                "0 with game.critic='per_domain' (each domain's critic judges it: no D_cls)",
            )
    if config.data.name != DATASET:
        raise ConfigError("data.name", config.data.name, f"{DATASET!r} with game.name='stargan'")
    if config.data.resolution % 2**game.d_layers or config.data.resolution % 4:
        raise ConfigError(
            "data.resolution",
            config.data.resolution,
            f"a multiple of 4 and of 2^game.d_layers={2**game.d_layers}",
        )


# ---------------------------------------------------------------------------------------------
# Losses.


def with_domain(x: jax.Array, domain: jax.Array, num_domains: int) -> jax.Array:
    """x (B, H, W, C) with the one-hot code of ``domain`` (B,) tiled as N more channels."""
    code = jax.nn.one_hot(domain, num_domains, dtype=x.dtype)[:, None, None, :]
    return jnp.concatenate([x, jnp.broadcast_to(code, (*x.shape[:3], num_domains))], axis=-1)


def domain_cross_entropy(logits: jax.Array, domain: jax.Array) -> jax.Array:
    """E[-log D_cls(c | x)], the softmax cross-entropy of the domain logits (eqs. 3-4)."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, domain))


def src_score(src: jax.Array) -> jax.Array:
    """D_src per image: the mean of its patch scores."""
    return jnp.mean(src, axis=(1, 2, 3))


def own_map(src: jax.Array, domain: jax.Array) -> jax.Array:
    """Each image's D_src patch map: the only one of the paper's critic (1 channel), else the
    channel of ``domain`` (B,) (``game.critic='per_domain'``: one critic per domain)."""
    if src.shape[-1] == 1:
        return src
    return jnp.take_along_axis(src, domain[:, None, None, None], axis=-1)


def draw_targets(
    ctx: Context, key: jax.Array, source: jax.Array, num_domains: int, targets: str = "any"
) -> jax.Array:
    """Each image's target domain: uniform over the ``num_domains`` (``targets='any'``) or over
    the ones other than its ``source`` (``'other'``: source + U{1 .. N - 1} mod N)."""
    key = jax.random.fold_in(key, 1)
    if targets == "other":
        return (source + 1 + ctx.randint(key, source.shape, num_domains - 1)) % num_domains
    return ctx.randint(key, source.shape, num_domains)


def critic_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    num_domains: int,
    cls_weight: float,
    gp_weight: float,
    adversarial: str = "wasserstein_gp",
    targets: str = "any",
) -> steps.LossOut:
    """The ``d`` player's loss, -L_adv + lambda_cls L_cls^r (eq. 5) with WGAN-GP (eq. 8), or
    with ``adversarial='least_squares'`` the LSGAN critic loss on every patch score (no
    penalty: CycleGAN's, section 4 of its paper)."""
    x, source = batch["x"], batch["domain"]
    target = draw_targets(ctx, key, source, num_domains, targets)
    fake = jax.lax.stop_gradient(ctx("g", with_domain(x, target, num_domains), train=True))
    real_src, real_cls = ctx("d", x, train=True)
    fake_src, _ = ctx("d", fake, train=True)
    real_src, fake_src = own_map(real_src, source), own_map(fake_src, target)
    if adversarial == "least_squares":
        adv, terms = least_squares_d_loss(real_src, fake_src)
        gp, gp_terms = jnp.zeros(()), {}
    else:
        adv, terms = wasserstein_d_loss(src_score(real_src), src_score(fake_src))
        critic = lambda y: src_score(ctx("d", y, train=False)[0])
        key_gp = jax.random.fold_in(key, 2)
        gp, gp_terms = gradient_penalty(critic, x, fake, key_gp, weight=gp_weight)
    if real_cls is None:  # per-domain critics: no D_cls
        return adv, terms
    cls = domain_cross_entropy(real_cls, source)
    terms = {**terms, **gp_terms, "cls_real": cls}
    return adv + gp + cls_weight * cls, terms


def generator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    num_domains: int,
    cls_weight: float,
    rec_weight: float,
    adversarial: str = "wasserstein_gp",
    targets: str = "any",
) -> steps.LossOut:
    """The ``g`` player's loss, L_adv + lambda_cls L_cls^f + lambda_rec L_rec (eq. 6); L_adv is
    -E[D_src] (WGAN) or 1/2 E[(D_src - 1)^2] per patch (``adversarial='least_squares'``)."""
    x, source = batch["x"], batch["domain"]
    target = draw_targets(ctx, key, source, num_domains, targets)
    fake = ctx("g", with_domain(x, target, num_domains), train=True)
    fake_src, fake_cls = ctx("d", fake, train=True)
    fake_src = own_map(fake_src, target)
    if adversarial == "least_squares":
        adv, terms = least_squares_g_loss(fake_src)
    else:
        adv, terms = wasserstein_g_loss(src_score(fake_src))
    rec = jnp.mean(jnp.abs(ctx("g", with_domain(fake, source, num_domains), train=True) - x))
    terms = {**terms, "rec": rec}
    if fake_cls is None:  # per-domain critics: no D_cls
        return adv + rec_weight * rec, terms
    cls = domain_cross_entropy(fake_cls, target)
    terms["cls_fake"] = cls
    return adv + cls_weight * cls + rec_weight * rec, terms


# ---------------------------------------------------------------------------------------------
# Evaluation.


@functools.partial(jax.jit, static_argnums=(3,))
def translate(state: steps.State, x: jax.Array, target: jax.Array, num_domains: int):
    """G(x, c) for per-image targets ``target``, inference mode."""
    return steps.apply(state, "g", with_domain(x, target, num_domains))


def translation_metrics(
    translate_fn, parts: list, names: tuple[str, ...], clf: classifier.Classifier
) -> dict[str, float]:
    """Class preservation and FD of every translation i -> j != i of ``parts`` (the domains'
    (images, labels)), ``translate_fn(x, i, j) -> (translations, reconstructions or None)``.

    Keys: ``class_preservation_<i>_<j>``, ``fd_<i>_<j>`` (Frechet distance on the classifier's
    features to domain j's real images), and their means over all pairs; ``rec_l1`` (mean
    reconstruction error) where the reconstructions are given; ``classifier_accuracy_<j>``, the
    ceiling: the classifier on domain j's real images (transform undone where it can be).
    """
    out: dict[str, float] = {}
    readable = [domain_transform(n)[1] or (lambda y: y) for n in names]
    feats = [
        clf.logits_and_features(np.asarray(readable[j](x)))[1] for j, (x, _) in enumerate(parts)
    ]
    recs = []
    for j, (x, labels) in enumerate(parts):
        out[f"classifier_accuracy_{names[j]}"] = clf.accuracy(np.asarray(readable[j](x)), labels)
    for i, (x, labels) in enumerate(parts):
        for j in range(len(parts)):
            if i == j:
                continue
            fake, rec = translate_fn(x, i, j)
            seen = np.asarray(readable[j](np.asarray(fake)))
            logits, f = clf.logits_and_features(seen)
            pair = f"{names[i]}_{names[j]}"
            out[f"class_preservation_{pair}"] = float(np.mean(np.argmax(logits, 1) == labels))
            out[f"fd_{pair}"] = metrics.frechet_distance_features(feats[j], f)
            if rec is not None:
                recs.append(float(np.mean(np.abs(np.asarray(rec) - x))))
    pairs = [k for k in out if k.startswith("class_preservation_")]
    out["class_preservation"] = float(np.mean([out[k] for k in pairs]))
    out["fd"] = float(np.mean([out[k] for k in out if k.startswith("fd_")]))
    if recs:
        out["rec_l1"] = float(np.mean(recs))
    return out


def state_translator(state: steps.State, num_domains: int):
    """``translate_fn`` of ``translation_metrics`` for a StarGAN state."""

    def fn(x, i, j):
        x = jnp.asarray(x)
        n = x.shape[0]
        fake = translate(state, x, jnp.full((n,), j, jnp.int32), num_domains)
        rec = translate(state, fake, jnp.full((n,), i, jnp.int32), num_domains)
        return jax.device_get(fake), jax.device_get(rec)

    return fn


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    game = config.game
    names = domain_names(config.data.domains)
    n = len(names)
    parts = digits_domains_arrays(config.data.resolution, config.data.domains)
    channels = dataset.shape[-1]
    example = jnp.zeros((2, *dataset.shape))
    critic = PerDomainCritics if game.critic == "per_domain" else StarDiscriminator
    networks = {
        "g": Network(
            ResnetGenerator(
                game.g_width, game.g_blocks, game.norm, out_channels=channels, padding="zeros"
            ),
            (jnp.zeros((2, *dataset.shape[:2], channels + n)),),
            optim="g",
        ),
        "d": Network(critic(game.d_width, game.d_layers, n), (example,), optim="d"),
    }
    d_loss = functools.partial(
        critic_loss,
        num_domains=n,
        cls_weight=float(game.cls_weight),
        gp_weight=float(game.gp_weight),
        adversarial=game.adversarial,
        targets=game.targets,
    )
    g_loss = functools.partial(
        generator_loss,
        num_domains=n,
        cls_weight=float(game.cls_weight),
        rec_weight=float(game.rec_weight),
        adversarial=game.adversarial,
        targets=game.targets,
    )

    def generate(state: steps.State, inputs: dict) -> jax.Array:
        return steps.apply(state, "g", with_domain(inputs["x"], inputs["target"], n))

    def eval_inputs(key: jax.Array, count: int) -> dict:
        images = jnp.asarray(parts[0][0])
        idx = jax.random.choice(key, images.shape[0], (count,), replace=count > images.shape[0])
        return {"x": images[idx], "target": jnp.arange(count, dtype=jnp.int32) % n}

    def headline(run, state: steps.State) -> dict[str, float]:
        clf = classifier.digits_classifier(
            config.data.resolution, run.config.eval.get("cache_dir") or None
        )
        return translation_metrics(state_translator(state, n), parts, names, clf)

    return Game(
        name="stargan",
        networks=networks,
        players=(
            Player("d", steps.ROLE_D, ("d",), d_loss, steps=config.train.d_steps),
            Player("g", steps.ROLE_G, ("g",), g_loss),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        headline=headline,
    )
