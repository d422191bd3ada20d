"""Multi-layer perceptrons for low-dimensional data (the 2D mixtures)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import norm_layer


class MLPGenerator(nn.Module):
    """z -> [Dense -> norm -> ReLU] * len(hidden) -> Dense(out_dim)."""

    out_dim: int = 2
    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"
    dtype: Any = None  # compute dtype; parameters stay float32, the output is float32

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
        x = z
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width, use_bias=self.norm != "batch", name=f"dense{i}", dtype=self.dtype)(
                x
            )
            x = norm_layer(self.norm, train, name=f"norm{i}", dtype=self.dtype)(x)
            x = nn.relu(x)
        return nn.Dense(self.out_dim, name="out", dtype=self.dtype)(x).astype(jnp.float32)


class MLPDiscriminator(nn.Module):
    """x -> [Dense -> norm -> LeakyReLU(0.2)] * len(hidden) -> Dense(1); returns (B,) logits."""

    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"
    dtype: Any = None  # compute dtype; parameters stay float32, the logits are float32

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width, use_bias=self.norm != "batch", name=f"dense{i}", dtype=self.dtype)(
                x
            )
            x = norm_layer(self.norm, train, name=f"norm{i}", dtype=self.dtype)(x)
            x = nn.leaky_relu(x, 0.2)
        return nn.Dense(1, name="out", dtype=self.dtype)(x)[:, 0].astype(jnp.float32)
