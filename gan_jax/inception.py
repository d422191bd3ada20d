"""Inception-v3 pool features (2048-d) for Frechet distance / KID on RGB datasets.

UNVERIFIED: the architecture follows pytorch-fid's ``FIDInceptionA/C/E_1/E_2`` variant of
Inception-v3 (the network of the original TF FID code, Heusel et al. 2017, arXiv 1706.08500), and
the loader takes that network's weights, but nobody has yet compared the features or the FID
numbers this module produces with pytorch-fid's on the same images. Until someone does, numbers
computed with it are not comparable with published FIDs; the protocol record says so.

Weights cannot be downloaded here: the user supplies them as an ``.npz`` file whose keys are the
PyTorch state-dict names of pytorch-fid's ``FIDInceptionV3`` (``Conv2d_1a_3x3.conv.weight``,
``Mixed_5b.branch1x1.bn.running_mean``, ...), e.g. converted once on a machine with torch::

    import numpy as np, torch
    sd = torch.load("pt_inception-2015-12-05-6726825d.pth", map_location="cpu")
    np.savez("inception_fid.npz", **{k: v.numpy() for k, v in sd.items()})

Conventions of pytorch-fid kept here: inputs are resized bilinearly to 299x299 and scaled to
[-1, 1] (gan_jax images already are); BatchNorm eps 1e-3 in inference mode; convolutions have no
bias; the FID blocks' average pools exclude padding (``count_include_pad=False``) and the last
block max-pools. The features are the global average pool of Mixed_7c.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import GanJaxError

FEATURE_DIM = 2048
FID_RESOLUTION = 299


def _pad(padding):
    """PyTorch (ph, pw) padding -> Flax's ((ph, ph), (pw, pw))."""
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return ((ph, ph), (pw, pw))


class BasicConv(nn.Module):
    """Conv (no bias) + BatchNorm (eps 1e-3, running statistics) + ReLU (BasicConv2d)."""

    features: int
    kernel: tuple[int, int] = (1, 1)
    strides: int = 1
    padding: int | tuple[int, int] = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.Conv(
            self.features,
            self.kernel,
            strides=(self.strides, self.strides),
            padding=_pad(self.padding),
            use_bias=False,
            name="conv",
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
        return nn.relu(x)


def _avg_pool(x: jax.Array) -> jax.Array:
    return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x: jax.Array, stride: int = 2, pad: int = 0) -> jax.Array:
    return nn.max_pool(x, (3, 3), (stride, stride), padding=((pad, pad), (pad, pad)))


class InceptionA(nn.Module):
    pool_features: int

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv(64, name="branch1x1")(x)
        b5 = BasicConv(48, name="branch5x5_1")(x)
        b5 = BasicConv(64, (5, 5), padding=2, name="branch5x5_2")(b5)
        b3 = BasicConv(64, name="branch3x3dbl_1")(x)
        b3 = BasicConv(96, (3, 3), padding=1, name="branch3x3dbl_2")(b3)
        b3 = BasicConv(96, (3, 3), padding=1, name="branch3x3dbl_3")(b3)
        bp = BasicConv(self.pool_features, name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = BasicConv(384, (3, 3), strides=2, name="branch3x3")(x)
        bd = BasicConv(64, name="branch3x3dbl_1")(x)
        bd = BasicConv(96, (3, 3), padding=1, name="branch3x3dbl_2")(bd)
        bd = BasicConv(96, (3, 3), strides=2, name="branch3x3dbl_3")(bd)
        return jnp.concatenate([b3, bd, _max_pool(x)], axis=-1)


class InceptionC(nn.Module):
    channels_7x7: int

    @nn.compact
    def __call__(self, x):
        c7 = self.channels_7x7
        b1 = BasicConv(192, name="branch1x1")(x)
        b7 = BasicConv(c7, name="branch7x7_1")(x)
        b7 = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
        b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
        bd = BasicConv(c7, name="branch7x7dbl_1")(x)
        bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
        bd = BasicConv(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
        bd = BasicConv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
        bd = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
        bp = BasicConv(192, name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = BasicConv(192, name="branch3x3_1")(x)
        b3 = BasicConv(320, (3, 3), strides=2, name="branch3x3_2")(b3)
        b7 = BasicConv(192, name="branch7x7x3_1")(x)
        b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv(192, (3, 3), strides=2, name="branch7x7x3_4")(b7)
        return jnp.concatenate([b3, b7, _max_pool(x)], axis=-1)


class InceptionE(nn.Module):
    """Mixed_7b (average pool, FIDInceptionE_1) or Mixed_7c (max pool, FIDInceptionE_2)."""

    max_pool: bool = False

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv(320, name="branch1x1")(x)
        b3 = BasicConv(384, name="branch3x3_1")(x)
        b3 = jnp.concatenate(
            [
                BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3),
            ],
            axis=-1,
        )
        bd = BasicConv(448, name="branch3x3dbl_1")(x)
        bd = BasicConv(384, (3, 3), padding=1, name="branch3x3dbl_2")(bd)
        bd = jnp.concatenate(
            [
                BasicConv(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                BasicConv(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd),
            ],
            axis=-1,
        )
        pooled = _max_pool(x, stride=1, pad=1) if self.max_pool else _avg_pool(x)
        bp = BasicConv(192, name="branch_pool")(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
    """pytorch-fid's FIDInceptionV3 up to the 2048-d pool features; NHWC input in [-1, 1]."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = BasicConv(32, (3, 3), strides=2, name="Conv2d_1a_3x3")(x)
        x = BasicConv(32, (3, 3), name="Conv2d_2a_3x3")(x)
        x = BasicConv(64, (3, 3), padding=1, name="Conv2d_2b_3x3")(x)
        x = _max_pool(x)
        x = BasicConv(80, name="Conv2d_3b_1x1")(x)
        x = BasicConv(192, (3, 3), name="Conv2d_4a_3x3")(x)
        x = _max_pool(x)
        x = InceptionA(32, name="Mixed_5b")(x)
        x = InceptionA(64, name="Mixed_5c")(x)
        x = InceptionA(64, name="Mixed_5d")(x)
        x = InceptionB(name="Mixed_6a")(x)
        x = InceptionC(128, name="Mixed_6b")(x)
        x = InceptionC(160, name="Mixed_6c")(x)
        x = InceptionC(160, name="Mixed_6d")(x)
        x = InceptionC(192, name="Mixed_6e")(x)
        x = InceptionD(name="Mixed_7a")(x)
        x = InceptionE(max_pool=False, name="Mixed_7b")(x)
        x = InceptionE(max_pool=True, name="Mixed_7c")(x)
        return x.mean(axis=(1, 2))


# Flax leaf (collection, name) -> PyTorch state-dict suffix.
_TORCH_NAMES = {
    ("params", "kernel"): "weight",
    ("params", "scale"): "weight",
    ("params", "bias"): "bias",
    ("batch_stats", "mean"): "running_mean",
    ("batch_stats", "var"): "running_var",
}


def _torch_key(collection: str, path: tuple[str, ...]) -> str:
    return ".".join([*path[:-1], _TORCH_NAMES[(collection, path[-1])]])


def variables_to_torch(variables: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Flax variables -> a pytorch-fid style state dict (conv kernels HWIO -> OIHW)."""
    out = {}
    for collection in ("params", "batch_stats"):
        flat = flax_flatten(variables[collection])
        for path, value in flat.items():
            value = np.asarray(value)
            if path[-1] == "kernel":
                value = value.transpose(3, 2, 0, 1)
            out[_torch_key(collection, path)] = value
    return out


def flax_flatten(tree: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    from flax.traverse_util import flatten_dict

    return flatten_dict(dict(tree))


def load_variables(path: str | pathlib.Path, template: Mapping[str, Any]) -> dict[str, Any]:
    """Read pytorch-fid weights from an .npz into the layout of ``template`` (Flax variables).

    Raises GanJaxError naming the file and the first missing or mis-shaped key.
    """
    from flax.traverse_util import unflatten_dict

    path = pathlib.Path(path)
    if not path.is_file():
        raise GanJaxError(
            f"eval.inception_weights={str(path)!r} is not a file; allowed: an .npz of "
            "pytorch-fid's FIDInceptionV3 state dict (see gan_jax/inception.py to convert it)"
        )
    try:
        blob = np.load(path)
    except (OSError, ValueError) as e:
        raise GanJaxError(f"cannot read Inception weights from {path}: {e}") from e
    variables = {}
    with blob:
        for collection in ("params", "batch_stats"):
            flat = {}
            for leaf_path, leaf in flax_flatten(template[collection]).items():
                key = _torch_key(collection, leaf_path)
                if key not in blob:
                    raise GanJaxError(f"Inception weights {path} lack {key!r}")
                value = np.asarray(blob[key], np.float32)
                if leaf_path[-1] == "kernel":
                    value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
                if value.shape != tuple(leaf.shape):
                    raise GanJaxError(
                        f"Inception weights {path}: {key!r} has shape {value.shape}, "
                        f"expected {tuple(leaf.shape)}"
                    )
                flat[leaf_path] = jnp.asarray(value)
            variables[collection] = unflatten_dict(flat)
    return variables


class InceptionExtractor:
    """``features(images)``: (N, 2048) pool features of NHWC images in [-1, 1].

    Grayscale images are repeated to 3 channels (as FID code does for MNIST-like data).
    """

    def __init__(self, weights: str | pathlib.Path, resolution: int = FID_RESOLUTION):
        self.resolution = resolution
        self.module = InceptionV3()
        template = jax.eval_shape(
            self.module.init, jax.random.key(0), jnp.zeros((1, resolution, resolution, 3))
        )
        self.variables = load_variables(weights, template)
        self.weights = str(weights)

        def apply(variables, images):
            n = images.shape[0]
            size = (n, resolution, resolution, 3)
            # pytorch-fid: F.interpolate(..., mode='bilinear', align_corners=False).
            images = jax.image.resize(images, size, method="linear", antialias=False)
            return self.module.apply(variables, images)

        self._apply = jax.jit(apply)

    def features(self, images: np.ndarray, batch: int = 50) -> np.ndarray:
        """Features in chunks of ``batch``; the last chunk is padded, so one shape compiles."""
        images = np.asarray(images, np.float32)
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        chunks = []
        for i in range(0, len(images), batch):
            chunk = images[i : i + batch]
            padded = np.concatenate(
                [chunk, np.zeros((batch - len(chunk), *chunk.shape[1:]), np.float32)]
            )
            chunks.append(np.asarray(self._apply(self.variables, padded))[: len(chunk)])
        return np.concatenate(chunks).astype(np.float64)
