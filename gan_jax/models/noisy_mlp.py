"""The MLPs of the semi-supervised GANs' MNIST experiments (Salimans et al. 2016; Li et al. 2017).

``NoisyMLPClassifier`` is the discriminator of Improved-GAN's MNIST code (Salimans et al. 2016,
arXiv 1606.03498, ``improved-gan/mnist_svhn_cifar10/train_mnist_feature_matching.py``): Gaussian
noise (std ``input_noise`` = 0.3) on the image, then Dense + ReLU layers of 1000, 500, 250, 250,
250 units, each followed by Gaussian noise (std ``hidden_noise`` = 0.5), then a Dense layer to K
class logits. It returns the logits and the last hidden layer's activations before its noise
(the features the generator's feature matching compares, the code's ``layers[-3]``). The same
network is Triple-GAN's classifier here and the supervised baseline's
(experiments/semisupervised_digits.py), so the three classifiers differ only in how they train.

``PairDiscriminator`` is Triple-GAN's MNIST discriminator of (x, y) pairs (Li et al. 2017, arXiv
1703.02291, ``triple-gan/x2y_yz2x_xy2p_ssl_mnist.py``): the same noisy MLP with the one-hot label
concatenated to its input and to every hidden layer's input, one logit out.
``MLPImageGenerator`` is both codes' generator: Dense layers of 500, 500 units with softplus and
BatchNorm, a Dense layer to the pixels; tanh here (the data are in [-1, 1]; the papers' sigmoid
maps to [0, 1]). With ``num_classes > 0`` (Triple-GAN) the one-hot label is concatenated to the
input of every layer, as in the Triple-GAN code.

Noise: the modules draw it from an explicit key argument (``module(x, ..., key, train=True)``);
without a key, or with ``train=False``, they are deterministic. The classifier's layers are
weight-normalised (``weight_norm``, flax's ``nn.WeightNorm``) as in Improved-GAN's code, without
its data-dependent initialisation (flax's default init); the other two use plain Dense layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import concat_labels

SALIMANS_D_HIDDEN = (1000, 500, 250, 250, 250)
GENERATOR_HIDDEN = (500, 500)


def _noise(h: jax.Array, std: float, key: jax.Array | None) -> jax.Array:
    return h if key is None or std == 0 else h + std * jax.random.normal(key, h.shape, h.dtype)


def _layer_keys(key: jax.Array | None, train: bool, n: int) -> list[jax.Array | None]:
    """One noise key per noisy layer, or Nones (deterministic: no key or inference mode)."""
    if key is None or not train:
        return [None] * n
    return list(jax.random.split(key, n))


class Linear(nn.Module):
    """A Dense layer, weight-normalised (Salimans & Kingma 2016: w = g v / ||v||) if asked."""

    features: int
    weight_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        dense = nn.Dense(self.features)
        return nn.WeightNorm(dense)(x) if self.weight_norm else dense(x)


class NoisyMLPClassifier(nn.Module):
    """x -> noise -> [Dense -> ReLU -> noise] * len(hidden) -> Dense(K); (logits, features)."""

    num_classes: int = 10
    hidden: Sequence[int] = SALIMANS_D_HIDDEN
    input_noise: float = 0.3
    hidden_noise: float = 0.5
    weight_norm: bool = True

    @nn.compact
    def __call__(
        self, x: jax.Array, key: jax.Array | None = None, train: bool = True
    ) -> tuple[jax.Array, jax.Array]:
        keys = _layer_keys(key, train, len(self.hidden) + 1)
        h = _noise(x.reshape(x.shape[0], -1), self.input_noise, keys[0])
        features = h
        for i, width in enumerate(self.hidden):
            features = nn.relu(Linear(width, self.weight_norm, name=f"dense{i}")(h))
            h = _noise(features, self.hidden_noise, keys[i + 1])
        return Linear(self.num_classes, self.weight_norm, name="logits")(h), features


class PairDiscriminator(nn.Module):
    """(x, y) -> the noisy MLP with onehot(y) concatenated to every layer's input -> (B,) logits."""

    num_classes: int = 10
    hidden: Sequence[int] = SALIMANS_D_HIDDEN
    input_noise: float = 0.3
    hidden_noise: float = 0.5

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array, key: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        keys = _layer_keys(key, train, len(self.hidden) + 1)
        h = _noise(x.reshape(x.shape[0], -1), self.input_noise, keys[0])
        for i, width in enumerate(self.hidden):
            h = nn.relu(
                nn.Dense(width, name=f"dense{i}")(concat_labels(h, labels, self.num_classes))
            )
            h = _noise(h, self.hidden_noise, keys[i + 1])
        out = nn.Dense(1, name="out")(concat_labels(h, labels, self.num_classes))
        return out[:, 0]


class MLPImageGenerator(nn.Module):
    """[z, onehot(y)] -> [Dense -> BatchNorm -> softplus] * len(hidden) -> Dense -> tanh image."""

    shape: tuple[int, ...] = (16, 16, 1)
    hidden: Sequence[int] = GENERATOR_HIDDEN
    num_classes: int = 0

    @nn.compact
    def __call__(
        self, z: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        h = z
        for i, width in enumerate(self.hidden):
            h = nn.Dense(width, use_bias=False, name=f"dense{i}")(
                concat_labels(h, labels, self.num_classes)
            )
            h = nn.BatchNorm(use_running_average=not train, momentum=0.9, name=f"norm{i}")(h)
            h = nn.softplus(h)
        size = 1
        for d in self.shape:
            size *= d
        out = nn.Dense(size, name="out")(concat_labels(h, labels, self.num_classes))
        return jnp.tanh(out).reshape(z.shape[0], *self.shape)
