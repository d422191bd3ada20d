"""SRGAN (Ledig et al. 2017, arXiv 1609.04802): 4x single-image super-resolution with a GAN.

Networks: the generator ``g`` (``models.translation.SRResNet``: residual blocks at the low
resolution, two sub-pixel (depth-to-space) upsampling blocks) trained by ``optim.g`` and the
critic ``d`` (``models.translation.SRDiscriminator``) of high-resolution images, trained by
``optim.d``. Data: an embedded image dataset with a classifier (``mnist5k`` at 32x32, or
``digits``); the low-resolution input is made inside the game by 4x4 area downsampling
(``downsample``: the mean of each 4x4 block, 32x32 -> 8x8), as the paper makes its inputs by
bicubic downsampling with factor r = 4.

Players, every train step (D, then G, as the paper's alternating updates):

- ``d`` (role ``ROLE_D``) minimises the cross-entropy of eq. 2 on real high-resolution images
  against G's super-resolutions (``losses.bce_d_loss``).
- ``g`` (role ``ROLE_G``) minimises the perceptual loss of eq. 3, l_X + ``game.adv_weight``
  (10^-3) l_Gen: the content loss l_X plus the non-saturating adversarial loss -log D(G(x_LR))
  (eq. 6, ``losses.non_saturating_g_loss``). Content (``game.content``): 'features' (the paper's
  VGG loss, eq. 5: the mean squared difference of a feature map of a fixed, pretrained network;
  VGG19's weights cannot be downloaded here, so the map is the ReLU of the second convolution of
  the embedded classifier (``gan_jax.classifier``; 64 channels at half resolution), the map
  before its last pooling, as VGG54 is) or 'mse' (pixel-wise MSE, eq. 4). ``adv_weight`` 0 with
  'mse' is SRResNet, the paper's MSE baseline; then the game has no critic.

Evaluation: ``generate`` super-resolves (``eval_inputs``: low-resolution versions of a fixed draw
of the test images); ``headline`` measures, on every test image (the images outside the training
subset ``data.num_examples``; all images when it is 0), PSNR and SSIM (``gan_jax.metrics``)
against the high-resolution truth and the Frechet distance of the super-resolutions to the truth
in the classifier's penultimate features, and the same three for bicubic upsampling.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import classifier, data, metrics, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games.cyclegan import draw_images
from gan_jax.losses import bce_d_loss, non_saturating_g_loss
from gan_jax.models.translation import SRDiscriminator, SRResNet
from gan_jax.steps import Batch, Context, Game, Network, Player

# The dataset kinds it trains on (data.DatasetEntry.kind).
DATA_KINDS = ("images",)
PAPER = "SRGAN, Ledig et al. 2017, arXiv 1609.04802"
RECIPE = "srgan"
SCALE = 4  # the paper's upscaling factor r
CONTENTS = ("features", "mse")
DEFAULTS: dict = {
    "content": "features",  # l_X: 'features' (the paper's VGG loss, here the classifier's) or 'mse'
    "adv_weight": 1e-3,  # weight of l_Gen in eq. 3; 0 (with content 'mse'): SRResNet
    "g_width": 32,  # channels of G (paper: 64)
    "g_blocks": 4,  # residual blocks (paper: 16)
    "d_width": 16,  # channels of D's first stage (paper: 64)
    "d_stages": 3,  # stride-1 + stride-2 convolution pairs of D (paper: 4)
}
DATASETS = tuple(classifier.SOURCES)  # embedded image datasets with a classifier


def check(config) -> None:
    """game.* values, and the objective, data and train keys SRGAN needs."""
    game = config.game
    if game.content not in CONTENTS:
        raise ConfigError("game.content", game.content, str(list(CONTENTS)))
    adv = game.adv_weight
    if isinstance(adv, bool) or not isinstance(adv, (int, float)) or adv < 0:
        raise ConfigError("game.adv_weight", adv, "a number >= 0")
    for key in ("g_width", "g_blocks", "d_width", "d_stages"):
        value = game[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"game.{key}", value, "an integer >= 1")
    if config.objective.name != "non_saturating":
        raise ConfigError("objective.name", config.objective.name, "'non_saturating' (SRGAN)")
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with SRGAN")
    if config.data.name not in DATASETS:
        raise ConfigError("data.name", config.data.name, f"one of {list(DATASETS)} with SRGAN")
    side = max(SCALE, 2**game.d_stages)
    if config.data.resolution % side:
        raise ConfigError(
            "data.resolution",
            config.data.resolution,
            f"a multiple of {side} (the scale {SCALE} and D's 2^game.d_stages)",
        )
    if config.train.d_steps != 1:
        raise ConfigError("train.d_steps", config.train.d_steps, "1 with SRGAN")


# ---------------------------------------------------------------------------------------------
# Low resolution, content and losses.


def downsample(x: jax.Array, factor: int = SCALE) -> jax.Array:
    """Area downsampling: (B, H, W, C) -> (B, H / f, W / f, C), the mean of each f x f block."""
    b, h, w, c = x.shape
    return x.reshape(b, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def bicubic(lr: jax.Array, factor: int = SCALE) -> jax.Array:
    """Bicubic upsampling (Keys, a = -0.5: ``jax.image.resize``'s 'cubic'), clipped to [-1, 1]."""
    b, h, w, c = lr.shape
    up = jax.image.resize(lr, (b, h * factor, w * factor, c), method="cubic")
    return jnp.clip(up, -1.0, 1.0)


def feature_map(clf_params, x: jax.Array) -> jax.Array:
    """ReLU of the classifier's second convolution (``classifier.DigitsCNN``'s conv1)."""
    _, state = classifier.DigitsCNN().apply(
        {"params": clf_params},
        x,
        capture_intermediates=lambda module, method: module.name == "conv1",
        mutable=["intermediates"],
    )
    return jax.nn.relu(state["intermediates"]["conv1"]["__call__"][0])


def content_loss(fake: jax.Array, real: jax.Array, features: functools.partial | None) -> jax.Array:
    """l_X: the mean squared difference of ``features`` maps (eq. 5), of pixels without (eq. 4)."""
    if features is not None:
        fake, real = features(fake), features(real)
    return jnp.mean(jnp.square(fake - real))


def generator_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, adv_weight: float, features
) -> steps.LossOut:
    """The ``g`` player's loss: l_X + adv_weight * -E[log D(G(x_LR))] (eq. 3)."""
    del key
    hr = batch["x"]
    fake = ctx("g", downsample(hr), train=True)
    content = content_loss(fake, hr, features)
    terms = {"content": content, "mse": jnp.mean(jnp.square(fake - hr))}
    if not adv_weight:
        return content, terms
    adv, _ = non_saturating_g_loss(ctx("d", fake, train=True))
    return content + adv_weight * adv, {**terms, "adv": adv}


def discriminator_loss(ctx: Context, batch: Batch, key: jax.Array) -> steps.LossOut:
    """The ``d`` player's loss: -E[log D(x_HR)] - E[log(1 - D(G(x_LR)))] (eq. 2)."""
    del key
    hr = batch["x"]
    fake = jax.lax.stop_gradient(ctx("g", downsample(hr), train=True))
    return bce_d_loss(ctx("d", hr, train=True), ctx("d", fake, train=True))


# ---------------------------------------------------------------------------------------------
# Evaluation.


@jax.jit
def super_resolve(state: steps.State, lr: jax.Array) -> jax.Array:
    """G(x_LR) in inference mode, clipped to the images' range [-1, 1]."""
    return jnp.clip(steps.apply(state, "g", lr), -1.0, 1.0)


def held_out_images(name: str, resolution: int, num_examples: int) -> np.ndarray:
    """The images a run is measured on: those outside its training subset (all when 0)."""
    images, _ = data.EMBEDDED_IMAGES[name](resolution)
    if not num_examples:
        return images
    held_out = np.setdiff1d(np.arange(len(images)), data.subset_indices(len(images), num_examples))
    return images[held_out]


def sr_metrics(sr: np.ndarray, hr: np.ndarray, clf: classifier.Classifier) -> dict[str, float]:
    """PSNR, SSIM and the Frechet distance (classifier features) of ``sr`` against ``hr``."""
    _, f_sr = clf.logits_and_features(np.asarray(sr, np.float32))
    _, f_hr = clf.logits_and_features(hr)
    return {
        "psnr": metrics.psnr(sr, hr),
        "ssim": metrics.ssim(sr, hr),
        "fd": metrics.frechet_distance_features(f_hr, f_sr),
    }


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    game, cfg = config.game, config.data
    cache_dir = config.eval.get("cache_dir") or None
    test = held_out_images(cfg.name, cfg.resolution, cfg.get("num_examples", 0))
    hr_example = jnp.zeros((2, *dataset.shape))
    lr_example = downsample(hr_example)
    networks = {"g": Network(SRResNet(game.g_width, game.g_blocks), (lr_example,), optim="g")}
    adv_weight = float(game.adv_weight)
    features = None
    if game.content == "features":
        clf = classifier.dataset_classifier(cfg.name, cfg.resolution, cache_dir)
        features = functools.partial(feature_map, jax.tree.map(jnp.asarray, clf.params))
    g_loss = functools.partial(generator_loss, adv_weight=adv_weight, features=features)
    players = (Player("g", steps.ROLE_G, ("g",), g_loss),)
    if adv_weight:
        critic = SRDiscriminator(game.d_width, game.d_stages)
        networks["d"] = Network(critic, (hr_example,), optim="d")
        players = (Player("d", steps.ROLE_D, ("d",), discriminator_loss), *players)

    def generate(state: steps.State, inputs: dict) -> jax.Array:
        return jnp.clip(steps.apply(state, "g", inputs["lr"]), -1.0, 1.0)

    def eval_inputs(key: jax.Array, n: int) -> dict:
        return {"lr": downsample(draw_images(key, test, n))}

    def headline(run, state: steps.State) -> dict[str, float]:
        clf = classifier.dataset_classifier(cfg.name, cfg.resolution, cache_dir)
        lr = downsample(jnp.asarray(test))
        out = sr_metrics(jax.device_get(super_resolve(state, lr)), test, clf)
        base = sr_metrics(jax.device_get(bicubic(lr)), test, clf)
        return {**out, **{f"bicubic_{k}": v for k, v in base.items()}}

    return Game(
        name="srgan",
        networks=networks,
        players=players,
        generate=generate,
        eval_inputs=eval_inputs,
        headline=headline,
    )
