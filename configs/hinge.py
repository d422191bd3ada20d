"""python -m gan_jax.main --config=configs/hinge.py

The SNGAN recipe (Miyato et al. 2018, arXiv 1802.05957): hinge loss, a spectrally normalised
critic without other normalisation, Adam lr 2e-4 with betas (0, 0.9) for both networks, 5 critic
updates per generator update (n_dis = 5), the setting of their ResNet experiments; here on the
DCGAN family (digits) or the MLPs (2D presets), the generator keeping BatchNorm as SNGAN's does
(configs/sngan.py has the SNGAN ResNets). Any penalty composes, e.g.
--config.objective.penalty=r1 --config.objective.penalty_weight=1.
Presets: `:digits` (default), `:ring8`, `:grid25`.
"""

from configs import default


def get_config(arg=None):
    c = default.get_config(arg)
    c.objective.name = "hinge"
    for opt in (c.optim.g, c.optim.d):
        opt.name = "adam"
        opt.lr = 2e-4
        opt.b1, opt.b2 = 0.0, 0.9
    c.train.d_steps = 5
    c.model.d_norm = "none"
    c.model.d_spectral_norm = True
    return c
