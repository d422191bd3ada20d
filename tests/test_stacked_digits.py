"""Stacked digits (gan_jax/data.py ``stacked_digits``): three digits as the channels of one image,
1000 modes; the mode metrics in closed form and the evaluator on real, collapsed and one-channel
samples; the extractor's checks and a tiny run end to end."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from conftest import load_config

from gan_jax import data, evaluation, metrics, train
from gan_jax.errors import ConfigError


def test_batches_stack_three_digits_and_label_their_mode():
    ds = data.get_dataset({"name": "stacked_digits"})
    assert ds.shape == (16, 16, 3) and ds.num_classes == 1000 and ds.is_image
    batch = ds.sample(jax.random.key(0), 64)
    x, label = np.asarray(batch["x"]), np.asarray(batch["label"])
    images, labels = data.digits_arrays(16)
    index = {img.tobytes(): i for i, img in enumerate(images)}
    for b in range(8):
        digits = []
        for c in range(3):
            i = index[np.ascontiguousarray(x[b, :, :, c : c + 1]).tobytes()]  # each channel a digit
            digits.append(labels[i])
        assert label[b] == 100 * digits[0] + 10 * digits[1] + digits[2]
    assert len(set(label.tolist())) > 50  # 64 draws of 1000 modes: almost all distinct
    # Pure: the same key gives the same batch.
    np.testing.assert_array_equal(np.asarray(ds.sample(jax.random.key(0), 64)["x"]), x)


def test_mode_index_and_metrics_closed_form():
    assert data.stacked_mode_index(np.array([[3, 0, 7], [9, 9, 9]])).tolist() == [307, 999]
    # Uniform over all 1000 modes: every mode, KL 0.
    out = metrics.stacked_mode_metrics(np.arange(1000), 1000)
    assert out["modes"] == 1000 and out["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    # One mode: KL log 1000; two equal modes: log 500.
    assert metrics.stacked_mode_metrics(np.full(50, 12), 1000)["reverse_kl"] == pytest.approx(
        np.log(1000)
    )
    two = metrics.stacked_mode_metrics(np.array([1, 2] * 10), 1000)
    assert two["modes"] == 2 and two["reverse_kl"] == pytest.approx(np.log(500))


def test_evaluator_counts_modes_of_real_and_collapsed_samples():
    ds = data.get_dataset({"name": "stacked_digits"})
    assert evaluation.resolve_extractor(ds, "auto") == "stacked_modes"
    evaluator = evaluation.make_evaluator(ds, {"extractor": "auto", "num_samples": 3000})
    real = np.asarray(ds.sample(jax.random.key(1), 3000)["x"])
    record = evaluator(real)
    # 3000 uniform draws of 1000 modes reach ~950 (1000 (1 - e^-3)); the classifier is ~99% right.
    assert record["modes"] > 900 and record["reverse_kl"] < 0.5
    assert record["protocol"]["real_mode_accuracy"] > 0.97
    assert record["protocol"]["real_modes"] > 900
    assert record["channel_fd"] < 1.0 and record["confidence"] > 0.95
    # Noise is read as some digit too (modes > 1) but its channels are far from digits.
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype(np.float32)
    noisy = evaluator(noise)
    assert noisy["channel_fd"] > 100 * max(record["channel_fd"], 1.0)
    assert noisy["confidence"] < record["confidence"]
    # A collapsed generator: one image repeated is one mode.
    collapsed = np.repeat(real[:1], 3000, axis=0)
    one = evaluator(collapsed)
    assert one["modes"] == 1 and one["reverse_kl"] == pytest.approx(np.log(1000))
    # The same digit on every channel: at most the 10 modes d * 111.
    same = np.repeat(real[:, :, :, :1], 3, axis=-1)
    assert evaluator(same)["modes"] <= 10


def test_stacked_modes_only_on_stacked_digits():
    with pytest.raises(ConfigError, match="eval.extractor"):
        evaluation.resolve_extractor(data.get_dataset({"name": "digits"}), "stacked_modes")


@pytest.mark.slow  # a DCGAN on three channels, trained and evaluated through the trainer
def test_tiny_run_end_to_end(tmp_path):
    cfg = load_config(
        "nsgan",
        "stacked_digits",
        **{
            "train.steps": 2,
            "train.log_every": 1,
            "train.sample_every": 0,
            "model.width": 8,
            "eval.num_samples": 200,
            "eval.every_steps": 2,
            "eval.at_start": False,
            "checkpoint.every_steps": 2,
        },
    )
    train.train_and_evaluate(cfg, tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert 1 <= record["modes"] <= 200 and np.isfinite(record["reverse_kl"])
