"""python -m gan_jax.main --config=configs/stylegan.py

StyleGAN (Karras et al. 2019, arXiv 1812.04948; gan_jax/models/stylegan.py and
gan_jax/games/stylegan.py) on the digits at 16x16: the mapping network (here 2 layers of 64,
the paper's 8 of 512), AdaIN after every convolution from a learned 4x4 constant, noise inputs,
ProGAN's critic (no residual skips) with minibatch stddev, channels 16 at 16x16 and 32 below,
equalised learning rate, without progressive growing (StyleGAN2 showed it is not needed). The
non-saturating loss with R1 (gamma 1) on every critic update, as StyleGAN's FFHQ setup (there
gamma 10), style mixing with p = 0.9, an EMA of G (decay 0.995). Adam lr 1e-3, betas (0, 0.99)
(the paper's), batch 32, 4500 steps. Truncation is for sampling (`truncation=psi`).
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    c = default.get_config(arg or "digits")
    if c.data.name != "digits":
        raise ValueError(f"configs/stylegan.py has only the digits preset; got {arg!r}")
    c.game = games.defaults("stylegan")
    c.model.name = "stylegan"
    c.model.width = 16  # scaled down for 2 CPU cores: 16 channels at 16x16, 32 below
    c.model.g_ema_decay = 0.995
    c.objective.name = "non_saturating"
    c.objective.penalty = "r1"
    c.objective.penalty_weight = 1.0  # gamma
    for opt in (c.optim.g, c.optim.d):
        opt.name, opt.lr, opt.b1, opt.b2 = "adam", 1e-3, 0.0, 0.99
    c.train.batch_size = 32
    # 1500 until 2026-12-02: FD 87.8 and style mixing inverted there; 16.3 and the paper's
    # coarse / fine split at 4500 (experiments/README.md, "StyleGAN").
    c.train.steps = 4500
    return c
