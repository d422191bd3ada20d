"""python -m gan_jax.main --config=configs/wgan_gp.py

WGAN-GP, the recipe of Gulrajani et al. 2017 (Algorithm 1): gradient penalty lambda = 10 at
random interpolates, Adam lr 1e-4 with betas (0, 0.9), 5 critic updates per generator update,
and no BatchNorm in the critic (layer norm instead; the penalty is per sample).
Presets: `:digits` (default), `:ring8`, `:grid25`,
`:mnist`, `:fashion_mnist`, `:cifar10`, `:celeba64` (TFDS data, see configs/default.py).
"""

from configs import default


def get_config(arg=None):
    c = default.get_config(arg)
    c.objective.name = "wasserstein_gp"
    c.objective.gp_weight = 10.0
    for opt in (c.optim.g, c.optim.d):
        opt.name = "adam"
        opt.lr = 1e-4
        opt.b1, opt.b2 = 0.0, 0.9
    c.train.d_steps = 5
    if c.model.name == "dcgan":
        c.model.d_norm = "layer"
    if c.data.name == "digits":
        # Measured with experiments/digits_quality.py (seed 0): 10/10 classes with >= 3% of the
        # samples and Frechet distance 23.0 against 1165 untrained (the README's table has the
        # same value; bit-identical only on the same machine and versions: README).
        c.train.steps = 1000
    return c
