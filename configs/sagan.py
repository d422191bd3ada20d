"""python -m gan_jax.main --config=configs/sagan.py

SAGAN (Zhang et al. 2018, arXiv 1805.08318) on the digits at 16x16: the SNGAN ResNets with
spectral normalisation in every layer of G and D, a self-attention block in both at the 8x8
maps (gamma from 0), the hinge loss and the two time-scale update rule (Adam betas (0, 0.9), lr
1e-4 for G and 4e-4 for D, one critic update per generator update). Scaled down for 2 CPU cores:
D 16 channels and G 32 (the paper's ImageNet networks: 64 * up to 16 channels at 128x128),
z_dim 64, unconditional (the paper trains class-conditional ImageNet). Presets: `:digits`
(default), `:no_attention` (the same networks and recipe without the attention blocks: the
ablation of the paper's claim, experiments/sagan_digits.py).
"""

from configs import default

PRESETS = ("digits", "no_attention")


def get_config(arg=None):
    preset = arg or "digits"
    if preset not in PRESETS:
        raise ValueError(f"config preset {preset!r} is not known; allowed: {list(PRESETS)}")
    c = default.get_config("digits")
    c.model.name = "sagan"
    c.model.width = 16
    c.model.attention = 8 if preset == "digits" else 0
    c.objective.name = "hinge"
    for opt, lr in ((c.optim.g, 1e-4), (c.optim.d, 4e-4)):
        opt.name, opt.lr, opt.b1, opt.b2 = "adam", lr, 0.0, 0.9
    c.train.d_steps = 1
    return c
