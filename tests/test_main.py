"""End to end: train_and_evaluate per config, the CLI entry points, and the 2D mode benchmark."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import CONFIG_NAMES, CONFIG_NAMES_2D, REPO, load_config, tiny

from gan_jax import metrics, train
from gan_jax.data import ring8_modes
from gan_jax.errors import WorkdirError
from gan_jax.sample import draw


def run_cli(*args, timeout=300, cwd=REPO, **env):
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu", **env}
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def library_info_lines(res) -> list[str]:
    """INFO lines in absl's format (``I1201 09:16:18.011317 ...``), JAX's backend probe too."""
    lines = (res.stdout + res.stderr).splitlines()
    return [
        line
        for line in lines
        if re.match(r"I\d{4} \d\d:\d\d:\d\d", line) or "Unable to initialize backend" in line
    ]


@pytest.mark.parametrize("name", CONFIG_NAMES + CONFIG_NAMES_2D)
@pytest.mark.parametrize("preset", [None, "grid25"])
def test_tiny_run_of_every_config_leaves_its_outputs(tmp_path, name, preset):
    cfg = tiny(load_config(name, preset))
    train.train_and_evaluate(cfg, tmp_path)
    assert (
        json.loads((tmp_path / "config.json").read_text())["objective"]["name"]
        == cfg.objective.name
    )
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "d/loss" in r]
    assert steps == [1, 2, 3]
    for key in ("d/loss", "d/real", "d/fake", "g/loss", "steps_per_sec"):
        assert key in records[-1] or key in records[-2], key
    assert list((tmp_path / "samples").glob("*.png"))
    assert (tmp_path / "checkpoints" / "3").is_dir()
    if preset:
        assert json.loads((tmp_path / "eval.json").read_text())["num_samples"] == 64


@pytest.mark.slow
def test_tiny_run_of_the_sngan_projection_config(tmp_path):
    """configs/sngan.py:projection (cBN generator, projection critic, spectral norm); the
    unconditional preset trains in tests/test_parallel.py."""
    cfg = tiny(load_config("sngan", "projection"))
    state = train.train_and_evaluate(cfg, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "d/loss" in r] == [1, 2, 3]
    assert (tmp_path / "checkpoints" / "3").is_dir() and list((tmp_path / "samples").glob("*.png"))
    assert int(state.nets["d"].step) == 3 * cfg.train.d_steps
    assert "embed" in state.nets["d"].params and "sn_embed" in state.nets["d"].batch_stats


@pytest.mark.slow
def test_cgan_cli_trains_and_samples_the_requested_class(tmp_path):
    """configs/cgan.py through gan_jax.main, then gan_jax.sample --label (EMA generator)."""
    workdir = tmp_path / "run"
    res = run_cli(
        "-m",
        "gan_jax.main",
        "--config=configs/cgan.py",
        f"--workdir={workdir}",
        "--config.train.steps=2",
        "--config.train.log_every=1",
        "--config.model.width=8",
        "--config.train.batch_size=8",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "step      2/2" in res.stdout
    saved = json.loads((workdir / "config.json").read_text())["model"]
    assert saved["num_classes"] == 10 and saved["g_ema_decay"] > 0
    out = tmp_path / "threes.npy"
    res = run_cli(
        "-m", "gan_jax.sample", f"--workdir={workdir}", "--num=4", f"--out={out}", "--label=3"
    )
    assert res.returncode == 0, res.stderr[-3000:]
    threes = np.load(out)
    assert threes.shape == (4, 16, 16, 1)
    cycled = draw(workdir, 4)  # classes 0, 1, 2, 3 in turn, the same noise
    np.testing.assert_allclose(threes[3], cycled[3], rtol=1e-5, atol=1e-6)
    assert not np.allclose(threes[0], cycled[0])
    res = run_cli("-m", "gan_jax.sample", f"--workdir={workdir}", f"--out={out}", "--label=10")
    assert res.returncode != 0 and "--label=10" in res.stderr and "Traceback" not in res.stderr


def test_cli_runs_and_sample_cli_writes_samples(tmp_path):
    """Both print gan_jax's own lines only (Orbax logs ~40 INFO lines per save, JAX one per
    backend it cannot start); --verbosity=0 brings the libraries' INFO lines back."""
    workdir = tmp_path / "run"
    res = run_cli(
        "-m",
        "gan_jax.main",
        "--config=configs/wgan.py",
        f"--workdir={workdir}",
        "--config.train.steps=2",
        "--config.train.log_every=1",
        "--config.model.width=8",
        "--config.train.batch_size=8",
        JAX_PLATFORMS=None,  # as in a fresh shell: JAX probes its backends
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "step      2/2" in res.stdout and "ETA" in res.stdout
    assert library_info_lines(res) == []
    assert len((res.stdout + res.stderr).splitlines()) <= 10, res.stdout + res.stderr
    out = tmp_path / "samples.npy"
    res = run_cli(
        "-m", "gan_jax.sample", f"--workdir={workdir}", "--num=10", f"--out={out}", "--seed=3"
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert library_info_lines(res) == [] and res.stderr == ""
    samples = np.load(out)
    assert samples.shape == (10, 16, 16, 1) and samples.dtype == np.float32
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    # --out defaults to the run's directory (not the working directory, the repository root).
    res = run_cli("-m", "gan_jax.sample", f"--workdir={workdir}", "--num=3", "--verbosity=0")
    assert res.returncode == 0, res.stderr[-3000:]
    assert np.load(workdir / "samples.npy").shape == (3, 16, 16, 1)
    assert f"to {workdir / 'samples.npy'}" in res.stdout
    assert any("checkpoint" in line for line in library_info_lines(res))  # Orbax's INFO is back


def test_cli_selects_any_objective_and_penalty_on_any_config(tmp_path):
    res = run_cli(
        "-m",
        "gan_jax.main",
        "--config=configs/lsgan.py:ring8",
        f"--workdir={tmp_path}",
        "--config.objective.name=relativistic_average",
        "--config.objective.penalty=dragan",
        "--config.objective.penalty_weight=5",
        "--config.model.g_hidden=(16,)",
        "--config.model.d_hidden=(16,)",
        "--config.train.steps=2",
        "--config.train.log_every=1",
        "--config.train.steps_per_dispatch=1",
        "--config.eval.num_samples=64",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "gan_jax: relativistic_average on ring8" in res.stdout
    saved = json.loads((tmp_path / "config.json").read_text())["objective"]
    assert (saved["penalty"], saved["penalty_weight"]) == ("dragan", 5.0)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in records if "d/loss" in r][-1]
    assert last["step"] == 2
    assert {"d/penalty", "d/perturbed_grad_norm", "g/real"} <= set(last), last


def test_sample_api_shape_for_2d_runs(tmp_path):
    cfg = tiny(load_config("nsgan", "ring8"))
    train.train_and_evaluate(cfg, tmp_path)
    assert draw(tmp_path, 7).shape == (7, 2)
    np.testing.assert_array_equal(draw(tmp_path, 5, seed=1), draw(tmp_path, 5, seed=1))


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--config.objective.name=hinge_typo"], "objective.name='hinge_typo'"),
        (["--config.train.batch_size=0"], "train.batch_size=0"),
        (["--config.optim.g.lr=-1.0"], "optim.g.lr=-1.0"),
        (["--config.objective.penalty=r3"], "objective.penalty='r3'"),
    ],
)
def test_cli_config_errors_are_one_clear_line(tmp_path, args, needle):
    res = run_cli("-m", "gan_jax.main", "--config=configs/nsgan.py", f"--workdir={tmp_path}", *args)
    assert res.returncode != 0
    assert needle in res.stderr and "allowed" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "config.json").exists()  # failed before anything was written


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--config=configs/wgan.py", "--config.train.stepz=5"], "(did you mean train.steps?)"),
        (["--config=configs/no_such.py"], "there is no file 'configs/no_such.py'"),
        (["--config=configs/wgan.py:grid26"], "preset 'grid26' is not known; allowed: "),
        (["--config=configs/wgan.py", "--config.train.steps=many"], "train.steps=many"),
    ],
)
def test_cli_config_file_errors_are_one_line(tmp_path, args, needle):
    """Errors met while reading --config: one line, exit status 1, nothing written."""
    workdir = tmp_path / "run"
    res = run_cli("-m", "gan_jax.main", *args, f"--workdir={workdir}")
    assert res.returncode == 1
    assert len(res.stderr.splitlines()) == 1 and res.stderr.startswith("gan_jax: "), res.stderr
    assert needle in res.stderr
    assert not workdir.exists()


def test_configs_load_from_outside_the_repository(tmp_path):
    """As after ``pip install -e .``: gan_jax importable, the configs package not on the path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "gan_jax").symlink_to(REPO / "gan_jax")
    config = f"--config={REPO}/configs/nsgan.py:ring8"
    outside = dict(cwd=tmp_path, PYTHONPATH=str(site))
    res = run_cli("-m", "gan_jax.main", config, "--config.train.stepz=2", **outside)
    assert res.returncode == 1 and len(res.stderr.splitlines()) == 1, res.stderr
    assert "did you mean train.steps?" in res.stderr
    workdir = tmp_path / "run"
    res = run_cli(
        "-m",
        "gan_jax.main",
        config,
        f"--workdir={workdir}",
        "--config.train.steps=2",
        "--config.train.steps_per_dispatch=1",
        "--config.model.g_hidden=(8,)",
        "--config.model.d_hidden=(8,)",
        "--config.eval.num_samples=64",
        **outside,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert (workdir / "checkpoints" / "2").is_dir()


def test_unwritable_workdir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(WorkdirError, match="not writable"):
        train.train_and_evaluate(tiny(load_config("nsgan", "ring8")), blocker / "run")
    res = run_cli(
        "-m", "gan_jax.main", "--config=configs/nsgan.py:ring8", f"--workdir={blocker}/run"
    )
    assert res.returncode != 0 and "not writable" in res.stderr and "Traceback" not in res.stderr


def test_sample_cli_without_a_run(tmp_path):
    res = run_cli("-m", "gan_jax.sample", f"--workdir={tmp_path}", f"--out={tmp_path}/x.npy")
    assert res.returncode != 0 and "config.json" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_nsgan_ring8_default_schedule_covers_at_least_7_of_8_modes(tmp_path):
    """GAN-NOTES protocol: 2500 samples, high quality within 3 std, modes captured."""
    cfg = load_config("nsgan", "ring8")
    train.train_and_evaluate(cfg, tmp_path)
    samples = draw(tmp_path, 2500)
    result = metrics.mode_metrics(samples, ring8_modes(), 0.01)
    assert result["modes"] >= 7, result
    assert json.loads((tmp_path / "eval.json").read_text())["modes"] == result["modes"]


def test_default_workdir_is_named_after_the_config():
    assert train.default_workdir("configs/wgan.py") == str(pathlib.Path("runs/wgan"))
    assert train.default_workdir("configs/wgan.py:ring8") == str(pathlib.Path("runs/wgan_ring8"))
