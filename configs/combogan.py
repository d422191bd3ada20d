"""python -m gan_jax.main --config=configs/combogan.py

ComboGAN (Anoosheh et al. 2018, arXiv 1712.06909) over four unpaired domains of the digits
(data.name='digits_domains', data.domains='identity,invert,rot90,thicken'): one ResNet encoder,
one decoder and one PatchGAN critic per domain (gan_jax/games/combogan.py), any-to-any
translation dec_j(enc_i(x)), least-squares losses and cycle weight 10 on every directed pair in
every step, Adam lr 2e-4, beta1 0.5 (the paper's). Batch 32 (8 per domain). The model.* and
objective.* blocks are not read; eval.extractor='none', the measure is the game's headline.
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    if arg:
        raise ValueError(f"configs/combogan.py has no presets; got {arg!r}")
    c = default.get_config()
    c.game = games.defaults("combogan")
    c.data.name = "digits_domains"
    c.data.domains = "identity,invert,rot90,thicken"
    c.train.batch_size = 32
    c.train.steps = 600
    c.train.log_every = 50
    c.train.sample_every = 200
    c.checkpoint.every_steps = 200
    c.eval.every_steps = 600
    c.eval.extractor = "none"
    return c
