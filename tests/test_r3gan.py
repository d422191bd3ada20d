"""R3GAN (Huang et al. 2024): the relativistic pairing loss, R1 + R2 and lazy regularisation,
against hand-computed cases, through the classic game's critic update, and the recipe."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny

from gan_jax import losses, runs, steps, train, validation
from gan_jax.errors import ConfigError

REAL = jnp.array([2.0, -1.0, 0.5, 3.0])
FAKE = jnp.array([-2.0, 0.3, 1.5, -0.7])


def softplus(x):
    return np.log1p(np.exp(np.asarray(x, np.float64)))


def test_pairing_losses_closed_form():
    d, terms = losses.relativistic_pairing_d_loss(REAL, FAKE)
    np.testing.assert_allclose(d, np.mean(softplus(-(REAL - FAKE))), rtol=1e-6)
    np.testing.assert_allclose(d, terms["real"] + terms["fake"], rtol=1e-6)
    np.testing.assert_allclose(terms["margin"], np.mean(REAL - FAKE), rtol=1e-6)
    g, g_terms = losses.relativistic_pairing_g_loss(REAL, FAKE)
    np.testing.assert_allclose(g, np.mean(softplus(-(FAKE - REAL))), rtol=1e-6)
    np.testing.assert_allclose(g, g_terms["real"] + g_terms["fake"], rtol=1e-6)


def test_pairing_judges_each_real_sample_against_its_own_fake():
    """Pairs matter (the average loss only sees batch means): reordering the fakes changes the
    pairing loss and leaves RaSGAN's unchanged; a constant added to C changes neither."""
    shuffled = FAKE[jnp.array([2, 0, 3, 1])]
    pair, pair_shuffled = (losses.relativistic_pairing_d_loss(REAL, f)[0] for f in (FAKE, shuffled))
    assert abs(float(pair) - float(pair_shuffled)) > 1e-2
    avg, avg_shuffled = (losses.relativistic_average_d_loss(REAL, f)[0] for f in (FAKE, shuffled))
    np.testing.assert_allclose(avg, avg_shuffled, rtol=1e-6)
    shifted = losses.relativistic_pairing_d_loss(REAL + 7.0, FAKE + 7.0)[0]
    np.testing.assert_allclose(shifted, pair, rtol=1e-6)


def test_pairing_gradients_finite_at_extreme_logits():
    x = jnp.full((4,), 80.0)
    for loss in (losses.relativistic_pairing_d_loss, losses.relativistic_pairing_g_loss):
        value, grads = jax.value_and_grad(lambda r, f, loss=loss: loss(r, f)[0], (0, 1))(x, -x)
        assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


def quadratic_critic(x):
    """D(x) = 1/2 ||x||^2 per sample: grad_x D = x, so ||grad||^2 = ||x||^2."""
    return 0.5 * jnp.sum(jnp.square(x.reshape(x.shape[0], -1)), axis=-1)


def test_r1_r2_is_gamma_over_two_on_real_plus_gamma_over_two_on_fake():
    real = jnp.array([[1.0, 2.0], [0.0, -1.0]])  # ||x||^2: 5, 1 -> mean 3
    fake = jnp.array([[3.0, 0.0], [1.0, 1.0]])  # 9, 2 -> mean 5.5
    key = jax.random.key(0)
    pen, terms = losses.r1_r2_penalty(quadratic_critic, real, fake, key, gamma=4.0)
    np.testing.assert_allclose(terms["r1"], 2.0 * 3.0, rtol=1e-6)
    np.testing.assert_allclose(terms["r2"], 2.0 * 5.5, rtol=1e-6)
    np.testing.assert_allclose(pen, 2.0 * (3.0 + 5.5), rtol=1e-6)
    r1 = losses.r1_penalty(quadratic_critic, real, fake, key, gamma=4.0)[0]
    r2 = losses.r2_penalty(quadratic_critic, real, fake, key, gamma=4.0)[0]
    np.testing.assert_allclose(pen, r1 + r2, rtol=1e-6)
    bound = losses.get_objective(
        {"name": "relativistic_pairing", "penalty": "r1_r2", "penalty_weight": 4.0}
    )
    np.testing.assert_allclose(bound.penalty(quadratic_critic, real, fake, key)[0], pen)


def linear_penalty_of(use_cond):
    """R1 of D(x) = w . x: gamma / 2 * ||w||^2 on every sample, differentiable in w."""
    real = jnp.ones((3, 2))

    def value(w, counter, every):
        critic = lambda x: x @ w  # noqa: E731
        r1 = functools.partial(losses.r1_penalty, gamma=2.0)
        key = jax.random.key(0)
        return losses.lazy_penalty(r1, every, critic, real, real, key, counter, use_cond=use_cond)

    return value


@pytest.mark.parametrize("use_cond", [True, False])
@pytest.mark.parametrize("every", [1, 4])
def test_lazy_penalty_applies_every_nth_update_scaled_by_n(every, use_cond):
    """Both ways of skipping it (lax.cond, masking) give the same numbers."""
    w = jnp.array([1.0, 2.0])  # ||w||^2 = 5: R1 = 5 at gamma 2
    value = jax.jit(linear_penalty_of(use_cond), static_argnums=2)
    per_counter = [float(value(w, c, every)[0]) for c in range(8)]
    expected = [5.0 * every if c % every == 0 else 0.0 for c in range(8)]
    np.testing.assert_allclose(per_counter, expected, rtol=1e-6)
    np.testing.assert_allclose(np.mean(per_counter), 5.0, rtol=1e-6)  # the penalty on average
    terms = value(w, 1, every)[1]
    assert set(terms) == {"penalty", "real_grad_norm"}
    # The gradient: `every` times R1's (2 w) on the updates it runs, nothing between.
    grad = jax.grad(lambda w, c: value(w, c, every)[0])
    np.testing.assert_allclose(grad(w, 0), every * 2.0 * w, rtol=1e-6)
    np.testing.assert_allclose(grad(w, 1), (2.0 * w) if every == 1 else jnp.zeros(2), atol=1e-7)


def test_penalty_every_config_key():
    obj = losses.get_objective({"name": "hinge", "penalty": "r1", "penalty_every": 16})
    assert obj.penalty_every == 16
    assert losses.get_objective({"name": "hinge", "penalty": "r1"}).penalty_every == 1
    with pytest.raises(ConfigError, match="objective.penalty_every=0.*positive integer"):
        losses.get_objective({"name": "hinge", "penalty": "r1", "penalty_every": 0})
    with pytest.raises(ConfigError, match="objective.penalty_every=4.*penalty='none'"):
        losses.get_objective({"name": "hinge", "penalty_every": 4})


def build(preset="ring8", **overrides):
    cfg = tiny(load_config("r3gan", preset, **overrides))
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    (critic,) = [p for p in run.game.players if p.name == "d"]
    return cfg, run, state, jax.jit(functools.partial(steps.update, run.game, critic))


def test_lazy_r1_r2_through_the_critic_update_counts_critic_updates():
    """With train.d_steps = 2 and penalty_every = 2, the critic's update counter (ctx.counter),
    not the train step, schedules the penalty: update 0 of every train step applies it."""
    cfg, run, state, update = build(**{"objective.penalty_every": 2, "train.d_steps": 2})
    batches = runs.sample_batches(run.dataset, 2, cfg.train.batch_size, jax.random.key(1), 0)
    first = jax.tree.map(lambda a: a[0], batches)
    penalties = []
    for i in range(4):
        state, metrics = update(state, jax.tree.map(lambda a, i=i: a[i % 2], batches))
        penalties.append(float(metrics["d/penalty"]))
        parts = metrics["d/real"] + metrics["d/fake"] + metrics["d/penalty"]
        np.testing.assert_allclose(metrics["d/loss"], parts, rtol=1e-5)
    assert penalties[0] > 0 and penalties[2] > 0 and penalties[1] == 0 and penalties[3] == 0
    # At counter 0: twice the penalty of the same critic and batch without lazy regularisation.
    _, _, fresh, lazy_update = build(**{"objective.penalty_every": 2})
    _, _, _, plain_update = build()
    lazy = lazy_update(fresh, first)[1]["d/penalty"]
    np.testing.assert_allclose(lazy, 2 * plain_update(fresh, first)[1]["d/penalty"], rtol=1e-5)
    np.testing.assert_allclose(lazy, penalties[0], rtol=1e-5)


def test_recipe_is_rpgan_with_r1_and_r2_and_refuses_a_batchnorm_critic():
    cfg = load_config("r3gan")
    assert (cfg.objective.name, cfg.objective.penalty) == ("relativistic_pairing", "r1_r2")
    assert cfg.model.d_norm == "none" and cfg.optim.d.b1 == 0.0
    validation.validate(cfg)
    cfg.model.d_norm = "batch"
    with pytest.raises(ConfigError, match="model.d_norm='batch'.*penalty='r1_r2'"):
        validation.validate(cfg)


def test_recipe_trains_end_to_end_on_grid25(tmp_path):
    cfg = tiny(load_config("r3gan", "grid25"))
    cfg.eval.every_steps, cfg.eval.at_start, cfg.checkpoint.every_steps = 0, False, 3
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 3 and int(state.nets["d"].step) == 3


@pytest.mark.slow
def test_grid25_experiment_runs_and_writes_its_table(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    command = [sys.executable, "-m", "experiments.r3gan_grid25", "--seeds=1", "--steps=4"]
    command += ["--arms=r1_r2,lazy4", f"--runs_dir={tmp_path / 'runs'}", f"--results={tmp_path}"]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True, timeout=600)
    table = (tmp_path / "r3gan_grid25.md").read_text()
    assert "RpGAN + R1 + R2 (configs/r3gan.py)" in table and "lazy" in table
    assert (tmp_path / "r3gan_grid25.png").is_file()
