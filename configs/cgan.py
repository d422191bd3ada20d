"""python -m gan_jax.main --config=configs/cgan.py

Conditional GAN on the digits (Mirza & Osindero 2014): the DCGAN family conditioned by
concatenation, the one-hot label appended to z in G and as 10 constant channels to D's input;
real images come with their dataset labels, fake labels are drawn uniformly. Non-saturating
objective, DCGAN optimiser (Adam 2e-4, beta1 0.5); samples and evaluation use an EMA of the
generator (decay 0.99). experiments/conditional_digits.py trains this config and measures how
often the digits classifier assigns a sample to the class it was asked for.
"""

from configs import default


def get_config(arg=None):
    c = default.get_config(arg or "digits")
    if c.data.name != "digits":
        raise ValueError(f"configs/cgan.py is the conditional digits recipe; got preset {arg!r}")
    c.objective.name = "non_saturating"
    c.model.num_classes = 10
    c.model.g_ema_decay = 0.99
    c.train.steps = 2000
    return c
