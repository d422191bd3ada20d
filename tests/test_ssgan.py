"""SSGAN and S3GAN (gan_jax/games/ssgan.py, s3gan.py): the rotations and the rotation loss in
closed form, the projection critic, the labelled subset, which labels the losses read, config
checks and tiny runs end to end."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny_run

from gan_jax import data, runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, s3gan, ssgan


def tiny_config(recipe: str, steps_: int = 3, **overrides):
    sizes = {"model.width": 8, "model.z_dim": 8, "game.rotation_examples": 4}
    if "headline_samples" in load_config(recipe).game:
        sizes["game.headline_samples"] = 5
    return tiny_run(recipe, steps_, **{**sizes, **overrides})


def first_batch(run):
    return jax.tree.map(lambda a: a[0], run.sample_batches(run.data_key(), 0))


# --- rotations and the rotation loss ----------------------------------------------------------


def test_rotate_stacks_the_four_quarter_turns_with_their_labels():
    x = np.arange(2 * 3 * 3 * 1, dtype=np.float32).reshape(2, 3, 3, 1)
    rotated, labels = ssgan.rotate(jnp.asarray(x))
    assert rotated.shape == (8, 3, 3, 1)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2, 3, 3])
    for r in range(4):
        for i in range(2):
            np.testing.assert_array_equal(rotated[r * 2 + i], np.rot90(x[i], r, axes=(0, 1)))
    # A quarter turn counterclockwise: the top row becomes the left column, read upwards.
    np.testing.assert_array_equal(rotated[2, :, 0, 0], x[0, 0, ::-1, 0])


def test_rotation_terms_are_the_weighted_cross_entropy():
    probs = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.1, 0.1, 0.7]])
    labels = np.array([1, 3])
    ce = -(math.log(0.3) + math.log(0.7)) / 2
    loss, terms = ssgan.rotation_terms(
        jnp.log(jnp.asarray(probs)) + 4.0, jnp.asarray(labels), weight=0.2
    )
    np.testing.assert_allclose(terms["rotation_ce"], ce, rtol=1e-6)
    np.testing.assert_allclose(loss, 0.2 * ce, rtol=1e-6)
    np.testing.assert_allclose(terms["rotation"], loss)
    np.testing.assert_allclose(terms["rotation_acc"], 0.5)


# --- the critic -------------------------------------------------------------------------------


def test_ssgan_critic_has_a_rotation_head_and_ignores_labels():
    critic = ssgan.SSGANCritic(width=8)
    x = jax.random.normal(jax.random.key(1), (3, 16, 16, 1))
    variables = critic.init(jax.random.key(0), x, jnp.zeros(3, jnp.int32), train=False)
    logit, heads = critic.apply(variables, x, None, train=False)
    assert logit.shape == (3,) and set(heads) == {"rotation"}
    assert heads["rotation"].shape == (3, 4)
    again, _ = critic.apply(variables, x, jnp.array([1, 2, 3]), train=False)
    np.testing.assert_array_equal(logit, again)


def test_s3gan_critic_projects_the_features_on_the_label_embedding():
    critic = ssgan.SSGANCritic(width=8, num_classes=10)
    x = jax.random.normal(jax.random.key(1), (3, 16, 16, 1))
    variables = critic.init(jax.random.key(0), x, jnp.zeros(3, jnp.int32), train=False)
    base, heads = critic.apply(variables, x, None, train=False)
    assert heads["class"].shape == (3, 10)
    y = jnp.array([2, 5, 7])
    projected, _ = critic.apply(variables, x, y, train=False)
    # <embed(y), h> with h the flattened features the heads read.
    _, h = critic.apply(
        variables, x, None, train=False, method=lambda m, x, y, train: m.body(x, None, train)
    )
    h = np.asarray(h).reshape(3, -1)
    table = np.asarray(variables["params"]["embed"]["embedding"])
    np.testing.assert_allclose(
        projected - base, np.sum(table[np.asarray(y)] * h, axis=1), rtol=1e-4, atol=1e-4
    )
    # -1: the class head's own prediction.
    inferred, _ = critic.apply(variables, x, jnp.full(3, -1), train=False)
    argmax, _ = critic.apply(variables, x, jnp.argmax(heads["class"], -1), train=False)
    np.testing.assert_allclose(inferred, argmax, rtol=1e-6)


# --- the labelled subset ----------------------------------------------------------------------


def test_labelled_subset_takes_the_fraction_of_every_class_and_is_fixed():
    _, labels = data.digits_arrays(16)
    subset = s3gan.labelled_subset(labels, 0.1)
    np.testing.assert_array_equal(subset, s3gan.labelled_subset(labels, 0.1))
    assert len(np.unique(subset)) == len(subset)
    for c in range(10):
        members = np.sum(labels == c)
        assert np.sum(labels[subset] == c) == round(0.1 * members)
    assert len(s3gan.labelled_subset(labels, 0.001)) == 10  # at least one per class
    assert len(s3gan.labelled_subset(labels, 1.0)) == len(labels)
    assert not np.array_equal(subset, s3gan.labelled_subset(labels, 0.1, seed=1))


# --- the games' losses ------------------------------------------------------------------------


def test_ssgan_losses_are_the_adversarial_term_plus_the_rotation_terms():
    run0 = runs.build_run(
        tiny_config("ssgan", **{"game.d_rotation_weight": 0.0, "game.g_rotation_weight": 0.0})
    )
    run1 = runs.build_run(tiny_config("ssgan"))
    state = run1.init_state(jax.random.key(0))
    batch = first_batch(run1)
    _, d0 = steps.update(run0.game, run0.game.players[0], state, batch)
    _, d1 = steps.update(run1.game, run1.game.players[0], state, batch)
    np.testing.assert_allclose(d0["d/fake"], d1["d/fake"], rtol=1e-6)
    np.testing.assert_allclose(d0["d/rotation"], 0.0)
    np.testing.assert_allclose(d1["d/rotation"], 1.0 * d1["d/rotation_ce"], rtol=1e-6)
    np.testing.assert_allclose(
        d1["d/loss"], d1["d/real"] + d1["d/fake"] + d1["d/rotation"], rtol=1e-5
    )
    _, g1 = steps.update(run1.game, run1.game.players[1], state, batch)
    np.testing.assert_allclose(g1["g/rotation"], 0.2 * g1["g/rotation_ce"], rtol=1e-6)
    np.testing.assert_allclose(g1["g/loss"], g1["g/fake"] + g1["g/rotation"], rtol=1e-5)
    # The critic's update trains the rotation head.
    new, _ = steps.update(run1.game, run1.game.players[0], state, batch)
    before = state.nets["d"].params["rotation_out"]["kernel"]
    assert not np.array_equal(new.nets["d"].params["rotation_out"]["kernel"], before)


def test_s3gan_never_reads_the_data_streams_labels():
    run = runs.build_run(tiny_config("s3gan"))
    state = run.init_state(jax.random.key(0))
    batch = first_batch(run)
    shuffled = {**batch, "label": (batch["label"] + 3) % 10}
    for player in run.game.players:
        _, m = steps.update(run.game, player, state, batch)
        _, m_shuffled = steps.update(run.game, player, state, shuffled)
        for key in m:
            np.testing.assert_allclose(m[key], m_shuffled[key], rtol=1e-6, err_msg=key)


def test_s3gan_class_loss_is_the_cross_entropy_on_the_labelled_subset():
    run = runs.build_run(tiny_config("s3gan", **{"game.class_weight": 0.5}))
    state = run.init_state(jax.random.key(0))
    _, m = steps.update(run.game, run.game.players[0], state, first_batch(run))
    np.testing.assert_allclose(m["d/class"], 0.5 * m["d/class_labelled"], rtol=1e-6)
    np.testing.assert_allclose(
        m["d/loss"], m["d/real"] + m["d/fake"] + m["d/rotation"] + m["d/class"], rtol=1e-5
    )
    assert 0.0 <= float(m["d/class_acc_labelled"]) <= 1.0
    # An untrained 10-way head: about log 10 nats.
    assert abs(float(m["d/class_labelled"]) - math.log(10)) < 1.0


# --- config checks and the recipes --------------------------------------------------------------


@pytest.mark.parametrize(
    "recipe,key,value",
    [
        ("ssgan", "model.num_classes", 10),
        ("ssgan", "model.name", "resnet"),
        ("ssgan", "game.d_rotation_weight", -1.0),
        ("ssgan", "game.rotation_examples", -2),
        ("s3gan", "model.num_classes", 0),
        ("s3gan", "game.label_fraction", 0.0),
        ("s3gan", "game.label_fraction", 1.5),
        ("s3gan", "game.class_weight", float("nan")),
        ("s3gan", "game.g_rotation_weight", -0.1),
        ("s3gan", "data.name", "ring8"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(recipe, key, value):
    cfg = load_config(recipe, **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


@pytest.mark.parametrize("recipe,module", [("ssgan", ssgan), ("s3gan", s3gan)])
def test_the_recipes_are_the_registered_games(recipe, module):
    cfg = load_config(recipe)
    assert GAMES[cfg.game.name] is module
    assert dict(cfg.game) == {"name": recipe, **module.DEFAULTS, "rotation_examples": 16}
    assert cfg.model.num_classes == (10 if recipe == "s3gan" else 0)


@pytest.mark.slow
def test_ssgan_tiny_run_end_to_end_reports_the_headline(tmp_path):
    train.train_and_evaluate(tiny_config("ssgan"), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert 0.0 <= record["headline/rotation_accuracy"] <= 1.0
    assert np.isfinite(record["frechet_distance"])


def test_s3gan_tiny_run_end_to_end_reports_the_headline(tmp_path):
    train.train_and_evaluate(tiny_config("s3gan"), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["step"] == 3
    assert 0.0 <= record["headline/inferred_label_accuracy"] <= 1.0
    assert 0.0 <= record["headline/class_agreement"] <= 1.0
    assert np.isfinite(record["frechet_distance"])
