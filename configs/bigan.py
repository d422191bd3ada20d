"""python -m gan_jax.main --config=configs/bigan.py

BiGAN (Donahue et al. 2016, arXiv 1605.09782) on the digits at 16x16: an encoder E next to the
DCGAN generator, a critic on (x, z) pairs with dropout 0.2 on its joint layers (the paper's D),
the non-saturating loss with inverted labels for G and E (gan_jax/games/bigan.py). `:ali` is ALI
(Dumoulin et al. 2016): the same game with a Gaussian encoder whose sample z = mu + sigma * eps
enters the real pair. `_mnist5k` (`:bigan_mnist5k`, `:ali_mnist5k`) trains on the 5000 MNIST
digits at 32x32. Adam 2e-4, beta1 0.5 for G, E (optim.e) and D; z_dim 32, so that the probes
compare E(x) with pixel features of the same, low dimension. The headline: few-label (10 a
class) probes of E(x) against the untrained encoder, a random projection and the PCA of the
pixels, and the class preservation of G(E(x)) (experiments/bigan_digits.py,
experiments/README.md).
"""

from configs import default
from gan_jax import games, optim

PRESETS = ("bigan", "ali")
DATA = ("digits", "mnist5k")


def get_config(arg=None):
    preset, _, data = (arg or "bigan").partition("_")
    data = data or "digits"
    if preset not in PRESETS or data not in DATA:
        raise ValueError(
            f"configs/bigan.py presets: {list(PRESETS)}, optionally _<data> with data in "
            f"{list(DATA)}; got {arg!r}"
        )
    c = default.get_config(data)
    c.game = games.defaults("bigan")
    c.game.encoder = "gaussian" if preset == "ali" else "deterministic"
    c.game.dropout = 0.2
    c.objective.name = "non_saturating"
    c.optim.e = optim.default_block()
    c.model.z_dim = 32
    c.train.steps = 3000
    c.train.log_every = 250
    c.eval.every_steps = 1000
    c.checkpoint.every_steps = 1000
    return c
