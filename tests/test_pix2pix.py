"""pix2pix (gan_jax/games/pix2pix.py): the paired dataset, the losses in closed form, the U-Net,
the paired metrics on known translations, the checks, determinism and the loop end to end."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import pix2pix as recipe
from gan_jax import data, runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import pix2pix
from gan_jax.models.translation import UnetGenerator


def tiny_config(preset=None, **overrides):
    cfg = recipe.get_config(preset)
    cfg.game.g_width, cfg.game.g_depth, cfg.game.d_width = 4, 2, 4
    cfg.train.batch_size, cfg.train.steps, cfg.train.log_every = 8, 2, 1
    cfg.train.sample_every, cfg.eval.every_steps, cfg.checkpoint.every_steps = 0, 0, 2
    cfg.eval.at_start = False
    for dotted, value in overrides.items():
        node, *path = cfg, *dotted.split(".")
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return cfg


class StubContext:
    """Fixed functions standing in for the networks (steps.Context's call API)."""

    def __init__(self, nets):
        self.nets, self.calls = nets, []

    def __call__(self, name, *inputs, train):
        self.calls.append((name, inputs))
        return self.nets[name](*inputs)


# ---------------------------------------------------------------------------------------------
# Data.


@pytest.mark.parametrize("domain_b", ["invert", "rot90"])
def test_digits_paired_contract(domain_b):
    (a, b, label), (ta, tb, tlabel) = data.digits_paired_arrays(16, domain_b)
    transform, undo = data.DOMAIN_TRANSFORMS[domain_b]
    assert a.shape == (899, 16, 16, 1) and ta.shape == (898, 16, 16, 1)
    np.testing.assert_array_equal(b, transform(a))
    np.testing.assert_array_equal(undo(tb), ta)
    # The training inputs are digits_unpaired's domain A; the test pairs are the other digits.
    ua, ulabel, _, _ = data.digits_unpaired_arrays(16, domain_b)
    np.testing.assert_array_equal(a, ua)
    np.testing.assert_array_equal(label, ulabel)
    images, labels = data.digits_arrays(16)
    assert len(a) + len(ta) == len(images) and np.bincount(np.r_[label, tlabel]).tolist() == (
        np.bincount(labels).tolist()
    )
    flat = {x.tobytes() for x in a}
    assert not any(x.tobytes() in flat for x in ta)  # no test input is a training input
    dataset = data.get_dataset({"name": "digits_paired", "domain_b": domain_b})
    batch = dataset.sample(jax.random.key(0), 32)
    assert set(batch) == {"a", "b", "label"}
    np.testing.assert_array_equal(np.asarray(batch["b"]), transform(np.asarray(batch["a"])))
    # Each a is a training image and keeps its own label.
    index = {x.tobytes(): i for i, x in enumerate(a)}
    rows = [index[x.tobytes()] for x in np.asarray(batch["a"])]
    np.testing.assert_array_equal(np.asarray(batch["label"]), label[rows])
    assert len(set(rows)) == 32


@pytest.mark.parametrize("domain_a", ["occlude", "lowres"])
def test_digits_paired_lossy_sources(domain_a):
    """data.domain_a: pairs (S(x), x) of the same digits as the default pairs (x, T(x))."""
    (a, b, label), (ta, tb, tlabel) = data.digits_paired_arrays(16, "identity", domain_a)
    (x, _, xlabel), (tx, _, _) = data.digits_paired_arrays(16, "rot90")
    np.testing.assert_array_equal(b, x)  # the targets are the digits themselves
    np.testing.assert_array_equal(tb, tx)
    np.testing.assert_array_equal(label, xlabel)
    if domain_a == "occlude":
        assert (a[:, 8:] == -1.0).all()  # the lower half is background
        np.testing.assert_array_equal(a[:, :8], b[:, :8])  # the upper half is the digit's
    else:
        # Constant on 4x4 blocks, each the block's mean of the digit.
        block = b[:, :4, 4:8].mean(axis=(1, 2))
        np.testing.assert_allclose(a[:, 1, 5], block, rtol=1e-6, atol=1e-6)
        assert (a[:, :4, 4:8] == a[:, :1, 4:5]).all()
    assert data.DOMAIN_TRANSFORMS[domain_a][1] is None  # lossy: no inverse
    dataset = data.get_dataset(
        {"name": "digits_paired", "domain_a": domain_a, "domain_b": "identity"}
    )
    batch = dataset.sample(jax.random.key(0), 8)
    index = {v.tobytes(): i for i, v in enumerate(b)}
    rows = [index[v.tobytes()] for v in np.asarray(batch["b"])]
    np.testing.assert_array_equal(np.asarray(batch["a"]), a[rows])


def test_mnist5k_paired_are_the_same_pairs_of_the_mnist_digits():
    """data.name='mnist5k_paired': pairs (S(x), T(x)) of the 32x32 MNIST digits, split in two
    halves of 2500 (train, test), the batch check by that size."""
    train, test = data.digits_paired_arrays(32, "identity", "occlude", "mnist5k")
    (a, b, label), (ta, tb, _) = train, test
    images, labels = data.mnist5k_arrays(32)
    assert a.shape == ta.shape == (2500, 32, 32, 1)
    assert (a[:, 16:] == -1.0).all() and (ta[:, 16:] == -1.0).all()
    np.testing.assert_array_equal(a[:, :16], b[:, :16])
    index = {x.tobytes(): i for i, x in enumerate(images)}
    rows = [index[x.tobytes()] for x in b]
    np.testing.assert_array_equal(labels[rows], label)
    test_rows = {index[x.tobytes()] for x in tb}
    assert not test_rows & set(rows) and len(test_rows | set(rows)) == 5000
    dataset = data.get_dataset(
        {"name": "mnist5k_paired", "resolution": 32, "domain_a": "occlude", "domain_b": "identity"}
    )
    assert dataset.name == "mnist5k_paired" and dataset.shape == (32, 32, 1)
    batch = dataset.sample(jax.random.key(0), 16)
    np.testing.assert_array_equal(np.asarray(batch["a"])[:, 16:], -1.0)
    cfg = tiny_config(**{"data.name": "mnist5k_paired", "train.batch_size": 2501})
    with pytest.raises(ConfigError, match="train.batch_size.*2500"):
        data.check(cfg)


# ---------------------------------------------------------------------------------------------
# Losses on constructed inputs.


def test_generator_loss_closed_form():
    a = jax.random.uniform(jax.random.key(0), (3, 16, 16, 1), minval=-1, maxval=1)
    shift = 0.25  # G(a) = T(a) + shift: the L1 error is |shift| per pixel
    nets = {
        "g": lambda x, key: -x + shift,
        "d": lambda xy: jnp.full((xy.shape[0], 4, 4, 1), 2.0),  # every patch's logit 2
    }
    ctx = StubContext(nets)
    batch = {"a": a, "b": -a, "label": jnp.zeros(3, jnp.int32)}
    loss, terms = pix2pix.generator_loss(
        ctx, batch, jax.random.key(1), l1_weight=100.0, adv_weight=1.0
    )
    adv = np.log1p(np.exp(-2.0))  # -log sigmoid(2)
    assert float(terms["adv"]) == pytest.approx(adv, rel=1e-6)
    assert float(terms["l1"]) == pytest.approx(shift, rel=1e-6)
    assert float(loss) == pytest.approx(adv + 100 * shift, rel=1e-6)
    # The critic is conditional: it sees (a, G(a)) stacked along the channels.
    (name, (xy,)) = ctx.calls[-1]
    assert name == "d" and xy.shape == (3, 16, 16, 2)
    np.testing.assert_array_equal(xy[..., :1], a)
    # The L1-only ablation: the adversarial term is measured but weighs nothing.
    loss0, _ = pix2pix.generator_loss(
        StubContext(nets), batch, jax.random.key(1), l1_weight=100.0, adv_weight=0.0
    )
    assert float(loss0) == pytest.approx(100 * shift, rel=1e-6)


def test_discriminator_loss_closed_form():
    a = jnp.ones((2, 8, 8, 1))
    b = -a
    # Logit +1 on the true pair (its second channel is -1), -3 on the fake pair (G(a) = 0.5).
    nets = {
        "g": lambda x, key: jnp.full_like(x, 0.5),
        "d": lambda xy: jnp.where(xy[:, :2, :2, 1:] < 0, 1.0, -3.0),
    }
    loss, terms = pix2pix.discriminator_loss(StubContext(nets), {"a": a, "b": b}, jax.random.key(0))
    real, fake = np.log1p(np.exp(-1.0)), np.log1p(np.exp(-3.0))
    assert float(terms["real"]) == pytest.approx(real, rel=1e-6)
    assert float(terms["fake"]) == pytest.approx(fake, rel=1e-6)
    assert float(loss) == pytest.approx(0.5 * (real + fake), rel=1e-6)  # halved (section 3.3)


# ---------------------------------------------------------------------------------------------
# The U-Net.


def test_unet_shapes_skips_and_dropout_noise():
    x = jax.random.uniform(jax.random.key(0), (2, 16, 16, 1), minval=-1, maxval=1)
    net = UnetGenerator(width=4, depth=4, dropout=0.5)
    variables = net.init(jax.random.key(1), x)
    y = net.apply(variables, x)
    assert y.shape == x.shape and float(jnp.max(jnp.abs(y))) <= 1
    # 16x16 -> 1x1 bottleneck; each decoder layer but the last reads the matching encoder map.
    params = variables["params"]
    assert params["down3"]["kernel"].shape[-1] == 32  # min(4 * 2^3, 8 * 4)
    assert params["up1"]["kernel"].shape[-2] == 2 * 16  # up0's 16 channels + down2's 16
    assert params["up3"]["kernel"].shape[-2] == 2 * 4  # up2's 4 + down0's 4
    # Without a key no dropout (deterministic); with one, a key-dependent noise.
    np.testing.assert_array_equal(net.apply(variables, x), y)
    k1 = net.apply(variables, x, jax.random.key(2), train=True)
    k2 = net.apply(variables, x, jax.random.key(3), train=True)
    assert not np.allclose(k1, k2)
    no_noise = UnetGenerator(width=4, depth=4, dropout=0.0)
    np.testing.assert_array_equal(no_noise.apply(variables, x, jax.random.key(2)), y)


# ---------------------------------------------------------------------------------------------
# Paired metrics.


def test_paired_metrics_of_known_translations(digits_classifier):
    _, test = data.digits_paired_arrays(16, "rot90")
    a, b, _ = test
    exact = pix2pix.paired_metrics(b, test, digits_classifier, "rot90")
    assert exact["class_preservation"] == exact["classifier_accuracy"] > 0.97
    assert exact["l1"] == 0.0 and exact["psnr"] > 100 and exact["sharpness"] == 1.0
    assert abs(exact["fd_target"]) < 1e-3  # identical feature sets, up to rounding
    # The identity map keeps the pixels of the source, not the target: error, lost classes.
    ident = pix2pix.paired_metrics(a, test, digits_classifier, "rot90")
    assert ident["l1"] == pytest.approx(float(np.mean(np.abs(a - b))))
    assert ident["class_preservation"] < 0.5 and ident["fd_target"] > 10

    # A blurred target (two 5-point means): about a quarter of the sharpness.
    def blur(x):
        return (x + np.roll(x, 1, 1) + np.roll(x, -1, 1) + np.roll(x, 1, 2) + np.roll(x, -1, 2)) / 5

    blurred = pix2pix.paired_metrics(blur(blur(b)), test, digits_classifier, "rot90")
    assert blurred["sharpness"] < 0.4


# ---------------------------------------------------------------------------------------------
# Config checks and the loop.


def test_check_rejects_what_pix2pix_cannot_train():
    for key, value, match in [
        ("objective.name", "hinge", "objective.name"),
        ("data.name", "digits_unpaired", "data.name"),
        ("data.domain_b", "blur", "data.domain_b"),
        ("data.domain_a", "blur", "data.domain_a"),
        ("game.dropout", 1.0, "game.dropout"),
        ("game.l1_weight", -1.0, "game.l1_weight"),
        ("game.g_depth", 5, "data.resolution"),
        ("game.norm", "batch", "game.norm"),
        ("train.d_steps", 2, "train.d_steps"),
        ("train.batch_size", 1000, "train.batch_size"),
    ]:
        with pytest.raises(ConfigError, match=match):
            runs.build_run(tiny_config(**{key: value}))
    # A paired dataset is refused by the games that do not train on pairs.
    cyc = tiny_config()
    cyc.game = __import__("gan_jax.games", fromlist=["defaults"]).defaults("cyclegan")
    cyc.objective.name = "least_squares"
    with pytest.raises(ConfigError, match="data.name"):
        runs.build_run(cyc)
    # 'lowres' averages 4x4 blocks: a resolution that is not a multiple of 4 is refused.
    with pytest.raises(ConfigError, match="data.domain_a.*multiple of 4"):
        runs.build_run(
            tiny_config(
                **{
                    "data.domain_a": "lowres",
                    "data.resolution": 10,
                    "game.g_depth": 1,
                    "game.d_layers": 1,
                }
            )
        )
    star = recipe.get_config()
    star.data.name, star.data.domains, star.data.resolution = (
        "digits_domains",
        "identity,lowres",
        10,
    )
    star.train.batch_size = 8
    with pytest.raises(ConfigError, match="data.domains.*multiple of 4"):
        data.check(star)


def two_steps(cfg):
    run = runs.build_run(cfg)
    state = run.init_state(jax.random.key(cfg.seed))
    step = steps.make_train_step(run.game)
    for s in range(2):
        state, m = step(state, run.sample_batches(run.data_key(), s))
    return state, m


def test_same_seed_same_numbers_and_the_players():
    a, m = two_steps(tiny_config(**{"game.dropout": 0.5}))
    b, _ = two_steps(tiny_config(**{"game.dropout": 0.5}))
    for x, y in zip(jax.tree.leaves(a.nets), jax.tree.leaves(b.nets), strict=True):
        np.testing.assert_array_equal(x, y)
    assert {"g/adv", "g/l1", "d/real", "d/fake", "d/loss", "g/loss"} <= set(m)
    c, _ = two_steps(tiny_config(**{"game.dropout": 0.5, "seed": 1}))
    assert not np.allclose(a.nets["g"].params["up0"]["kernel"], c.nets["g"].params["up0"]["kernel"])


@pytest.mark.slow
def test_end_to_end_train_and_headline(tmp_path, digits_classifier):
    cfg = tiny_config(**{"train.sample_every": 2})
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 2
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    final = json.loads((tmp_path / "eval.json").read_text())
    for name in ("class_preservation", "l1", "psnr", "fd_target", "sharpness"):
        assert np.isfinite(final[f"headline/{name}"])
    assert 0 <= final["headline/class_preservation"] <= 1
    assert final["headline/classifier_accuracy"] > 0.97
