"""SRGAN (gan_jax/games/srgan.py): PSNR / SSIM / sharpness in closed form, the downsampling and
sub-pixel layers, the content and adversarial losses on constructed inputs, the checks, the
game without a critic (SRResNet), determinism and the loop end to end."""

from __future__ import annotations

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import srgan as recipe
from gan_jax import classifier, data, metrics, runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import srgan
from gan_jax.models.translation import SRDiscriminator, SRResNet, depth_to_space


def tiny_config(preset=None, **overrides):
    cfg = recipe.get_config(preset)
    cfg.game.g_width, cfg.game.g_blocks, cfg.game.d_width, cfg.game.d_stages = 4, 1, 4, 2
    cfg.game.content = "mse"  # the feature content loss needs the mnist5k classifier (slow)
    cfg.train.batch_size, cfg.train.steps, cfg.train.log_every = 8, 2, 1
    cfg.train.sample_every, cfg.eval.every_steps, cfg.checkpoint.every_steps = 0, 0, 2
    cfg.eval.at_start = False
    for dotted, value in overrides.items():
        node, *path = cfg, *dotted.split(".")
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return cfg


# ---------------------------------------------------------------------------------------------
# Image metrics.


def test_psnr_closed_form():
    x = np.zeros((2, 8, 8, 1))
    y = x + 0.2  # MSE 0.04 on range 2: 10 log10(4 / 0.04) = 20 dB
    assert metrics.psnr(x, y) == pytest.approx(20.0)
    y[1] += 0.2  # image 1: MSE 0.16 -> 10 log10(25) dB; the mean over images
    assert metrics.psnr(x, y) == pytest.approx((20.0 + 10 * np.log10(25)) / 2)


def test_ssim_closed_form():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 16, 16, 1))
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    # Constant images a, b: no variance, SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 2)^2.
    a, b, c1 = 0.5, -0.25, (0.01 * 2) ** 2
    ca, cb = np.full((1, 12, 12, 1), a), np.full((1, 12, 12, 1), b)
    assert metrics.ssim(ca, cb) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1))
    # Same means, y = -x about the mean: the structure term is (C2 - 2 var) / (2 var + C2).
    z = np.where(np.indices((11, 11)).sum(0) % 2 == 0, 1.0, -1.0)[None, ..., None]
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / g.sum() ** 2
    mu = float((w * z[0, ..., 0]).sum())
    var = 1.0 - mu**2
    c2 = (0.03 * 2) ** 2
    expected = ((2 * mu * -mu + c1) / (2 * mu**2 + c1)) * ((-2 * var + c2) / (2 * var + c2))
    assert metrics.ssim(z, -z) == pytest.approx(expected, rel=1e-9)
    # Noise lowers it.
    assert metrics.ssim(x, np.clip(x + rng.normal(0, 0.3, x.shape), -1, 1)) < 0.9


def test_laplacian_energy_closed_form():
    ramp = np.broadcast_to(np.arange(8.0)[None, :, None, None], (2, 8, 8, 1))
    assert metrics.laplacian_energy(ramp) == 0.0  # linear images have no curvature
    checker = np.where(np.indices((8, 8)).sum(0) % 2 == 0, 1.0, -1.0)[None, ..., None]
    assert metrics.laplacian_energy(checker) == pytest.approx(64.0)  # |-4 - 4| at every pixel


# ---------------------------------------------------------------------------------------------
# Layers.


def test_downsample_is_the_mean_of_each_block_and_bicubic_keeps_constants():
    x = jnp.arange(2 * 8 * 8 * 1, dtype=jnp.float32).reshape(2, 8, 8, 1)
    lr = srgan.downsample(x)
    assert lr.shape == (2, 2, 2, 1)
    assert float(lr[1, 1, 0, 0]) == pytest.approx(float(jnp.mean(x[1, 4:8, 0:4, 0])))
    up = srgan.bicubic(jnp.full((1, 8, 8, 1), 0.3))
    assert up.shape == (1, 32, 32, 1)
    np.testing.assert_allclose(up, 0.3, atol=1e-6)


def test_depth_to_space_is_pixel_shuffle():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 2 * 4)).astype(np.float32)
    y = np.asarray(depth_to_space(jnp.asarray(x), 2))
    assert y.shape == (2, 6, 8, 2)
    for h, w, c, i, j in [(0, 0, 0, 0, 0), (2, 3, 1, 1, 0), (1, 2, 1, 0, 1), (2, 1, 0, 1, 1)]:
        assert y[1, 2 * h + i, 2 * w + j, c] == x[1, h, w, c * 4 + i * 2 + j]


def test_networks_shapes():
    lr = jnp.zeros((2, 8, 8, 1))
    g = SRResNet(width=4, num_blocks=1)
    out = g.apply(g.init(jax.random.key(0), lr), lr)
    assert out.shape == (2, 32, 32, 1)
    d = SRDiscriminator(width=4, num_stages=3)
    assert d.apply(d.init(jax.random.key(0), out), out).shape == (2,)


# ---------------------------------------------------------------------------------------------
# Losses on constructed inputs.


class StubContext:
    def __init__(self, nets):
        self.nets = nets

    def __call__(self, name, *inputs, train):
        return self.nets[name](*inputs)


def test_generator_loss_closed_form():
    hr = jax.random.uniform(jax.random.key(0), (3, 8, 8, 1), minval=-1, maxval=1)
    nets = {
        "g": lambda lr: jnp.zeros((lr.shape[0], 8, 8, 1)) + 0.1,  # a constant "super-resolution"
        "d": lambda x: jnp.full((x.shape[0],), -1.0),
    }
    mse = float(jnp.mean(jnp.square(0.1 - hr)))
    batch = {"x": hr, "label": jnp.zeros(3, jnp.int32)}
    loss, terms = srgan.generator_loss(
        StubContext(nets), batch, jax.random.key(1), adv_weight=1e-3, features=None
    )
    adv = np.log1p(np.exp(1.0))  # -log sigmoid(-1)
    assert float(terms["content"]) == pytest.approx(mse, rel=1e-6)
    assert float(terms["adv"]) == pytest.approx(adv, rel=1e-6)
    assert float(loss) == pytest.approx(mse + 1e-3 * adv, rel=1e-6)
    # The feature content loss: the MSE of the feature maps (here phi(x) = 2x: 4 x the MSE).
    loss, terms = srgan.generator_loss(
        StubContext(nets), batch, jax.random.key(1), adv_weight=0.0, features=lambda x: 2 * x
    )
    assert float(loss) == float(terms["content"]) == pytest.approx(4 * mse, rel=1e-6)
    assert "adv" not in terms


def test_discriminator_loss_closed_form():
    hr = jnp.ones((2, 8, 8, 1))
    nets = {"g": lambda lr: jnp.zeros((2, 8, 8, 1)), "d": lambda x: jnp.mean(x, (1, 2, 3)) * 2}
    loss, terms = srgan.discriminator_loss(StubContext(nets), {"x": hr}, jax.random.key(0))
    real, fake = np.log1p(np.exp(-2.0)), np.log(2.0)  # logits 2 (real), 0 (fake)
    assert float(terms["real"]) == pytest.approx(real, rel=1e-6)
    assert float(loss) == pytest.approx(real + fake, rel=1e-6)


def test_feature_map_is_the_classifiers_second_conv():
    x = jax.random.uniform(jax.random.key(0), (2, 32, 32, 1), minval=-1, maxval=1)
    params = classifier.DigitsCNN().init(jax.random.key(1), x)["params"]
    h = nn.relu(nn.Conv(32, (3, 3)).apply({"params": params["conv0"]}, x))
    h = nn.avg_pool(h, (2, 2), (2, 2))
    expected = nn.relu(nn.Conv(64, (3, 3)).apply({"params": params["conv1"]}, h))
    got = srgan.feature_map(params, x)
    assert got.shape == (2, 16, 16, 64)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Config checks, the game's shape and the loop.


def test_held_out_images_are_outside_the_training_subset():
    images, _ = data.mnist5k_arrays(32)
    held = srgan.held_out_images("mnist5k", 32, 4000)
    assert held.shape == (1000, 32, 32, 1)
    train_set = {x.tobytes() for x in images[data.subset_indices(5000, 4000)]}
    assert not any(x.tobytes() in train_set for x in held)


def test_check_rejects_what_srgan_cannot_train():
    for key, value, match in [
        ("objective.name", "hinge", "objective.name"),
        ("data.name", "ring8", "data.name"),
        ("data.resolution", 30, "data.resolution"),
        ("game.content", "vgg", "game.content"),
        ("game.adv_weight", -1.0, "game.adv_weight"),
        ("game.g_blocks", 0, "game.g_blocks"),
        ("train.d_steps", 2, "train.d_steps"),
    ]:
        with pytest.raises(ConfigError, match=match):
            runs.build_run(tiny_config(**{key: value}))


def test_srresnet_has_no_critic():
    run = runs.build_run(tiny_config("srresnet"))
    assert set(run.game.networks) == {"g"} and [p.name for p in run.game.players] == ["g"]
    assert set(runs.build_run(tiny_config()).game.networks) == {"g", "d"}


def two_steps(cfg):
    run = runs.build_run(cfg)
    state = run.init_state(jax.random.key(cfg.seed))
    step = steps.make_train_step(run.game)
    for s in range(2):
        state, m = step(state, run.sample_batches(run.data_key(), s))
    return state, m


def test_same_seed_same_numbers():
    a, m = two_steps(tiny_config())
    b, _ = two_steps(tiny_config())
    for x, y in zip(jax.tree.leaves(a.nets), jax.tree.leaves(b.nets), strict=True):
        np.testing.assert_array_equal(x, y)
    assert {"g/content", "g/mse", "g/adv", "d/real", "d/fake"} <= set(m)


@pytest.mark.slow
def test_end_to_end_train_and_headline(tmp_path, mnist5k_classifier):
    cfg = tiny_config(**{"train.sample_every": 2, "game.content": "features"})
    cfg.eval.num_samples = 64
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 2
    final = json.loads((tmp_path / "eval.json").read_text())
    for name in ("psnr", "ssim", "fd", "bicubic_psnr", "bicubic_ssim", "bicubic_fd"):
        assert np.isfinite(final[f"headline/{name}"])
    assert final["headline/bicubic_psnr"] > 10 and 0 < final["headline/bicubic_ssim"] < 1
