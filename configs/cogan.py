"""python -m gan_jax.main --config=configs/cogan.py

CoGAN (Liu & Tuzel 2016, arXiv 1606.07536) on digits vs negative digits (data.name=
'digits_unpaired', data.domain_b='invert'; the two halves hold different digits, so no pair is
ever seen): two DCGAN generators sharing all layers but the last, two critics sharing all but
the first (gan_jax/games/cogan.py), the non-saturating loss, Adam 2e-4, beta1 0.5, batch 64.
`:unshared` is the ablation with game.share=False (two independent GANs). No feature extractor
fits the side-by-side pairs (eval.extractor='none'); the measure is the game's headline: the
fraction of pairs (G_A(z), G_B(z)) that are the same digit and each other's negative
(experiments/cogan_digits.py, experiments/README.md).
"""

from configs import default
from gan_jax import games

PRESETS = ("shared", "unshared")


def get_config(arg=None):
    preset = arg or "shared"
    if preset not in PRESETS:
        raise ValueError(f"configs/cogan.py presets: {list(PRESETS)}; got {arg!r}")
    c = default.get_config("digits")
    c.game = games.defaults("cogan")
    c.game.share = preset == "shared"
    c.objective.name = "non_saturating"
    c.data.name = "digits_unpaired"
    c.data.domain_b = "invert"
    c.train.steps = 3000
    c.train.log_every = 250
    c.eval.every_steps = 1000
    c.eval.extractor = "none"
    c.checkpoint.every_steps = 1000
    return c
