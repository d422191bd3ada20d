"""python -m gan_jax.main --config=configs/biggan.py

BigGAN (Brock et al. 2018, arXiv 1809.11096; gan_jax/models/biggan.py, gan_jax/games/biggan.py)
on the digits at 16x16, conditional on the 10 classes: shared class embedding (32 dims),
hierarchical latent (z of 96 split in 3 chunks of 32: the input layer and one per up block,
skip-z into the conditional BatchNorms), self-attention at 8x8 in G and D, spectral norm in G
and D, the projection critic, the hinge loss, orthogonal regularisation of G (beta 1e-4), an
EMA of G (decay 0.99: BigGAN's 0.9999 averages over ~10k steps, and at
this 1000-1500-step budget 0.999 still kept 22-37% of the initial weights) sampled with standing
statistics (16 passes). Optimiser: Adam betas
(0, 0.999) as BigGAN, with SAGAN's lr 1e-4 / 4e-4 and one critic update per step (BigGAN's
2e-4 / 5e-5 with two critic steps is tuned for batch 2048). Scaled down for 2 CPU cores: D 16
channels and G 32 (BigGAN 128x128: 96 * up to 16). Sample with the truncation trick:
`python -m gan_jax.sample --workdir=DIR --truncation=0.5`. The truncation trade-off needs a
generator that has learnt its classes: at 1000 steps it draws the requested digit for 16% of
its samples and truncation buys nothing; trained 3000 steps (`--config.train.steps=3000`, ~490
CPU s) it does (experiments/README.md, "SAGAN and BigGAN").
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    c = default.get_config(arg or "digits")
    if c.data.name != "digits":
        raise ValueError(f"configs/biggan.py trains on the digits; got preset {arg!r}")
    c.game = games.defaults("biggan")
    c.game.standing_stats = 16
    c.model.name = "biggan"
    c.model.num_classes = 10
    c.model.width = 16
    c.model.z_dim = 96
    c.model.shared_dim = 32
    c.model.attention = 8
    c.model.g_ema_decay = 0.99
    c.objective.name = "hinge"
    for opt, lr in ((c.optim.g, 1e-4), (c.optim.d, 4e-4)):
        opt.name, opt.lr, opt.b1, opt.b2 = "adam", lr, 0.0, 0.999
    c.train.d_steps = 1
    return c
