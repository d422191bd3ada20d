"""Inception-v3 pool features (2048-d) and 1008-way logits: FID, KID, IS on RGB datasets.

The network is pytorch-fid's ``FIDInceptionV3`` (torchvision's Inception-v3 with the
``FIDInceptionA/C/E_1/E_2`` blocks), the port of the 2015-12-05 TensorFlow graph that the original
FID code (Heusel et al. 2017, arXiv 1706.08500) and Inception Score code (Salimans et al. 2016)
use. What was verified (experiments/inception_parity.py, numbers in experiments/README.md): with
the same random weights (BatchNorm statistics randomised too) and the same images, this module's
pool features and ``fc`` logits equal pytorch-fid 0.3.0's to float32 rounding (relative 1e-6),
for inputs upsampled and downsampled to 299. That covers the layer layout and state-dict names
(pytorch-fid loads gan_jax's names with ``strict=True``), BatchNorm in inference mode with eps
1e-3, convolutions without bias, the FID blocks' average pools that exclude the padding
(``count_include_pad=False``), Mixed_7c's max pool (FIDInceptionE_2), the global average pool,
pytorch-fid's bilinear resize to 299 (``align_corners=False``, no antialiasing) and its input
scaling to [-1, 1]; and ``resize='clean'`` equals clean-fid 0.1.35's ``build_resizer('clean')``.
What was not verified: the real weights (``pt_inception-2015-12-05``), which cannot be fetched
here, so no FID computed with them has been compared with a published one; and clean-fid's own
network (a TorchScript port of the same graph that clean-fid downloads), so a ``clean`` FID here
is pytorch-fid's network behind clean-fid's resize.

Weights cannot be downloaded here: the user supplies them as an ``.npz`` file whose keys are the
PyTorch state-dict names of pytorch-fid's ``FIDInceptionV3`` (``Conv2d_1a_3x3.conv.weight``,
``Mixed_5b.branch1x1.bn.running_mean``, ..., ``fc.weight``), e.g. converted once on a machine
with torch::

    import numpy as np, torch
    sd = torch.load("pt_inception-2015-12-05-6726825d.pth", map_location="cpu")
    np.savez("inception_fid.npz", **{k: v.numpy() for k, v in sd.items()})
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import ConfigError, GanJaxError

FEATURE_DIM = 2048
NUM_LOGITS = 1008
FID_RESOLUTION = 299
# eval.resize: how images reach 299x299 (see ``resize``).
RESIZE_MODES = ("bilinear", "clean")


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
    """pytorch-fid's FIDInceptionV3: NHWC input in [-1, 1] -> (2048-d pool features, fc logits).

    ``fc`` is the 1008-way classifier of the 2015-12-05 Inception graph (pytorch-fid keeps it in
    its state dict but drops it from its wrapper); the Inception Score uses its weight only.
    """

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
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
        pool = x.mean(axis=(1, 2))
        return pool, nn.Dense(NUM_LOGITS, name="fc")(pool)


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
    """Flax variables -> a pytorch-fid state dict (kernels HWIO -> OIHW, (in, out) -> (out, in))."""
    out = {}
    for collection in ("params", "batch_stats"):
        flat = flax_flatten(variables[collection])
        for path, value in flat.items():
            value = np.asarray(value)
            if path[-1] == "kernel":
                value = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
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
                    # Conv OIHW -> HWIO; Linear (out, in) -> (in, out).
                    value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value.T
                if value.shape != tuple(leaf.shape):
                    raise GanJaxError(
                        f"Inception weights {path}: {key!r} has shape {value.shape}, "
                        f"expected {tuple(leaf.shape)}"
                    )
                flat[leaf_path] = jnp.asarray(value)
            variables[collection] = unflatten_dict(flat)
    return variables


def resize(images: np.ndarray, mode: str, size: int = FID_RESOLUTION) -> np.ndarray:
    """NHWC images in [-1, 1] resized to ``size`` x ``size`` by ``mode`` (eval.resize).

    - ``bilinear``: pytorch-fid's ``F.interpolate(mode='bilinear', align_corners=False)`` on the
      float images (half-pixel centres, no antialiasing), what ``jax.image.resize(method='linear',
      antialias=False)`` computes; the extractor runs it inside its compiled function.
    - ``clean``: clean-fid's (Parmar et al. 2022, arXiv 2104.11222) ``make_resizer('PIL', False,
      'bicubic')``: the images quantised to 8 bits as saved files are, each channel resized by
      PIL's bicubic filter in float mode and clipped to [0, 255], then mapped back to [-1, 1].
    """
    if mode not in RESIZE_MODES:
        raise ConfigError("eval.resize", mode, str(list(RESIZE_MODES)))
    images = np.asarray(images, np.float32)
    n, _, _, c = images.shape
    if mode == "bilinear":
        out = jax.image.resize(images, (n, size, size, c), method="linear", antialias=False)
        return np.asarray(out)
    from PIL import Image

    quantised = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.float32)
    out = np.empty((n, size, size, c), np.float32)
    for i in range(n):
        for ch in range(c):
            channel = Image.fromarray(quantised[i, :, :, ch], mode="F")
            out[i, :, :, ch] = np.asarray(channel.resize((size, size), Image.BICUBIC))
    return np.clip(out, 0.0, 255.0) / 127.5 - 1.0


class InceptionExtractor:
    """``features_and_logits(images)``: pool features and IS logits of NHWC images in [-1, 1].

    Grayscale images are repeated to 3 channels (as FID code does for MNIST-like data); ``resize``
    is one of ``RESIZE_MODES``.
    """

    def __init__(
        self,
        weights: str | pathlib.Path,
        resolution: int = FID_RESOLUTION,
        resize: str = "bilinear",
    ):
        if resize not in RESIZE_MODES:
            raise ConfigError("eval.resize", resize, str(list(RESIZE_MODES)))
        self.resolution = resolution
        self.resize = resize
        self.module = InceptionV3()
        template = jax.eval_shape(
            self.module.init, jax.random.key(0), jnp.zeros((1, resolution, resolution, 3))
        )
        self.variables = load_variables(weights, template)
        self.weights = str(weights)

        def apply(variables, images):
            if resize == "bilinear":
                size = (images.shape[0], resolution, resolution, 3)
                images = jax.image.resize(images, size, method="linear", antialias=False)
            pool, _ = self.module.apply(variables, images)
            # The Inception Score's logits: pool3 times the classifier's weight, without its bias,
            # as the authors' code (openai/improved-gan) and torch-fidelity's 'logits_unbiased'.
            return pool, pool @ variables["params"]["fc"]["kernel"]

        self._apply = jax.jit(apply)

    def features_and_logits(
        self, images: np.ndarray, batch: int = 50
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2048) pool features and (N, 1008) unbiased logits, in chunks of ``batch``.

        The last chunk is padded, so one shape compiles.
        """
        images = np.asarray(images, np.float32)
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        features, logits = [], []
        for i in range(0, len(images), batch):
            chunk = images[i : i + batch]
            if self.resize != "bilinear":
                chunk = resize(chunk, self.resize, self.resolution)
            padded = np.concatenate(
                [chunk, np.zeros((batch - len(chunk), *chunk.shape[1:]), np.float32)]
            )
            pool, logit = self._apply(self.variables, padded)
            features.append(np.asarray(pool)[: len(chunk)])
            logits.append(np.asarray(logit)[: len(chunk)])
        return (
            np.concatenate(features).astype(np.float64),
            np.concatenate(logits).astype(np.float64),
        )

    def features(self, images: np.ndarray, batch: int = 50) -> np.ndarray:
        """(N, 2048) pool features of NHWC images in [-1, 1]."""
        return self.features_and_logits(images, batch)[0]
