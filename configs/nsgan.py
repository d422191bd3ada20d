"""python -m gan_jax.main --config=configs/nsgan.py

The non-saturating GAN (Goodfellow et al. 2014, section 3): G minimises -E[log D(G(z))].
DCGAN optimiser (Adam 2e-4, beta1 0.5). Presets: `:digits` (default), `:ring8`, `:grid25`.
"""

from configs import default


def get_config(arg=None):
    c = default.get_config(arg)
    c.objective.name = "non_saturating"
    return c
