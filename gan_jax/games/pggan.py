"""Progressive growing (Karras et al. 2018, arXiv 1710.10196): the classic game, stage by stage.

The networks are the ``pggan`` family (gan_jax/models/pggan.py), whose stage k works at
``model.start_resolution * 2**k``. Every ``game.stage_steps`` train steps the resolution
doubles until it reaches ``data.resolution``; the first ``game.fade_steps`` steps of every
later stage fade the new layers in, alpha rising linearly from 1 / fade_steps to 1 (section 2,
figure 2), and alpha = 1 after. ``game.stage_steps = 0`` trains the last stage from the start:
the same networks without growing (the claim's baseline). Each stage is its own compiled step
(``steps.Game.stages``); the state is the same pytree throughout, ``aux`` carries the stage
and alpha of the last step trained, which the sampler reads.

Real images are average-pooled to the stage's resolution and, during a fade-in, blended the
same way as G's output: ``lerp(upsample(pool(x)), x, alpha)`` (the ProGAN code's ``lod``
blending of the training images), so the critic never tells the two apart by resolution.
Samples for evaluation are nearest-upsampled to ``data.resolution``.

At the first step of every stage after the first, both optimisers restart from a fresh state
(``game.reset_optimizers``, as the ProGAN code does). Losses: the objective block's (the paper:
WGAN-GP, ``wasserstein_gp``, lambda 10, one critic update per G update) plus the drift term
``game.drift * E_x[D(x)^2]`` in the critic's loss (section A.1, epsilon_drift = 0.001), which
keeps the critic's scores near 0.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import Objective, critic_penalty, get_objective
from gan_jax.models import pggan as nets
from gan_jax.steps import Batch, Context, Game

KEYS: schema.Spec = {
    "stage_steps": schema.non_negative_int(
        0,
        "train steps per resolution before the last (0: the last resolution from the start)",
    ),
    "fade_steps": schema.non_negative_int(
        0, "steps of each stage after the first that fade its layers in (<= game.stage_steps)"
    ),
    "drift": schema.non_negative(1e-3, "epsilon_drift: weight of E[D(x)^2] in the critic's loss"),
    "reset_optimizers": schema.boolean(
        True,
        "fresh optimiser states at each stage's first step (ProGAN code: reset_opt_for_new_lod)",
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "Progressive GAN, Karras et al. 2018, arXiv 1710.10196"
RECIPE = "pggan"


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a model the game cannot grow."""
    schema.check_block("game", config.game, KEYS)
    if config.model.name != "pggan":
        raise ConfigError("model.name", config.model.name, "'pggan' with game.name='pggan'")
    game = config.game
    if game.fade_steps > game.stage_steps:
        raise ConfigError(
            "game.fade_steps", game.fade_steps, f"<= game.stage_steps={game.stage_steps}"
        )
    if config.train.d_steps != 1:
        raise ConfigError("train.d_steps", config.train.d_steps, "1 with game.name='pggan'")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Which resolution stage and fade-in alpha each train step trains.

    Attributes:
      num_stages: resolutions of the networks (4, 8, 16: 3).
      stage_steps: train steps of every stage but the last; 0: the last stage throughout.
      fade_steps: the fade-in steps at the start of every stage after the first.
    """

    num_stages: int
    stage_steps: int
    fade_steps: int

    @property
    def first(self) -> int:
        """The resolution stage step 0 trains."""
        return 0 if self.stage_steps else self.num_stages - 1

    @property
    def boundaries(self) -> tuple[int, ...]:
        """The steps at which a new resolution starts (``steps.Game.stages``)."""
        if not self.stage_steps:
            return ()
        return tuple(k * self.stage_steps for k in range(1, self.num_stages))

    def alpha(self, step: jax.Array, stage: int) -> jax.Array:
        """Fade-in of resolution stage ``stage`` at train step ``step`` (1 when it has none)."""
        if stage == self.first or not self.fade_steps:
            return jnp.ones((), jnp.float32)
        done = (step - stage * self.stage_steps + 1).astype(jnp.float32)
        return jnp.clip(done / self.fade_steps, 0.0, 1.0)


def drift_penalty(real_out: jax.Array, epsilon: float) -> steps.LossOut:
    """epsilon * E_x[D(x)^2] (Karras et al. 2018, section A.1); ``terms['drift']`` is E[D(x)^2]."""
    mean_square = jnp.mean(jnp.square(real_out))
    return epsilon * mean_square, {"drift": mean_square}


def stage_images(x: jax.Array, side: int, alpha: jax.Array, fading: bool) -> jax.Array:
    """Real images at ``side`` pixels; in a fade-in blended with their half resolution."""
    x = nets.resize(x, side)
    if not fading:
        return x
    prev = nets.upsample(nets.downsample(x))
    return prev + alpha * (x - prev)


@dataclasses.dataclass(frozen=True)
class Stage:
    """The losses' view of one resolution stage."""

    stage: int
    side: int
    schedule: Schedule

    def alpha(self, ctx: Context) -> jax.Array:
        return self.schedule.alpha(ctx.step, self.stage)

    def nets_kwargs(self, alpha: jax.Array) -> dict:
        return {"stage": self.stage, "alpha": alpha}

    @property
    def fading(self) -> bool:
        return self.stage != self.schedule.first and self.schedule.fade_steps > 0


def critic_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    objective: Objective,
    latent: classic.Latent,
    stage: Stage,
    drift: float,
) -> steps.LossOut:
    """The objective's critic loss at the stage, its penalty, and the drift term."""
    alpha = stage.alpha(ctx)
    kw = stage.nets_kwargs(alpha)
    real = stage_images(batch["x"], stage.side, alpha, stage.fading)
    key_gp = jax.random.split(key)[1]
    (z, _), _, _ = latent.draw(ctx, key, real.shape[0])
    fake = jax.lax.stop_gradient(ctx("g", z, None, train=True, **kw))
    real_out = ctx("d", real, None, train=True, **kw)
    fake_out = ctx("d", fake, None, train=True, **kw)
    loss, terms = objective.d_loss(real_out, fake_out)
    if objective.penalty is not None:
        critic = lambda x: ctx("d", x, None, train=False, **kw)
        penalty, pterms = critic_penalty(objective, critic, real, fake, key_gp, ctx.counter)
        loss, terms = loss + penalty, {**terms, **pterms}
    more, more_terms = drift_penalty(real_out, drift)
    ctx.set_aux("alpha", alpha)
    ctx.set_aux("stage", jnp.asarray(stage.stage, jnp.int32))
    return loss + more, {**terms, **more_terms, "alpha": alpha}


def generator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    objective: Objective,
    latent: classic.Latent,
    stage: Stage,
) -> steps.LossOut:
    """The objective's generator loss at the stage."""
    alpha = stage.alpha(ctx)
    kw = stage.nets_kwargs(alpha)
    real = stage_images(batch["x"], stage.side, alpha, stage.fading)
    (z, _), _, _ = latent.draw(ctx, key, real.shape[0])
    fake = ctx("g", z, None, train=True, **kw)
    real_out = ctx("d", real, None, train=True, **kw)
    fake_out = ctx("d", fake, None, train=True, **kw)
    return objective.g_loss(real_out, fake_out)


def reset_optimizers_at(start: int) -> Callable[[steps.State], steps.State]:
    """``state -> state`` with every network's optimiser state re-initialised when
    ``state.step == start`` (the first step of a stage), unchanged otherwise.

    The ProGAN code does this at every resolution change (``reset_opt_for_new_lod``): Adam's
    second moments of the layers that had no gradient until now are 0, and with the global
    bias correction (1 - beta2^t ~ 1) their first updates would be ~1 / sqrt(1 - beta2) = 10
    times the learning rate.
    """

    def begin(state: steps.State) -> steps.State:
        def reset(nets):
            return {n: ms.replace(opt_state=ms.tx.init(ms.params)) for n, ms in nets.items()}

        nets = jax.lax.cond(state.step == start, reset, lambda nets: nets, state.nets)
        return state.replace(nets=nets)

    return begin


def build(config, dataset: Dataset) -> Game:
    """The game of the first stage; ``Game.staged`` builds the others."""
    objective = get_objective(config.objective)
    latent = classic.Latent(config.model.z_dim, 0)
    resolution = dataset.shape[0]
    start = config.model.start_resolution
    schedule = Schedule(
        nets.num_stages(resolution, start), config.game.stage_steps, config.game.fade_steps
    )
    networks = classic.networks(config, dataset, (jnp.zeros((2, latent.z_dim)),))

    def generate(state, inputs):
        # The stage of the last step trained (from the state), upsampled to full resolution.
        branches = [
            functools.partial(
                lambda k, z, alpha: nets.resize(
                    steps.apply(state, "g", z, None, stage=k, alpha=alpha), resolution
                ),
                k,
            )
            for k in range(schedule.num_stages)
        ]
        return jax.lax.switch(state.aux["stage"], branches, inputs["z"], state.aux["alpha"])

    def eval_inputs(key, n):
        return {"z": jax.random.normal(key, (n, latent.z_dim))}

    def game_at(index: int) -> Game:
        k = schedule.first + index
        stage = Stage(k, start * 2**k, schedule)
        bound = dict(objective=objective, latent=latent, stage=stage)
        return Game(
            name="pggan",
            networks=networks,
            players=classic.players(
                config,
                objective,
                functools.partial(critic_loss, drift=float(config.game.drift), **bound),
                functools.partial(generator_loss, **bound),
            ),
            generate=generate,
            eval_inputs=eval_inputs,
            init_aux=lambda: {
                "alpha": jnp.ones((), jnp.float32),
                "stage": jnp.asarray(schedule.first, jnp.int32),
            },
            ema_decay=float(config.model.g_ema_decay),
            stages=schedule.boundaries,
            staged=game_at if index == 0 else None,
            begin_step=(
                reset_optimizers_at(schedule.boundaries[index - 1])
                if index and config.game.reset_optimizers
                else None
            ),
        )

    return game_at(0)
