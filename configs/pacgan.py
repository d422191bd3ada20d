"""python -m gan_jax.main --config=configs/pacgan.py:grid25

PacGAN's 2D setup (Lin et al. 2018, arXiv 1712.04086, section 5.1 and its released config):
the non-saturating GAN with G = 4 layers of 400 ReLU units with BatchNorm, D = 3 maxout layers of
200 units x 5 pieces, weights N(0, 0.02^2), Adam lr 1e-4 beta1 0.8, batch 100, z ~ N(0, I_2),
trained on a fixed set of 100k points. `--config.model.pac=m` packs m samples per D input
(PacGAN m); the batch then holds 100 packs, i.e. train.batch_size = 100 m points, as in the
paper's code. Budget: PacGAN trains 400 epochs of the 100k points (400k updates); this config runs
`train.steps` updates (see experiments/README.md for what the table used).
Presets: `:grid25` (default), `:ring8`.
"""

from configs import nsgan

PACKS_PER_BATCH = 100


def get_config(arg=None):
    preset = arg or "grid25"
    if preset not in ("ring8", "grid25"):
        raise ValueError(f"config preset {preset!r} is not known; allowed: ['ring8', 'grid25']")
    c = nsgan.get_config(preset)
    c.data.num_points = 100_000
    c.model.name = "pacgan_mlp"
    c.model.z_dim = 2
    c.model.g_hidden = (400, 400, 400, 400)
    c.model.g_norm = "batch"
    c.model.d_hidden = (200, 200, 200)
    c.model.d_norm = "none"
    c.model.maxout_pieces = 5
    c.model.pac = 1
    for opt in (c.optim.g, c.optim.d):
        opt.name, opt.lr, opt.b1, opt.b2 = "adam", 1e-4, 0.8, 0.999
    c.train.batch_size = PACKS_PER_BATCH * c.model.pac
    c.train.d_steps = 1
    return c
