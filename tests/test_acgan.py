"""AC-GAN (gan_jax/games/acgan.py): the class loss in closed form, the headline's measures on
constructed features, the critic, config checks and a tiny run end to end."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny_run

from gan_jax import runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, acgan


def tiny_config(steps_: int = 3, **overrides):
    sizes = {"model.width": 8, "model.z_dim": 8, "game.headline_samples": 5}
    return tiny_run("acgan", steps_, **sizes, **overrides)


# --- the class loss in closed form ------------------------------------------------------------


def test_class_terms_are_the_weighted_cross_entropies_of_reals_and_fakes():
    fake_p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    real_p = np.array([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
    fake_y, real_y = np.array([0, 1]), np.array([1, 2])
    ce_fake = -(math.log(0.7) + math.log(0.3)) / 2
    ce_real = -(math.log(0.25) + math.log(0.6)) / 2
    # Logits known up to a constant per row: the softmax removes it.
    loss, terms = acgan.class_terms(
        jnp.log(jnp.asarray(fake_p)) + 2.0,
        jnp.asarray(fake_y),
        jnp.log(jnp.asarray(real_p)) - 1.0,
        jnp.asarray(real_y),
        class_weight=0.5,
    )
    np.testing.assert_allclose(terms["class_fake"], ce_fake, rtol=1e-6)
    np.testing.assert_allclose(terms["class_real"], ce_real, rtol=1e-6)
    np.testing.assert_allclose(loss, 0.5 * (ce_fake + ce_real), rtol=1e-6)
    np.testing.assert_allclose(terms["class"], loss)
    np.testing.assert_allclose(terms["class_acc_fake"], 0.5)  # row 2's argmax is 2, not 1
    np.testing.assert_allclose(terms["class_acc_real"], 0.5)  # row 1's argmax is 0, not 1
    # The generator's half: the fakes only.
    g_loss, g_terms = acgan.class_terms(
        jnp.log(jnp.asarray(fake_p)), jnp.asarray(fake_y), None, None, class_weight=2.0
    )
    np.testing.assert_allclose(g_loss, 2.0 * ce_fake, rtol=1e-6)
    assert "class_real" not in g_terms


# --- the headline's measures ------------------------------------------------------------------


def test_mean_pairwise_distance_of_a_3_4_5_triangle_is_4():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    assert acgan.mean_pairwise_distance(points) == pytest.approx(4.0)


def test_within_class_diversity_groups_by_label():
    features = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0], [5.0, 5.0], [9.0, 9.0]])
    labels = np.array([0, 0, 1, 1, 2])
    out = acgan.within_class_diversity(features, labels, 4)
    np.testing.assert_allclose(out[:2], [2.0, 0.0])
    assert np.isnan(out[2]) and np.isnan(out[3])  # fewer than two rows


def test_agreement_and_diversity_on_constructed_outputs():
    requested = np.array([0, 0, 1, 1])
    logits = np.array([[5.0, 0.0], [0.0, 5.0], [0.0, 5.0], [0.0, 5.0]])  # 3 of 4 agree
    # Class 0's samples 1 apart, class 1's collapsed onto one point.
    features = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 3.0], [3.0, 3.0]])
    real = np.array([2.0, 4.0])
    out = acgan.agreement_and_diversity(requested, logits, features, real)
    assert out["class_agreement"] == pytest.approx(0.75)
    assert out["diversity"] == pytest.approx(0.5)
    assert out["real_diversity"] == pytest.approx(3.0)
    assert out["diversity_ratio"] == pytest.approx(0.5 / 3.0)
    assert out["min_diversity_ratio"] == pytest.approx(0.0)


# --- the critic, the game and the config checks -----------------------------------------------


def test_critic_returns_the_logit_and_class_logits_and_ignores_labels():
    critic = acgan.ACGANCritic(width=8, num_classes=10)
    x = jax.random.normal(jax.random.key(1), (3, 16, 16, 1))
    variables = critic.init(jax.random.key(0), x, None, train=False)
    logit, heads = critic.apply(variables, x, None, train=False)
    assert logit.shape == (3,) and heads["logits"].shape == (3, 10)
    again, _ = critic.apply(variables, x, jnp.array([1, 2, 3]), train=False)
    np.testing.assert_array_equal(logit, again)
    assert variables["params"]["class_out"]["kernel"].shape == (4 * 4 * 16, 10)


def test_both_losses_are_the_adversarial_term_plus_the_class_term():
    run0 = runs.build_run(tiny_config(**{"game.class_weight": 0.0}))
    run1 = runs.build_run(tiny_config())
    state = run1.init_state(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run1.sample_batches(run1.data_key(), 0))
    for i, player in enumerate(("d", "g")):
        _, m0 = steps.update(run0.game, run0.game.players[i], state, batch)
        _, m1 = steps.update(run1.game, run1.game.players[i], state, batch)
        np.testing.assert_allclose(m0[f"{player}/fake"], m1[f"{player}/fake"], rtol=1e-6)
        np.testing.assert_allclose(m0[f"{player}/class"], 0.0)
        adversarial = m1[f"{player}/fake"] + (m1["d/real"] if player == "d" else 0.0)
        np.testing.assert_allclose(
            m1[f"{player}/loss"], adversarial + m1[f"{player}/class"], rtol=1e-5
        )
    # The critic classifies the reals with their dataset labels, the generator does not.
    assert float(m1["g/class"]) == pytest.approx(float(m1["g/class_fake"]), rel=1e-6)
    _, md = steps.update(run1.game, run1.game.players[0], state, batch)
    np.testing.assert_allclose(md["d/class"], md["d/class_fake"] + md["d/class_real"], rtol=1e-6)


def test_the_real_class_term_reads_the_real_labels():
    run = runs.build_run(tiny_config())
    state = run.init_state(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run.sample_batches(run.data_key(), 0))
    shifted = {**batch, "label": (batch["label"] + 1) % 10}
    _, m = steps.update(run.game, run.game.players[0], state, batch)
    _, m_shift = steps.update(run.game, run.game.players[0], state, shifted)
    np.testing.assert_allclose(m["d/class_fake"], m_shift["d/class_fake"], rtol=1e-6)
    assert float(m["d/class_real"]) != pytest.approx(float(m_shift["d/class_real"]), rel=1e-3)


def test_the_generator_is_conditional_and_samples_the_requested_classes():
    run = runs.build_run(tiny_config())
    inputs = run.eval_inputs(25)
    np.testing.assert_array_equal(inputs["label"], np.arange(25) % 10)
    state = run.init_state(jax.random.key(0))
    assert state.nets["g"].params["project"]["kernel"].shape[0] == 8 + 10  # z + one-hot
    a = runs.sample_images(run, state, 10, inputs={k: v[:10] for k, v in inputs.items()})
    b = runs.sample_images(
        run, state, 10, inputs={"z": inputs["z"][:10], "label": jnp.zeros(10, jnp.int32)}
    )
    assert not np.allclose(a, b)


@pytest.mark.parametrize(
    "key,value",
    [
        ("model.num_classes", 0),
        ("model.name", "resnet"),
        ("game.class_weight", -1.0),
        ("game.headline_samples", 0),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("acgan", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


def test_the_recipe_is_the_registered_game_with_its_defaults():
    cfg = load_config("acgan")
    assert GAMES[cfg.game.name] is acgan
    assert dict(cfg.game) == {"name": "acgan", **acgan.DEFAULTS}
    assert cfg.model.num_classes == 10 and cfg.objective.name == "non_saturating"


@pytest.mark.slow
def test_tiny_run_end_to_end_reports_the_headline(tmp_path):
    train.train_and_evaluate(tiny_config(3), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["step"] == 3
    assert 0.0 <= record["headline/class_agreement"] <= 1.0
    assert record["headline/diversity_ratio"] > 0
    assert record["headline/real_diversity"] > 0
    assert np.isfinite(record["frechet_distance"])
