"""python -m gan_jax.main --config=configs/stackgan.py

StackGAN++ on the digits, conditioned on class labels (Zhang et al. 2017, arXiv 1710.10916;
gan_jax/games/stackgan.py): conditioning augmentation on a class embedding with its KL term, a
generator tree with 8x8 and 16x16 outputs (model.width 32 at 16x16), one joint unconditional +
conditional critic per scale, the colour-consistency term (lambda_1 1, lambda_2 5). Everything
else is configs/cgan.py's: non-saturating objective, Adam 2e-4 / beta1 0.5, batch 64, EMA of G
(decay 0.99), 2000 steps. Presets: `:single` (game.stages=1, the single-stage baseline), `:no_ca`
(c = mu(e), no KL). experiments/stackgan_digits.py trains the three at the same budget.
"""

from configs import default
from gan_jax import games

PRESETS = ("stackgan", "single", "no_ca")


def get_config(arg=None):
    preset = arg or "stackgan"
    if preset not in PRESETS:
        raise ValueError(f"configs/stackgan.py preset {preset!r}; allowed: {list(PRESETS)}")
    c = default.get_config("digits")
    c.game = games.defaults("stackgan")
    c.objective.name = "non_saturating"
    c.model.num_classes = 10
    c.model.g_ema_decay = 0.99
    c.train.steps = 2000
    if preset == "single":
        c.game.stages = 1
    if preset == "no_ca":
        c.game.conditioning_augmentation = False
    return c
