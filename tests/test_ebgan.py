"""EBGAN (gan_jax/games/ebgan.py) and the autoencoder critic: the energy, the margin loss and the
pulling-away term on constructed inputs, the critic's shapes, config checks, and the loop on the
game (end to end with its headline, exact resume)."""

from __future__ import annotations

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import leaves, load_config, tiny_run

from gan_jax import checkpointing, runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, ebgan
from gan_jax.models.autoencoder import AutoencoderCritic


def tiny_config(steps_: int = 3, preset: str | None = None, **overrides):
    sizes = {"model.width": 8, "model.z_dim": 8, "game.code_dim": 8, "game.headline_samples": 16}
    return tiny_run("ebgan", steps_, preset, **{**sizes, **overrides})


# --- the losses on constructed inputs ------------------------------------------------------


def test_energy_is_the_per_sample_mean_of_the_powered_error():
    x = jnp.zeros((2, 2, 2, 1))
    recon = jnp.asarray([[1.0, -1.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5]]).reshape(2, 2, 2, 1)
    np.testing.assert_allclose(ebgan.energy(x, recon), [(1 + 1 + 4 + 0) / 4, 0.25], rtol=1e-6)
    np.testing.assert_allclose(ebgan.energy(x, recon, 1), [(1 + 1 + 2 + 0) / 4, 0.5], rtol=1e-6)


def test_margin_loss_is_the_real_energy_plus_the_hinge_of_the_fakes():
    real, fake = jnp.asarray([1.0, 2.0]), jnp.asarray([0.5, 3.0])
    loss, terms = ebgan.margin_d_loss(real, fake, margin=2.0)
    # E[D(x)] = 1.5; [2 - 0.5]^+ = 1.5, [2 - 3]^+ = 0: mean 0.75.
    np.testing.assert_allclose(loss, 2.25, rtol=1e-6)
    np.testing.assert_allclose(terms["hinge"], 0.75, rtol=1e-6)
    np.testing.assert_allclose(terms["real"], 1.5)
    np.testing.assert_allclose(terms["fake"], 1.75)
    # Fakes above the margin get no gradient; those below are pushed up with weight 1 / B.
    grad = jax.grad(lambda f: ebgan.margin_d_loss(real, f, 2.0)[0])(fake)
    np.testing.assert_allclose(grad, [-0.5, 0.0])


def test_pulling_away_is_the_mean_squared_cosine_of_distinct_pairs():
    np.testing.assert_allclose(ebgan.pulling_away(jnp.eye(4)), 0.0, atol=1e-7)  # orthogonal
    same = jnp.asarray([[1.0, 2.0], [2.0, 4.0], [-3.0, -6.0]])  # collinear, any scale or sign
    np.testing.assert_allclose(ebgan.pulling_away(same), 1.0, rtol=1e-6)
    theta = 0.3
    pair = jnp.asarray([[1.0, 0.0], [np.cos(theta), np.sin(theta)]]) * jnp.asarray([[2.0], [5.0]])
    np.testing.assert_allclose(ebgan.pulling_away(pair), np.cos(theta) ** 2, rtol=1e-6)
    # Three codes: pairs (a, b) cos 0, (a, c) cos 1/sqrt(2), (b, c) cos 1/sqrt(2).
    three = jnp.asarray([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(ebgan.pulling_away(three), (0 + 0.5 + 0.5) * 2 / 6, rtol=1e-6)


# --- the critic, the game, the checks ------------------------------------------------------


@pytest.mark.parametrize("resolution", [16, 32])
def test_autoencoder_critic_reconstructs_at_the_image_size(resolution):
    critic = AutoencoderCritic(resolution=resolution, width=4, code_dim=5, norm="batch")
    x = jnp.zeros((3, resolution, resolution, 1))
    variables = critic.init(jax.random.key(0), x, None, train=False)
    recon, code = critic.apply(variables, x, None, train=False)
    assert recon.shape == x.shape and code.shape == (3, 5)
    assert variables["batch_stats"]  # BatchNorm in the encoder and the decoder


def test_game_has_the_two_players_and_logs_the_terms():
    run = runs.build_run(tiny_config())
    assert [(p.name, p.role, p.updates) for p in run.game.players] == [
        ("d", steps.ROLE_D, ("d",)),
        ("g", steps.ROLE_G, ("g",)),
    ]
    state = run.init_state(jax.random.key(0))
    _, metrics = steps.make_train_step(run.game)(state, run.sample_batches(run.data_key(), 0))
    for name in ("d/real", "d/fake", "d/hinge", "g/fake", "g/pt"):
        assert np.isfinite(float(metrics[name])), name
    np.testing.assert_allclose(metrics["d/loss"], metrics["d/real"] + metrics["d/hinge"], rtol=1e-5)


def test_generator_loss_is_the_energy_plus_lambda_times_the_pulling_away_term():
    run0 = runs.build_run(tiny_config(preset="digits_nopt"))
    run1 = runs.build_run(tiny_config(**{"game.pt_weight": 0.5}))
    assert run0.config.game.pt_weight == 0.0
    state = run1.init_state(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run1.sample_batches(run1.data_key(), 0))
    _, m0 = steps.update(run0.game, run0.game.players[1], state, batch)
    _, m1 = steps.update(run1.game, run1.game.players[1], state, batch)
    np.testing.assert_allclose(m0["g/loss"], m0["g/fake"], rtol=1e-6)
    np.testing.assert_allclose(m0["g/fake"], m1["g/fake"], rtol=1e-6)
    np.testing.assert_allclose(m1["g/loss"], m1["g/fake"] + 0.5 * m1["g/pt"], rtol=1e-5)
    assert 0.0 < float(m1["g/pt"]) <= 1.0


@pytest.mark.parametrize(
    "key,value",
    [
        ("game.margin", 0.0),
        ("game.pt_weight", -0.1),
        ("game.code_dim", 0),
        ("game.activation", "tanh"),
        ("game.headline_samples", 0),
        ("model.name", "resnet"),
        ("model.num_classes", 10),
        ("model.d_spectral_norm", True),
        ("objective.penalty", "r1"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("ebgan", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


def test_the_recipe_is_the_registered_game_with_its_defaults():
    cfg = load_config("ebgan")
    assert GAMES[cfg.game.name] is ebgan
    assert dict(cfg.game) == {"name": "ebgan", **ebgan.DEFAULTS}
    assert cfg.train.steps == load_config("nsgan").train.steps  # the matched budget
    with pytest.raises(ValueError, match="nopt"):
        load_config("ebgan", "digits_pt")


# --- the loop on the game -----------------------------------------------------------------


def test_tiny_run_end_to_end_reports_the_headline(tmp_path):
    train.train_and_evaluate(tiny_config(3), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["step"] == 3
    assert 0.0 <= record["headline/pulling_away"] <= 1.0
    assert record["headline/real_energy"] > 0 and record["headline/fake_energy"] > 0
    assert np.isfinite(record["frechet_distance"])


@pytest.mark.slow  # covered by the game's end-to-end test in the default run
def test_resume_is_bit_identical_to_a_straight_run(tmp_path, capsys):
    cfg = tiny_config(6)
    cfg.checkpoint.every_steps = 3
    straight = train.train_and_evaluate(cfg, tmp_path)
    shutil.rmtree(checkpointing.checkpoint_dir(tmp_path) / "6")
    capsys.readouterr()
    resumed = train.train_and_evaluate(cfg, tmp_path)
    assert "resuming from the checkpoint at step 3" in capsys.readouterr().out
    assert straight.nets["d"].batch_stats["enc_norm1"]  # the critic's BatchNorm statistics
    for x, y in zip(leaves(straight), leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)
