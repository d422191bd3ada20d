"""Optimisers from config blocks: constant, cosine and linear learning rates, Adam betas, and
separate learning rates for the generator and the critic (TTUR)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs, steps
from gan_jax.errors import ConfigError
from gan_jax.optim import learning_rate, make_optimizer


def test_cosine_schedule_decays_to_zero_over_decay_steps():
    lr = learning_rate({"lr": 1e-3, "schedule": "cosine", "decay_steps": 100})
    np.testing.assert_allclose([lr(0), lr(50), lr(100), lr(150)], [1e-3, 5e-4, 0.0, 0.0], atol=1e-9)
    assert learning_rate({"lr": 1e-3}) == 1e-3


def test_cosine_adam_steps_shrink_to_nothing():
    tx = make_optimizer({"name": "adam", "lr": 0.1, "schedule": "cosine", "decay_steps": 4})
    params = jnp.zeros(3)
    state = tx.init(params)
    sizes = []
    for _ in range(5):
        updates, state = tx.update(jnp.ones(3), state, params)
        sizes.append(float(jnp.abs(updates).max()))
    assert sizes[0] == pytest.approx(0.1, rel=1e-3) and sizes[-1] == 0.0
    assert all(a > b for a, b in zip(sizes[:4], sizes[1:4]))


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"optim.g.schedule": "step"}, "optim.g.schedule"),
        ({"optim.d.schedule": "cosine", "optim.d.decay_steps": 0}, "optim.d.decay_steps"),
    ],
)
def test_bad_schedule_keys(overrides, key):
    with pytest.raises(ConfigError) as err:
        runs.build_run(load_config("nsgan", "ring8", **overrides))
    assert err.value.key == key


def test_linear_schedule_decays_to_zero_over_decay_steps():
    lr = learning_rate({"lr": 1e-3, "schedule": "linear", "decay_steps": 100})
    np.testing.assert_allclose(
        [lr(0), lr(25), lr(50), lr(100), lr(150)], [1e-3, 7.5e-4, 5e-4, 0.0, 0.0], atol=1e-9
    )


def test_linear_sgd_steps_follow_the_schedule():
    tx = make_optimizer({"name": "sgd", "lr": 0.1, "schedule": "linear", "decay_steps": 4})
    params = jnp.zeros(3)
    state = tx.init(params)
    sizes = []
    for _ in range(6):
        updates, state = tx.update(jnp.ones(3), state, params)
        sizes.append(float(jnp.abs(updates).max()))
    np.testing.assert_allclose(sizes, [0.1, 0.075, 0.05, 0.025, 0.0, 0.0], atol=1e-7)


def test_adam_betas_reach_the_optimiser():
    # Adam's second step with b1=0 moves by lr * g2 / sqrt(b2 v1 + (1-b2) g2^2) / bias terms; a
    # different b1 gives a different step, so the block's betas are the ones in use.
    def second_step(b1, b2):
        tx = make_optimizer({"name": "adam", "lr": 1.0, "b1": b1, "b2": b2})
        params = jnp.zeros(1)
        state = tx.init(params)
        _, state = tx.update(jnp.ones(1), state, params)
        updates, _ = tx.update(jnp.full(1, 3.0), state, params)
        return float(updates[0])

    # b1=0: m2 = 3; v2 = b2 + (1 - b2) 9 over (1 - b2^2); step = -m2 / sqrt(v2_hat).
    b2 = 0.9
    v_hat = (b2 * (1 - b2) * 1 + (1 - b2) * 9) / (1 - b2**2)
    assert second_step(0.0, b2) == pytest.approx(-3.0 / np.sqrt(v_hat), rel=1e-4)
    assert second_step(0.5, b2) != pytest.approx(second_step(0.0, b2), rel=1e-3)


def test_separate_learning_rates_for_generator_and_critic():
    """TTUR through the trainer: Adam's first step moves every parameter by ~ its block's lr."""
    cfg = load_config(
        "nsgan", "ring8", **{"optim.g.lr": 1e-3, "optim.d.lr": 4e-3, "model.g_hidden": (16,)}
    )
    cfg.model.d_hidden = (16,)
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(0))
    step = steps.make_train_step(run.game)
    batches = runs.sample_batches(run.dataset, 1, cfg.train.batch_size, jax.random.key(1), 0)
    new, _ = step(jax.tree.map(lambda a: a.copy(), state), batches)
    for net, lr in (("g", 1e-3), ("d", 4e-3)):
        before, after = state.nets[net].params, new.nets[net].params
        moves = np.concatenate(
            [
                np.abs(np.asarray(a - b)).ravel()
                for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(before))
            ]
        )
        assert moves.max() == pytest.approx(lr, rel=1e-3), net
