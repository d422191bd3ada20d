"""python -m gan_jax.main --config=configs/sngan.py

SNGAN (Miyato et al. 2018): the ResNet generator and discriminator for 32x32 images (Appendix
B.4), spectral normalisation of every critic layer, Adam lr 2e-4 with betas (0, 0.9) and 5
critic updates per generator update (their setting for the ResNets), on the digits at 32x32.
The paper's widths are G 256 / D 128 channels (model.width=128); the default here is half that
to suit a CPU. Objective: the non-saturating loss (the paper's "standard" loss; the hinge
version is configs/hinge.py's business). Presets: `:digits` (default, unconditional),
`:projection` (conditional: class-conditional BatchNorm in G, projection discriminator,
Miyato & Koyama 2018).
"""

from configs import default

PRESETS = ("digits", "projection")


def get_config(arg=None):
    preset = arg or "digits"
    if preset not in PRESETS:
        raise ValueError(f"config preset {preset!r} is not known; allowed: {list(PRESETS)}")
    c = default.get_config("digits")
    c.data.resolution = 32
    c.model.name = "resnet"
    c.model.width = 64
    c.model.g_norm = "batch"
    c.model.d_norm = "none"
    c.model.d_spectral_norm = True
    c.model.z_dim = 128
    c.objective.name = "non_saturating"
    for opt in (c.optim.g, c.optim.d):
        opt.name, opt.lr, opt.b1, opt.b2 = "adam", 2e-4, 0.0, 0.9
    c.train.d_steps = 5
    if preset == "projection":
        c.model.num_classes = 10
    return c
