"""python -m gan_jax.main --config=configs/pggan.py

Progressive growing of GANs (Karras et al. 2018, arXiv 1710.10196; gan_jax/games/pggan.py) on
the digits at 16x16: stages of 4, 8 and 16 pixels, each of ``game.stage_steps`` steps (the last
runs to ``train.steps``), every new resolution faded in over ``game.fade_steps``; the paper's
WGAN-GP (lambda 10, one critic update per G update) with the drift term 0.001 E[D(x)^2], Adam
lr 1e-3 with betas (0, 0.99), minibatch stddev in groups of 4, an EMA of G (decay 0.99).
Scaled down: 16 channels at every resolution (the paper: 512), batch 32, 1500 steps per stage
of which 750 fade in (the paper: 800k images per fade-in and per stabilisation phase), EMA decay
0.99 (the paper: 0.999). The budget was 1500 steps (500 per stage) until 2026-12-02: growing
ended at FD 182 there and at 28.8 with this one (experiments/README.md, "Progressive
growing"). ``:flat`` trains the same networks at 16x16 from the start (the baseline of the
paper's claim, experiments/pggan_digits.py), ``:reset`` restarts both optimisers at every stage
change, as the ProGAN code does.
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    flat = arg == "flat"
    c = default.get_config("digits" if arg in (None, "flat", "reset") else arg)
    c.game = games.defaults("pggan")
    c.game.stage_steps = 0 if flat else 1500
    c.game.fade_steps = 0 if flat else 750
    # The ProGAN code resets both optimisers at a stage change; at this budget that doubled the
    # final FD (experiments/README.md, "Progressive growing"), so the recipe keeps them.
    c.game.reset_optimizers = arg == "reset"
    c.model.name = "pggan"
    c.model.width = 16
    c.model.minibatch_stddev = 4
    c.model.g_ema_decay = 0.99  # the paper: 0.999 over ~10^5+ steps; 1500 steps here
    c.objective.name = "wasserstein_gp"
    c.objective.gp_weight = 10.0
    for opt in (c.optim.g, c.optim.d):
        opt.name = "adam"
        opt.lr = 1e-3
        opt.b1, opt.b2 = 0.0, 0.99
    c.train.d_steps = 1
    c.train.steps = 4500
    c.train.batch_size = 32
    c.train.log_every = 250
    c.eval.every_steps = 1500
    c.checkpoint.every_steps = 1500
    return c
