"""python -m gan_jax.main --config=configs/cyclegan.py

CycleGAN (Zhu et al. 2017, arXiv 1703.10593) between the digits and their inverses
(data.name='digits_unpaired', data.domain_b='invert'; 'rot90' for quarter turns): two ResNet
generators and two PatchGAN critics (gan_jax/games/cyclegan.py), least-squares losses, cycle
weight 10, a 50-image history per critic, Adam lr 2e-4, beta1 0.5 (the paper's optimiser; its
batch of 1 and 200 epochs are a batch of 32 for a few CPU minutes here). No identity loss
(game.identity_weight 0, not the reference code's 5): it pulls G_AB(x) towards x, and for
inversion the true map is the farthest from x. With 5, seed 0 keeps the input's strokes light
and draws a *different* digit's dark strokes in its background: class preservation 0.03 / 0.02,
below chance, against 0.98 / 0.99 without (experiments/results/cyclegan_digits.md).
The model.* block is not read. No feature extractor fits translations (eval.extractor='none');
the measure is the game's headline: class preservation by the digits classifier both ways.
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    if arg:
        raise ValueError(f"configs/cyclegan.py has no presets; got {arg!r}")
    c = default.get_config()
    c.game = games.defaults("cyclegan")
    c.game.identity_weight = 0.0
    c.objective.name = "least_squares"
    c.data.name = "digits_unpaired"
    c.data.domain_b = "invert"
    c.train.batch_size = 32
    c.train.steps = 600
    c.train.log_every = 50
    c.train.sample_every = 200
    c.checkpoint.every_steps = 200
    c.eval.every_steps = 200
    c.eval.extractor = "none"
    return c
