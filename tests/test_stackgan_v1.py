"""StackGAN v1 (gan_jax/games/stackgan_v1.py): the Stage-II generator's shapes and conditioning,
the losses of each stage on constructed critic outputs, which networks each stage trains, Stage-I
fixed (at its EMA copy) through Stage-II, resume across the stage change, config checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import leaves, load_config

from gan_jax import runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import stackgan_v1
from gan_jax.losses import get_objective
from gan_jax.models import pyramid as pyr


def tiny_config(steps_: int = 6, first: int = 3, **overrides):
    small = {"model.width": 4, "model.z_dim": 8, "game.embed_dim": 4, "game.ca_dim": 4}
    cfg = load_config("stackgan_v1", **{**small, **overrides})
    cfg.game.stage1_steps = first
    cfg.train.steps, cfg.train.batch_size = steps_, 8
    cfg.train.log_every, cfg.train.sample_every = 1, 0
    cfg.eval.num_samples, cfg.eval.every_steps, cfg.eval.at_start = 64, 0, False
    cfg.checkpoint.every_steps = steps_
    return cfg


def test_stage_two_doubles_the_stage_one_image_and_reads_the_condition():
    g = pyr.StageTwoGenerator(width=4, num_classes=3, embed_dim=4, ca_dim=2, blocks=1)
    coarse = jax.random.normal(jax.random.key(0), (2, 8, 8, 1))
    labels, eps = jnp.array([0, 0]), jnp.zeros((2, 2))
    variables = g.init(jax.random.key(1), coarse, labels, eps, train=False)
    image, (mu, logvar) = g.apply(variables, coarse, labels, eps, train=False)
    assert image.shape == (2, 16, 16, 1) and mu.shape == logvar.shape == (2, 2)
    assert float(jnp.abs(image).max()) <= 1.0
    # Another class, or another Stage-I image, changes the output.
    other, _ = g.apply(variables, coarse, jnp.array([2, 2]), eps, train=False)
    assert not np.allclose(image, other)
    swapped, _ = g.apply(variables, coarse[::-1], labels, eps, train=False)
    np.testing.assert_allclose(swapped, image[::-1], atol=1e-6)


def test_each_stage_trains_its_own_pair_of_networks():
    run = runs.build_run(tiny_config())
    assert set(run.game.networks) == {"g8", "d8", "g16", "d16"}
    assert run.game.stages == (3,)
    stage0, stage1 = run.game.at_stage(0), run.game.at_stage(1)
    assert [p.updates for p in stage0.players] == [("d8",), ("g8",)]
    assert [p.updates for p in stage1.players] == [("d16",), ("g16",)]
    assert [run.game.stage_of(t) for t in (0, 2, 3, 5)] == [0, 0, 1, 1]


class FixedCritic:
    """Stands in for the Context: every critic returns constant (uncond, cond) logits."""

    def __init__(self, out, g_out):
        self.out, self.g_out, self.calls = out, g_out, []

    def __call__(self, name, *inputs, train):
        self.calls.append((name, train))
        if name.startswith("d"):
            n = inputs[0].shape[0]
            u, c = self.out[name]
            return jnp.full((n,), u), jnp.full((n,), c)
        return self.g_out[name](*inputs)

    def normal(self, key, shape):
        return jnp.zeros(shape)

    def randint(self, key, shape, high):
        return jnp.zeros(shape, jnp.int32)


def test_the_losses_of_each_stage_on_constructed_critic_outputs():
    gc = stackgan_v1.DEFAULTS | {"ca_dim": 2, "uncond_weight": 0.5}
    gc = type("GC", (), gc)
    mu, logvar = jnp.ones((4, 2)), jnp.zeros((4, 2))  # KL = 0.5 * 2 * 1 = 1
    g_out = {
        "g8": lambda z, y, e: ((jnp.zeros((4, 8, 8, 1)),), (mu, logvar)),
        "g16": lambda x, y, e: (jnp.zeros((4, 16, 16, 1)), (mu, logvar)),
    }
    out = {"d8": (0.5, 1.0), "d16": (-1.0, 2.0)}
    batch = {"x": jnp.zeros((4, 16, 16, 1)), "label": jnp.zeros((4,), jnp.int32)}
    bound = dict(
        objective=get_objective(load_config("stackgan_v1").objective),
        gc=gc,
        names=("g8", "d8", "g16", "d16"),
        z_dim=3,
        k=10,
    )
    sp = jax.nn.softplus
    for stage, d in ((0, "d8"), (1, "d16")):
        u, c = out[d]
        ctx = FixedCritic(out, g_out)
        d_loss, _ = stackgan_v1.stage_loss(
            ctx, batch, jax.random.key(0), stage=stage, player="d", **bound
        )
        # BCE of the conditional logits plus 0.5 x that of the unconditional ones.
        want = sp(-c) + sp(c) + 0.5 * (sp(-u) + sp(u))
        np.testing.assert_allclose(d_loss, want, rtol=1e-6)
        assert {name for name, _ in ctx.calls if name.startswith("d")} == {d}
        g_loss, terms = stackgan_v1.stage_loss(
            ctx, batch, jax.random.key(0), stage=stage, player="g", **bound
        )
        np.testing.assert_allclose(terms["kl"], 1.0, rtol=1e-6)
        np.testing.assert_allclose(g_loss, sp(-c) + 0.5 * sp(-u) + 1.0, rtol=1e-6)
    # Stage II reads Stage I in inference mode (fixed) and trains its own generator.
    assert ("g8", False) in ctx.calls and ("g16", True) in ctx.calls


@pytest.mark.slow
def test_stage_one_is_fixed_at_its_ema_through_stage_two_and_resume_is_exact(tmp_path):
    cfg = tiny_config()
    straight = train.train_and_evaluate(cfg, tmp_path / "straight")
    at_change = train.train_and_evaluate(tiny_config(3), tmp_path / "stage1")  # Stage-I only
    # Stage I's generator is its EMA at the change, then unchanged; its critic untouched.
    for a, b in zip(leaves(straight.nets["g8"].params), leaves(at_change.ema["g8"]["params"])):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(leaves(straight.nets["d8"]), leaves(at_change.nets["d8"])):
        np.testing.assert_array_equal(a, b)
    # Stage II trained: its generator and critic moved from their initial values.
    init = runs.build_run(cfg).init_state(jax.random.key(cfg.seed))
    assert int(straight.nets["g16"].step) == 3 and int(init.nets["g16"].step) == 0
    for net in ("g16", "d16"):
        moved = [
            not np.array_equal(a, b)
            for a, b in zip(leaves(straight.nets[net].params), leaves(at_change.nets[net].params))
        ]
        assert any(moved)
    resumed = train.train_and_evaluate(cfg, tmp_path / "stage1")
    for a, b in zip(leaves(straight), leaves(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_samples_are_stage_one_upsampled_until_stage_two_trains():
    cfg = tiny_config()
    run = runs.build_run(cfg)
    state = run.init_state(jax.random.key(0))
    inputs = run.eval_inputs(4)
    coarse = steps.apply(state, "g8", inputs["z"], inputs["label"], inputs["eps"])[0][0]
    np.testing.assert_allclose(run.game.generate(state, inputs), pyr.upsample(coarse), atol=1e-6)
    later = state.replace(step=jnp.asarray(4, jnp.int32))
    fine, _ = steps.apply(state, "g16", coarse, inputs["label"], inputs["eps2"])
    np.testing.assert_allclose(run.game.generate(later, inputs), fine, atol=1e-6)


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"game.stage1_steps": 7}, "game.stage1_steps"),
        ({"model.num_classes": 0}, "model.num_classes"),
        ({"data.resolution": 8}, "data.resolution"),
        ({"game.kl_weight": -1.0}, "game.kl_weight"),
        ({"objective.penalty": "r1"}, "objective.penalty"),
    ],
)
def test_bad_configs_raise_one_config_error(overrides, key):
    cfg = tiny_config()
    for k, v in overrides.items():
        section, name = k.split(".")
        cfg[section][name] = v
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        runs.build_run(cfg)
