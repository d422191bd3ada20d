"""CoGAN (gan_jax/games/cogan.py): the coupled losses and the pair measures on constructed
inputs, the weight sharing, config checks and a tiny run end to end with its headline."""

from __future__ import annotations

import json

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny_run

from gan_jax import runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, cogan
from gan_jax.losses import get_objective


def tiny_config(preset=None, steps_: int = 2, **overrides):
    sizes = {"model.width": 8, "model.z_dim": 8, "game.headline_samples": 40}
    return tiny_run("cogan", steps_, preset, **{**sizes, **overrides})


class StubContext:
    def __init__(self, nets):
        self.nets = nets

    def __call__(self, name, *inputs, train):
        return self.nets[name](*inputs)

    def normal(self, key, shape):
        return jax.random.normal(key, shape)


def test_coupled_losses_are_the_two_domains_games_added():
    # G_A(z) = 0.5, G_B(z) = -0.5; each critic scores an image by its mean pixel.
    mean = lambda x: jnp.mean(x, axis=(1, 2, 3))
    nets = {
        "g": lambda z, labels: (
            jnp.full((z.shape[0], 4, 4, 1), 0.5),
            jnp.full((z.shape[0], 4, 4, 1), -0.5),
        ),
        "d": lambda a, b: (mean(a), -mean(b)),
    }
    batch = {"a": jnp.ones((3, 4, 4, 1)), "b": -jnp.ones((3, 4, 4, 1))}
    obj = get_objective({"name": "non_saturating", "penalty": "none"})
    sp = jax.nn.softplus
    loss, terms = cogan.critic_loss(
        StubContext(nets), batch, jax.random.key(0), objective=obj, z_dim=2
    )
    # Real scores 1 (both domains), fake scores 0.5: softplus(-1) + softplus(0.5) per domain.
    np.testing.assert_allclose(terms["a/real"], sp(-1.0), rtol=1e-6)
    np.testing.assert_allclose(terms["b/fake"], sp(0.5), rtol=1e-6)
    np.testing.assert_allclose(loss, 2 * (sp(-1.0) + sp(0.5)), rtol=1e-6)
    loss, terms = cogan.generator_loss(
        StubContext(nets), batch, jax.random.key(0), objective=obj, z_dim=2
    )
    np.testing.assert_allclose(loss, 2 * sp(-0.5), rtol=1e-6)


def test_pair_metrics_on_constructed_pairs():
    class_a = np.array([0, 1, 2, 3])
    class_b = np.array([0, 1, 2, 4])
    l1 = np.array([0.1, 0.3, 0.2, 0.0])
    out = cogan.pair_metrics(class_a, class_b, l1, threshold=0.25)
    assert out["same_digit"] == 0.75
    assert out["transform_l1"] == pytest.approx(0.15)
    assert out["pair_fraction"] == 0.5  # pairs 0 and 2: same digit and close


class PixelClassifier:
    """A stand-in for the digits CNN: the class is the image's mean pixel, binned."""

    num_classes = 10

    def logits_and_features(self, images):
        k = np.clip(((np.mean(images, axis=(1, 2, 3)) + 1) * 5).astype(int), 0, 9)
        return np.eye(10)[k], None


def test_exact_negatives_are_perfect_pairs_and_shuffled_ones_are_not():
    rng = np.random.default_rng(0)
    levels = np.linspace(-0.9, 0.9, 10)
    a = np.stack([np.full((4, 4, 1), levels[i % 10]) for i in range(20)])
    a = a + rng.uniform(-0.01, 0.01, size=a.shape)
    out = cogan.coupled_pair_metrics(a, -a, PixelClassifier(), "invert", 0.25)
    assert out["same_digit"] == 1.0 and out["pair_fraction"] == 1.0
    assert out["transform_l1"] == pytest.approx(0.0)
    # Shifted by one: every pair has two different levels, 0.2 apart at least.
    assert out["same_digit_unpaired"] == 0.0
    assert out["transform_l1_unpaired"] >= 0.19
    assert out["classes_a"] == 10


@pytest.mark.parametrize("share", [True, False])
def test_weight_sharing_is_the_module_structure(share):
    gen = cogan.CoupledGenerator(width=8, share=share)
    z = jax.random.normal(jax.random.key(0), (3, 6))
    v = gen.init(jax.random.key(1), z, None, train=False)
    params = v["params"]
    assert set(params) == ({"trunk"} if share else {"trunk_a", "trunk_b"}) | {"head_a", "head_b"}
    critic = cogan.CoupledCritic(width=8, share=share)
    x = jnp.zeros((3, 16, 16, 1))
    cv = critic.init(jax.random.key(2), x, x, train=False)
    assert set(cv["params"]) == ({"tail"} if share else {"tail_a", "tail_b"}) | {"stem_a", "stem_b"}
    # With the heads made equal, shared generators draw the same image for both domains.
    params = flax.core.unfreeze(params)
    params["head_b"] = params["head_a"]
    if not share:
        params["trunk_b"] = jax.tree.map(lambda p: p + 0.1, params["trunk_a"])
    xa, xb = gen.apply({**v, "params": params}, z, None, train=False)
    assert xa.shape == (3, 16, 16, 1)
    assert np.allclose(xa, xb) == share


def test_generate_draws_the_pair_side_by_side():
    run = runs.build_run(tiny_config())
    state = run.init_state(jax.random.key(0))
    images = runs.sample_images(run, state, 5)
    assert images.shape == (5, 16, 32, 1)
    xa, xb = cogan.draw_pairs(state, run.eval_inputs(5)["z"])
    np.testing.assert_allclose(images[:, :, :16], xa, atol=1e-6)
    np.testing.assert_allclose(images[:, :, 16:], xb, atol=1e-6)


@pytest.mark.slow  # covered by the game's end-to-end test in the default run
def test_one_train_step_updates_both_networks():
    run = runs.build_run(tiny_config())
    state = jax.jit(run.init_state)(jax.random.key(0))
    new, metrics = steps.make_train_step(run.game)(
        jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0)
    )
    for name in ("g", "d"):
        before, after = (
            jax.tree.leaves(state.nets[name].params),
            jax.tree.leaves(new.nets[name].params),
        )
        assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)), name
    assert {"d/a/real", "d/b/fake", "g/a/fake", "g/b/fake"} <= set(metrics)


@pytest.mark.parametrize(
    "key,value",
    [
        ("game.pair_l1", 0.0),
        ("game.headline_samples", 0),
        ("data.name", "digits"),
        ("model.name", "mlp"),
        ("objective.penalty", "r1"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("cogan", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


@pytest.mark.slow
def test_tiny_run_end_to_end_reports_the_headline(tmp_path):
    assert GAMES["cogan"] is cogan
    assert load_config("cogan", "unshared").game.share is False
    train.train_and_evaluate(tiny_config(), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    for name in ("same_digit", "pair_fraction", "same_digit_unpaired"):
        assert 0.0 <= record[f"headline/{name}"] <= 1.0
    assert record["headline/transform_l1"] > 0
    assert (tmp_path / "samples").is_dir()
