"""python -m gan_jax.main --config=configs/acgan.py

AC-GAN on the digits (Odena et al. 2017, arXiv 1610.09585; gan_jax/games/acgan.py): the DCGAN
generator conditioned on the class by concatenation (as configs/cgan.py), a critic that is told
no label and classifies every image with a softmax head on its features, the class
cross-entropy added with weight 1 to both players' losses (reals and fakes for the critic, fakes
for G). Everything else is configs/cgan.py's: non-saturating objective, DCGAN optimiser (Adam
2e-4, beta1 0.5), EMA of G (decay 0.99), 2000 steps. experiments/aux_critics_digits.py trains
it beside configs/cgan.py at the same budget and measures class agreement and per-class
diversity.
"""

from configs import cgan
from gan_jax import games


def get_config(arg=None):
    c = cgan.get_config(arg)
    c.game = games.defaults("acgan")
    return c
