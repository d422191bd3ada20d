"""python -m gan_jax.main --config=configs/vaegan.py

VAE-GAN (Larsen et al. 2016, arXiv 1512.09300) on the digits at 16x16: a Gaussian encoder E
(optim.e), the DCGAN generator as the VAE's decoder, and the DCGAN critic whose last feature map
measures the reconstruction error (gan_jax/games/vaegan.py). gamma (game.recon_weight) 0.01 and
KL weight 10, not the game's 1 and 1: the feature error is summed over the critic's 1024
features and then outweighs both the GAN term in G's loss and the prior in E's, and the samples
of the prior suffer (seed 0, 3500 steps: FD 146 at 1 / 1, 90 at 0.01 / 1, 30 at 0.01 / 10; the
reconstructions' class preservation 0.99, 0.98, 0.94). Adam 2e-4, beta1 0.5 for all three;
z_dim 64; the plain GAN's budget (configs/nsgan.py, 3500 steps: FD 21.3). The headline: the
class preservation of the reconstructions G(mu(x)) of held-out digits
(experiments/vaegan_digits.py, experiments/README.md). Preset `:vae` is the paper's VAE
baseline: the same encoder and decoder trained as a VAE on the pixels (unit-Gaussian likelihood,
KL weight 1), no GAN term and no critic.
"""

from configs import default
from gan_jax import games, optim

PRESETS = ("vae",)


def get_config(arg=None):
    if arg and arg not in PRESETS:
        raise ValueError(f"configs/vaegan.py preset {arg!r} is not known; allowed: {PRESETS}")
    c = default.get_config("digits")
    c.game = games.defaults("vaegan")
    c.objective.name = "non_saturating"
    c.game.recon_weight = 0.01
    c.game.kl_weight = 10.0
    if arg == "vae":
        # The paper's VAE baseline: the same E and G, pixel likelihood, no GAN, no critic.
        c.game.recon_space, c.game.adv_weight, c.game.recon_weight = "pixels", 0.0, 1.0
        c.game.kl_weight = 1.0
    c.optim.e = optim.default_block()
    c.train.steps = 3500
    c.train.log_every = 250
    c.eval.every_steps = 1000
    c.checkpoint.every_steps = 1000
    return c
