"""python -m gan_jax.main --config=configs/vaegan.py

VAE-GAN (Larsen et al. 2016, arXiv 1512.09300) on the digits at 16x16: a Gaussian encoder E
(optim.e), the DCGAN generator as the VAE's decoder, and the DCGAN critic whose last feature map
measures the reconstruction error (gan_jax/games/vaegan.py). KL weight 1, gamma (recon_weight)
1; Adam 2e-4, beta1 0.5 for all three; z_dim 64; the plain GAN's budget (configs/nsgan.py, 3500
steps). The headline: the class preservation of the reconstructions G(mu(x)) of held-out
digits; the samples' Frechet distance compares with the plain GAN's
(experiments/vaegan_digits.py, experiments/README.md).
"""

from configs import default
from gan_jax import games, optim


def get_config(arg=None):
    if arg:
        raise ValueError(f"configs/vaegan.py has no presets; got {arg!r}")
    c = default.get_config("digits")
    c.game = games.defaults("vaegan")
    c.objective.name = "non_saturating"
    c.optim.e = optim.default_block()
    c.train.steps = 3500
    c.train.log_every = 250
    c.eval.every_steps = 1000
    c.checkpoint.every_steps = 1000
    return c
