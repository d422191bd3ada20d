"""gan_jax.sweep: members equal the runs trained alone, resume after SIGTERM, refused keys, and
the arithmetic of sweep.json."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest
from conftest import REPO, load_config

from gan_jax import checkpointing, runs, sample, sweep, train
from gan_jax.errors import ConfigError

LRS = [1e-4, 4e-4]
SEEDS = [0, 3]


def tiny(steps: int = 6):
    """grid25 MLP, 16 units, shrunk to compile and train in seconds."""
    cfg = load_config("nsgan", "grid25")
    cfg.model.g_hidden = cfg.model.d_hidden = (16, 16)
    cfg.train.steps, cfg.train.log_every, cfg.train.steps_per_dispatch = steps, 2, 2
    cfg.train.batch_size = 32
    cfg.checkpoint.every_steps = 2
    cfg.eval.every_steps, cfg.eval.num_samples = 0, 200
    return cfg


def state_leaves(tree) -> list[np.ndarray]:
    out = []
    for x in jax.tree.leaves(tree):
        if jax.numpy.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """2 seeds x 2 discriminator learning rates, 6 steps, trained once for the module."""
    root = tmp_path_factory.mktemp("sweep")
    record = sweep.train_sweep(tiny(), root, SEEDS, [("optim.d.lr", LRS)])
    return root, record


def test_the_sweep_writes_one_ordinary_run_directory_per_member(swept):
    root, record = swept
    names = [m["name"] for m in record["members"]]
    assert names == [f"optim.d.lr={lr}/seed{s}" for lr in LRS for s in SEEDS]
    for name in names:
        d = root / name
        assert (d / "config.json").is_file() and (d / "eval.json").is_file()
        assert [
            json.loads(x)["step"]
            for x in (d / "metrics.jsonl").read_text().splitlines()
            if "d/loss" in x
        ] == [2, 4, 6]
        steps = sorted(
            int(p.name) for p in checkpointing.checkpoint_dir(d).iterdir() if p.name.isdigit()
        )
        assert steps[-1] == 6
    assert json.loads((root / sweep.SWEEP_STATE).read_text())["step"] == 6


@pytest.mark.parametrize(
    "lr,seed", [(LRS[1], SEEDS[1]), pytest.param(LRS[0], SEEDS[0], marks=pytest.mark.slow)]
)
def test_a_member_equals_the_same_run_trained_alone(swept, tmp_path, lr, seed):
    root, _ = swept
    member = root / f"optim.d.lr={lr}" / f"seed{seed}"
    cfg = tiny()
    cfg.seed, cfg.optim.d.lr = seed, lr
    train.train_and_evaluate(cfg, tmp_path)
    abstract = runs.build_run(cfg).abstract_state()
    alone, _ = checkpointing.restore_state(tmp_path, abstract)
    together, step = checkpointing.restore_state(member, abstract)
    assert step == 6
    for a, b in zip(state_leaves(together), state_leaves(alone), strict=True):
        # Batched matmuls may round differently: far below one Adam step (lr 1e-4).
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    logged = [json.loads(x) for x in (member / "metrics.jsonl").read_text().splitlines()]
    solo = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    for a, b in zip(logged, solo, strict=True):
        for k in a:
            if k != "steps_per_sec" and isinstance(a[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-5), k
    # gan_jax.sample reads a member like any other run, and the other member is another run.
    np.testing.assert_allclose(sample.draw(member, 50), sample.draw(tmp_path, 50), atol=1e-5)
    other = root / f"optim.d.lr={lr}" / f"seed{[s for s in SEEDS if s != seed][0]}"
    assert not np.allclose(sample.draw(other, 50), sample.draw(tmp_path, 50), atol=1e-3)


@pytest.mark.slow
def test_a_member_resumes_alone_with_the_trainer(swept, tmp_path):
    """A member directory is an ordinary run: gan_jax.train resumes it to more steps."""
    root, _ = swept
    member = root / f"optim.d.lr={LRS[0]}" / f"seed{SEEDS[0]}"
    copy = tmp_path / "member"
    subprocess.run(["cp", "-r", str(member), str(copy)], check=True)
    cfg = tiny(steps=8)
    cfg.seed, cfg.optim.d.lr = SEEDS[0], LRS[0]
    state = train.train_and_evaluate(cfg, copy)
    assert int(state.step) == 8


@pytest.mark.slow  # ~40 s: two sweeps of 4 members
def test_the_sweep_resumes_as_a_whole_after_sigterm(swept, tmp_path, monkeypatch, capsys):
    root, _ = swept
    log_train = sweep.RunLogger.log_train
    sent = []

    def interrupting(self, step, scalars, rate):
        if step == 2 and not sent:  # once: a second signal aborts at once (preemption.py)
            sent.append(step)
            signal.raise_signal(signal.SIGTERM)
        return log_train(self, step, scalars, rate)

    monkeypatch.setattr(sweep.RunLogger, "log_train", interrupting)
    out = sweep.train_sweep(tiny(), tmp_path, SEEDS, [("optim.d.lr", LRS)])
    assert out == {"stopped_at": 2, "reason": "SIGTERM"}
    assert json.loads((tmp_path / sweep.SWEEP_STATE).read_text())["step"] == 2
    monkeypatch.setattr(sweep.RunLogger, "log_train", log_train)
    sweep.train_sweep(tiny(), tmp_path, SEEDS, [("optim.d.lr", LRS)])
    assert "resuming the 4 members from step 2" in capsys.readouterr().out
    abstract = runs.build_run(tiny()).abstract_state()
    for lr in LRS:
        for seed in SEEDS:
            name = f"optim.d.lr={lr}/seed{seed}"
            resumed, step = checkpointing.restore_state(tmp_path / name, abstract)
            whole, _ = checkpointing.restore_state(root / name, abstract)
            assert step == 6
            for a, b in zip(state_leaves(resumed), state_leaves(whole), strict=True):
                np.testing.assert_array_equal(a, b)
            lines = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
            assert [json.loads(x)["step"] for x in lines if "d/loss" in x] == [2, 4, 6]


@pytest.mark.parametrize(
    "key,values,why",
    [
        ("model.z_dim", [2, 3], "changes the shapes"),
        ("train.batch_size", [32, 64], "changes the shapes"),
        ("model.g_ema_decay", [0.5, 0.9], "read .* as a Python value"),
        ("objective.name", ["non_saturating", "least_squares"], "read .* as a Python value"),
    ],
)
def test_a_key_that_cannot_share_the_program_is_refused_by_name(key, values, why, tmp_path):
    with pytest.raises(ConfigError, match=rf"--sweep {key}=.*{why}"):
        sweep.train_sweep(tiny(), tmp_path, [0], [(key, values)])
    assert not (tmp_path / "sweep.json").exists()


def test_the_cli_refuses_a_shape_changing_key_in_one_line(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "gan_jax.sweep",
            "--config=configs/nsgan.py:grid25",
            "--seeds=0-1",
            "--sweep=model.z_dim=2,4",
            f"--workdir={tmp_path}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gan_jax: config error: --sweep model.z_dim=4")
    assert "changes the shapes" in lines[0]


def test_parse_seeds_and_sweep_values():
    assert sweep.parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert sweep.parse_seeds("0-2,9") == [0, 1, 2, 9]
    for bad in ("", "a", "2-1", "0,0", "-1"):
        with pytest.raises(ConfigError, match="--seeds"):
            sweep.parse_seeds(bad)
    cfg = tiny()
    assert sweep.parse_sweep(cfg, "optim.d.lr=1e-4,2e-4") == ("optim.d.lr", [1e-4, 2e-4])
    assert sweep.parse_sweep(cfg, "train.d_steps=1,2") == ("train.d_steps", [1, 2])
    for bad, why in [
        ("optim.d.lrr=1", "does not exist"),
        ("seed=1,2", "--seeds"),
        ("optim.d.lr", "KEY=V1,V2"),
        ("optim.d.lr=a", "a float"),
        ("optim.d=1", "block of keys"),
    ]:
        with pytest.raises(ConfigError, match=why):
            sweep.parse_sweep(cfg, bad)


def test_members_are_the_product_of_the_values_times_the_seeds():
    ms = sweep.members(tiny(), [0, 1], [("optim.d.lr", [1e-4, 2e-4]), ("optim.g.b1", [0.0])])
    assert [m.name for m in ms] == [
        "optim.d.lr=0.0001,optim.g.b1=0.0/seed0",
        "optim.d.lr=0.0001,optim.g.b1=0.0/seed1",
        "optim.d.lr=0.0002,optim.g.b1=0.0/seed0",
        "optim.d.lr=0.0002,optim.g.b1=0.0/seed1",
    ]
    assert [(m.seed, m.config.seed, m.config.optim.d.lr) for m in ms][3] == (1, 1, 2e-4)
    assert all(m.config.optim.g.b1 == 0.0 for m in ms)


def test_aggregate_is_the_mean_and_standard_error_over_each_points_seeds():
    points = ["a", "a", "a", "b", "b"]
    per_member = [
        {"eval/x": 1.0, "eval/y": 0.5},
        {"eval/x": 2.0, "eval/y": math.inf},
        {"eval/x": 3.0},
        {"eval/x": 10.0},
        {"eval/x": 14.0},
    ]
    out = sweep.aggregate(points, per_member, [0, 1, 2, 0, 1])
    a, b = out["a"], out["b"]
    assert a["seeds"] == [0, 1, 2] and b["seeds"] == [0, 1]
    assert a["metrics"]["eval/x"]["mean"] == pytest.approx(2.0)
    assert a["metrics"]["eval/x"]["se"] == pytest.approx(1.0 / math.sqrt(3))  # std 1, n 3
    assert b["metrics"]["eval/x"]["mean"] == pytest.approx(12.0)
    assert b["metrics"]["eval/x"]["se"] == pytest.approx(2.0)  # std 2 sqrt(2), n 2
    y = a["metrics"]["eval/y"]  # one infinite, one missing: no mean, and the record says so
    assert y["mean"] is None and y["se"] is None and y["non_finite"] == 2
    assert y["values"] == [0.5, None, None]
    assert sweep.mean_se([4.0])["se"] is None
    text = json.dumps(sweep.finite({"k": math.inf, "l": [math.nan, 1.0]}), allow_nan=False)
    assert json.loads(text) == {"k": None, "l": [None, 1.0]}


def test_sweep_json_holds_every_point_and_the_protocol(swept):
    root, record = swept
    saved = json.loads((root / "sweep.json").read_text())
    assert saved["swept"] == ["optim.d.lr"]
    assert list(saved["points"]) == [f"optim.d.lr={lr}" for lr in LRS]
    point = saved["points"][f"optim.d.lr={LRS[0]}"]
    hq = [
        json.loads((root / f"optim.d.lr={LRS[0]}" / f"seed{s}" / "eval.json").read_text())[
            "hq_fraction"
        ]
        for s in SEEDS
    ]
    assert point["metrics"]["eval/hq_fraction"]["values"] == hq
    assert point["metrics"]["eval/hq_fraction"]["mean"] == pytest.approx(np.mean(hq))
    assert saved["protocol"]["evaluation"]["dataset"] == "grid25"
    md = (root / "sweep.md").read_text()
    assert "eval/hq_fraction" in md and f"optim.d.lr={LRS[1]} (seeds 0,3)" in md


MULTI_DEVICE = """
import os, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
sys.path[:0] = [{repo!r}, {tests!r}]
import jax
from test_sweep import tiny, SEEDS, LRS
from gan_jax import sweep
assert jax.device_count() == 2
sweep.train_sweep(tiny(), {root!r}, SEEDS, [("optim.d.lr", LRS)])
"""


@pytest.mark.slow  # a subprocess that compiles the sweep again (~50 s)
def test_members_spread_over_two_devices_equal_the_one_device_sweep(swept, tmp_path):
    root, _ = swept
    code = MULTI_DEVICE.format(repo=str(REPO), tests=str(REPO / "tests"), root=str(tmp_path))
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "one program on 2 devices" in res.stdout
    abstract = runs.build_run(tiny()).abstract_state()
    for lr in LRS:
        for seed in SEEDS:
            name = f"optim.d.lr={lr}/seed{seed}"
            two, _ = checkpointing.restore_state(tmp_path / name, abstract)
            one, _ = checkpointing.restore_state(root / name, abstract)
            for a, b in zip(state_leaves(two), state_leaves(one), strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_sweep_program_compiles_once():
    """The states it returns carry the same static parts as those it takes: no recompilation."""
    cfg = tiny()
    ms = sweep.members(cfg, SEEDS, [("optim.d.lr", LRS)])
    values = {"optim.d.lr": jax.numpy.asarray([m.config.optim.d.lr for m in ms])}
    seeds = jax.numpy.asarray([m.seed for m in ms], jax.numpy.uint32)
    prog = sweep.Program(runs.build_run(ms[0].config), seeds, values, None)
    states, guards = prog.init()
    for _ in range(3):
        states, guards, _ = prog.dispatch(2)(states, guards)
    assert prog.dispatch(2)._cache_size() == 1
    assert int(states.step[0]) == 6


@pytest.mark.slow  # covered by the game's end-to-end test in the default run
def test_unrolled_members_equal_vmapped_members():
    cfg = tiny()
    ms = sweep.members(cfg, SEEDS, [("optim.d.lr", LRS)])
    values = {"optim.d.lr": jax.numpy.asarray([m.config.optim.d.lr for m in ms])}
    seeds = jax.numpy.asarray([m.seed for m in ms], jax.numpy.uint32)
    run = runs.build_run(ms[0].config)
    out = []
    for members_as in ("vmap", "unrolled"):
        prog = sweep.Program(run, seeds, values, None, members_as)
        states, guards = prog.init()
        states, guards, metrics = prog.dispatch(2)(states, guards)
        out.append((states, metrics))
    for a, b in zip(state_leaves(out[0]), state_leaves(out[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="--members_as"):
        sweep.Program(run, seeds, values, None, "pmap").dispatch_fn(1)


def test_a_finished_sweep_rerun_only_writes_a_missing_final_evaluation(swept, tmp_path):
    root, _ = swept
    copy = tmp_path / "sweep"
    subprocess.run(["cp", "-r", str(root), str(copy)], check=True)
    name = f"optim.d.lr={LRS[1]}/seed{SEEDS[0]}"
    before = json.loads((copy / name / "eval.json").read_text())
    (copy / name / "eval.json").unlink()
    sweep.train_sweep(tiny(), copy, SEEDS, [("optim.d.lr", LRS)])
    assert json.loads((copy / name / "eval.json").read_text()) == before
    steps = sorted(
        int(p.name) for p in checkpointing.checkpoint_dir(copy / name).iterdir() if p.name.isdigit()
    )
    assert steps[-1] == 6  # nothing trained past the end
