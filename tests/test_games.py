"""What holds for the classic game holds for every registered game.

Each game's own test file covers its losses, exact resume, k steps per dispatch and 1 vs 8
devices; here every game of the registry goes through the same checks of the loop's machinery:
seeds vmapped in one program equal the runs trained alone, the divergence guard names the first
non-finite step and nothing non-finite is saved, and a signal saves once and stops.
"""

from __future__ import annotations

import dataclasses
import inspect
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import leaves, tiny_run

from gan_jax import checkpointing, divergence, runs, train
from gan_jax import dispatch as dispatching
from gan_jax.errors import DivergenceError
from gan_jax.games import GAMES, loss_name

# A recipe per game, shrunk to train in a second or two (a new game adds its line here).
TINY = {
    "bigan": ("bigan", {"model.width": 8, "model.z_dim": 8, "game.hidden": 16}),
    "biggan": (
        "biggan",
        {"model.width": 4, "model.z_dim": 6, "model.shared_dim": 4, "game.standing_stats": 2},
    ),
    "classic": ("nsgan", {"model.width": 8, "model.z_dim": 8}),
    "infogan": (
        "infogan",
        {"model.width": 8, "model.z_dim": 8, "game.q_hidden": 16, "game.headline_samples": 5},
    ),
    "ebgan": (
        "ebgan",
        {"model.width": 8, "model.z_dim": 8, "game.code_dim": 8, "game.headline_samples": 16},
    ),
    "began": (
        "began",
        {"model.width": 8, "model.z_dim": 8, "game.code_dim": 8, "game.headline_samples": 16},
    ),
    "acgan": ("acgan", {"model.width": 8, "model.z_dim": 8, "game.headline_samples": 5}),
    "ssgan": ("ssgan", {"model.width": 8, "model.z_dim": 8, "game.rotation_examples": 4}),
    "s3gan": (
        "s3gan",
        {
            "model.width": 8,
            "model.z_dim": 8,
            "game.rotation_examples": 4,
            "game.headline_samples": 5,
        },
    ),
    "improved": (
        "improved",
        {
            "model.width": 8,
            "model.z_dim": 8,
            "game.historical_averaging": 1e-3,
            "model.minibatch_discrimination": 4,
            "model.minibatch_stddev": 4,
        },
    ),
    "cyclegan": (
        "cyclegan",
        {"game.g_width": 4, "game.g_blocks": 1, "game.d_width": 4, "game.pool_size": 12},
    ),
    "pix2pix": ("pix2pix", {"game.g_width": 4, "game.g_depth": 2, "game.d_width": 4}),
    "srgan": (
        "srgan",
        {
            "game.g_width": 4,
            "game.g_blocks": 1,
            "game.d_width": 4,
            "game.d_stages": 2,
            "game.content": "mse",  # the feature loss trains the mnist5k classifier first
        },
    ),
    "stargan": (
        "stargan",
        {
            "game.g_width": 4,
            "game.g_blocks": 1,
            "game.d_width": 4,
            "data.domains": "identity,invert",
        },
    ),
    "combogan": (
        "combogan",
        {
            "game.g_width": 4,
            "game.enc_blocks": 1,
            "game.dec_blocks": 0,
            "game.d_width": 4,
            "data.domains": "identity,invert",
        },
    ),
    "xgan": (
        "xgan",
        {"game.width": 4, "game.d_width": 4, "game.embed_dim": 8, "game.dann_hidden": 8},
    ),
    "semisupervised": (
        "ssl_gan",
        {"game.d_hidden": (16, 8), "game.g_hidden": (16,), "game.z_dim": 8},
    ),
    "triplegan": (
        "triplegan",
        {
            "game.d_hidden": (16, 8),
            "game.pair_hidden": (16, 8),
            "game.g_hidden": (16,),
            "game.z_dim": 8,
        },
    ),
    "cogan": ("cogan", {"model.width": 8, "model.z_dim": 8, "game.headline_samples": 40}),
    "vaegan": ("vaegan", {"model.width": 8, "model.z_dim": 8}),
    "stylegan": (
        "stylegan2",
        {
            "model.width": 8,
            "model.z_dim": 8,
            "model.w_dim": 8,
            "game.pl_every": 2,
            "objective.penalty_every": 2,
        },
    ),
    # 8x8 digits, stages 4 -> 8 px: the loop's checks cross the stage change at step 2.
    "pggan": (
        "pggan",
        {
            "model.width": 4,
            "model.z_dim": 8,
            "data.resolution": 8,
            "game.stage_steps": 2,
            "game.fade_steps": 1,
        },
    ),
    "lapgan": ("lapgan", {"model.width": 8, "model.z_dim": 8}),
    "stackgan": (
        "stackgan",
        {
            "model.width": 8,
            "model.z_dim": 8,
            "game.embed_dim": 8,
            "game.ca_dim": 4,
            "game.headline_samples": 5,
        },
    ),
    "stackgan_v1": (
        "stackgan_v1",
        {
            "model.width": 8,
            "model.z_dim": 8,
            "game.embed_dim": 8,
            "game.ca_dim": 4,
            "game.headline_samples": 5,
            "game.stage1_steps": 2,
        },
    ),
}


def tiny_config(game: str, steps: int = 4):
    recipe, overrides = TINY[game]
    return tiny_run(recipe, steps, **{"train.d_steps": 1, **overrides})


def test_every_registered_game_has_a_tiny_config():
    assert set(TINY) == set(GAMES)


def test_the_banner_names_a_game_s_own_losses_only_where_it_ignores_the_objective():
    # A game with OWN_LOSS must not read objective.name (or build an objective); the others
    # are named by their objective.
    own = {name for name, module in GAMES.items() if hasattr(module, "OWN_LOSS")}
    assert {"began", "ebgan", "stargan", "triplegan"} <= own
    for name, module in GAMES.items():
        source = inspect.getsource(module)
        reads = "objective.name" in source.replace("not objective.name", "") or (
            "get_objective" in source
        )
        assert reads != (name in own), name
        cfg = tiny_config(name)
        expected = module.OWN_LOSS if name in own else cfg.objective.name
        assert loss_name(cfg) == expected


# The generic checks of every game run in `-m slow` (vmapped seeds equal solo runs: a minute's
# compile per convnet game on 2 cores; the divergence guard and the signal: 10-30 s each). The
# default run keeps the loop's checks on the classic game; a vmapped sweep member equal to its
# solo run is test_sweep's default-run check.
VMAPPED = [pytest.param(g, marks=pytest.mark.slow) for g in sorted(GAMES)]
LOOP = [g if g == "classic" else pytest.param(g, marks=pytest.mark.slow) for g in sorted(GAMES)]


@pytest.mark.parametrize("game", VMAPPED)
def test_seeds_vmapped_in_one_program_equal_the_runs_trained_alone(game):
    run = runs.build_run(tiny_config(game))
    one = dispatching.make_dispatch(run, 2, jit=False)
    seeds = jnp.asarray([0, 3], jnp.uint32)
    states = jax.vmap(lambda s: run.init_state(jax.random.key(s)))(seeds)
    guards = jax.vmap(lambda _: divergence.init_guard())(seeds)
    vmapped = jax.jit(jax.vmap(lambda st, g, s: one(st, g, None, s)))
    stacked, _, _ = vmapped(states, guards, seeds)
    for i, seed in enumerate((0, 3)):
        alone_run = runs.build_run(seeded(game, seed))
        state = alone_run.init_state(jax.random.key(seed))
        alone = jax.jit(dispatching.make_dispatch(alone_run, 2, jit=False))
        state, _, _ = alone(state, divergence.init_guard())
        member = jax.tree.map(lambda a, i=i: a[i], stacked)
        for a, b in zip(leaves(member), leaves(state), strict=True):
            # Batched convolutions round differently: far below one Adam step (lr 2e-4).
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def seeded(game: str, seed: int):
    cfg = tiny_config(game)
    cfg.seed = seed
    return cfg


def poisoned_game(game, first_bad_step: int):
    """``game`` whose players' losses become NaN from train step ``first_bad_step`` on."""

    def poison(loss):
        def poisoned(ctx, batch, key):
            value, terms = loss(ctx, batch, key)
            return value * jnp.where(ctx.step + 1 >= first_bad_step, jnp.nan, 1.0), terms

        return poisoned

    players = tuple(dataclasses.replace(p, loss=poison(p.loss)) for p in game.players)
    # A game of several stages: the later stages' players are poisoned too.
    staged = game.staged and (lambda i: poisoned_game(game.staged(i), first_bad_step))
    return dataclasses.replace(game, players=players, staged=staged)


@pytest.mark.parametrize("game", LOOP)
def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(game, tmp_path, monkeypatch):
    cfg = tiny_config(game, steps=8)
    cfg.checkpoint.every_steps = 2
    build = GAMES[game].build
    monkeypatch.setattr(GAMES[game], "build", lambda c, d: poisoned_game(build(c, d), 5))
    with pytest.raises(DivergenceError, match=r"non-finite .*at step 5") as err:
        train.train_and_evaluate(cfg, tmp_path)
    assert "step 4" in str(err.value)
    saved = sorted(
        int(p.name) for p in checkpointing.checkpoint_dir(tmp_path).iterdir() if p.name.isdigit()
    )
    assert saved[-1] == 4


@pytest.mark.parametrize("game", LOOP)
def test_a_signal_saves_once_and_stops_at_that_step(game, tmp_path, capsys, monkeypatch):
    cfg = tiny_config(game, steps=50)
    write_log = train.RunLogger.log_train

    def interrupting(self, step, scalars, rate):
        if step == 3:
            signal.raise_signal(signal.SIGTERM)
        return write_log(self, step, scalars, rate)

    monkeypatch.setattr(train.RunLogger, "log_train", interrupting)
    state = train.train_and_evaluate(cfg, tmp_path)
    steps_done = int(state.step)
    assert 3 <= steps_done <= 4  # the log of step 3 is read after step 4 is dispatched
    assert f"SIGTERM: saved a checkpoint at step {steps_done}" in capsys.readouterr().out
    saved = [p.name for p in checkpointing.checkpoint_dir(tmp_path).iterdir() if p.name.isdigit()]
    assert saved == [str(steps_done)]
