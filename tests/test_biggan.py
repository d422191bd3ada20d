"""BigGAN (gan_jax/models/biggan.py, gan_jax/games/biggan.py): the orthogonal regulariser in
closed form, standing statistics on constructed inputs, the truncation trick, the family's
shapes (hierarchical latent, shared embedding), config checks, and a tiny run of the recipe
sampled through ``gan_jax.sample --truncation``."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import runs, train
from gan_jax.errors import ConfigError, GanJaxError
from gan_jax.games import biggan
from gan_jax.models import MODELS
from gan_jax.models.layers import LinearConditionalBatchNorm
from gan_jax.validation import validate

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_orthogonal_regularization_in_closed_form():
    # W = [[1, 2], [3, 4]]: W^T W = [[10, 14], [14, 20]], off-diagonal squares 2 * 14^2 = 392.
    w = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    params = {"dense": {"kernel": w, "bias": jnp.ones(2)}, "embed": {"embedding": w}}
    assert float(biggan.orthogonal_regularization(params, 0.5)) == pytest.approx(196.0)
    # A conv kernel is the matrix of its output filters: HWIO -> (H W I, O).
    conv = jnp.zeros((3, 3, 2, 2)).at[0, 0, 0, 0].set(1.0).at[0, 0, 0, 1].set(2.0)
    assert float(biggan.orthogonal_regularization({"c": {"kernel": conv}}, 1.0)) == 8.0
    # Orthogonal (and merely orthogonal-columned, any norm) matrices are not penalised.
    q = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (6, 4)))[0] * 3.0
    assert float(biggan.orthogonal_regularization({"k": {"kernel": q}}, 1.0)) < 1e-9


class _Net(nn.Module):
    """Spectrally normalised dense layer -> BatchNorm; returns (BatchNorm input, output)."""

    momentum: float = 0.9

    @nn.compact
    def __call__(self, x, train):
        h = nn.SpectralNorm(nn.Dense(3), name="sn")(x, update_stats=train)
        return h, nn.BatchNorm(use_running_average=not train, momentum=self.momentum)(h)


@pytest.mark.parametrize("momentum", [0.9, 0.5])
def test_standing_statistics_average_the_batch_statistics(momentum):
    net = _Net(momentum)
    batches = jax.random.normal(jax.random.key(0), (5, 16, 4)) * jnp.arange(1, 6)[:, None, None]
    variables = net.init(jax.random.key(1), batches[0], train=False)
    variables = {"params": variables["params"], "batch_stats": variables["batch_stats"]}
    out = biggan.standing_statistics(net.apply, variables, lambda i: (batches[i],), 5)
    # Expected: the mean over the passes of each batch's mean and (biased) variance of the
    # BatchNorm's input, computed by train-mode calls from the stored statistics.
    pre = [net.apply(variables, b, train=True, mutable=True)[0][0] for b in batches]
    bn = out["batch_stats"]["BatchNorm_0"]
    np.testing.assert_allclose(bn["mean"], np.mean([p.mean(0) for p in pre], 0), rtol=1e-4)
    np.testing.assert_allclose(bn["var"], np.mean([p.var(0) for p in pre], 0), rtol=1e-4)
    # The spectral-norm vectors are not touched.
    sn = variables["batch_stats"]["sn"]
    jax.tree.map(np.testing.assert_array_equal, out["batch_stats"]["sn"], sn)
    assert out["params"] is variables["params"]


def test_truncated_normal_resamples_only_the_entries_outside():
    z = jax.random.normal(jax.random.key(0), (512, 16))
    t = biggan_t = 0.5
    out = runs.truncated_normal(jax.random.key(1), z, biggan_t)
    assert float(jnp.max(jnp.abs(out))) <= t
    inside = np.abs(np.asarray(z)) <= t
    np.testing.assert_array_equal(np.asarray(out)[inside], np.asarray(z)[inside])
    # The resampled entries are N(0, 1) conditioned on |z| <= T: about uniform near 0 for T=0.5.
    assert abs(float(jnp.mean(out))) < 0.02 and 0.05 < float(jnp.var(out)) < 0.1


def test_truncated_inputs_for_gaussian_and_self_truncating_families():
    inputs = {"z": jnp.full((3, 2), 3.0), "label": jnp.arange(3)}
    key = jax.random.key(0)
    out = runs.truncated(inputs, 1.0, key, own=False)
    assert float(jnp.max(jnp.abs(out["z"]))) <= 1.0 and out["label"] is inputs["label"]
    own = runs.truncated(inputs, 0.7, key, own=True)
    assert own["z"] is inputs["z"] and float(own["truncation"]) == pytest.approx(0.7)
    with pytest.raises(GanJaxError, match="truncation=0"):
        runs.truncated(inputs, 0.0, key, own=False)
    with pytest.raises(GanJaxError, match="no Gaussian noise"):
        runs.truncated({"source": jnp.ones(2)}, 1.0, key, own=False)


def test_linear_conditional_batchnorm_is_batchnorm_at_zero_weights_and_affine_in_c():
    x = jax.random.normal(jax.random.key(0), (4, 2, 2, 3))
    cond = jax.random.normal(jax.random.key(1), (4, 5))
    layer = LinearConditionalBatchNorm()
    variables = layer.init(jax.random.key(2), x, cond, train=False)
    params = jax.tree.map(jnp.zeros_like, variables["params"])
    y, _ = layer.apply({**variables, "params": params}, x, cond, train=True, mutable=True)
    normed = (x - x.mean((0, 1, 2))) / jnp.sqrt(x.var((0, 1, 2)) + 1e-5)
    np.testing.assert_allclose(y, normed, atol=1e-5)
    params["gain"]["kernel"] = jnp.ones((5, 3))
    params["bias"]["kernel"] = jnp.ones((5, 3))
    y, _ = layer.apply({**variables, "params": params}, x, cond, train=True, mutable=True)
    s = cond.sum(-1)[:, None, None, None]
    np.testing.assert_allclose(y, normed * (1 + s) + s, atol=1e-4)


@pytest.mark.parametrize("resolution,z_dim", [(16, 12), (32, 16)])
def test_biggan_shapes_hierarchical_latent_and_shared_embedding(resolution, z_dim):
    cfg = {"name": "biggan", "width": 4, "z_dim": z_dim, "num_classes": 10, "shared_dim": 6}
    g, d = MODELS["biggan"](cfg, (resolution, resolution, 1))
    z = jax.random.normal(jax.random.key(0), (2, z_dim))
    y = jnp.array([1, 7])
    vg = g.init(jax.random.key(1), z, y, train=False)
    x = g.apply(vg, z, y, train=False)
    assert x.shape == (2, resolution, resolution, 1)
    n = resolution.bit_length() - 3  # up blocks: log2(R / 4)
    chunk = z_dim // (n + 1)
    p = vg["params"]
    assert p["shared"]["embedding"].shape == (10, 6)
    assert p["project"]["kernel"].shape[0] == chunk
    for i in range(n):  # every block's cBN reads [shared(y), z chunk]
        assert p[f"block{i}"]["cbn1"]["gain"]["kernel"].shape[0] == 6 + chunk
    # The labels and every z chunk change the image.
    assert not np.allclose(x, g.apply(vg, z, jnp.array([2, 3]), train=False))
    assert not np.allclose(x, g.apply(vg, z.at[:, -1].add(3.0), y, train=False))
    vd = d.init(jax.random.key(2), x, y, train=False)
    assert d.apply(vd, x, y, train=False).shape == (2,)
    assert "embed" in vd["params"]  # the projection critic


def test_biggan_is_bfloat16_ready():
    cfg = {"name": "biggan", "width": 4, "z_dim": 12, "num_classes": 10, "dtype": "bfloat16"}
    g, _ = MODELS["biggan"](cfg, (16, 16, 1))
    z, y = jnp.ones((2, 12)), jnp.array([0, 1])
    x = g.apply(g.init(jax.random.key(0), z, y, train=False), z, y, train=False)
    assert x.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(x)))


@pytest.mark.parametrize(
    "key,value",
    [("model.z_dim", 64), ("model.attention", 4), ("game.ortho_reg", -1.0)],
)
def test_bad_values_are_one_config_error(key, value):
    with pytest.raises(ConfigError, match=key):
        validate(load_config("biggan", **{key: value}))


def tiny_config(steps=2):
    cfg = load_config(
        "biggan",
        **{"model.width": 4, "model.z_dim": 6, "model.shared_dim": 4, "game.standing_stats": 2},
    )
    cfg.train.steps, cfg.train.log_every, cfg.train.sample_every = steps, 1, 0
    cfg.train.batch_size, cfg.eval.num_samples, cfg.eval.at_start = 8, 64, False
    return cfg


@pytest.mark.slow  # minutes on the loaded 2 cores (compiles the ResNets with attention)
def test_tiny_run_logs_the_regulariser_and_samples_with_truncation(tmp_path):
    train.train_and_evaluate(tiny_config(), tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["step"] == 2 and np.isfinite(record["frechet_distance"])
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("g/ortho_reg", 0) > 0 for r in lines)
    out = tmp_path / "s.npy"
    cmd = [sys.executable, "-m", "gan_jax.sample", f"--workdir={tmp_path}", "--num=6"]
    proc = subprocess.run(
        [*cmd, f"--out={out}", "--truncation=0.5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run, state, _ = runs.load_run(tmp_path)
    expected = runs.sample_images(run, state, 6, inputs=run.eval_inputs(6, truncation=0.5))
    np.testing.assert_array_equal(np.load(out), expected)
    # Standing statistics change what the EMA generator samples (same state, same inputs).
    no_standing = tiny_config()
    no_standing.game.standing_stats = 0
    inputs = run.eval_inputs(6)
    with_standing = jax.jit(run.game.generate)(state, inputs)
    without = jax.jit(runs.build_run(no_standing).game.generate)(state, inputs)
    assert not np.allclose(with_standing, without)
