"""The Inception-v3 extractor: shapes and loading pytorch-fid style weights from a generated file.

Its numbers are not checked against pytorch-fid (no reference weights here): see the module.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import inception
from gan_jax.errors import GanJaxError

RES = 75  # the smallest input the network accepts; 299 in the FID protocol


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A generated weights file in pytorch-fid's naming, from a randomly initialised network."""
    # Shapes from eval_shape (no compile), values drawn here: He-scaled kernels, non-trivial
    # BatchNorm statistics so that loading them is visible in the output.
    shapes = jax.eval_shape(
        inception.InceptionV3().init, jax.random.key(0), jnp.zeros((1, RES, RES, 3))
    )
    rng = np.random.default_rng(0)

    def draw(path, leaf):
        name = path[-1].key
        if name == "kernel":
            fan_in = np.prod(leaf.shape[:-1])
            return rng.normal(size=leaf.shape) * np.sqrt(2.0 / fan_in)
        if name == "mean":
            return rng.normal(size=leaf.shape) * 0.1
        if name in ("var", "scale"):
            return rng.uniform(0.5, 2.0, leaf.shape)
        return rng.normal(size=leaf.shape) * 0.1

    variables = jax.tree_util.tree_map_with_path(draw, shapes)
    state_dict = {
        k: v.astype(np.float32) for k, v in inception.variables_to_torch(variables).items()
    }
    path = tmp_path_factory.mktemp("inception") / "weights.npz"
    np.savez(path, **state_dict)
    return path, state_dict


def test_state_dict_names_and_shapes_follow_pytorch_fid(weights_file):
    _, sd = weights_file
    assert sd["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)  # OIHW
    assert sd["Mixed_5b.branch_pool.conv.weight"].shape == (32, 192, 1, 1)
    assert sd["Mixed_6b.branch7x7_2.conv.weight"].shape == (128, 128, 1, 7)
    assert sd["Mixed_7c.branch3x3dbl_3b.bn.running_var"].shape == (384,)
    assert not any(k.endswith("conv.bias") for k in sd)  # BasicConv2d has no conv bias
    # torchvision's Inception-v3 has 94 BasicConv2d blocks: 1 conv weight + 4 BN tensors each.
    assert len(sd) == 94 * 5


def test_loads_the_file_and_extracts_2048_features(weights_file):
    path, sd = weights_file
    ext = inception.InceptionExtractor(path, resolution=RES)
    np.testing.assert_array_equal(
        np.asarray(ext.variables["params"]["Mixed_5b"]["branch1x1"]["conv"]["kernel"]),
        sd["Mixed_5b.branch1x1.conv.weight"].transpose(2, 3, 1, 0),
    )
    np.testing.assert_array_equal(
        np.asarray(ext.variables["batch_stats"]["Mixed_7c"]["branch_pool"]["bn"]["var"]),
        sd["Mixed_7c.branch_pool.bn.running_var"],
    )
    rgb = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    feats = ext.features(rgb, batch=4)  # one compiled shape for every call here
    assert feats.shape == (3, inception.FEATURE_DIM)
    assert np.isfinite(feats).all() and (feats >= 0).all()  # mean of ReLU outputs
    assert np.abs(feats[0] - feats[1]).max() > 0
    # Padding the last chunk does not change a sample's features.
    np.testing.assert_allclose(ext.features(rgb[1:2], batch=4), feats[1:2], rtol=1e-5, atol=1e-6)
    # Grayscale images are repeated to 3 channels.
    gray = rgb[:1, :, :, :1]
    np.testing.assert_allclose(
        ext.features(gray, batch=4),
        ext.features(np.repeat(gray, 3, axis=-1), batch=4),
        rtol=1e-5,
        atol=1e-6,
    )


def test_missing_or_misshaped_weights_are_one_clear_error(weights_file, tmp_path):
    _, sd = weights_file
    with pytest.raises(GanJaxError, match="is not a file"):
        inception.InceptionExtractor(tmp_path / "nope.npz", resolution=RES)
    partial = {k: v for k, v in sd.items() if k != "Mixed_6e.branch_pool.bn.bias"}
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(GanJaxError, match="lack 'Mixed_6e.branch_pool.bn.bias'"):
        inception.InceptionExtractor(tmp_path / "partial.npz", resolution=RES)
    bad = dict(sd, **{"Conv2d_1a_3x3.conv.weight": np.zeros((32, 1, 3, 3), np.float32)})
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(GanJaxError, match="has shape"):
        inception.InceptionExtractor(tmp_path / "bad.npz", resolution=RES)
