"""The convolutional autoencoder critic of the energy-based games (EBGAN, BEGAN).

EBGAN (Zhao et al. 2016, section 2.3) and BEGAN (Berthelot et al. 2017, section 3.3) replace the
discriminator's logit by an autoencoder: the critic's energy of an image is how badly it
reconstructs it. ``AutoencoderCritic(x) -> (reconstruction, code)``: the encoder is the DCGAN
critic's body (``n`` 4x4 stride-2 convolutions doubling the channels from ``width`` down to
4x4, normalisation on every layer but the first) followed by a dense layer to the
``code_dim``-dimensional embedding (BEGAN's h, N_h = 64 in the paper; EBGAN's S, which the
pulling-away term reads); the decoder mirrors the DCGAN generator: a dense layer to 4x4, ``n``
4x4 stride-2 transposed convolutions halving the channels, normalisation and the activation
after each but the last, and a linear output (BEGAN's decoder has no tanh). ``activation`` is
'elu' (BEGAN's networks) or 'leaky_relu' (0.2; the DCGAN critic's). For the 16, 32 and 64 pixel
images of the DCGAN family (``num_upsamplings``). The games compute the energies from the
reconstruction (``gan_jax.games.ebgan.energy``).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.dcgan import num_upsamplings
from gan_jax.models.layers import downsample_layer, norm_layer, upsample_layer

ACTIVATIONS = {"elu": nn.elu, "leaky_relu": lambda x: nn.leaky_relu(x, 0.2)}


class AutoencoderCritic(nn.Module):
    """``(x, labels, train) -> (reconstruction (B, H, W, C), code (B, code_dim))``, float32."""

    resolution: int = 16
    width: int = 32
    code_dim: int = 64
    norm: str = "none"
    activation: str = "elu"
    downsample: str = "adjoint"
    upsample: str = "adjoint"
    dtype: Any = None  # compute dtype; parameters and outputs stay float32

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> tuple[jax.Array, jax.Array]:
        del labels  # unconditional
        n = num_upsamplings(self.resolution)
        act, dtype, channels = ACTIVATIONS[self.activation], self.dtype, x.shape[-1]
        bias = self.norm != "batch"
        feats = self.width
        h = x
        for i in range(n):
            conv = downsample_layer(
                self.downsample, feats, use_bias=i == 0 or bias, name=f"enc{i}", dtype=dtype
            )
            h = conv(h)
            if i > 0:
                h = norm_layer(self.norm, train, name=f"enc_norm{i}", dtype=dtype)(h)
            h = act(h)
            feats *= 2
        feats //= 2
        code = nn.Dense(self.code_dim, name="code", dtype=dtype)(h.reshape(h.shape[0], -1))
        recon = decode(code, n, feats, channels, act, self.norm, self.upsample, train, dtype)
        return recon.astype(jnp.float32), code.astype(jnp.float32)


def decode(code, n, feats, channels, act, norm, upsample, train, dtype) -> jax.Array:
    """The autoencoder's decoder, in the calling module's scope (its parameters keep the
    critic's names ``dec_*``): a dense layer to 4x4 x ``feats``, ``n`` 4x4 stride-2 transposed
    convolutions halving the channels (normalisation and the activation after each but the
    last) and a linear output of ``channels``."""
    bias = norm != "batch"
    h = nn.Dense(4 * 4 * feats, use_bias=bias, name="dec_project", dtype=dtype)(code)
    h = h.reshape(code.shape[0], 4, 4, feats)
    h = act(norm_layer(norm, train, name="dec_norm0", dtype=dtype)(h))
    for i in range(1, n):
        feats //= 2
        up = upsample_layer(upsample, feats, use_bias=bias, name=f"dec{i}", dtype=dtype)
        h = act(norm_layer(norm, train, name=f"dec_norm{i}", dtype=dtype)(up(h)))
    return upsample_layer(upsample, channels, name=f"dec{n}", dtype=dtype)(h)


class DecoderGenerator(nn.Module):
    """BEGAN's generator (section 3.3: "the same architecture (though not the same weights) as
    the discriminator decoder"): ``(z, labels, train) -> image``, the autoencoder's decoder from
    z in place of the code, with its activation and normalisation and a linear output."""

    resolution: int = 16
    width: int = 32
    channels: int = 1
    norm: str = "none"
    activation: str = "elu"
    upsample: str = "adjoint"
    dtype: Any = None

    @nn.compact
    def __call__(
        self, z: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        del labels  # unconditional
        n = num_upsamplings(self.resolution)
        feats = self.width * 2 ** (n - 1)
        act = ACTIVATIONS[self.activation]
        image = decode(z, n, feats, self.channels, act, self.norm, self.upsample, train, self.dtype)
        return image.astype(jnp.float32)
