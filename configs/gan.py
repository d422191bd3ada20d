"""python -m gan_jax.main --config=configs/gan.py

The original minimax GAN (Goodfellow et al. 2014): G minimises E[log(1 - D(G(z)))], the
saturating loss. Kept for study; it trains worse than the non-saturating variant by design.
DCGAN optimiser (Adam 2e-4, beta1 0.5). Presets: `:digits` (default), `:ring8`, `:grid25`.
"""

from configs import default


def get_config(arg=None):
    c = default.get_config(arg)
    c.objective.name = "minimax"
    return c
