"""python -m gan_jax.main --config=configs/bigan.py

BiGAN (Donahue et al. 2016, arXiv 1605.09782) on the digits at 16x16: an encoder E next to the
DCGAN generator, a critic on (x, z) pairs, the non-saturating loss with inverted labels for G
and E (gan_jax/games/bigan.py). `:ali` is ALI (Dumoulin et al. 2016): the same game with a
Gaussian encoder whose sample z = mu + sigma * eps enters the real pair. Adam 2e-4, beta1 0.5
for G, E (optim.e) and D; z_dim 64. The headline: a linear probe of E(x) on the held-out digits
against the same probe on the untrained encoder and on the pixels, and the class preservation
of G(E(x)) (experiments/bigan_digits.py, experiments/README.md).
"""

from configs import default
from gan_jax import games, optim

PRESETS = ("bigan", "ali")


def get_config(arg=None):
    preset = arg or "bigan"
    if preset not in PRESETS:
        raise ValueError(f"configs/bigan.py presets: {list(PRESETS)}; got {arg!r}")
    c = default.get_config("digits")
    c.game = games.defaults("bigan")
    c.game.encoder = "gaussian" if preset == "ali" else "deterministic"
    c.objective.name = "non_saturating"
    c.optim.e = optim.default_block()
    c.train.steps = 3000
    c.train.log_every = 250
    c.eval.every_steps = 1000
    c.checkpoint.every_steps = 1000
    return c
