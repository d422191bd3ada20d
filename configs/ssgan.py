"""python -m gan_jax.main --config=configs/ssgan.py

SSGAN on the digits (Chen et al. 2019, arXiv 1811.11212; gan_jax/games/ssgan.py): the
unconditional DCGAN of configs/nsgan.py (non-saturating objective, Adam 2e-4, beta1 0.5, its
3500 steps) with a 4-way rotation head on the critic; the rotation loss of a quarter of each
batch in all four rotations, on the reals in the critic's loss (beta = 1) and on as many fakes in
G's (alpha = 0.2, the paper's weights). experiments/aux_critics_digits.py compares its Frechet
distance with configs/nsgan.py's, configs/cgan.py's and configs/s3gan.py's at a matched budget.
"""

from configs import nsgan
from gan_jax import games


def get_config(arg=None):
    c = nsgan.get_config(arg)
    if c.model.name != "dcgan":
        raise ValueError(f"configs/ssgan.py trains the DCGAN family on images; got preset {arg!r}")
    # A quarter of each batch (16 images) in all four rotations: 64 rotated images per pass, not
    # 256, halves the step's cost (0.041 vs 0.082 s on the shared cores; nsgan's step 0.029).
    c.game = games.defaults("ssgan")
    c.game.rotation_examples = 16
    return c
