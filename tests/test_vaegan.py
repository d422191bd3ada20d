"""VAE-GAN (gan_jax/games/vaegan.py): the prior, feature and GAN terms in closed form, the three
players, config checks and a tiny run end to end with its headline."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny_run

from gan_jax import runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, vaegan


def tiny_config(steps_: int = 2, **overrides):
    return tiny_run("vaegan", steps_, **{"model.width": 8, "model.z_dim": 8, **overrides})


def test_kl_to_the_standard_normal_closed_form():
    # KL(N(mu, s^2) || N(0, 1)) = log(1/s) + (s^2 + mu^2)/2 - 1/2 per dimension.
    mean = jnp.array([[0.0, 1.0], [2.0, -1.0]])
    std = jnp.array([[1.0, 0.5], [2.0, 1.0]])
    per_dim = np.log(1 / std) + (std**2 + mean**2) / 2 - 0.5
    expected = np.mean(np.sum(per_dim, axis=1))
    got = vaegan.kl_to_standard_normal(mean, jnp.log(std))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert float(vaegan.kl_to_standard_normal(jnp.zeros((3, 4)), jnp.zeros((3, 4)))) == 0.0


def test_feature_nll_is_half_the_squared_distance_summed_over_features():
    real = jnp.zeros((2, 2, 2, 3))
    fake = real.at[0].set(1.0)  # 12 features differ by 1 in sample 0, none in sample 1
    assert float(vaegan.feature_nll(fake, real)) == pytest.approx(0.5 * 12 / 2)


def test_gan_terms_closed_form():
    real, rec, prior = jnp.array([0.0, 2.0]), jnp.array([0.0]), jnp.array([-1.0])
    loss, terms = vaegan.gan_terms(real, rec, prior)
    softplus = lambda v: math.log1p(math.exp(v))
    expected = (softplus(0.0) + softplus(-2.0)) / 2 + softplus(0.0) + softplus(-1.0)
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    g, gterms = vaegan.generator_gan_terms(rec, prior)
    assert float(gterms["gan_rec"]) == pytest.approx(math.log(2))
    assert float(gterms["gan_prior"]) == pytest.approx(softplus(1.0), rel=1e-6)
    assert float(g) == pytest.approx(math.log(2) + softplus(1.0), rel=1e-6)


class StubContext:
    def __init__(self, nets):
        self.nets = nets

    def __call__(self, name, *inputs, train):
        return self.nets[name](*inputs)

    def normal(self, key, shape):
        return jax.random.normal(key, shape)


def test_encoder_and_generator_losses_on_constructed_networks():
    # E(x) = (0, log 1): q = N(0, I), KL 0. G(z) = 0 images; D's features are the images, its
    # logit their mean: x = 1 gives ||Dis(x~) - Dis(x)||^2 / 2 = 16 / 2 per sample.
    nets = {
        "e": lambda x: (jnp.zeros((x.shape[0], 3)), jnp.zeros((x.shape[0], 3))),
        "g": lambda z, labels: jnp.zeros((z.shape[0], 4, 4, 1)),
        "d": lambda x, labels: (jnp.mean(x, axis=(1, 2, 3)), x),
    }
    batch = {"x": jnp.ones((2, 4, 4, 1))}
    loss, terms = vaegan.encoder_loss(
        StubContext(nets), batch, jax.random.key(0), z_dim=3, kl_weight=2.0
    )
    assert float(terms["kl"]) == 0.0 and float(terms["llike"]) == pytest.approx(8.0)
    assert float(loss) == pytest.approx(8.0)
    loss, terms = vaegan.generator_loss(
        StubContext(nets), batch, jax.random.key(0), z_dim=3, recon_weight=0.5
    )
    # The fakes' logits are 0: each GAN term is log 2.
    assert float(loss) == pytest.approx(0.5 * 8.0 + 2 * math.log(2), rel=1e-6)

    # The VAE baseline: the same 1/2 ||.||^2 on the pixels (16 pixels differ by 1: 8), read
    # without D (a critic that raises shows it is never called), and no GAN term.
    def no_critic(x, labels):
        raise AssertionError("the pixel VAE must not call D")

    vae_nets = {**nets, "d": no_critic}
    loss, terms = vaegan.encoder_loss(
        StubContext(vae_nets), batch, jax.random.key(0), z_dim=3, kl_weight=2.0, space="pixels"
    )
    assert float(loss) == pytest.approx(8.0) and float(terms["llike"]) == pytest.approx(8.0)
    loss, terms = vaegan.generator_loss(
        StubContext(vae_nets),
        batch,
        jax.random.key(0),
        z_dim=3,
        recon_weight=0.5,
        space="pixels",
        adv_weight=0.0,
    )
    assert float(loss) == pytest.approx(4.0) and set(terms) == {"llike"}
    # adv_weight scales VAE-GAN's GAN term.
    loss, _ = vaegan.generator_loss(
        StubContext(nets), batch, jax.random.key(0), z_dim=3, recon_weight=0.5, adv_weight=0.5
    )
    assert float(loss) == pytest.approx(0.5 * 8.0 + math.log(2), rel=1e-6)


def test_vae_preset_trains_only_the_encoder_and_generator():
    cfg = load_config("vaegan", preset="vae", **{"model.width": 8, "model.z_dim": 8})
    run = runs.build_run(cfg)
    assert [p.name for p in run.game.players] == ["e", "g"]
    state = jax.jit(run.init_state)(jax.random.key(0))
    new, metrics = steps.make_train_step(run.game)(
        jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0)
    )
    for name, moved in (("e", True), ("g", True), ("d", False)):
        before, after = (
            jax.tree.leaves(state.nets[name].params),
            jax.tree.leaves(new.nets[name].params),
        )
        changed = any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
        assert changed == moved, name
    assert not any(k.startswith("d/") for k in metrics)


@pytest.mark.slow  # covered by the game's end-to-end test in the default run
def test_three_players_each_update_their_network():
    run = runs.build_run(tiny_config())
    assert [(p.name, p.updates) for p in run.game.players] == [
        ("d", ("d",)),
        ("e", ("e",)),
        ("g", ("g",)),
    ]
    assert len({p.role for p in run.game.players}) == 3
    state = jax.jit(run.init_state)(jax.random.key(0))
    new, metrics = steps.make_train_step(run.game)(
        jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0)
    )
    for name in ("g", "e", "d"):
        before, after = (
            jax.tree.leaves(state.nets[name].params),
            jax.tree.leaves(new.nets[name].params),
        )
        assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)), name
    assert {"d/real", "d/rec", "d/prior", "e/kl", "e/llike", "g/llike", "g/gan_prior"} <= set(
        metrics
    )


@pytest.mark.parametrize(
    "key,value",
    [
        ("game.kl_weight", -1.0),
        ("game.recon_weight", float("nan")),
        ("game.recon_space", "logits"),
        ("game.adv_weight", -1.0),
        ("objective.name", "hinge"),
        ("model.name", "mlp"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("vaegan", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


def test_tiny_run_end_to_end_reports_the_headline(tmp_path):
    assert GAMES["vaegan"] is vaegan
    train.train_and_evaluate(tiny_config(), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert 0.0 <= record["headline/class_preservation"] <= 1.0
    assert record["headline/reconstruction_l1"] > 0
    assert np.isfinite(record["frechet_distance"])
