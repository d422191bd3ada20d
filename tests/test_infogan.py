"""InfoGAN (gan_jax/games/infogan.py): the info loss in closed form, the code matching, the
critic's heads, config checks, and the loop's guarantees on the game (end to end, exact resume,
k steps per dispatch, 1 vs 8 devices)."""

from __future__ import annotations

import json
import math
import os
import pathlib
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from conftest import leaves, load_config, tiny_run

from gan_jax import checkpointing, divergence, runs, steps, train
from gan_jax.dispatch import make_dispatch
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, infogan

REPO = pathlib.Path(__file__).resolve().parents[1]


def tiny_config(steps_: int = 3, **overrides):
    sizes = {"model.width": 8, "model.z_dim": 8, "game.q_hidden": 16, "game.headline_samples": 5}
    return tiny_run("infogan", steps_, **{**sizes, **overrides})


# --- the info loss in closed form -------------------------------------------------------------


def test_categorical_info_loss_is_the_cross_entropy_of_q_against_the_code():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]])
    code = np.array([0, 2, 0])
    expected = -np.mean(np.log(probs[np.arange(3), code]))
    got = infogan.categorical_nll(jnp.log(jnp.asarray(probs)) + 3.0, jnp.asarray(code))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_gaussian_nll_is_the_factored_gaussian_log_density():
    rng = np.random.default_rng(0)
    mean, log_std = rng.normal(size=(5, 2)), rng.normal(size=(5, 2)) * 0.3
    cont = rng.uniform(-1, 1, size=(5, 2))
    expected = -scipy.stats.norm.logpdf(cont, mean, np.exp(log_std)).sum(axis=1).mean()
    got = infogan.gaussian_nll(jnp.asarray(mean), jnp.asarray(log_std), jnp.asarray(cont))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # Fixed std 1: 0.5 (c - mu)^2 + 0.5 log(2 pi) per code.
    fixed = infogan.gaussian_nll(jnp.asarray(mean), jnp.zeros((5, 2)), jnp.asarray(cont))
    closed = (0.5 * (cont - mean) ** 2 + 0.5 * math.log(2 * math.pi)).sum(1).mean()
    np.testing.assert_allclose(fixed, closed, rtol=1e-5)


def test_info_terms_weight_the_two_parts_and_report_the_bound():
    logits = jnp.log(jnp.array([[0.9, 0.05, 0.05], [0.2, 0.2, 0.6]]))
    q = {"logits": logits, "mean": jnp.array([[0.5], [0.0]]), "log_std": jnp.zeros((2, 1))}
    extra = {"code": jnp.array([0, 1]), "cont": jnp.array([[0.0], [1.0]])}
    loss, terms = infogan.info_terms(q, extra, info_weight=2.0, continuous_weight=0.1)
    ce = -(math.log(0.9) + math.log(0.2)) / 2
    nll = (0.5 * 0.25 + 0.5 * 1.0) / 2 + 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(terms["info_cat"], ce, rtol=1e-6)
    np.testing.assert_allclose(terms["info_cont"], nll, rtol=1e-6)
    np.testing.assert_allclose(loss, 2.0 * (ce + 0.1 * nll), rtol=1e-6)
    np.testing.assert_allclose(terms["info"], loss)
    np.testing.assert_allclose(terms["mi_bound"], math.log(3) - ce, rtol=1e-6)
    np.testing.assert_allclose(terms["code_acc"], 0.5)  # argmax of row 2 is 2, not 1


# --- the code matching --------------------------------------------------------------------


def test_a_permuted_perfect_classifier_has_code_accuracy_one():
    perm = np.random.default_rng(1).permutation(10)
    codes = np.repeat(np.arange(10), 7)
    result = infogan.code_matching(codes, perm[codes], 10, 10)
    assert result == {"code_accuracy": 1.0, "code_purity": 1.0, "code_classes": 10}
    confusion = infogan.confusion_matrix(codes, perm[codes], 10, 10)
    np.testing.assert_array_equal(infogan.matched_classes(confusion), perm)


def test_code_matching_is_one_to_one_and_purity_many_to_one():
    # Codes 0 and 1 both mostly draw class 0: only one of them may be matched to it.
    codes = np.array([0] * 10 + [1] * 10 + [2] * 10)
    preds = np.array([0] * 8 + [1] * 2 + [0] * 6 + [2] * 4 + [2] * 10)
    result = infogan.code_matching(codes, preds, 3, 3)
    # Best one-to-one: 0->0 (8), 1->1 (0), 2->2 (10) = 18, or 0->1 (2), 1->0 (6), 2->2 = 18.
    assert result["code_accuracy"] == pytest.approx(18 / 30)
    assert result["code_purity"] == pytest.approx((8 + 6 + 10) / 30)
    assert result["code_classes"] == 2


# --- the critic, the latent and the config checks --------------------------------------------


@pytest.mark.parametrize("learn_std", [False, True])
def test_critic_returns_the_logit_and_the_code_parameters(learn_std):
    critic = infogan.InfoGANCritic(width=8, q_hidden=16, learn_std=learn_std)
    x = jnp.zeros((3, 16, 16, 1))
    variables = critic.init(jax.random.key(0), x, None, train=False)
    logit, q = critic.apply(variables, x, None, train=False)
    assert logit.shape == (3,)
    assert q["logits"].shape == (3, 10) and q["mean"].shape == (3, 2)
    assert q["log_std"].shape == (3, 2)
    assert variables["params"]["q_out"]["kernel"].shape == (16, 10 + 2 * (1 + learn_std))
    if not learn_std:
        np.testing.assert_array_equal(q["log_std"], 0.0)


def test_eval_inputs_cycle_the_code_and_the_generator_draws_them():
    run = runs.build_run(tiny_config())
    inputs = run.eval_inputs(25)
    np.testing.assert_array_equal(inputs["code"], np.arange(25) % 10)
    assert inputs["z"].shape == (25, 8) and inputs["cont"].shape == (25, 2)
    assert float(jnp.abs(inputs["cont"]).max()) <= 1.0
    state = run.init_state(jax.random.key(0))
    images = runs.sample_images(run, state, 25)
    assert images.shape == (25, 16, 16, 1)
    # G's input is z + one-hot(10) + 2 continuous codes.
    assert state.nets["g"].params["project"]["kernel"].shape[0] == 8 + 10 + 2


def test_uniform_noise_is_in_the_unit_box():
    run = runs.build_run(tiny_config(**{"game.noise": "uniform"}))
    z = np.asarray(run.eval_inputs(200)["z"])
    assert z.min() >= -1.0 and z.max() <= 1.0 and z.std() == pytest.approx(1 / 3**0.5, rel=0.1)


def test_game_has_the_classic_players_and_the_info_terms_in_both_losses():
    run = runs.build_run(tiny_config())
    assert [(p.name, p.role, p.updates) for p in run.game.players] == [
        ("d", steps.ROLE_D, ("d",)),
        ("g", steps.ROLE_G, ("g",)),
    ]
    state = run.init_state(jax.random.key(0))
    new, metrics = steps.make_train_step(run.game)(
        jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0)
    )
    for player in ("d", "g"):
        for term in ("info", "info_cat", "info_cont", "mi_bound", "code_acc"):
            assert f"{player}/{term}" in metrics
    # The critic player trains Q's head; the generator player leaves the critic alone.
    q_before = state.nets["d"].params["q_out"]["kernel"]
    assert not np.array_equal(new.nets["d"].params["q_out"]["kernel"], q_before)


def test_the_generator_loss_is_the_adversarial_term_plus_lambda_times_the_info_loss():
    """The adversarial part does not depend on lambda; lambda = 0 removes the info term."""
    run0 = runs.build_run(tiny_config(**{"game.info_weight": 0.0}))
    run1 = runs.build_run(tiny_config(**{"game.info_weight": 1.0}))
    state = run1.init_state(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run1.sample_batches(run1.data_key(), 0))
    _, m0 = steps.update(run0.game, run0.game.players[1], state, batch)
    _, m1 = steps.update(run1.game, run1.game.players[1], state, batch)
    np.testing.assert_allclose(m0["g/fake"], m1["g/fake"], rtol=1e-6)
    np.testing.assert_allclose(m0["g/info"], 0.0)
    np.testing.assert_allclose(m1["g/loss"], m1["g/fake"] + m1["g/info"], rtol=1e-5)
    assert float(m1["g/info_cat"]) > 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"objective.name": "wasserstein_gp", "model.d_norm": "layer"},  # a penalty on (logit, q)
        {"objective.name": "relativistic_average", "game.learn_std": True},  # reads D(x)
    ],
)
def test_other_objectives_train_with_the_info_terms(overrides):
    run = runs.build_run(tiny_config(**overrides))
    state = jax.jit(run.init_state)(jax.random.key(0))
    _, metrics = steps.make_train_step(run.game)(state, run.sample_batches(run.data_key(), 0))
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert "d/info_cat" in metrics and "g/info_cont" in metrics


@pytest.mark.parametrize(
    "key,value",
    [
        ("model.num_classes", 10),
        ("model.name", "resnet"),
        ("game.info_weight", -0.5),
        ("game.continuous_weight", float("nan")),
        ("game.num_categories", 1),
        ("game.num_continuous", -1),
        ("game.q_hidden", 0),
        ("game.noise", "laplace"),
        ("game.headline_samples", 0),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("infogan", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


def test_the_recipe_is_the_registered_game_with_its_defaults():
    cfg = load_config("infogan")
    assert GAMES[cfg.game.name] is infogan
    assert dict(cfg.game) == {"name": "infogan", **infogan.DEFAULTS}
    assert cfg.objective.name == "non_saturating" and cfg.model.z_dim == 62


# --- the loop on the game -----------------------------------------------------------------


def test_tiny_run_end_to_end_reports_the_headline(tmp_path):
    train.train_and_evaluate(tiny_config(3), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["step"] == 3
    assert 0.0 <= record["headline/code_accuracy"] <= record["headline/code_purity"] <= 1.0
    assert 1 <= record["headline/code_classes"] <= 10
    assert np.isfinite(record["frechet_distance"])
    assert (tmp_path / "samples" / "step_0000003.png").is_file()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("g/info_cat" in r for r in lines)
    # gan_jax.evaluate (its library call) and gan_jax.sample (the CLI) work on the run.
    from gan_jax.evaluate import evaluate_checkpoint

    again = evaluate_checkpoint(tmp_path, 64)
    assert again["headline/code_accuracy"] == record["headline/code_accuracy"]
    out = tmp_path / "s.npy"
    cmd = [sys.executable, "-m", "gan_jax.sample", f"--workdir={tmp_path}", "--num=12"]
    proc = subprocess.run(
        [*cmd, f"--out={out}"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.load(out).shape == (12, 16, 16, 1)


def test_resume_is_bit_identical_to_a_straight_run(tmp_path, capsys):
    cfg = tiny_config(8)
    cfg.checkpoint.every_steps = 4
    straight = train.train_and_evaluate(cfg, tmp_path)
    shutil.rmtree(checkpointing.checkpoint_dir(tmp_path) / "8")
    capsys.readouterr()
    resumed = train.train_and_evaluate(cfg, tmp_path)
    assert "resuming from the checkpoint at step 4" in capsys.readouterr().out
    assert int(resumed.step) == 8
    assert straight.nets["d"].batch_stats["q_norm"]  # Q's BatchNorm statistics are included
    for x, y in zip(leaves(straight), leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_two_steps_per_dispatch_equal_two_dispatches_of_one():
    run = runs.build_run(tiny_config())
    state = jax.jit(run.init_state)(jax.random.key(0))
    guard = divergence.init_guard()
    two, _, m2 = make_dispatch(run, 2)(jax.tree.map(jnp.copy, state), guard)
    one = make_dispatch(run, 1)
    single, g1 = state, guard
    for _ in range(2):
        single, g1, m1 = one(single, g1)
    assert int(two.step) == int(single.step) == 2
    for x, y in zip(leaves(two), leaves(single), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    for key in m1:
        np.testing.assert_allclose(m2[key], m1[key], rtol=1e-5, atol=1e-6)


DEVICES_SCRIPT = """
import sys
import jax, numpy as np
sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
from test_infogan import tiny_config, leaves
from gan_jax import divergence, runs, sharding
from gan_jax.dispatch import make_dispatch
assert jax.device_count() == 8, jax.devices()
cfg = tiny_config()
cfg.train.batch_size = 16
run = runs.build_run(cfg)
out = {{}}
for n in (1, 8):
    mesh = sharding.make_mesh(jax.devices()[:n])
    rep = sharding.replicated(mesh)
    state = jax.jit(run.init_state, out_shardings=rep)(jax.random.key(0))
    guard = jax.jit(divergence.init_guard, out_shardings=rep)()
    dispatch = make_dispatch(run, 1, mesh)
    for _ in range(3):
        state, guard, _ = dispatch(state, guard)
    for i, leaf in enumerate(leaves(state)):
        out[f"{{n}}_{{i}}"] = leaf
for i, leaf in enumerate(leaves(jax.jit(run.init_state)(jax.random.key(0)))):
    out[f"init_{{i}}"] = leaf
np.savez({out!r}, **out)
"""


@pytest.mark.slow
def test_one_and_eight_devices_train_the_same_parameters(tmp_path):
    out = tmp_path / "states.npz"
    script = DEVICES_SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests"), out=str(out))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as z:
        n = len(z.files) // 3
        moved = 0
        for i in range(n):
            np.testing.assert_allclose(z[f"8_{i}"], z[f"1_{i}"], rtol=1e-4, atol=1e-6)
            moved += not np.array_equal(z[f"1_{i}"], z[f"init_{i}"])
        assert moved > n // 2  # trained states, not two equal initialisations
