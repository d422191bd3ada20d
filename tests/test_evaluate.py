"""Evaluation in training, eval.json and metrics.jsonl, the evaluate CLI, TensorBoard files."""

from __future__ import annotations

import json
import os
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
