"""ComboGAN (gan_jax/games/combogan.py): its losses on constructed inputs, parameters linear in
the number of domains, the checks, and a tiny run end to end."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs, train, validation
from gan_jax.errors import ConfigError
from gan_jax.games import combogan

SHIFT = [0.0, 0.3, -0.2]  # domain d's encoder subtracts SHIFT[d], its decoder adds it (+ 0.1)
PATCH = [0.5, -1.0, 2.0]  # critic d scores every patch PATCH[d]


class StubContext:
    def __init__(self, nets):
        self.nets = nets

    def __call__(self, name, *inputs, train):
        return self.nets[name](*inputs)


def stub_nets(n: int) -> dict:
    nets = {}
    for d in range(n):
        nets[f"enc_{d}"] = lambda x, d=d: x - SHIFT[d]
        nets[f"dec_{d}"] = lambda z, d=d: z + SHIFT[d] + 0.1  # each decode adds 0.1 of error
        nets[f"d_{d}"] = lambda x, d=d: jnp.full((x.shape[0], 2, 2, 1), PATCH[d])
    return nets


def test_blocks_slice_the_batch_by_domain():
    x = jnp.arange(6.0)
    assert [b.tolist() for b in combogan.blocks(x, 3)] == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.parametrize("n", [2, 3])
def test_generator_loss_closed_form(n):
    x = jax.random.uniform(jax.random.key(0), (2 * n, 8, 8, 1), minval=-1, maxval=1)
    loss, terms = combogan.generator_loss(
        StubContext(stub_nets(n)), {"x": x}, jax.random.key(1), num_domains=n, cycle_weight=10.0
    )
    # The cycle decodes twice: 0.2 per pixel on every pair; doubled: 0.4.
    assert float(terms["cycle"]) == pytest.approx(0.4, rel=1e-5)
    # Every target j appears in N - 1 pairs: the mean over pairs is the mean over targets.
    adv = 2 * np.mean([(PATCH[j] - 1) ** 2 for j in range(n)])
    assert float(terms["adv"]) == pytest.approx(adv, rel=1e-6)
    assert float(loss) == pytest.approx(adv + 10 * 0.4, rel=1e-5)


def test_two_domains_are_cyclegans_loss():
    # N = 2: both directions summed, exactly CycleGAN's generator loss without identity.
    from gan_jax.games import cyclegan

    x = jax.random.uniform(jax.random.key(0), (4, 8, 8, 1), minval=-1, maxval=1)
    nets = stub_nets(2)
    combo, _ = combogan.generator_loss(
        StubContext(nets), {"x": x}, jax.random.key(1), num_domains=2, cycle_weight=10.0
    )
    cycle_nets = {
        "g_ab": lambda a: nets["dec_1"](nets["enc_0"](a)),
        "g_ba": lambda b: nets["dec_0"](nets["enc_1"](b)),
        "d_a": nets["d_0"],
        "d_b": nets["d_1"],
    }
    reference, _ = cyclegan.generator_loss(
        StubContext(cycle_nets),
        {"a": x[:2], "b": x[2:]},
        jax.random.key(1),
        cycle_weight=10.0,
        identity_weight=0.0,
    )
    assert float(combo) == pytest.approx(float(reference), rel=1e-6)


def test_discriminator_loss_closed_form():
    n = 3
    x = jnp.zeros((2 * n, 8, 8, 1))
    loss, terms = combogan.discriminator_loss(
        StubContext(stub_nets(n)), {"x": x}, jax.random.key(0), num_domains=n
    )
    per = [0.5 * (c - 1) ** 2 + 0.5 * c**2 for c in PATCH]
    assert float(terms["1_real"]) == pytest.approx(0.5 * 4.0)
    assert float(loss) == pytest.approx(2 * sum(per) / n, rel=1e-6)


def count_params(domains: str) -> int:
    cfg = load_config("combogan", **{"data.domains": domains, "train.batch_size": 12})
    state = jax.eval_shape(runs.build_run(cfg).init_state, jax.random.key(0))
    return sum(int(np.size(x)) for ms in state.nets.values() for x in jax.tree.leaves(ms.params))


def test_parameters_grow_linearly_with_the_domains():
    two = count_params("identity,invert")
    three = count_params("identity,invert,rot90")
    four = count_params("identity,invert,rot90,thicken")
    assert three - two == four - three == two // 2 > 0  # one encoder, decoder and critic each


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("data.name", "digits", "data.name"),
        ("game.enc_blocks", -1, "game.enc_blocks"),
        ("train.d_steps", 2, "train.d_steps"),
        ("data.domains", "identity,identity", "data.domains"),
    ],
)
def test_check_refuses_what_combogan_cannot_train(key, value, match):
    cfg = load_config("combogan", **{key: value})
    with pytest.raises(ConfigError, match=match):
        validation.validate(cfg)


@pytest.mark.slow
def test_end_to_end_train_and_headline(tmp_path, digits_classifier):
    cfg = load_config(
        "combogan",
        **{
            "game.g_width": 4,
            "game.enc_blocks": 1,
            "game.dec_blocks": 0,
            "game.d_width": 4,
            "data.domains": "identity,invert,rot90",
        },
    )
    cfg.train.batch_size, cfg.train.steps = 6, 2
    cfg.train.log_every, cfg.train.sample_every, cfg.checkpoint.every_steps = 1, 2, 2
    cfg.eval.every_steps, cfg.eval.at_start = 2, False
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 2 and sorted(state.nets)[:3] == ["d_0", "d_1", "d_2"]
    final = json.loads((tmp_path / "eval.json").read_text())
    pairs = [k for k in final if k.startswith("headline/class_preservation_")]
    assert len(pairs) == 6 and 0 < final["headline/rec_l1"] < 2
