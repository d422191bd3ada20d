"""python -m gan_jax.main --config=configs/grid25_best.py

The best grid25 recipe gan_jax offers in experiments/mode_collapse_2d.py (row "best"): the
non-saturating GAN (Goodfellow et al. 2014) on the 2D preset's MLPs (3 x 256 ReLU, no
normalisation, z ~ N(0, I_2), batch 256) with Adam lr 1e-3 (beta1 0.5) for both networks,
decayed to 0 by a cosine schedule (Loshchilov & Hutter 2017) over the run's `train.steps`: the
high learning rate spreads G over the modes early, the decay then sharpens every mode (the
high-quality radius is 3 std = 0.15). experiments/results/mode_collapse_2d.md has what it
reaches. Presets: `:grid25` (default), `:ring8`.
"""

from configs import nsgan


def get_config(arg=None):
    preset = arg or "grid25"
    if preset not in ("ring8", "grid25"):
        raise ValueError(f"config preset {preset!r} is not known; allowed: ['ring8', 'grid25']")
    c = nsgan.get_config(preset)
    c.train.steps = 10000
    for opt in (c.optim.g, c.optim.d):
        opt.lr = 1e-3
        opt.schedule = "cosine"
    # Decay over the whole run, also when --config.train.steps changes it (d_steps is 1 here).
    c.optim.g.decay_steps = c.train.get_ref("steps")
    c.optim.d.decay_steps = c.train.get_ref("steps") * c.train.get_ref("d_steps")
    return c
