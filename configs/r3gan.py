"""python -m gan_jax.main --config=configs/r3gan.py

The R3GAN loss (Huang et al. 2024, "The GAN is dead; long live the GAN! A modern GAN baseline",
arXiv 2501.05441): the relativistic pairing loss (RpGAN, Jolicoeur-Martineau 2018) with R1 and
R2 at the same gamma (gamma / 2 each, `objective.penalty = 'r1_r2'`, `penalty_weight` = gamma),
Adam with betas (0, 0.99) for both networks and a critic without normalisation (the penalties are
per sample). Here on the DCGAN family (digits) or the MLPs (2D presets), not the paper's
modernised ResNets, and without its learning-rate and gamma schedules. Lazy regularisation
(StyleGAN2): `--config.objective.penalty_every=4`. Presets: `:digits` (default), `:mnist5k`,
`:ring8`, `:grid25`. experiments/r3gan_grid25.py and r3gan_digits.py compare RpGAN + R1 + R2 with
RpGAN + R1 and RpGAN alone (digits, 1500 steps: FD 14.9, 15.4, 25.3; experiments/README.md).
"""

from configs import default


def get_config(arg=None):
    c = default.get_config(arg)
    c.objective.name = "relativistic_pairing"
    c.objective.penalty = "r1_r2"
    c.objective.penalty_weight = 1.0  # gamma
    for opt in (c.optim.g, c.optim.d):
        opt.name = "adam"
        opt.lr = 2e-4
        opt.b1, opt.b2 = 0.0, 0.99
    if c.model.name == "dcgan":
        c.model.d_norm = "none"
    return c
