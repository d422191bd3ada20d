"""python -m gan_jax.main --config=configs/ebgan.py

EBGAN on the digits (Zhao et al. 2016, arXiv 1609.03126; gan_jax/games/ebgan.py): the critic is a
convolutional autoencoder (the DCGAN critic's body to a 64-d embedding, a DCGAN-generator-shaped
decoder, LeakyReLU, BatchNorm) whose energy is the mean squared reconstruction error per pixel;
it minimises the margin loss D(x) + [m - D(G(z))]^+ with m = 1, and G minimises D(G(z)) plus
0.1 times the pulling-away term of the fakes' embeddings (`:nopt` sets it to 0: EBGAN without
PT). G is the DCGAN generator; Adam 2e-4, beta1 0.5 (the DCGAN optimiser). Presets: `:digits`
(default), `:mnist5k` (32x32), and either with `_nopt` (`:digits_nopt`, `:mnist5k_nopt`).
experiments/ebgan_digits.py compares it with and without PT and with the non-saturating DCGAN.
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    preset, _, variant = (arg or "digits").partition("_")
    if variant not in ("", "nopt"):
        raise ValueError(f"configs/ebgan.py: preset {arg!r}; allowed: <data> or <data>_nopt")
    c = default.get_config(preset)
    if c.model.name != "dcgan":
        raise ValueError(f"configs/ebgan.py trains the DCGAN family on images; got {arg!r}")
    c.game = games.defaults("ebgan")
    if variant == "nopt":
        c.game.pt_weight = 0.0
    if c.data.name == "digits":
        # Seeds 0-1: FD 20.4 +- 2.5, recall 0.69, 10/10 classes; without PT FD 20.6, recall 0.69
        # (experiments/results/ebgan_digits.md).
        c.train.steps = 3500  # the non-saturating digits recipe's budget (configs/nsgan.py)
    return c
