"""python -m gan_jax.main --config=configs/pix2pix.py

pix2pix (Isola et al. 2017, arXiv 1611.07004) on paired digits and their quarter turns
(data.name='digits_paired', data.domain_b='rot90': a translation no local filter can do, where
unpaired CycleGAN fails, experiments/results/cyclegan_rot90_digits.md; 'invert' for inverses): a
U-Net G, a conditional PatchGAN critic of (input, output) pairs (gan_jax/games/pix2pix.py), the
cGAN loss plus 100 x L1, Adam lr 2e-4, beta1 0.5 (the paper's optimiser; its batch of 1 is a
batch of 32 here, 600 steps as CycleGAN's recipe). Presets: `:l1` is the paper's L1-only
ablation (game.adv_weight 0). The model.* block is not read; no feature extractor fits
translations (eval.extractor='none'): the measure is the game's headline on the held-out pairs.
"""

from configs import default
from gan_jax import games

PRESETS = ("l1",)


def get_config(arg=None):
    if arg and arg not in PRESETS:
        raise ValueError(f"configs/pix2pix.py preset {arg!r} is not known; allowed: {PRESETS}")
    c = default.get_config()
    c.game = games.defaults("pix2pix")
    if arg == "l1":
        c.game.adv_weight = 0.0
    c.objective.name = "non_saturating"
    c.data.name = "digits_paired"
    c.data.domain_b = "rot90"
    c.train.batch_size = 32
    c.train.steps = 600
    c.train.log_every = 50
    c.train.sample_every = 200
    c.checkpoint.every_steps = 200
    c.eval.every_steps = 200
    c.eval.extractor = "none"
    return c
