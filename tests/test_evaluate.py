"""Evaluation in training, eval.json and metrics.jsonl, the evaluate CLI, TensorBoard files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from configs import default, wgan
from gan_jax import evaluation, pictures, runs, train
from gan_jax.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_digits_config():
    c = wgan.get_config()
    c.model.width = 8
    c.train.steps = 4
    c.train.batch_size = 16
    c.train.log_every = 2
    c.train.sample_every = 2
    c.eval.every_steps = 2
    c.eval.num_samples = 200
    return c


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, digits_classifier):
    workdir = tmp_path_factory.mktemp("digits_run")
    train.train_and_evaluate(tiny_digits_config(), workdir)
    return workdir


def _records(workdir):
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_digits_run_evaluates_at_start_every_n_steps_and_at_the_end(digits_run):
    evals = [r for r in _records(digits_run) if "eval/frechet_distance" in r]
    assert [r["step"] for r in evals] == [0, 2, 4]
    final = json.loads((digits_run / "eval.json").read_text())
    assert final["step"] == 4
    assert final == {"step": 4, **{k[5:]: v for k, v in evals[-1].items() if k.startswith("eval/")}}
    for key in (
        "frechet_distance",
        "kid",
        "kid_std",
        "precision",
        "recall",
        "classes",
        "classes_min_fraction",
        "class_kl",
        "confidence",
        "class_histogram",
    ):
        assert key in final, key
    protocol = final["protocol"]
    assert protocol["extractor"].startswith("digits_cnn")
    assert protocol["heldout_accuracy"] >= 0.97
    assert protocol["real_samples"] == 1797 and protocol["fake_samples"] == 200
    assert "split" in protocol and "real_split" in protocol
    assert len(final["class_histogram"]) == 10
    assert sum(final["class_histogram"]) == pytest.approx(1.0, abs=1e-3)


def test_digits_run_writes_pictures(digits_run):
    assert sorted(p.name for p in (digits_run / "samples").iterdir()) == [
        "step_0000002.png",
        "step_0000004.png",
    ]
    assert (digits_run / "curves.png").stat().st_size > 10_000


def test_tensorboard_files_read_back_with_tensorboards_reader(digits_run):
    acc = event_accumulator.EventAccumulator(
        str(digits_run / "tensorboard"), size_guidance={event_accumulator.IMAGES: 0}
    )
    acc.Reload()
    tags = acc.Tags()
    assert {"d/loss", "g/loss", "eval/frechet_distance", "eval/classes"} <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars("d/loss")] == [2, 4]
    assert [e.step for e in acc.Scalars("eval/frechet_distance")] == [0, 2, 4]
    logged = {r["step"]: r["d/loss"] for r in _records(digits_run) if "d/loss" in r}
    for event in acc.Scalars("d/loss"):
        assert event.value == pytest.approx(logged[event.step], rel=1e-6)
    assert "samples" in tags["images"]
    images = acc.Images("samples")
    assert [e.step for e in images] == [2, 4]
    assert images[0].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_cli_reproduces_the_final_evaluation(digits_run, tmp_path):
    out = tmp_path / "eval.json"
    proc = subprocess.run(
        [sys.executable, "-m", "gan_jax.evaluate", f"--workdir={digits_run}", f"--out={out}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Its three lines (numbers, protocol, file), none of Orbax's INFO logs of the restore.
    assert len(proc.stdout.splitlines()) == 3, proc.stdout
    assert not re.search(r"^I\d{4} ", proc.stderr, flags=re.M), proc.stderr[-2000:]
    record = json.loads(out.read_text())
    trained = json.loads((digits_run / "eval.json").read_text())
    assert record["step"] == 4
    # Same checkpoint, same fixed evaluation noise, same extractor: the same numbers.
    for key in ("frechet_distance", "kid", "precision", "recall", "classes", "confidence"):
        assert record[key] == pytest.approx(trained[key], rel=1e-5), key
    assert record["protocol"] == trained["protocol"]


def test_evaluate_cli_without_a_run_is_one_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gan_jax.evaluate", f"--workdir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "has no config.json" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_2d_run_records_mode_metrics_and_draws_the_critic(tmp_path):
    c = default.get_config("ring8")
    c.model.g_hidden = c.model.d_hidden = (16, 16)
    c.train.steps = 4
    c.train.batch_size = 32
    c.train.log_every = 2
    c.eval.every_steps = 2
    c.eval.num_samples = 300
    train.train_and_evaluate(c, tmp_path)
    final = json.loads((tmp_path / "eval.json").read_text())
    assert set(final) >= {"modes", "hq_fraction", "reverse_kl", "protocol"}
    assert final["protocol"]["fake_samples"] == 300
    assert [r["step"] for r in _records(tmp_path) if "eval/modes" in r] == [0, 2, 4]
    assert (tmp_path / "samples" / "step_0000004.png").is_file()
    assert (tmp_path / "curves.png").is_file()


def test_critic_field_is_the_discriminator_output(tmp_path):
    c = default.get_config("ring8")
    c.model.g_hidden = c.model.d_hidden = (8,)
    run = runs.build_run(c)
    import jax

    state = run.init_state(jax.random.key(0))
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, -0.5]], np.float32)
    critic = run.game.networks["d"].module
    direct = critic.apply({"params": state.nets["d"].params}, pts, train=False)
    np.testing.assert_allclose(pictures.critic_field(state, pts), np.asarray(direct), rtol=1e-6)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("every_steps", -1, "eval.every_steps"),
        ("extractor", "inception_v3", "eval.inception_weights"),
        ("extractor", "inception", "eval.extractor"),
        ("resize", "bicubic", "eval.resize='bicubic' is not allowed"),
    ],
)
def test_bad_eval_config_is_one_clear_error(key, value, match):
    c = default.get_config()
    with c.unlocked():
        c.eval[key] = value
    with pytest.raises(ConfigError, match=match):
        runs.build_run(c)


def test_extractor_must_fit_the_dataset():
    ring = runs.build_run(default.get_config("ring8")).dataset
    digits = runs.build_run(default.get_config()).dataset
    assert evaluation.resolve_extractor(ring, "auto") == "modes"
    assert evaluation.resolve_extractor(digits, "auto") == "digits_cnn"
    with pytest.raises(ConfigError, match="eval.extractor"):
        evaluation.resolve_extractor(ring, "digits_cnn")
    with pytest.raises(ConfigError, match="eval.extractor"):
        evaluation.resolve_extractor(digits, "modes")


def _cli(module, *args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_line_error(proc, *fragments):
    """Exit status 1, no traceback, the error as the last line (Orbax may log INFO lines before)."""
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("gan_jax: ")]
    assert errors == [lines[-1]], proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


def test_reference_stats_cli_writes_the_evaluators_real_statistics(digits_run, tmp_path):
    # The digits evaluator's real set is all 1797 digits: the same set's statistics written by
    # gan_jax.reference_stats give the same Frechet distance as the record's own.
    stats = tmp_path / "digits_stats.npz"
    proc = _cli("gan_jax.reference_stats", "--config=configs/wgan.py", f"--out={stats}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with np.load(stats) as blob:
        assert blob["mu"].shape == (128,) and blob["sigma"].shape == (128, 128)
        recorded = json.loads(str(blob["protocol"]))
    assert recorded["count"] == 1797 and recorded["dataset"] == "digits"
    assert recorded["data_split"] == "all images (embedded)" and recorded["resolution"] == 16
    assert recorded["extractor"] == "digits_cnn_v1"
    out = tmp_path / "eval.json"
    proc = _cli(
        "gan_jax.evaluate", f"--workdir={digits_run}", f"--out={out}", f"--reference_stats={stats}"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["reference_frechet_distance"] == pytest.approx(
        record["frechet_distance"], rel=1e-9
    )
    sha256 = hashlib.sha256(stats.read_bytes()).hexdigest()
    assert record["protocol"]["reference_stats"] == {
        "file": str(stats),
        "sha256": sha256,
        "recorded": recorded,
    }


def test_bad_reference_stats_are_one_line_errors(digits_run, tmp_path):
    missing = tmp_path / "nope.npz"
    proc = _cli("gan_jax.evaluate", f"--workdir={digits_run}", f"--reference_stats={missing}")
    _one_line_error(proc, f"--reference_stats='{missing}' is not a file", "'mu' (d,)")
    no_sigma = tmp_path / "no_sigma.npz"
    np.savez(no_sigma, mu=np.zeros(128))
    proc = _cli("gan_jax.evaluate", f"--workdir={digits_run}", f"--reference_stats={no_sigma}")
    _one_line_error(proc, "has no array 'sigma' (it has ['mu'])")
    inception_sized = tmp_path / "fid_stats_cifar10_train.npz"
    np.savez(inception_sized, mu=np.zeros(2048), sigma=np.eye(2048))
    proc = _cli(
        "gan_jax.evaluate", f"--workdir={digits_run}", f"--reference_stats={inception_sized}"
    )
    _one_line_error(proc, "holds 2048-d statistics", "allowed: 128-d", "'digits_cnn'")


def test_reference_stats_loader_checks_keys_and_shapes(tmp_path):
    from gan_jax.errors import GanJaxError

    bad = tmp_path / "bad.npz"
    np.savez(bad, mu=np.zeros(4), sigma=np.eye(3))
    with pytest.raises(GanJaxError, match=r"'mu' has shape \(4,\) and 'sigma' \(3, 3\)"):
        evaluation.load_reference_stats(bad)
    (tmp_path / "text.npz").write_text("not an npz")
    with pytest.raises(GanJaxError, match="cannot be read as .npz"):
        evaluation.load_reference_stats(tmp_path / "text.npz")
    # A pytorch-fid / TTUR file: mu and sigma only, no protocol.
    good = tmp_path / "good.npz"
    np.savez(good, mu=np.ones(3), sigma=np.eye(3))
    stats = evaluation.load_reference_stats(good)
    assert stats.protocol is None and stats.mu.shape == (3,)


def test_reference_stats_cli_errors_are_one_line(tmp_path):
    proc = _cli(
        "gan_jax.reference_stats",
        "--config=configs/default.py:ring8",
        f"--out={tmp_path / 's.npz'}",
        timeout=120,
    )
    _one_line_error(proc, "eval.extractor='auto' has no feature space", "data.name='ring8'")


def test_bad_resize_is_a_config_error_naming_the_key():
    digits = runs.build_run(default.get_config()).dataset
    with pytest.raises(ConfigError, match="eval.resize='bicubic' is not allowed"):
        evaluation.make_evaluator(digits, {"resize": "bicubic"})


def test_feature_evaluator_reports_is_and_density_coverage_from_the_embedding():
    # A stand-in Inception embedding (num_classes 0): features are the images themselves, the
    # logits one-hot over 4 classes, each used equally in every split: IS 4.
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 3))

    def embed(images):
        logits = np.tile(np.eye(4) * 50.0, (len(images) // 4, 1))
        return images.reshape(len(images), -1), logits

    emb = evaluation.Embedding("inception_v3", embed, real, {"extractor": "stand-in"})
    result = evaluation.feature_evaluator(emb, 40)(real[:40].copy())
    assert result["inception_score"] == pytest.approx(4.0)
    assert result["inception_score_std"] == pytest.approx(0.0, abs=1e-9)
    assert "density" in result and "coverage" in result and "classes" not in result
    assert "10 consecutive splits" in result["protocol"]["inception_score"]
    assert result["protocol"]["density_coverage"].startswith("real k-NN balls, k=5")
    few = evaluation.feature_evaluator(emb, 8)(real[:8].copy())
    assert "inception_score" not in few and "not computed" in few["protocol"]["inception_score"]


def test_mnist5k_preset_evaluates_with_its_own_classifier(tmp_path, mnist5k_classifier):
    c = default.get_config("mnist5k")
    assert (c.data.name, c.data.resolution) == ("mnist5k", 32)
    c.model.width = 8
    c.train.steps = 2
    c.train.batch_size = 16
    c.train.sample_every = 0
    c.eval.num_samples = 100
    c.eval.at_start = False
    train.train_and_evaluate(c, tmp_path)
    final = json.loads((tmp_path / "eval.json").read_text())
    protocol = final["protocol"]
    assert protocol["extractor"] == "mnist5k_cnn_v1" and protocol["resolution"] == 32
    assert protocol["heldout_accuracy"] == mnist5k_classifier.protocol["heldout_accuracy"]
    assert protocol["real_samples"] == 5000
    for key in ("frechet_distance", "kid", "precision", "recall", "density", "coverage", "classes"):
        assert key in final, key
    mnist = runs.build_run(c).dataset
    assert evaluation.resolve_extractor(mnist, "auto") == "mnist5k_cnn"
    with pytest.raises(ConfigError, match="'digits_cnn' only with data.name='digits'"):
        evaluation.resolve_extractor(mnist, "digits_cnn")


def test_a_packed_critics_run_draws_its_2d_picture_without_contours(tmp_path):
    """PacGAN's critic scores packs of points, so the picture has no critic field (it raised)."""
    import jax
    from conftest import load_config

    from gan_jax.logger import RunLogger

    cfg = load_config("pacgan", "grid25", **{"model.pac": 4, "train.batch_size": 40})
    cfg.model.g_hidden, cfg.model.d_hidden, cfg.eval.num_samples = (8,), (8,), 100
    run = runs.build_run(cfg)
    state = run.init_state(jax.random.key(0))
    (tmp_path / "samples").mkdir()
    with RunLogger(tmp_path, 1, tensorboard=False, progress_bar=False) as logger:
        pictures.write_samples(run, state, tmp_path, 0, logger)
    assert (tmp_path / "samples" / "step_0000000.png").stat().st_size > 1000
