"""StackGAN v1 (Zhang et al. 2017, arXiv 1612.03242) on class labels: two GANs trained in turn.

The paper's two-stage process (section 3): a Stage-I GAN draws a low-resolution image from
(z, c0), and a Stage-II GAN, conditioned on that image and on the condition again (its own
conditioning augmentation c), draws the full-resolution image, "correcting defects in the
Stage-I result and adding details". The stages are trained one after the other (section 4: 600
epochs of Stage-I, then 600 of Stage-II with Stage-I fixed). There is no text here: the
condition is a learned embedding of the class label where the paper uses a sentence
embedding, as in ``gan_jax.games.stackgan`` (StackGAN++, the jointly trained tree).

Networks (R the data resolution, R/2 Stage-I's; digits: 8 and 16 px):

- ``g<R/2>``: ``models.pyramid.StackGenerator`` with one output, (z, labels, eps) -> the
  Stage-I image (its conditioning augmentation, a trunk from 4x4 with c joined before every
  doubling).
- ``d<R/2>``: ``StackCritic`` on the real images' 2x2 average pool (the data at R/2).
- ``g<R>``: ``models.pyramid.StageTwoGenerator``, (Stage-I image, labels, eps2) -> the R x R
  image: its own conditioning augmentation, an encoder of the Stage-I image down to 4x4, c
  joined, residual blocks, up-blocks to R (the paper's encoder / residual / decoder G).
- ``d<R>``: ``StackCritic`` on the R x R images.

Two stages of one run (``steps.Game.stages``; the trainer compiles one step per stage and
resumes exactly across the boundary): steps [0, ``game.stage1_steps``) train ``d<R/2>`` and
``g<R/2>``; the remaining steps train ``d<R>`` and ``g<R>`` while Stage-I is fixed. At the first
Stage-II step Stage-I's generator is set to its EMA copy when the run keeps one (so Stage-II
trains on exactly the Stage-I images it is sampled from). Each stage's losses: the critic
minimises the objective's critic loss of its conditional logit D(x, y) plus
``game.uncond_weight`` times that of its unconditional logit (0 in the recipe: the paper's
critics are conditional only), reals with their labels and fakes with the labels they were
drawn for; the generator minimises the generator loss (non-saturating in the recipe) plus
``game.kl_weight`` * KL(N(mu, sigma^2) || N(0, I)) of its own conditioning augmentation
(the paper's eq. 3 and 6, lambda = 1).

Not built: the mismatched (real image, wrong text) pairs of the matching-aware critic (a class
label has no "mismatched description" distinct from a wrong label, and the fakes already
cover that role here), the text encoder.

Samples: before Stage-II has trained a step, the Stage-I image upsampled (nearest) to R;
afterwards G2(G1(z, y, eps1), y, eps2). Headline (digits): ``acgan.class_measures`` of the
final images, and ``stage1_fd`` / ``stage2_fd``: the Frechet distance in the digits CNN's
features of the Stage-I images upsampled to R (nearest, as Stage-I's samples) and of the
Stage-II images, both from the same ``game.headline_samples`` x 10 inputs, against every real
digit: the paper's claim is that Stage-II improves on the Stage-I image it is given.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import classifier, data, metrics, schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import acgan, stackgan
from gan_jax.losses import get_objective
from gan_jax.models import compute_dtype
from gan_jax.models import pyramid as pyr
from gan_jax.steps import Game, Network, Player

KEYS: schema.Spec = {
    "stage1_steps": schema.positive_int(
        1000, "train steps of Stage-I; Stage-II trains the rest (none when train.steps)"
    ),
    # StackGAN++'s keys of the same meaning (conditioning augmentation, class embedding).
    **{
        name: stackgan.KEYS[name]
        for name in ("conditioning_augmentation", "kl_weight", "embed_dim", "ca_dim")
    },
    "uncond_weight": schema.non_negative(0.0, "weight of the unconditional critic terms"),
    "residual_blocks": schema.positive_int(2, "residual blocks of the Stage-II generator"),
    "headline_samples": stackgan.KEYS["headline_samples"],
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "StackGAN, Zhang et al. 2017, arXiv 1612.03242"
RECIPE = "stackgan_v1"


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a combination StackGAN v1 cannot train."""
    schema.check_block("game", config.game, KEYS)
    r = config.data.resolution
    if r < 16 or r & (r - 1):
        raise ConfigError("data.resolution", r, "a power of 2 >= 16 with game.name='stackgan_v1'")
    steps_total, first = int(config.train.steps), int(config.game.stage1_steps)
    if first > steps_total:
        raise ConfigError(
            "game.stage1_steps",
            first,
            f"at most train.steps={steps_total} (Stage-II trains the steps after Stage-I)",
        )
    stackgan.check_conditional(config)


def draw(ctx, key: jax.Array, n: int, z_dim: int, ca_dim: int, num_classes: int):
    """(z, labels, eps1, eps2) of one update from its key."""
    z, labels, eps1 = stackgan.draw(ctx, key, n, z_dim, ca_dim, num_classes)
    eps2 = ctx.normal(jax.random.fold_in(key, 7), (n, ca_dim))
    return z, labels, eps1, eps2


def stage_loss(ctx, batch, key, *, stage: int, player: str, objective, gc, names, z_dim, k):
    """Stage ``stage``'s critic (``player='d'``) or generator loss (see the module docstring)."""
    g1, d1, g2, d2 = names
    real = batch["x"]
    z, labels, eps1, eps2 = draw(ctx, key, real.shape[0], z_dim, gc.ca_dim, k)
    if stage == 0:
        fake, (mu, logvar) = ctx(g1, z, labels, eps1, train=True)
        fake, d, real = fake[0], d1, pyr.downsample(real)
    else:
        (coarse,), _ = ctx(g1, z, labels, eps1, train=False)
        fake, (mu, logvar) = ctx(g2, jax.lax.stop_gradient(coarse), labels, eps2, train=True)
        d = d2
    if player == "d":
        fake = jax.lax.stop_gradient(fake)
    loss, terms = stackgan.scale_terms(
        objective, ctx, d, real, batch["label"], fake, labels, gc.uncond_weight, player
    )
    if player == "g" and gc.conditioning_augmentation:
        kl = stackgan.kl_standard_normal(mu, logvar)
        loss, terms = loss + gc.kl_weight * kl, {**terms, "kl": kl}
    return loss, terms


@functools.lru_cache(maxsize=4)
def real_features(resolution: int, cache_dir: str | None) -> np.ndarray:
    """The digits classifier's features of all 1797 real digits (computed once per process)."""
    images, _ = data.digits_arrays(resolution)
    return classifier.digits_classifier(resolution, cache_dir).logits_and_features(images)[1]


def freeze_stage_one(g1: str, start: int):
    """``begin_step`` of Stage-II: at step ``start`` set G1's variables to its EMA copy (if kept),
    so Stage-II learns from the Stage-I images the samples are drawn from."""

    def begin(state: steps.State) -> steps.State:
        if g1 not in state.ema:
            return state
        ms, ema = state.nets[g1], state.ema[g1]

        def to_ema(ms):
            return ms.replace(params=ema["params"], batch_stats=ema["batch_stats"])

        ms = jax.lax.cond(state.step == start, to_ema, lambda ms: ms, ms)
        return state.replace(nets={**state.nets, g1: ms})

    return begin


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    r, c = dataset.shape[0], dataset.shape[-1]
    half = r // 2
    names = (f"g{half}", f"d{half}", f"g{r}", f"d{r}")
    g1, d1, g2, d2 = names
    z_dim, k, width = (
        int(config.model.z_dim),
        int(config.model.num_classes),
        int(config.model.width),
    )
    dtype, ca_dim, augment = (
        compute_dtype(config.model),
        int(gc.ca_dim),
        bool(gc.conditioning_augmentation),
    )
    ema = float(config.model.g_ema_decay) > 0
    cond = dict(num_classes=k, embed_dim=int(gc.embed_dim), ca_dim=ca_dim, augment=augment)
    stage_one = pyr.StackGenerator(
        resolution=half, width=width, channels=c, stages=1, dtype=dtype, **cond
    )
    stage_two = pyr.StageTwoGenerator(
        width=width, blocks=int(gc.residual_blocks), dtype=dtype, **cond
    )
    labels2, eps = jnp.zeros((2,), jnp.int32), jnp.zeros((2, ca_dim))
    networks = {
        g1: Network(stage_one, (jnp.zeros((2, z_dim)), labels2, eps), optim="g", ema=ema),
        d1: Network(
            pyr.StackCritic(width, k, int(gc.embed_dim), dtype),
            (jnp.zeros((2, half, half, c)), labels2),
            optim="d",
        ),
        g2: Network(stage_two, (jnp.zeros((2, half, half, c)), labels2, eps), optim="g", ema=ema),
        d2: Network(
            pyr.StackCritic(width, k, int(gc.embed_dim), dtype),
            (jnp.zeros((2, r, r, c)), labels2),
            optim="d",
        ),
    }
    first = int(gc.stage1_steps)
    bound = dict(objective=objective, gc=gc, names=names, z_dim=z_dim, k=k)

    def both_stages(state, inputs):
        """(Stage-I image at R/2, Stage-II image at R) of the inputs, inference mode."""
        (coarse,), _ = steps.apply(state, g1, inputs["z"], inputs["label"], inputs["eps"])
        fine, _ = steps.apply(state, g2, coarse, inputs["label"], inputs["eps2"])
        return coarse, fine

    both_stages_jit = jax.jit(both_stages)

    def generate(state, inputs):
        coarse, fine = both_stages(state, inputs)
        return jnp.where(state.step > first, fine, pyr.upsample(coarse))

    def eval_inputs(key, n):
        key_z, key_eps, key_eps2 = jax.random.split(key, 3)
        return {
            "z": jax.random.normal(key_z, (n, z_dim)),
            "eps": jax.random.normal(key_eps, (n, ca_dim)),
            "eps2": jax.random.normal(key_eps2, (n, ca_dim)),
            "label": jnp.arange(n, dtype=jnp.int32) % k,
        }

    def headline(run, state):
        out = acgan.class_measures(run, state, int(gc.headline_samples))
        n = k * int(gc.headline_samples)
        inputs = run.eval_inputs(n, labels=np.arange(n, dtype=np.int32) % k)
        coarse, fine = both_stages_jit(state, inputs)
        up = pyr.upsample(coarse)
        cache_dir = run.config.eval.get("cache_dir") or None
        clf = classifier.digits_classifier(r, cache_dir)
        real = real_features(r, cache_dir)
        for name, images in (("stage1_fd", up), ("stage2_fd", fine)):
            _, feats = clf.logits_and_features(np.asarray(jax.device_get(images), np.float32))
            out[name] = metrics.frechet_distance_features(real, feats)
        return out

    def game_at(stage: int) -> Game:
        def player(name: str, role: int, net: str, n_steps: int = 1) -> Player:
            def loss(ctx, batch, key):
                return stage_loss(ctx, batch, key, stage=stage, player=name, **bound)

            return Player(name, role, (net,), loss, steps=n_steps)

        d_net, g_net = (d1, g1) if stage == 0 else (d2, g2)
        return Game(
            name="stackgan_v1",
            networks=networks,
            players=(
                player("d", steps.ROLE_D, d_net, config.train.d_steps),
                player("g", steps.ROLE_G, g_net),
            ),
            generate=generate,
            eval_inputs=eval_inputs,
            ema_decay=float(config.model.g_ema_decay),
            headline=headline if dataset.name == "digits" else None,
            stages=(first,),
            staged=game_at if stage == 0 else None,
            begin_step=freeze_stage_one(g1, first) if stage == 1 else None,
        )

    return game_at(0)
