"""python -m gan_jax.main --config=configs/stylegan2.py

StyleGAN2 (Karras et al. 2020, arXiv 1912.04958; gan_jax/models/stylegan.py and
gan_jax/games/stylegan.py) on the digits at 16x16: the mapping network (here 2 layers of 64,
the paper's 8 of 512), modulated / demodulated convolutions from a learned 4x4 constant, noise
inputs, the skip-connection generator and the residual critic with minibatch stddev, channels
16 at 16x16 and 32 below (the paper: up to 512), equalised learning rate. The non-saturating
loss with R1 (gamma 1, as the R3GAN digits recipe; the paper tunes gamma per dataset) lazily on
one critic update in 16, style mixing with p = 0.9, path-length regularisation (weight 2, on
one G update in 4), an EMA of G (decay 0.995)).
Adam lr 2e-3, betas (0, 0.99) for both networks (the paper's; lazy regularisation's rescaling
of Adam's hyperparameters is not done), batch 32, 4500 steps. Truncation is for sampling
(`truncation=psi`).
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    c = default.get_config(arg or "digits")
    if c.data.name != "digits":
        raise ValueError(f"configs/stylegan2.py has only the digits preset; got {arg!r}")
    c.game = games.defaults("stylegan")
    c.game.pl_weight = 2.0
    c.model.name = "stylegan2"
    c.model.width = 16  # scaled down for 2 CPU cores: 16 channels at 16x16, 32 below
    c.model.g_ema_decay = 0.995
    c.objective.name = "non_saturating"
    c.objective.penalty = "r1"
    c.objective.penalty_weight = 1.0  # gamma
    c.objective.penalty_every = 16
    for opt in (c.optim.g, c.optim.d):
        opt.name, opt.lr, opt.b1, opt.b2 = "adam", 2e-3, 0.0, 0.99
    c.train.batch_size = 32
    # 1500 until 2026-12-02 (FD 29.9); 5.0 at 4500 (experiments/README.md, "StyleGAN").
    c.train.steps = 4500
    return c
