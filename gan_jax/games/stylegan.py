"""The StyleGAN / StyleGAN2 training game: the classic game with style mixing and path length.

The adversarial part is the classic game's (``classic.critic_loss`` / ``generator_loss``, any
objective of ``losses.py``; the recipes use the non-saturating loss with R1, lazily every 16
critic updates for StyleGAN2 through ``objective.penalty_every``; G's EMA through
``model.g_ema_decay``), on the ``stylegan`` / ``stylegan2`` families (gan_jax/models/stylegan.py).
This game adds, on G's side:

- **Style mixing regularisation** (Karras et al. 2019, section 3.1), ``game.style_mixing`` p:
  with probability p per sample, G's styles switch from w1 = f(z1) to w2 = f(z2) at a crossover
  layer drawn uniformly in [1, num_ws); otherwise every layer takes w1. Both players' fakes are
  drawn this way (as in the papers' code, where mixing is in the shared ``run_G``).
- **Path-length regularisation** (Karras et al. 2020, section 3.2, eq. 4), ``game.pl_weight``:
  E_{w, y}[(||J_w^T y||_2 - a)^2], y ~ N(0, I) / sqrt(H W) image-shaped, J_w the Jacobian of
  the synthesis network at the styles w, a the exponential moving average of the lengths
  (``game.pl_decay`` = 0.01 per G update, as in the code), kept in ``State.aux['pl_mean']``; the
  length of sample b is sqrt(mean over layers of sum over w's coordinates of the gradient's
  square), the code's form for per-layer styles. Lazy (section 3.1): on one G update in
  ``game.pl_every``, times ``pl_every`` (as ``losses.lazy_penalty``: a conditional off CPU,
  computed and masked on CPU, where a conditional's convolutions run slower). Through the
  classic game's ``extra_terms`` hook and ``State.aux`` (BEGAN's k_t mechanism): no core change.

Metrics: ``g/pl_length`` (the batch's mean length on PL updates, 0 between them),
``g/pl_mean`` (a), ``g/pl_penalty`` (the weighted, lazily scaled term).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import get_objective
from gan_jax.models.stylegan import num_styles
from gan_jax.regularizers import from_config
from gan_jax.steps import Context, Game

FAMILIES = ("stylegan", "stylegan2")

KEYS: schema.Spec = {
    "style_mixing": schema.Key(
        0.9,
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1,
        "a number in [0, 1]",
        "probability that a fake mixes two w's at a random crossover layer (papers: 0.9)",
    ),
    "pl_weight": schema.non_negative(0.0, "path-length regularisation weight (StyleGAN2: 2)"),
    "pl_every": schema.positive_int(4, "lazy path length: on one G update in N, times N"),
    "pl_decay": schema.Key(
        0.01,
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1,
        "a number in (0, 1]",
        "weight of the batch's mean length in the running target a (the code: 0.01)",
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "StyleGAN2, Karras et al. 2020, arXiv 1912.04958"
# The zoo rows are the families' (models.MODELS['stylegan'/'stylegan2'].recipe).
RECIPE = None

# Folded into an update's key; classic's z / penalty split and label stream (1) stay as they are.
MIX_STREAM, PL_STREAM = 32, 33


def check(config) -> None:
    """ConfigError on a bad game.* value or a model this game cannot mix or differentiate."""
    schema.check_block("game", config.game, KEYS)
    if config.model.name not in FAMILIES:
        raise ConfigError(
            "model.name", config.model.name, f"one of {list(FAMILIES)} with game.name='stylegan'"
        )


@dataclasses.dataclass(frozen=True)
class MixingLatent:
    """The style-mixing latent (the duck type of ``classic.Latent``): G's inputs are
    ``(z, None, mix_z, crossover)``; ``extra`` carries z and the path-length key."""

    z_dim: int
    num_ws: int
    mixing: float
    num_classes: int = 0  # the style families are unconditional

    def draw(self, ctx: Context, key: jax.Array, n: int) -> tuple[tuple, Any, dict]:
        key_z = jax.random.split(key)[0]
        z = ctx.normal(key_z, (n, self.z_dim))
        extra = {"z": z, "pl_key": jax.random.fold_in(key, PL_STREAM)}
        if not self.mixing:
            return (z, None), None, extra
        key_z2, key_cut, key_on = jax.random.split(jax.random.fold_in(key, MIX_STREAM), 3)
        mix_z = ctx.normal(key_z2, (n, self.z_dim))
        cut = ctx.randint(key_cut, (n,), self.num_ws - 1) + 1
        on = ctx.constrain(jax.random.uniform(key_on, (n,))) < self.mixing
        crossover = jnp.where(on, cut, self.num_ws)
        return (z, None, mix_z, crossover), None, extra


def path_lengths(synthesize, ws: jax.Array, y: jax.Array) -> jax.Array:
    """||J_w^T y|| per sample: sqrt(mean over layers of sum over w's dims of (J^T y)^2).

    ``synthesize``: ws (B, L, W) -> images; ``y`` images-shaped. One forward and one backward pass
    (``jax.vjp``); differentiable again, for the regulariser's gradient.
    """
    _, vjp = jax.vjp(synthesize, ws)
    (grad,) = vjp(y)
    return jnp.sqrt(jnp.mean(jnp.sum(jnp.square(grad), axis=2), axis=1))


def path_length_penalty(
    lengths: jax.Array, pl_mean: jax.Array, decay: float
) -> tuple[jax.Array, jax.Array]:
    """(E[(length - a)^2], a) with a = pl_mean + decay (mean length - pl_mean), the code's lerp."""
    a = pl_mean + decay * (jnp.mean(jax.lax.stop_gradient(lengths)) - pl_mean)
    return jnp.mean(jnp.square(lengths - a)), a


@dataclasses.dataclass(frozen=True)
class PathLength:
    """G's extra term (``classic.generator_loss``'s ``extra_terms``): lazy path length."""

    weight: float
    every: int
    decay: float
    use_cond: bool | None = None

    def __call__(self, ctx: Context, fake_out, extra: dict) -> tuple[jax.Array, dict]:
        del fake_out
        z = extra["z"]
        on = jnp.asarray(ctx.counter) % self.every == 0
        old = ctx.aux["pl_mean"]

        def apply():
            # Inference-mode calls: no statistics move inside the differentiated function.
            ws = ctx("g", z, train=False, method="styles")
            synth = lambda w: ctx("g", w, z, train=False, method="synthesize")  # noqa: E731
            shape = jax.eval_shape(synth, ws).shape
            y = jax.random.normal(extra["pl_key"], shape) / math.sqrt(shape[1] * shape[2])
            lengths = path_lengths(synth, ws, y)
            penalty, a = path_length_penalty(lengths, old, self.decay)
            return self.every * self.weight * penalty, a, jnp.mean(lengths)

        use_cond = jax.default_backend() != "cpu" if self.use_cond is None else self.use_cond
        if use_cond:
            off = lambda: (jnp.zeros(()), old, jnp.zeros(()))  # noqa: E731
            penalty, a, mean = jax.lax.cond(on, apply, off)
        else:
            penalty, a, mean = apply()
            penalty, a, mean = (
                jnp.where(on, v, w) for v, w in ((penalty, 0.0), (a, old), (mean, 0.0))
            )
        ctx.set_aux("pl_mean", a)
        return penalty, {"pl_penalty": penalty, "pl_mean": a, "pl_length": mean}


def build(config, dataset: Dataset) -> Game:
    objective = get_objective(config.objective)
    game = config.game
    num_ws = num_styles(dataset.shape[0])
    latent = MixingLatent(config.model.z_dim, num_ws, float(game.style_mixing))
    regularizer = from_config(config)
    bound = dict(objective=objective, latent=latent, regularizer=regularizer)
    pl = None
    if game.pl_weight:
        pl = PathLength(float(game.pl_weight), int(game.pl_every), float(game.pl_decay))

    def generate(state, inputs):
        # gan_jax.sample --truncation=psi reaches G as its truncation in W (own_truncation).
        return steps.apply(state, "g", inputs["z"], **classic.truncation_kwargs(inputs))

    def eval_inputs(key, n):
        return {"z": jax.random.normal(key, (n, latent.z_dim))}

    def init_aux():
        aux = {} if regularizer is None else regularizer.init_aux()
        return {**aux, "pl_mean": jnp.zeros((), jnp.float32)} if pl else aux

    return Game(
        name="stylegan",
        networks=classic.networks(config, dataset, (jnp.zeros((2, latent.z_dim)),)),
        players=classic.players(
            config,
            objective,
            lambda ctx, batch, key: classic.critic_loss(ctx, batch, key, **bound),
            lambda ctx, batch, key: classic.generator_loss(
                ctx, batch, key, extra_terms=pl, **bound
            ),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        init_aux=init_aux,
        ema_decay=float(config.model.g_ema_decay),
    )
