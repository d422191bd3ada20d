"""Multi-layer perceptrons for low-dimensional data (the 2D mixtures)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from gan_jax.models.layers import norm_layer


class MLPGenerator(nn.Module):
    """z -> [Dense -> norm -> ReLU] * len(hidden) -> Dense(out_dim)."""

    out_dim: int = 2
    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
        x = z
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width, use_bias=self.norm != "batch", name=f"dense{i}")(x)
            x = norm_layer(self.norm, train, name=f"norm{i}")(x)
            x = nn.relu(x)
        return nn.Dense(self.out_dim, name="out")(x)


class MLPDiscriminator(nn.Module):
    """x -> [Dense -> norm -> LeakyReLU(0.2)] * len(hidden) -> Dense(1); returns (B,) logits."""

    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width, use_bias=self.norm != "batch", name=f"dense{i}")(x)
            x = norm_layer(self.norm, train, name=f"norm{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        return nn.Dense(1, name="out")(x)[:, 0]
