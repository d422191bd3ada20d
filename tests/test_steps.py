"""The pure steps: determinism, jit == eager, one trace, the critic recipe details."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny

from gan_jax import steps, train


def build(name="nsgan", preset=None, seed=0, **overrides):
    cfg = tiny(load_config(name, preset, **overrides))
    cfg.seed = seed
    run = train.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(seed))
    batch_fn = jax.jit(
        functools.partial(
            train.sample_batches, run.dataset, cfg.train.d_steps, cfg.train.batch_size
        )
    )
    return cfg, run, state, batch_fn


def run_steps(run, state, batch_fn, n, jit=True):
    fn = steps.make_train_step(run.objective, run.config.model.z_dim, jit=jit)
    key = jax.random.fold_in(jax.random.key(run.config.seed), steps.ROLE_DATA)
    for i in range(n):
        state, metrics = fn(state, batch_fn(key, i))
    return state, metrics


def leaves(state):
    return [
        np.asarray(x)
        for x in jax.tree.leaves(
            (state.g.params, state.d.params, state.g.batch_stats, state.d.batch_stats)
        )
    ]


@pytest.mark.parametrize("name,preset", [("nsgan", None), ("wgan_gp", "ring8")])
def test_same_seed_same_parameters_other_seed_different(name, preset):
    a = run_steps(*build(name, preset, seed=0)[1:], 3)[0]
    b = run_steps(*build(name, preset, seed=0)[1:], 3)[0]
    c = run_steps(*build(name, preset, seed=1)[1:], 3)[0]
    for x, y in zip(leaves(a), leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(leaves(a), leaves(c)))


@pytest.mark.parametrize("name", ["nsgan", "wgan", "wgan_gp", "lsgan"])
def test_jit_and_eager_agree(name):
    _, run, state, batch_fn = build(name)
    jitted = run_steps(run, state, batch_fn, 2, jit=True)[0]
    _, run, state, batch_fn = build(name)
    with jax.disable_jit():
        eager = run_steps(run, state, batch_fn, 2, jit=False)[0]
    for x, y in zip(leaves(jitted), leaves(eager)):
        np.testing.assert_allclose(x, y, rtol=2e-4, atol=2e-5)


def test_train_step_traced_once_across_many_calls():
    _, run, state, batch_fn = build("wgan")
    fn = steps.make_train_step(run.objective, run.config.model.z_dim)
    key = jax.random.key(0)
    for i in range(6):
        state, _ = fn(state, batch_fn(key, i))
    assert fn._cache_size() == 1


def test_step_counters_and_metrics():
    cfg, run, state, batch_fn = build("wgan")
    state, metrics = run_steps(run, state, batch_fn, 2)
    assert int(state.step) == 2 and int(state.g.step) == 2
    assert int(state.d.step) == 2 * cfg.train.d_steps == 10
    for k in ("d/loss", "d/real", "d/fake", "d/grad_norm", "g/loss", "g/fake", "g/grad_norm"):
        assert metrics[k].shape == () and np.isfinite(metrics[k]), k


def test_weight_clipping_bounds_every_critic_weight():
    _, run, state, batch_fn = build("wgan", **{"objective.clip": 0.003})
    state, _ = run_steps(run, state, batch_fn, 1)
    top = max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(state.d.params))
    assert top <= 0.003 + 1e-9
    assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(state.g.params)) > 0.003


def test_gradient_penalty_reported_and_positive():
    _, run, state, batch_fn = build("wgan_gp")
    _, metrics = run_steps(run, state, batch_fn, 1)
    assert float(metrics["d/penalty"]) > 0
    np.testing.assert_allclose(
        metrics["d/loss"], metrics["d/real"] + metrics["d/fake"] + metrics["d/penalty"], rtol=1e-4
    )


def test_d_step_does_not_touch_generator_and_g_step_not_discriminator():
    cfg, run, state, batch_fn = build("nsgan")
    batch = jax.tree.map(lambda a: a[0], batch_fn(jax.random.key(0), 0))
    after_d, _ = steps.d_step(state, batch, objective=run.objective, z_dim=cfg.model.z_dim)
    for x, y in zip(jax.tree.leaves(state.g), jax.tree.leaves(after_d.g)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    after_g, _ = steps.g_step(state, batch, objective=run.objective, z_dim=cfg.model.z_dim)
    for x, y in zip(jax.tree.leaves(state.d), jax.tree.leaves(after_g.d)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
