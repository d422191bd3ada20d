"""Multi-layer perceptrons for low-dimensional data (the 2D mixtures).

With ``num_classes > 0`` both networks are conditional by concatenation (Mirza & Osindero
2014): the one-hot label is appended to z in G and to the input in D. ``spectral_norm`` wraps
every critic layer in spectral normalisation (Miyato et al. 2018).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from gan_jax.models.layers import concat_labels, norm_layer, spectral_norm


class MLPGenerator(nn.Module):
    """[z, onehot(y)] -> [Dense -> norm -> ReLU] * len(hidden) -> Dense(out_dim)."""

    out_dim: int = 2
    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"
    num_classes: int = 0

    @nn.compact
    def __call__(
        self, z: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        x = concat_labels(z, labels, self.num_classes)
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width, use_bias=self.norm != "batch", name=f"dense{i}")(x)
            x = norm_layer(self.norm, train, name=f"norm{i}")(x)
            x = nn.relu(x)
        return nn.Dense(self.out_dim, name="out")(x)


class MLPDiscriminator(nn.Module):
    """[x, onehot(y)] -> [Dense -> norm -> LeakyReLU(0.2)] * len(hidden) -> Dense(1): (B,)."""

    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"
    num_classes: int = 0
    spectral_norm: bool = False

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        x = concat_labels(x.reshape(x.shape[0], -1), labels, self.num_classes)
        sn = self.spectral_norm
        for i, width in enumerate(self.hidden):
            dense = nn.Dense(width, use_bias=self.norm != "batch", name=f"dense{i}")
            x = spectral_norm(dense, sn, name=f"sn{i}")(x, train)
            x = norm_layer(self.norm, train, name=f"norm{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        return spectral_norm(nn.Dense(1, name="out"), sn, name="sn_out")(x, train)[:, 0]
