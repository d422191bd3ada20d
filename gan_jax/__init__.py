"""gan_jax: generative adversarial networks in JAX/Flax, written the functional way.

Notebooks import the pure pieces directly: ``from gan_jax import losses, theory``.
"""

__version__ = "0.1.0"
