"""python -m gan_jax.main --config=configs/improved.py

"ImprovedDCGAN" on the digits (Salimans et al. 2016, arXiv 1606.03498; gan_jax/games/improved.py):
the DCGAN pair at 16x16, G trained by feature matching on the critic's last 4x4 feature map (the
paper's section 3.1, in place of the adversarial generator loss), the critic by the
non-saturating objective's cross-entropy with one-sided label smoothing (real targets 0.9,
section 3.4). The other techniques are keys of this recipe, off by default: historical averaging
(``game.historical_averaging``), minibatch discrimination (``model.minibatch_discrimination``,
kernels; the paper uses 100 of dimension 5), the minibatch stddev (``model.minibatch_stddev``,
group size) and virtual batch normalisation in G (``model.g_norm='vbn'``).
experiments/improved_techniques.py measures them (experiments/README.md).
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    c = default.get_config(arg or "digits")
    if c.model.name != "dcgan":
        raise ValueError(
            f"configs/improved.py trains the DCGAN family on images; got preset {arg!r}"
        )
    c.game = games.defaults("improved")
    c.objective.name = "non_saturating"
    c.objective.label_smoothing = 0.1
    if c.data.name == "digits":
        c.train.steps = 3500  # the nsgan recipe's budget, for a matched comparison
    return c
