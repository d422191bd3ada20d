"""The semi-supervised GANs (gan_jax/games/semisupervised.py, triplegan.py): their losses on
constructed inputs, the labelled subset and TEST split of the data, the noisy classifier, the
headline, config checks and determinism."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import data, runs, steps, validation
from gan_jax.errors import ConfigError
from gan_jax.games import semisupervised, triplegan
from gan_jax.models.noisy_mlp import NoisyMLPClassifier, PairDiscriminator

TINY_NETS = {"game.d_hidden": (16, 8), "game.g_hidden": (16,), "game.z_dim": 8}


def tiny(recipe: str, **overrides):
    extra = {"game.pair_hidden": (16, 8)} if recipe == "triplegan" else {}
    cfg = load_config(recipe, **{**TINY_NETS, **extra, **overrides})
    cfg.train.steps, cfg.train.batch_size = 2, 8
    return cfg


# --- the (K+1)-class critic in closed form ----------------------------------------------------


def test_ssl_critic_loss_hand_computed():
    # K = 2. Labelled logits (0, ln 3), label 1: p(y | x) = 3/4, CE = log(4/3).
    # Unlabelled logits (0, 0): Z = 2, D = 2/3, -log D = log(3/2).
    # Fake logits (-ln 2, -ln 2): Z = 1, D = 1/2, -log(1 - D) = log 2.
    lab = jnp.asarray([[0.0, math.log(3.0)]])
    unl = jnp.zeros((1, 2))
    fake = jnp.full((1, 2), -math.log(2.0))
    loss, terms = semisupervised.ssl_critic_loss(lab, jnp.asarray([1]), unl, fake, 0.5)
    np.testing.assert_allclose(terms["supervised"], math.log(4 / 3), rtol=1e-6)
    np.testing.assert_allclose(terms["real"], math.log(3 / 2), rtol=1e-6)
    np.testing.assert_allclose(terms["fake"], math.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(loss, math.log(4 / 3) + 0.5 * math.log(3.0), rtol=1e-6)
    assert float(terms["train_acc"]) == 1.0


def test_ssl_critic_d_is_z_over_z_plus_one_and_stays_finite():
    logits = jax.random.normal(jax.random.key(0), (5, 10)) * 3.0
    z = np.exp(np.asarray(logits, np.float64)).sum(axis=1)
    labels = jnp.zeros((5,), jnp.int32)
    _, terms = semisupervised.ssl_critic_loss(logits, labels, logits, logits, 1.0)
    np.testing.assert_allclose(terms["real"], np.mean(-np.log(z / (z + 1))), rtol=1e-5)
    np.testing.assert_allclose(terms["fake"], np.mean(-np.log(1 / (z + 1))), rtol=1e-5)
    huge = jnp.full((2, 10), 1e4)
    _, terms = semisupervised.ssl_critic_loss(huge, labels[:2], huge, -huge, 1.0)
    assert all(np.isfinite(float(v)) for v in terms.values())


# --- Triple-GAN's losses in closed form -------------------------------------------------------


def test_triplegan_d_loss_hand_computed():
    # Logit 0: -log D = -log(1 - D) = log 2; logit ln 3: D = 3/4.
    real, pseudo, fake = jnp.zeros(3), jnp.full(2, math.log(3.0)), jnp.zeros(4)
    loss, terms = triplegan.d_loss(real, pseudo, fake, alpha=0.5)
    np.testing.assert_allclose(terms["real"], math.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(terms["pseudo"], -math.log(1 / 4), rtol=1e-6)
    np.testing.assert_allclose(loss, math.log(2) + 0.5 * math.log(4) + 0.5 * math.log(2), rtol=1e-6)


def test_triplegan_c_loss_hand_computed_and_its_gradient_skips_d():
    # C's unlabelled logits (ln 3, 0): confidence 3/4 on class 0; D's logit 0 on that pair:
    # -log D = log 2, so the adversarial term is 3/4 log 2.
    unl = jnp.asarray([[math.log(3.0), 0.0]])
    lab = jnp.asarray([[0.0, 0.0]])
    gen = jnp.asarray([[0.0, math.log(3.0)]])
    d_logit = jnp.zeros(1)

    def loss(unl, d_logit, weight):
        return triplegan.c_loss(
            lab,
            jnp.asarray([0]),
            unl,
            d_logit,
            gen,
            jnp.asarray([1]),
            alpha=0.5,
            pseudo_weight=weight,
        )

    value, terms = loss(unl, d_logit, 0.1)
    np.testing.assert_allclose(terms["adversarial"], 0.75 * math.log(2), rtol=1e-6)
    np.testing.assert_allclose(terms["supervised"], math.log(2), rtol=1e-6)
    np.testing.assert_allclose(terms["pseudo_discriminative"], math.log(4 / 3), rtol=1e-6)
    expected = 0.5 * 0.75 * math.log(2) + math.log(2) + 0.1 * math.log(4 / 3)
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    np.testing.assert_allclose(loss(unl, d_logit, 0.0)[0], expected - 0.1 * math.log(4 / 3))
    # C is not differentiated through D's logits (the pair's label is an argmax), only through
    # its confidence: d/dl0 of 0.5 * log 2 * softmax(l)_0 = 0.5 log 2 * p0 (1 - p0).
    grad_unl, grad_d = jax.grad(lambda u, d: loss(u, d, 0.1)[0], argnums=(0, 1))(unl, d_logit)
    assert float(grad_d[0]) == 0.0
    np.testing.assert_allclose(grad_unl[0, 0], 0.5 * math.log(2) * 0.75 * 0.25, rtol=1e-5)


def test_unlabelled_regularizers_closed_form_and_in_c_loss():
    # Two images, K = 2: p = (3/4, 1/4) and (1/4, 3/4). Entropy of each: H(3/4) = -(3/4 ln 3/4 +
    # 1/4 ln 1/4); the mean prediction is uniform, so the balance term is its minimum ln 2.
    logits = jnp.asarray([[math.log(3.0), 0.0], [0.0, math.log(3.0)]])
    entropy, balance = semisupervised.unlabelled_regularizers(logits)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    np.testing.assert_allclose(entropy, h, rtol=1e-6)
    np.testing.assert_allclose(balance, math.log(2), rtol=1e-6)
    # Both images on class 0 (p = 3/4 each): the mean (3/4, 1/4) is unbalanced,
    # -(ln 3/4 + ln 1/4) / 2 > ln 2.
    same = jnp.asarray([[math.log(3.0), 0.0]] * 2)
    np.testing.assert_allclose(
        semisupervised.unlabelled_regularizers(same)[1],
        -(math.log(0.75) + math.log(0.25)) / 2,
        rtol=1e-6,
    )
    # In C's loss they add with their weights; 0 weights leave the paper's loss unchanged.
    zero, d = jnp.zeros((2, 2)), jnp.zeros(2)
    args = (zero, jnp.asarray([0, 1]), logits, d, zero, jnp.asarray([0, 1]))
    base, _ = triplegan.c_loss(*args, alpha=0.5, pseudo_weight=0.0)
    reg, terms = triplegan.c_loss(
        *args, alpha=0.5, pseudo_weight=0.0, entropy_weight=0.3, balance_weight=1e-3
    )
    np.testing.assert_allclose(reg - base, 0.3 * h + 1e-3 * math.log(2), rtol=1e-5)
    np.testing.assert_allclose(terms["entropy"], h, rtol=1e-6)


def test_triplegan_integrated_pairs_take_the_expectation_over_c_and_move_c_to_approved_labels():
    # C: p_c = (3/4, 1/4); D approves label 1 (logit ln 3: -log D = log 4/3) and rejects label 0
    # (logit -ln 3: -log D = log 4). E_{p_c}[-log D] = 3/4 log 4 + 1/4 log 4/3.
    unl = jnp.asarray([[math.log(3.0), 0.0]])
    d_pairs = jnp.asarray([[-math.log(3.0), math.log(3.0)]])
    zero = jnp.zeros((1, 2))

    def adversarial(u):
        return triplegan.c_loss(
            zero, jnp.asarray([0]), u, d_pairs, zero, jnp.asarray([0]), alpha=1.0, pseudo_weight=0
        )[1]["adversarial"]

    np.testing.assert_allclose(
        adversarial(unl), 0.75 * math.log(4) + 0.25 * math.log(4 / 3), rtol=1e-6
    )
    grad = jax.grad(adversarial)(unl)
    assert grad[0, 1] < 0 < grad[0, 0]  # descent raises p_c(1 | x), the label D approves
    # D's side: its loss on C's pairs is the same expectation of -log(1 - D).
    _, terms = triplegan.d_loss(
        jnp.zeros(1), d_pairs, jnp.zeros(1), 0.5, jnp.asarray([[0.75, 0.25]])
    )
    np.testing.assert_allclose(
        terms["pseudo"], 0.75 * math.log(4 / 3) + 0.25 * math.log(4), rtol=1e-6
    )


# --- data: the labelled subset and the TEST split ---------------------------------------------


@pytest.mark.parametrize("name", ["digits", "mnist5k"])
def test_labelled_subset_comes_from_train_and_test_is_held_out(name):
    split = data.semisupervised_split(name, 16, 10, 0)
    images, _ = data.EMBEDDED_IMAGES[name](16)
    assert len(split.unlabelled) + len(split.test) == len(images)
    assert np.bincount(split.labelled_labels).tolist() == [10] * 10
    flat = lambda a: {x.tobytes() for x in a}
    # Labelled images are train images, and no train image is a test image.
    assert flat(split.labelled) <= flat(split.unlabelled)
    assert not flat(split.test) & flat(split.unlabelled)
    again = data.semisupervised_split.__wrapped__(name, 16, 10, 0)
    np.testing.assert_array_equal(again.labelled, split.labelled)
    other = data.semisupervised_split(name, 16, 10, 1)
    assert not np.array_equal(other.labelled, split.labelled)


def test_semisupervised_batches_carry_no_unlabelled_labels():
    ds = data.get_dataset({"name": "digits_ssl"})
    batch = ds.sample(jax.random.key(0), 32)
    assert set(batch) == {"x", "x_labelled", "label_labelled"}
    split = data.semisupervised_split("digits", 16, 10, 0)
    train = {x.tobytes() for x in split.unlabelled}
    assert all(np.asarray(x).tobytes() in train for x in batch["x"])


def test_too_many_labels_per_class_is_a_config_error():
    with pytest.raises(ConfigError, match="data.labels_per_class"):
        data.get_dataset({"name": "digits_ssl", "labels_per_class": 500})


# --- networks, headline, config checks, determinism -------------------------------------------


def test_noisy_classifier_is_deterministic_without_a_key_and_noisy_with_one():
    module = NoisyMLPClassifier(hidden=(8, 4))
    x = jax.random.normal(jax.random.key(1), (3, 16, 16, 1))
    variables = module.init(jax.random.key(0), x, None, train=False)
    clean = module.apply(variables, x, None, train=False)[0]
    np.testing.assert_array_equal(
        module.apply(variables, x, jax.random.key(2), train=False)[0], clean
    )
    noisy = module.apply(variables, x, jax.random.key(2), train=True)[0]
    assert not np.allclose(noisy, clean)
    np.testing.assert_array_equal(
        module.apply(variables, x, jax.random.key(2), train=True)[0], noisy
    )
    pairs = PairDiscriminator(hidden=(8,))
    pv = pairs.init(jax.random.key(0), x, jnp.zeros(3, jnp.int32), None, train=False)
    y0, y1 = jnp.zeros(3, jnp.int32), jnp.ones(3, jnp.int32)
    assert not np.allclose(pairs.apply(pv, x, y0, None, False), pairs.apply(pv, x, y1, None, False))


def test_test_error_counts_wrong_argmaxes():
    labels = np.array([0, 1, 2, 2])
    classify = lambda _, x: jax.nn.one_hot(jnp.full(x.shape[0], 2), 3)
    assert semisupervised.test_error(classify, None, np.zeros((4, 2)), labels) == 0.5


@pytest.mark.parametrize(
    "recipe, key, value",
    [
        ("ssl_gan", "game.unsupervised_weight", -1.0),
        ("ssl_gan", "game.d_hidden", (0, 3)),
        ("triplegan", "game.alpha", 0.0),
        ("triplegan", "game.pseudo_start", -1),
        ("triplegan", "game.pairs", "sample"),
        ("triplegan", "game.entropy_weight", -0.3),
    ],
)
def test_bad_game_values_are_config_errors(recipe, key, value):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validation.validate(tiny(recipe, **{key: value}))


def test_games_refuse_data_that_is_not_semisupervised_and_classic_refuses_ssl_data():
    with pytest.raises(ConfigError, match="data.name"):
        validation.validate(tiny("ssl_gan", **{"data.name": "digits"}))
    cfg = load_config("nsgan")
    cfg.data.name = "digits_ssl"
    with pytest.raises(ConfigError, match="data.name"):
        validation.validate(cfg)


def test_triplegan_needs_its_classifier_optimiser():
    cfg = tiny("triplegan")
    del cfg.optim["c"]
    with pytest.raises(ConfigError, match="optim"):
        validation.validate(cfg)


def test_triplegan_pretraining_stage_trains_c_alone_then_the_game():
    with pytest.raises(ConfigError, match="game.c_pretrain_steps"):
        validation.validate(tiny("triplegan", **{"game.c_pretrain_steps": 2}))  # = train.steps
    cfg = tiny("triplegan", **{"game.c_pretrain_steps": 1, "game.entropy_weight": 0.3})
    run = runs.build_run(cfg)
    assert run.game.stages == (1,)
    assert [p.name for p in run.game.players] == ["c"]
    assert [p.name for p in run.game.at_stage(1).players] == ["d", "g", "c"]
    state = jax.jit(run.init_state)(jax.random.key(0))
    pre = steps.make_train_step(run.game)
    new, metrics = pre(jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0))
    moved = {
        name: any(
            not np.array_equal(a, b)
            for a, b in zip(
                jax.tree.leaves(state.nets[name].params), jax.tree.leaves(new.nets[name].params)
            )
        )
        for name in ("c", "d", "g")
    }
    assert moved == {"c": True, "d": False, "g": False}
    assert {"c/supervised", "c/entropy", "c/balance"} <= set(metrics)


def leaves(state) -> list[np.ndarray]:
    out = []
    for x in jax.tree.leaves(state):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


# Three runs compiled per game: minutes on 2 busy cores (-m slow). test_games.py runs both games
# through the trainer (divergence guard, signal) in the default run.
@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["ssl_gan", "triplegan"])
def test_same_seed_same_numbers_and_the_headline_reads_the_test_split(recipe):
    def train(seed):
        cfg = tiny(recipe)
        cfg.seed = seed
        run = runs.build_run(cfg)
        state = jax.jit(run.init_state)(jax.random.key(seed))
        step = steps.make_train_step(run.game)
        for i in range(2):
            state, metrics = step(state, run.sample_batches(run.data_key(), i))
        return run, state, metrics

    run, a, metrics = train(0)
    _, b, _ = train(0)
    _, c, _ = train(1)
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(leaves(a), leaves(c), strict=True))
    assert all(np.isfinite(float(v)) for v in metrics.values())
    headline = run.game.headline(run, a)
    assert 0.0 <= headline["test_error"] <= 1.0
    if recipe == "triplegan":
        assert set(headline) == {"test_error", "test_error_live"}
