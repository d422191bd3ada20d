"""python -m gan_jax.main --config=configs/s3gan.py

S3GAN on the digits (Lucic et al. 2019, arXiv 1903.02271; gan_jax/games/s3gan.py): 10% of the
digits (the same fraction of every class, a fixed subset) keep their labels. The critic is
SSGAN's (the rotation loss of a quarter of each batch in all four rotations, beta = 1 on reals,
alpha = 0.2 on fakes) with a class head trained on the labelled subset and a projection term,
the unlabelled reals projected on the labels the head infers; G is class-conditional.
Everything else is configs/cgan.py's (non-saturating objective, Adam 2e-4, beta1 0.5, EMA of G
with decay 0.99, 2000 steps), the fully labelled baseline it is compared with in
experiments/aux_critics_digits.py.
"""

from configs import cgan
from gan_jax import games


def get_config(arg=None):
    c = cgan.get_config(arg)
    # A quarter of each batch (16 images) in all four rotations: 64 rotated images per pass, not
    # 256, halves the step's cost (0.041 vs 0.082 s on the shared cores; nsgan's step 0.029).
    c.game = games.defaults("s3gan")
    c.game.rotation_examples = 16
    return c
