"""python -m gan_jax.main --config=configs/stackgan_v1.py

StackGAN v1 on the digits, conditioned on class labels (Zhang et al. 2017, arXiv 1612.03242;
gan_jax/games/stackgan_v1.py): a Stage-I GAN at 8x8 trained for the first 1000 steps, then a
Stage-II GAN (an encoder of the Stage-I image, the condition joined, 2 residual blocks, up to
16x16) for the next 1000 with Stage-I fixed; conditioning augmentation with its KL term in each
stage, conditional critics. Everything else is configs/stackgan.py's: model.width 32,
non-saturating objective, Adam 2e-4 / beta1 0.5, batch 64, EMA of the generators (decay 0.99),
2000 steps in all, the budget of StackGAN++ and of its single-stage baseline
(configs/stackgan.py:single). Preset `:no_ca`: c = mu(e) in both stages (no sampling, no KL).
experiments/pyramid_digits.py trains them side by side.
"""

from configs import default
from gan_jax import games

PRESETS = ("stackgan_v1", "no_ca")


def get_config(arg=None):
    preset = arg or "stackgan_v1"
    if preset not in PRESETS:
        raise ValueError(f"configs/stackgan_v1.py preset {preset!r}; allowed: {list(PRESETS)}")
    c = default.get_config("digits")
    c.game = games.defaults("stackgan_v1")
    c.objective.name = "non_saturating"
    c.model.num_classes = 10
    c.model.g_ema_decay = 0.99
    c.train.steps = 2000
    if preset == "no_ca":
        c.game.conditioning_augmentation = False
    return c
