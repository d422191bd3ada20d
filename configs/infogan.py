"""python -m gan_jax.main --config=configs/infogan.py

InfoGAN on the digits (Chen et al. 2016, arXiv 1606.03657; gan_jax/games/infogan.py): 62 noise
variables, a 10-way categorical code and 2 continuous codes in [-1, 1] in G's input (the paper's
MNIST latent), the DCGAN critic at 16x16 with a Q head, the mutual-information bound with
lambda = 1 in both players' losses and Q's continuous codes a Gaussian of fixed std 1 (the
paper's MNIST code). Non-saturating objective; Adam with beta1 0.5, learning rates 1e-3 for G and
2e-4 for the critic and Q, as in the paper's MNIST code (G at 2e-4, the DCGAN rate, learned a
code that matches the digits far worse: experiments/results/infogan.md).
experiments/infogan_digits.py trains this recipe and measures the code as a digit classifier
(the headline ``code_accuracy``, after matching codes to classes).
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    c = default.get_config(arg or "digits")
    if c.model.name != "dcgan":
        raise ValueError(
            f"configs/infogan.py trains the DCGAN family on images; got preset {arg!r}"
        )
    c.game = games.defaults("infogan")
    c.objective.name = "non_saturating"
    c.model.z_dim = 62  # noise only; G's input is 62 + 10 + 2
    c.optim.g.lr = 1e-3
    if c.data.name == "digits":
        # Seed 0: code accuracy 0.34 at 3000 steps, 0.52 at 6000, 0.80 at 12000; seeds 0-2 at
        # 12000: 0.71 +- 0.07, FD 13.6 (experiments/results/infogan.md, infogan_sweep.md).
        c.train.steps = 12000
        c.train.log_every = 500
        c.eval.every_steps = 3000
        c.checkpoint.every_steps = 3000
    return c
