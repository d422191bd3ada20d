"""python -m gan_jax.main --config=configs/lapgan.py

LAPGAN on the digits (Denton et al. 2015, arXiv 1506.05751; gan_jax/games/lapgan.py): a base GAN
at 4x4 and conditional GANs of the Laplacian residuals at 8x8 and 16x16, each conditioned on the
upsampled coarser image, all levels trained in one step on the real pyramids and sampled coarse
to fine. Everything else is configs/nsgan.py's DCGAN setting (non-saturating objective, Adam 2e-4
/ beta1 0.5, batch 64, model.width 32 for every level), at 2000 steps. experiments/pyramid_digits.py
trains it beside configs/nsgan.py at the same budget. Preset `:base8`: two levels, 8 -> 16
(game.base_resolution=8).
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    if arg not in (None, "base8"):
        raise ValueError(f"configs/lapgan.py preset {arg!r}; allowed: ['base8']")
    c = default.get_config("digits")
    c.game = games.defaults("lapgan")
    if arg == "base8":
        c.game.base_resolution = 8
    c.objective.name = "non_saturating"
    c.train.steps = 2000
    return c
