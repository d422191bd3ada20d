"""LAPGAN (Denton et al. 2015, arXiv 1506.05751): a Laplacian pyramid of conditional GANs.

The image I (R x R) is decomposed into its Laplacian pyramid (``gan_jax.models.pyramid``):
the base image I_0 at ``game.base_resolution`` and, at every finer level k, the residual
h_k = I_k - u(d(I_k)), where d is a 2x2 average pool and u nearest doubling (digits 16 px:
levels 4 -> 8 -> 16). Level 0 is an ordinary GAN on I_0 (``g4``/``d4``: ``CoarseGenerator``,
``PyramidCritic``); level k > 0 is a conditional GAN of the residual given the upsampled coarser
image l_k = u(I_{k-1}) (``g8``/``d8``, ``g16``/``d16``: ``ResidualGenerator`` of (z_k, l_k),
``PyramidCritic`` of (h, l_k)), the paper's eq. 3-4 with the objective of ``objective.name``
(non-saturating in the recipe).

Training (the paper trains each level independently on the real pyramids): every level's GAN
sees the pyramid of the real batch, so level k's generator is conditioned on the *real* l_k and
its critic tells the real residual from G_k(z_k, l_k) given that l_k. All levels are trained in
one train step by two players: ``d`` (role ``ROLE_D``; updates every critic, ``train.d_steps``
updates) minimises the sum over levels of the objective's critic loss and ``g`` (role
``ROLE_G``; updates every generator) the sum of its generator loss. The levels share nothing,
so the sum's gradient is each level's own gradient: one step of all players equals one step of
each level alone. Metrics: ``d/l<R>/...``, ``g/l<R>/...`` per level.

Sampling is coarse to fine (eq. 2): I_0 = G_0(z_0), then I_k = u(I_{k-1}) + G_k(z_k, u(I_{k-1})),
so each level is conditioned on the generated coarser image (``sample_pyramid``). The
evaluation inputs are ``z`` of shape (n, levels, model.z_dim), one noise vector per level.
``model.num_classes = K`` makes every G and D class-conditional by concatenation (the paper's
CC-LAPGAN); the recipe is unconditional. Widths: ``model.width`` for every level.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import get_objective
from gan_jax.models import compute_dtype
from gan_jax.models import pyramid as pyr
from gan_jax.steps import Context, Game, Network, Player

KEYS: schema.Spec = {
    "base_resolution": schema.choice(4, (4, 8), "resolution of the base GAN (level 0)"),
    "residual_layers": schema.positive_int(2, "hidden 3x3 conv layers of each residual G_k"),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "LAPGAN, Denton et al. 2015, arXiv 1506.05751"
RECIPE = "lapgan"


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a combination LAPGAN cannot train."""
    schema.check_block("game", config.game, KEYS)
    r, base = config.data.resolution, config.game.base_resolution
    if r <= base or r % base or (r // base) & (r // base - 1):
        raise ConfigError(
            "data.resolution", r, f"game.base_resolution={base} times a power of 2 (at least 2)"
        )
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with LAPGAN")


def level_names(levels: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    """(generator, critic) network names per level, coarse to fine: ('g4', 'd4'), ..."""
    return tuple((f"g{r}", f"d{r}") for r in levels)


def real_levels(x: jax.Array, levels: int) -> list[tuple[jax.Array, jax.Array | None]]:
    """Per level, what the critic sees as real and its condition: (I_0, None), (h_k, l_k)."""
    lap = pyr.laplacian_pyramid(x, levels)
    gauss = pyr.gaussian_pyramid(x, levels)
    return [(lap[0], None)] + [(lap[k], pyr.upsample(gauss[k - 1])) for k in range(1, levels)]


def fake_level(ctx: Context, k: int, names, z: jax.Array, cond, labels, train: bool):
    """Level k's generated sample: G_0(z) or the residual G_k(z, l_k)."""
    g = names[k][0]
    return ctx(g, z, labels, train=train) if k == 0 else ctx(g, z, cond, labels, train=train)


def draw(ctx: Context, key: jax.Array, n: int, levels: int, z_dim: int, num_classes: int):
    """Noise (n, levels, z_dim) and, conditional runs, fake labels, from the update's key."""
    z = ctx.normal(jax.random.split(key)[0], (n, levels, z_dim))
    labels = None
    if num_classes:
        labels = ctx.randint(jax.random.fold_in(key, classic.LABEL_STREAM), (n,), num_classes)
    return z, labels


def pyramid_loss(ctx, batch, key, *, objective, names, z_dim, num_classes, player: str):
    """The sum over levels of the objective's critic (``player='d'``) or generator loss."""
    real = batch["x"]
    n, levels = real.shape[0], len(names)
    z, fake_labels = draw(ctx, key, n, levels, z_dim, num_classes)
    labels = classic.real_labels(batch, num_classes)
    total, terms = 0.0, {}
    for k, (real_k, cond) in enumerate(real_levels(real, levels)):
        d = names[k][1]
        # Fakes of level k > 0 are conditioned on the real l_k; the critic sees them with the
        # labels they were drawn for (all None when unconditional).
        fake = fake_level(ctx, k, names, z[:, k], cond, fake_labels, train=True)
        if player == "d":
            fake = jax.lax.stop_gradient(fake)
        real_out = ctx(d, real_k, cond, labels, train=True)
        fake_out = ctx(d, fake, cond, fake_labels, train=True)
        loss_fn = objective.d_loss if player == "d" else objective.g_loss
        loss, level_terms = loss_fn(real_out, fake_out)
        total = total + loss
        terms.update(steps.prefixed(f"l{real.shape[1] >> (levels - 1 - k)}", level_terms))
    return total, terms


def sample_pyramid(state: steps.State, names, z: jax.Array, labels=None) -> list[jax.Array]:
    """Coarse to fine sampling: [I_0, I_1, ..., I_L], each level on the generated coarser one."""
    images = [steps.apply(state, names[0][0], z[:, 0], labels)]
    for k in range(1, len(names)):
        cond = pyr.upsample(images[-1])
        images.append(cond + steps.apply(state, names[k][0], z[:, k], cond, labels))
    return images


def build(config, dataset: Dataset) -> Game:
    objective = get_objective(config.objective)
    r, c = dataset.shape[0], dataset.shape[-1]
    levels = pyr.resolutions(r, int(schema.value(config.game, KEYS, "base_resolution")))
    names = level_names(levels)
    z_dim, k = int(config.model.z_dim), int(config.model.num_classes)
    width, dtype = int(config.model.width), compute_dtype(config.model)
    ema = float(config.model.g_ema_decay) > 0
    layers = int(schema.value(config.game, KEYS, "residual_layers"))
    z2, labels2 = jnp.zeros((2, z_dim)), jnp.zeros((2,), jnp.int32)
    networks = {}
    for i, ((g, d), res) in enumerate(zip(names, levels)):
        image = jnp.zeros((2, res, res, c))
        if i == 0:
            gen = pyr.CoarseGenerator(res, width, c, k, dtype)
            networks[g] = Network(gen, (z2, labels2), optim="g", ema=ema)
            networks[d] = Network(
                pyr.PyramidCritic(width, k, dtype), (image, None, labels2), optim="d"
            )
        else:
            gen = pyr.ResidualGenerator(width, layers, k, dtype)
            networks[g] = Network(gen, (z2, image, labels2), optim="g", ema=ema)
            networks[d] = Network(
                pyr.PyramidCritic(width, k, dtype), (image, image, labels2), optim="d"
            )
    bound = dict(objective=objective, names=names, z_dim=z_dim, num_classes=k)
    gs, ds = tuple(g for g, _ in names), tuple(d for _, d in names)

    def generate(state, inputs):
        # The sum of the levels can leave the data's range [-1, 1]; samples are clipped to it.
        return jnp.clip(sample_pyramid(state, names, inputs["z"], inputs.get("label"))[-1], -1, 1)

    def eval_inputs(key, n):
        inputs = {"z": jax.random.normal(key, (n, len(levels), z_dim))}
        if k:
            inputs["label"] = jnp.arange(n, dtype=jnp.int32) % k
        return inputs

    return Game(
        name="lapgan",
        networks=networks,
        players=(
            Player(
                "d",
                steps.ROLE_D,
                ds,
                lambda ctx, batch, key: pyramid_loss(ctx, batch, key, player="d", **bound),
                steps=config.train.d_steps,
            ),
            Player(
                "g",
                steps.ROLE_G,
                gs,
                lambda ctx, batch, key: pyramid_loss(ctx, batch, key, player="g", **bound),
            ),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        ema_decay=float(config.model.g_ema_decay),
    )
