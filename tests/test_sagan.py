"""SAGAN (gan_jax/models/layers.py SelfAttention, the ``sagan`` family): the attention block is
the identity at init and computes eqs. 1-3 on constructed inputs; the family's shapes,
determinism, bfloat16, config checks, and a tiny run of its recipe."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs, train
from gan_jax.errors import ConfigError
from gan_jax.models import MODELS
from gan_jax.models.layers import SelfAttention
from gan_jax.validation import validate


def init_attention(x, sn=False):
    return SelfAttention(spectral_norm=sn).init(jax.random.key(0), x, train=False)


def test_attention_is_the_identity_at_init():
    x = jax.random.normal(jax.random.key(1), (2, 4, 4, 16))
    variables = init_attention(x)
    assert float(variables["params"]["gamma"]) == 0.0
    y = SelfAttention().apply(variables, x, train=False)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))


def test_attention_matches_eqs_1_to_3_with_gamma_one():
    """Random 1x1 kernels, gamma = 1: y_j = x_j + v(sum_i softmax_i(f_j . g_i) h_i), by numpy."""
    x = jax.random.normal(jax.random.key(2), (2, 3, 3, 16))
    variables = init_attention(x)
    p = jax.tree.map(np.asarray, variables["params"])
    p["gamma"] = np.float32(1.0)
    y = SelfAttention().apply({"params": p}, x, train=False)
    xs = np.asarray(x, np.float64).reshape(2, 9, 16)
    k = lambda name: p[name]["kernel"][0, 0].astype(np.float64)  # noqa: E731
    f, g, h = xs @ k("query"), xs @ k("key"), xs @ k("value")
    assert f.shape[-1] == 2 and h.shape[-1] == 8  # C/8 and C/2 channels
    s = np.einsum("njc,nic->nji", f, g)
    beta = np.exp(s - s.max(-1, keepdims=True))
    beta /= beta.sum(-1, keepdims=True)
    expected = xs + np.einsum("nji,nic->njc", beta, h) @ k("out")
    np.testing.assert_allclose(np.asarray(y).reshape(2, 9, 16), expected, rtol=1e-4, atol=1e-5)


def test_a_dominant_key_draws_every_position_to_it():
    """Constructed: query = 1 everywhere, key = 100 at one position and 0 elsewhere, value and
    output identities on channel 0: every position receives that position's channel-0 value."""
    c = 8
    x = np.zeros((1, 2, 2, c), np.float32)
    x[0, :, :, 0] = [[1.0, 2.0], [3.0, 4.0]]  # the values
    x[0, 1, 0, 1] = 1.0  # the dominant key's position (value 3)
    x[0, :, :, 2] = 1.0  # a constant feature for the query
    q, key, value, out = (
        np.zeros((1, 1, i, o), np.float32) for i, o in ((c, 1), (c, 1), (c, 4), (4, c))
    )
    q[0, 0, 2, 0] = 1.0
    key[0, 0, 1, 0] = 100.0
    value[0, 0, 0, 0] = 1.0
    out[0, 0, 0, 0] = 1.0
    params = {
        "query": {"kernel": q},
        "key": {"kernel": key},
        "value": {"kernel": value},
        "out": {"kernel": out},
        "gamma": np.float32(1.0),
    }
    y = np.asarray(SelfAttention().apply({"params": params}, jnp.asarray(x), train=False))
    np.testing.assert_allclose(y[0, :, :, 0] - x[0, :, :, 0], 3.0, atol=1e-4)
    np.testing.assert_array_equal(y[..., 1:], x[..., 1:])


def test_spectral_norm_wraps_the_attention_convolutions():
    x = jnp.ones((2, 4, 4, 16))
    variables = init_attention(x, sn=True)
    assert {"sn_query", "sn_key", "sn_value", "sn_out"} <= set(variables["batch_stats"])


@pytest.mark.parametrize("resolution,attention", [(16, 8), (16, 0), (32, 8), (32, 16)])
def test_sagan_shapes_and_attention_placement(resolution, attention):
    cfg = {"name": "sagan", "width": 4, "z_dim": 8, "attention": attention}
    g, d = MODELS["sagan"](cfg, (resolution, resolution, 1))
    z = jax.random.normal(jax.random.key(0), (2, 8))
    vg = g.init(jax.random.key(1), z, None, train=False)
    x = g.apply(vg, z, None, train=False)
    assert x.shape == (2, resolution, resolution, 1) and float(jnp.max(jnp.abs(x))) <= 1.0
    vd = d.init(jax.random.key(2), x, None, train=False)
    assert d.apply(vd, x, None, train=False).shape == (2,)
    for variables in (vg, vd):
        attn = [k for k in variables["params"] if k.startswith("attn")]
        assert len(attn) == (1 if attention else 0)
        # spectral norm in every layer of G and D: each conv / dense has its power iteration
        assert variables["batch_stats"]


def test_sagan_is_deterministic_and_bfloat16_ready():
    cfg = {"name": "sagan", "width": 4, "z_dim": 8, "dtype": "bfloat16"}
    g, d = MODELS["sagan"](cfg, (16, 16, 1))
    z = jax.random.normal(jax.random.key(0), (2, 8))
    a = g.init(jax.random.key(1), z, None, train=False)
    b = g.init(jax.random.key(1), z, None, train=False)
    jax.tree.map(np.testing.assert_array_equal, a, b)
    x = g.apply(a, z, None, train=False)
    assert x.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(x)))
    logits = d.apply(d.init(jax.random.key(2), x, None, train=False), x, None, train=False)
    assert logits.dtype == jnp.float32


@pytest.mark.parametrize(
    "key,value", [("model.attention", 4), ("model.attention", 16), ("model.width", 0)]
)
def test_bad_values_are_one_config_error(key, value):
    cfg = load_config("sagan", **{key: value})
    with pytest.raises(ConfigError, match=key):
        validate(cfg)


def test_the_recipe_and_its_ablation():
    cfg, ablation = load_config("sagan"), load_config("sagan", "no_attention")
    assert (cfg.model.name, cfg.objective.name, cfg.model.attention) == ("sagan", "hinge", 8)
    assert (cfg.optim.g.lr, cfg.optim.d.lr, cfg.train.d_steps) == (1e-4, 4e-4, 1)
    assert ablation.model.attention == 0
    ablation.model.attention = 8
    assert ablation.to_dict() == cfg.to_dict()


@pytest.mark.slow  # minutes on the loaded 2 cores (compiles the ResNets with attention)
def test_tiny_run_end_to_end(tmp_path):
    cfg = load_config("sagan", **{"model.width": 4, "model.z_dim": 8})
    cfg.train.steps, cfg.train.log_every, cfg.train.sample_every = 2, 1, 0
    cfg.train.batch_size, cfg.eval.num_samples = 8, 64
    train.train_and_evaluate(cfg, tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["step"] == 2 and np.isfinite(record["frechet_distance"])
    run, state, _ = runs.load_run(tmp_path)
    a = runs.sample_images(run, state, 6, inputs=run.eval_inputs(6, truncation=0.5))
    b = runs.sample_images(run, state, 6, inputs=run.eval_inputs(6, truncation=0.5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, runs.sample_images(run, state, 6))
