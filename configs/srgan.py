"""python -m gan_jax.main --config=configs/srgan.py

SRGAN (Ledig et al. 2017, arXiv 1609.04802): 4x super-resolution of the 5000 embedded MNIST
digits at 32x32 from their 8x8 area-downsampled versions (gan_jax/games/srgan.py): a residual
generator with sub-pixel upsampling, content loss in the embedded mnist5k classifier's conv
features (VGG19 cannot be downloaded here) plus 1e-3 x the adversarial loss, Adam lr 1e-4,
betas 0.9 / 0.999, batch 16 (the paper's). Trains on a fixed subset of 4000 images
(data.num_examples) and is measured on the other 1000. Presets: `:srresnet` (the paper's MSE
baseline: pixel MSE, no critic), `:features` (the content loss alone, no critic: an ablation
that separates the feature loss from the adversarial term). The model.* block is not read.
"""

from configs import default
from gan_jax import games

PRESETS = ("srresnet", "features")


def get_config(arg=None):
    if arg and arg not in PRESETS:
        raise ValueError(f"configs/srgan.py preset {arg!r} is not known; allowed: {PRESETS}")
    c = default.get_config("mnist5k")
    c.game = games.defaults("srgan")
    if arg == "srresnet":
        c.game.content, c.game.adv_weight = "mse", 0.0
    elif arg == "features":
        c.game.adv_weight = 0.0
    c.objective.name = "non_saturating"
    c.data.resolution = 32
    c.data.num_examples = 4000
    for block in (c.optim.g, c.optim.d):
        block.lr, block.b1, block.b2 = 1e-4, 0.9, 0.999
    c.train.batch_size = 16
    c.train.steps = 2000
    c.train.log_every = 100
    c.train.sample_every = 500
    c.checkpoint.every_steps = 500
    c.eval.every_steps = 1000
    c.eval.num_samples = 1000
    return c
