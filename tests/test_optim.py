"""Optimisers from config blocks: the constant and cosine learning rates."""

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import train
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
        ({"optim.g.schedule": "linear"}, "optim.g.schedule"),
        ({"optim.d.schedule": "cosine", "optim.d.decay_steps": 0}, "optim.d.decay_steps"),
    ],
)
def test_bad_schedule_keys(overrides, key):
    with pytest.raises(ConfigError) as err:
        train.build_run(load_config("nsgan", "ring8", **overrides))
    assert err.value.key == key
