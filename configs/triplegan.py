"""python -m gan_jax.main --config=configs/triplegan.py

Triple-GAN (Li et al. 2017, arXiv 1703.02291; gan_jax/games/triplegan.py) on mnist5k_ssl (the
data of configs/ssl_gan.py: 4000 train images, 100 labelled, 1000 TEST images): a conditional
generator, a classifier C (the same noisy MLP as the semi-supervised GAN's critic) and a
discriminator of (x, y) pairs; alpha = 1/2, C's pseudo-labels by argmax, the pseudo-discriminative
loss (alpha_P = 0.1) from 30% of the steps on (the paper's code: epoch 300 of 1000). Adam lr 3e-3
(the paper's code: 1e-3), beta1 0.5 for all three. Preset `:digits` trains on digits_ssl. The
paper's code's additions are off here and can be set: C's entropy and class-balance terms on
unlabelled images (game.entropy_weight 0.3, game.balance_weight 1e-3) and C's pre-training alone
(game.c_pretrain_steps; experiments/semisupervised_digits.py's `_reg` / `_pre` rows).
"""

from configs.ssl_gan import semisupervised_base
from gan_jax import optim


def get_config(arg=None):
    c = semisupervised_base(arg, "triplegan")
    c.optim.c = optim.default_block()
    c.optim.c.lr = c.optim.d.lr
    c.game.pseudo_start = int(0.3 * c.train.steps)
    return c
