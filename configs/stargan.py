"""python -m gan_jax.main --config=configs/stargan.py

StarGAN (Choi et al. 2018, arXiv 1711.09020) over four unpaired domains of the digits
(data.name='digits_domains', data.domains='identity,invert,rot90,thicken'): one ResNet generator
conditioned on the target domain, one critic with a patch score and a domain classifier
(gan_jax/games/stargan.py), WGAN-GP, lambda_cls 1, lambda_rec 10, lambda_gp 10, Adam lr 1e-4,
betas (0.5, 0.999) and n_critic 5 (the paper's). Batch 32 (8 per domain). The model.* and
objective.* blocks are not read. No feature extractor fits translations (eval.extractor='none');
the measure is the game's headline: class preservation and FD of all 12 translations.
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    if arg:
        raise ValueError(f"configs/stargan.py has no presets; got {arg!r}")
    c = default.get_config()
    c.game = games.defaults("stargan")
    c.data.name = "digits_domains"
    c.data.domains = "identity,invert,rot90,thicken"
    for block in (c.optim.g, c.optim.d):
        block.lr, block.b1, block.b2 = 1e-4, 0.5, 0.999
    c.train.d_steps = 5
    c.train.batch_size = 32
    c.train.steps = 600
    c.train.log_every = 50
    c.train.sample_every = 200
    c.checkpoint.every_steps = 200
    c.eval.every_steps = 600
    c.eval.extractor = "none"
    return c
