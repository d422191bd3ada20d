"""XGAN (gan_jax/games/xgan.py): its losses on constructed inputs, the shared layers of its
autoencoder, the checks, and a tiny run end to end."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import train, validation
from gan_jax.errors import ConfigError
from gan_jax.games import xgan
from gan_jax.models.translation import XganAutoencoder


class StubContext:
    """steps.Context's API; the autoencoder ``ae`` is called with a method name."""

    def __init__(self, nets):
        self.nets = nets

    def __call__(self, name, *inputs, train, method=None):
        return self.nets[name if method is None else f"{name}.{method}"](*inputs)


def test_domain_bce_closed_form():
    zeros = jnp.zeros((3,))
    assert float(xgan.domain_bce(zeros, zeros)) == pytest.approx(2 * np.log(2))
    sure = jnp.full((3,), 20.0)  # says A with confidence
    assert float(xgan.domain_bce(sure, -sure)) < 1e-8  # right
    assert float(xgan.domain_bce(sure, -sure, flipped=True)) == pytest.approx(40.0, rel=1e-6)


def test_generator_loss_closed_form():
    a = jax.random.uniform(jax.random.key(0), (3, 8, 8, 1), minval=-1, maxval=1)
    b = jax.random.uniform(jax.random.key(1), (3, 8, 8, 1), minval=-1, maxval=1)
    nets = {
        "ae.encode": lambda x, d: x,  # the embedding is the image itself
        "ae.decode": lambda z, d: z + (0.25 if d == "b" else 0.0),
        "c_dann": lambda z: jnp.zeros((z.shape[0],)),
        "d_a": lambda x: jnp.full((x.shape[0], 2, 2, 1), 0.5),
        "d_b": lambda x: jnp.full((x.shape[0], 2, 2, 1), -1.0),
    }
    weights = dict(rec_weight=10.0, dann_weight=1.0, sem_weight=2.0, gan_weight=1.0)
    loss, terms = xgan.generator_loss(
        StubContext(nets), {"a": a, "b": b}, jax.random.key(2), **weights
    )
    assert float(terms["rec"]) == pytest.approx(0.25, rel=1e-5)  # g_B(e_B(b)) = b + 0.25
    # e_B(g_B(e_A(a))) = a + 0.25 against e_A(a) = a; e_A(g_A(e_B(b))) = b exactly.
    assert float(terms["sem"]) == pytest.approx(0.25, rel=1e-5)
    assert float(terms["dann"]) == pytest.approx(2 * np.log(2), rel=1e-6)
    assert float(terms["gan"]) == pytest.approx(4.0 + 0.25)
    expected = 10 * 0.25 + 2 * np.log(2) + 2 * 0.25 + 4.25
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_discriminator_loss_closed_form():
    a = jnp.zeros((2, 8, 8, 1))
    nets = {
        "ae.encode": lambda x, d: x.reshape(x.shape[0], -1),
        "ae.decode": lambda z, d: z.reshape(z.shape[0], 8, 8, 1),
        "c_dann": lambda z: jnp.zeros((z.shape[0],)),
        "d_a": lambda x: jnp.full((x.shape[0], 2, 2, 1), 1.0),  # real target met, fake missed
        "d_b": lambda x: jnp.zeros((x.shape[0], 2, 2, 1)),
    }
    loss, terms = xgan.discriminator_loss(StubContext(nets), {"a": a, "b": a}, jax.random.key(0))
    assert float(terms["a"]) == pytest.approx(0.5) and float(terms["b"]) == pytest.approx(0.5)
    assert float(loss) == pytest.approx(1.0 + 2 * np.log(2), rel=1e-6)


def test_the_autoencoders_share_the_middle_layers():
    ae = XganAutoencoder(width=4, embed_dim=8, side=4, channels=1)
    params = ae.init(jax.random.key(0), jnp.zeros((2, 16, 16, 1)))["params"]
    assert set(params) == {
        "enc_head_a",
        "enc_head_b",
        "enc_trunk",
        "dec_trunk",
        "dec_head_a",
        "dec_head_b",
    }
    x = jax.random.uniform(jax.random.key(1), (2, 16, 16, 1))
    z_a = ae.apply({"params": params}, x, "a", method="encode")
    assert z_a.shape == (2, 8)
    # Changing the shared encoder trunk changes both domains' embeddings.
    moved = jax.tree.map(lambda p: p, params)
    moved["enc_trunk"] = jax.tree.map(lambda p: p + 0.1, params["enc_trunk"])
    for d in "ab":
        before = ae.apply({"params": params}, x, d, method="encode")
        after = ae.apply({"params": moved}, x, d, method="encode")
        assert not np.allclose(before, after)


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("data.name", "digits_domains", "data.name"),
        ("game.sem_weight", -1.0, "game.sem_weight"),
        ("game.embed_dim", 0, "game.embed_dim"),
        ("train.d_steps", 2, "train.d_steps"),
    ],
)
def test_check_refuses_what_xgan_cannot_train(key, value, match):
    cfg = load_config("xgan", **{key: value})
    with pytest.raises(ConfigError, match=match):
        validation.validate(cfg)


@pytest.mark.slow
def test_end_to_end_train_and_headline(tmp_path, digits_classifier):
    cfg = load_config(
        "xgan", **{"game.width": 4, "game.d_width": 4, "game.embed_dim": 8, "game.dann_hidden": 8}
    )
    cfg.train.batch_size, cfg.train.steps = 8, 2
    cfg.train.log_every, cfg.train.sample_every, cfg.checkpoint.every_steps = 1, 2, 2
    cfg.eval.every_steps, cfg.eval.at_start = 2, False
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 2
    final = json.loads((tmp_path / "eval.json").read_text())
    for k in ("class_preservation_ab", "class_preservation_ba", "semantic_gap_ab"):
        assert np.isfinite(final[f"headline/{k}"])
