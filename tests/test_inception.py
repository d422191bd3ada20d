"""The Inception-v3 extractor: shapes, loading pytorch-fid style weights from a generated file,
the Inception Score logits, the resize modes, and the numpy/JAX side of the parity experiment.

Its numbers are compared with pytorch-fid's by experiments/inception_parity.py (torch needed; the
last test here runs it when torch and pytorch-fid are installed and skips otherwise).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import inception_parity
from gan_jax import inception
from gan_jax.errors import ConfigError, GanJaxError

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
    assert sd["fc.weight"].shape == (1008, 2048) and sd["fc.bias"].shape == (1008,)
    # torchvision's Inception-v3 has 94 BasicConv2d blocks (1 conv weight + 4 BN tensors each)
    # and the 1008-way classifier (weight and bias).
    assert len(sd) == 94 * 5 + 2


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
    np.testing.assert_array_equal(
        np.asarray(ext.variables["params"]["fc"]["kernel"]), sd["fc.weight"].T
    )
    rgb = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    feats, logits = ext.features_and_logits(rgb, batch=4)  # one compiled shape for every call
    assert feats.shape == (3, inception.FEATURE_DIM)
    # The Inception Score's logits: pool features times fc's weight, without its bias.
    assert logits.shape == (3, inception.NUM_LOGITS)
    np.testing.assert_allclose(logits, feats @ sd["fc.weight"].T, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(ext.features(rgb, batch=4), feats)
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


def test_bilinear_resize_is_half_pixel_linear_interpolation():
    # Width 2 -> 4 with half-pixel centres: output pixel centres at input x = -0.25, 0.25, 0.75,
    # 1.25; edges clamp, the inner two interpolate: -1, -0.5, 0.5, 1 (F.interpolate's answer).
    image = np.array([[-1.0, 1.0], [-1.0, 1.0]], np.float32)[None, :, :, None]
    out = inception.resize(image, "bilinear", size=4)
    np.testing.assert_allclose(out[0, 0, :, 0], [-1.0, -0.5, 0.5, 1.0], atol=1e-6)


def test_clean_resize_is_pil_bicubic_on_8_bit_images():
    from PIL import Image

    rng = np.random.default_rng(2)
    images = rng.uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
    out = inception.resize(images, "clean", size=21)
    assert out.shape == (2, 21, 21, 3)
    eight_bit = np.round((images[1, :, :, 2] + 1) * 127.5).astype(np.float32)
    pil = np.asarray(Image.fromarray(eight_bit, mode="F").resize((21, 21), Image.BICUBIC))
    np.testing.assert_allclose(out[1, :, :, 2], np.clip(pil, 0, 255) / 127.5 - 1, atol=1e-6)
    # Constants survive both modes (8-bit levels exactly).
    level = np.full((1, 8, 8, 1), 153 / 127.5 - 1, np.float32)
    for mode in inception.RESIZE_MODES:
        np.testing.assert_allclose(inception.resize(level, mode, 21), 153 / 127.5 - 1, atol=1e-6)


def test_resize_modes_differ_on_a_checkerboard():
    board = np.where(np.indices((8, 8)).sum(0) % 2 == 0, 1.0, -1.0).astype(np.float32)
    board = board[None, :, :, None]
    bilinear = inception.resize(board, "bilinear", size=37)
    clean = inception.resize(board, "clean", size=37)
    # Bicubic's negative lobes sharpen the edges (clipped at +-1); bilinear averages them.
    assert np.abs(bilinear - clean).max() > 0.2
    assert np.abs(clean).mean() > np.abs(bilinear).mean()
    with pytest.raises(ConfigError, match="eval.resize='area'"):
        inception.resize(board, "area")


def test_clean_extractor_resizes_on_the_host_then_runs_the_network(weights_file):
    path, _ = weights_file
    images = np.random.default_rng(3).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    clean = inception.InceptionExtractor(path, resolution=RES, resize="clean")
    bilinear = inception.InceptionExtractor(path, resolution=RES)
    pre = inception.resize(images, "clean", RES)  # a RES -> RES bilinear resize is the identity
    np.testing.assert_allclose(
        clean.features(images, batch=2), bilinear.features(pre, batch=2), rtol=1e-5, atol=1e-5
    )
    with pytest.raises(ConfigError, match="eval.resize"):
        inception.InceptionExtractor(path, resolution=RES, resize="bicubic")


def test_parity_state_dict_follows_gan_jax_names_and_loads(tmp_path):
    # The numpy/JAX side of experiments/inception_parity.py (needs no torch).
    shapes = inception_parity.gan_jax_shapes()
    assert shapes["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert shapes["fc.weight"] == (1008, 2048)
    sd = inception_parity.random_state_dict(shapes, seed=0)
    trackers = [k for k in sd if k.endswith("num_batches_tracked")]
    assert len(trackers) == 94 and len(sd) == len(shapes) + 94
    assert all(sd[k].shape == shapes[k] for k in shapes)
    assert all((sd[k] > 0).all() for k in sd if k.endswith("running_var"))
    again = inception_parity.random_state_dict(shapes, seed=0)
    assert all(np.array_equal(sd[k], again[k]) for k in sd)
    np.savez(tmp_path / "w.npz", **sd)
    template = jax.eval_shape(
        inception.InceptionV3().init, jax.random.key(0), jnp.zeros((1, RES, RES, 3))
    )
    loaded = inception.load_variables(tmp_path / "w.npz", template)
    np.testing.assert_array_equal(
        np.asarray(loaded["batch_stats"]["Mixed_6c"]["branch7x7_2"]["bn"]["mean"]),
        sd["Mixed_6c.branch7x7_2.bn.running_mean"],
    )


def test_parity_with_pytorch_fid_when_torch_is_installed():
    pytest.importorskip("torch")
    pytest.importorskip("pytorch_fid")
    result = inception_parity.compare(num_images=2, sizes=(32,), controls=False)
    row = result["by_input_size"][32]
    assert row["features_max_rel_diff"] < 1e-5
    assert row["logits_max_rel_diff"] < 1e-5


def test_clean_resize_matches_clean_fid_when_installed():
    pytest.importorskip("cleanfid")
    diffs = inception_parity.clean_resize_difference((32, 320))
    assert max(diffs.values()) < 1e-3  # on the 0..255 scale


def test_inception_evaluator_records_is_and_the_verification(weights_file):
    from gan_jax import evaluation
    from gan_jax.data import get_dataset

    path, sd = weights_file
    digits = get_dataset({"name": "digits", "resolution": 16})  # gray, repeated to RGB
    emb = evaluation.inception_embedding(digits, 12, str(path), "bilinear", resolution=RES)
    assert emb.real_features.shape == (12, inception.FEATURE_DIM) and emb.num_classes == 0
    fakes = np.random.default_rng(4).uniform(-1, 1, (20, 16, 16, 1)).astype(np.float32)
    record = evaluation.feature_evaluator(emb, 20)(fakes)
    features, logits = emb.embed(fakes)
    from gan_jax import metrics

    assert record["inception_score"] == pytest.approx(metrics.inception_score(logits)[0])
    assert record["inception_score"] >= 1.0
    for key in ("frechet_distance", "kid", "precision", "recall", "density", "coverage"):
        assert key in record
    protocol = record["protocol"]
    assert "pytorch-fid 0.3.0" in protocol["verified"]
    assert protocol["resize"].startswith("bilinear: ")
    assert protocol["real_samples"] == 12 and protocol["fake_samples"] == 20
