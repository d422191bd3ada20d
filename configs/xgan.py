"""python -m gan_jax.main --config=configs/xgan.py

XGAN (Royer et al. 2017, arXiv 1711.05139) between the digits and their inverses
(data.name='digits_unpaired', data.domain_b='invert'): two autoencoders sharing their middle
layers, so both domains meet in one 64-dim embedding, a domain-adversarial classifier on that
embedding, the semantic-consistency loss, least-squares critics per domain
(gan_jax/games/xgan.py). Adam lr 2e-4, beta1 0.5, batch 32. No teacher loss. The model.* and
objective.* blocks are not read; eval.extractor='none', the measure is the game's headline.
`--config.game.sem_weight=0` turns the semantic consistency off (experiments/xgan_digits.py).
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    if arg:
        raise ValueError(f"configs/xgan.py has no presets; got {arg!r}")
    c = default.get_config()
    c.game = games.defaults("xgan")
    c.data.name = "digits_unpaired"
    c.data.domain_b = "invert"
    c.train.batch_size = 32
    c.train.steps = 600
    c.train.log_every = 50
    c.train.sample_every = 200
    c.checkpoint.every_steps = 200
    c.eval.every_steps = 600
    c.eval.extractor = "none"
    return c
