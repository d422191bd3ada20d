"""Multi-layer perceptrons for low-dimensional data (the 2D mixtures).

``MLPGenerator`` / ``MLPDiscriminator`` are the plain families. ``MaxoutDiscriminator`` is the
PacGAN discriminator (Lin et al. 2018, arXiv 1712.04086, section 5.1, after VEEGAN's): maxout
layers (Goodfellow et al. 2013, arXiv 1302.4389), each a Dense layer to ``units * pieces``
features followed by a max over the ``pieces`` of every unit.

Packing (PacGAN, section 3): a discriminator with ``pac = m`` judges m samples at once. Its input
batch (B, D) is reshaped to (B / m, m D), consecutive samples concatenated, so it returns B / m
logits; real packs hold only real samples and fake packs only generated ones. The losses average
over whatever number of logits they get, so the steps need no change. ``pac = 1`` is a plain GAN.

With ``num_classes > 0`` the networks are conditional by concatenation (Mirza & Osindero 2014):
the one-hot label is appended to z in G and to each sample in D (before packing).
``minibatch_discrimination`` / ``minibatch_stddev`` append minibatch features (Salimans et al.
2016; Karras et al. 2018) to the last hidden layer of ``MLPDiscriminator`` (per pack).
``spectral_norm`` wraps every layer of ``MLPDiscriminator`` in spectral normalisation (Miyato et
al. 2018). ``dtype`` is the compute dtype (``model.dtype``); parameters stay float32 and the
outputs are float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import MinibatchFeatures, concat_labels, norm_layer, spectral_norm


def _kernel_init(init_std: float | None) -> nn.initializers.Initializer:
    """N(0, init_std^2) weights (PacGAN uses 0.02), or flax's default LeCun normal."""
    return nn.initializers.lecun_normal() if init_std is None else nn.initializers.normal(init_std)


def pack(x: jax.Array, pac: int) -> jax.Array:
    """(B, ...) -> (B / pac, pac * prod(...)): consecutive samples concatenated (PacGAN)."""
    if x.shape[0] % pac:
        raise ValueError(f"batch of {x.shape[0]} samples does not split into packs of {pac}")
    return x.reshape(x.shape[0] // pac, -1)


def _pack_module_input(module: nn.Module, x: jax.Array, pac: int) -> jax.Array:
    # gan_jax.steps.create_state initialises on a dummy batch of 2; repeat it so that any pac
    # divides it (the parameter shapes depend only on the packed width).
    if module.is_initializing() and x.shape[0] % pac:
        x = jnp.tile(x, (pac,) + (1,) * (x.ndim - 1))
    return pack(x, pac)


class MLPGenerator(nn.Module):
    """[z, onehot(y)] -> [Dense -> norm -> ReLU] * len(hidden) -> Dense(out_dim)."""

    out_dim: int = 2
    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"
    init_std: float | None = None
    num_classes: int = 0
    dtype: Any = None  # compute dtype; parameters stay float32, the output is float32

    @nn.compact
    def __call__(
        self, z: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        init, bias, dtype = _kernel_init(self.init_std), self.norm != "batch", self.dtype
        x = concat_labels(z, labels, self.num_classes)
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width, use_bias=bias, kernel_init=init, name=f"dense{i}", dtype=dtype)(x)
            x = norm_layer(self.norm, train, name=f"norm{i}", dtype=dtype)(x)
            x = nn.relu(x)
        out = nn.Dense(self.out_dim, kernel_init=init, name="out", dtype=dtype)(x)
        return out.astype(jnp.float32)


class MLPDiscriminator(nn.Module):
    """[x, onehot(y)] -> pack -> [Dense -> norm -> LeakyReLU(0.2)] * len(hidden) -> Dense(1).

    Returns (B / pac,) logits.
    """

    hidden: Sequence[int] = (512, 512, 512)
    norm: str = "none"
    pac: int = 1
    num_classes: int = 0
    spectral_norm: bool = False
    dtype: Any = None  # compute dtype; parameters stay float32, the logits are float32
    # Minibatch layers on the last hidden layer (gan_jax.models.layers; 0: off).
    minibatch_discrimination: int = 0
    minibatch_kernel_dim: int = 5
    minibatch_stddev: int = 0

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        x = concat_labels(x.reshape(x.shape[0], -1), labels, self.num_classes)
        x = _pack_module_input(self, x, self.pac)
        sn, dtype = self.spectral_norm, self.dtype
        for i, width in enumerate(self.hidden):
            dense = nn.Dense(width, use_bias=self.norm != "batch", name=f"dense{i}", dtype=dtype)
            x = spectral_norm(dense, sn, name=f"sn{i}")(x, train)
            x = norm_layer(self.norm, train, name=f"norm{i}", dtype=dtype)(x)
            x = nn.leaky_relu(x, 0.2)
        x = MinibatchFeatures(
            self.minibatch_discrimination,
            self.minibatch_kernel_dim,
            self.minibatch_stddev,
            dtype=dtype,
            name="minibatch",
        )(x)
        out = spectral_norm(nn.Dense(1, name="out", dtype=dtype), sn, name="sn_out")(x, train)
        return out[:, 0].astype(jnp.float32)


class Maxout(nn.Module):
    """h_j = max_k (W x + b)_{j, k}, k < pieces (Goodfellow et al. 2013, eq. 1)."""

    units: int
    pieces: int
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = nn.Dense(self.units * self.pieces, kernel_init=self.kernel_init, name="dense")(x)
        return jnp.max(y.reshape(*y.shape[:-1], self.units, self.pieces), axis=-1)


class MaxoutDiscriminator(nn.Module):
    """x -> pack -> Maxout(units, pieces) * len(hidden) -> Dense(1); (B / pac,) logits.

    PacGAN's 2D discriminator is hidden=(200, 200, 200), pieces=5, weights N(0, 0.02^2).
    """

    hidden: Sequence[int] = (200, 200, 200)
    pieces: int = 5
    pac: int = 1
    init_std: float | None = None
    num_classes: int = 0

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        del train  # no BatchNorm or dropout: the same function in both modes
        init = _kernel_init(self.init_std)
        x = concat_labels(x.reshape(x.shape[0], -1), labels, self.num_classes)
        x = _pack_module_input(self, x, self.pac)
        for i, units in enumerate(self.hidden):
            x = Maxout(units, self.pieces, kernel_init=init, name=f"maxout{i}")(x)
        return nn.Dense(1, kernel_init=init, name="out")(x)[:, 0]
