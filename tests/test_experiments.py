"""Shrunken versions of the experiments in experiments/, so that they do not rot."""

import json
import math
import os
import runpy
import subprocess
import sys

import jax
import numpy as np
import pytest
from conftest import REPO, tiny

from experiments import mode_collapse_2d as mc
from gan_jax import checkpointing, metrics, train
from gan_jax.data import grid25_modes

TINY_NETS = {"model.g_hidden": (16, 16), "model.d_hidden": (16, 16)}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Two arms (a plain objective and PacGAN2), both datasets, two seeds, 5 steps each."""
    root = tmp_path_factory.mktemp("mode_collapse")
    results = mc.run_table(
        ["nsgan", "pacgan2"],
        ["ring8", "grid25"],
        [0, 1],
        root / "runs",
        root / "results",
        steps=5,
        extra=TINY_NETS,
        chunk=2,  # 2 + 2 + 1: several dispatches and a shorter last one
        log=lambda *a: None,
    )
    return root, results


def test_table_and_plots_are_written(table):
    root, results = table
    assert [(r["arm"], r["dataset"]) for r in results] == [
        ("nsgan", "ring8"),
        ("pacgan2", "ring8"),
        ("nsgan", "grid25"),
        ("pacgan2", "grid25"),
    ]
    md = (root / "results" / "mode_collapse_2d.md").read_text()
    assert "### ring8" in md and "### grid25" in md
    assert "PacGAN Table 1, PacGAN2: 7.9 modes" in md and "VEEGAN Table 1" in md
    for dataset in ("ring8", "grid25"):
        assert (root / "results" / f"mode_collapse_{dataset}.png").stat().st_size > 1000
    saved = json.loads((root / "results" / "mode_collapse_2d.json").read_text())
    assert saved["meta"]["num_seeds"] == 2
    for r in saved["results"]:
        assert r["steps"] == 5 and [s["seed"] for s in r["seeds"]] == [0, 1]
        assert r["config"]["model"]["g_hidden"] == [16, 16]
        modes = [s["modes"] for s in r["seeds"]]
        mean, se = r["summary"]["modes"]
        assert mean == pytest.approx(np.mean(modes))
        assert se == pytest.approx(np.std(modes, ddof=1) / math.sqrt(2))
    npz = np.load(root / "results" / "samples_grid25.npz")
    assert sorted(npz.files) == ["nsgan/seed0", "nsgan/seed1", "pacgan2/seed0", "pacgan2/seed1"]
    assert npz["nsgan/seed1"].shape == (2500, 2)


def test_seeds_are_independent_runs_saved_as_ordinary_run_directories(table):
    root, results = table
    r = next(r for r in results if r["arm"] == "pacgan2" and r["dataset"] == "grid25")
    assert r["config"]["model"]["pac"] == 2 and r["config"]["data"]["num_points"] == 100_000
    s0, s1 = (np.load(os.path.join(wd, "samples.npy")) for wd in r["workdirs"])
    assert not np.array_equal(s0, s1)
    cfg = json.loads((root / "runs" / "grid25" / "pacgan2" / "seed1" / "config.json").read_text())
    assert cfg["seed"] == 1 and cfg["train"]["steps"] == 5


def test_table_numbers_recount_from_the_sample_cli(table, tmp_path):
    """`python -m gan_jax.sample` on a grid25 seed gives the samples the table was computed on."""
    root, results = table
    r = next(r for r in results if r["arm"] == "nsgan" and r["dataset"] == "grid25")
    workdir, out = r["workdirs"][1], tmp_path / "s.npy"
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "gan_jax.sample",
            f"--workdir={workdir}",
            "--num=2500",
            f"--out={out}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    samples = np.load(out)
    np.testing.assert_array_equal(
        samples, np.load(root / "results" / "samples_grid25.npz")["nsgan/seed1"]
    )
    recount = metrics.mode_metrics(samples, grid25_modes(), 0.05)
    assert recount == {k: r["seeds"][1][k] for k in recount}


def test_vmapped_seed_matches_the_single_run_trainer(tmp_path):
    """Seed s of the vmapped program is the run gan_jax.train does for config.seed = s."""
    cfg = tiny(mc.arm_config(mc.ARMS["nsgan"], "ring8"))
    cfg.train.steps = 4
    _, states, _ = mc.train_seeds(cfg, [3, 1], chunk=4, log=lambda *a: None)
    single = mc.seed_config(cfg, 1)
    train.train_and_evaluate(single, tmp_path)
    run = train.build_run(single)
    restored, step = checkpointing.restore_state(tmp_path, run.abstract_state())
    assert step == 4
    for a, b in zip(jax.tree.leaves(restored.g.params), jax.tree.leaves(states.g.params)):
        np.testing.assert_allclose(a, b[1], rtol=1e-4, atol=1e-6)
    for a, b in zip(jax.tree.leaves(restored.d.params), jax.tree.leaves(states.d.params)):
        assert not np.allclose(a, b[0])  # seed 3 is another run


def test_optimal_discriminator_notebook_runs_and_agrees_with_theory(tmp_path):
    path = REPO / "experiments" / "optimal_discriminator.py"
    nb = runpy.run_path(str(path), run_name="notebook")  # every cell but the __main__ one
    rows = nb["main"](steps=300, batch=512, lr=1e-2, hidden=(16,), out=tmp_path / "od.png")
    assert (tmp_path / "od.png").stat().st_size > 1000
    assert len(rows) == len(nb["GENERATORS"])
    for r in rows:
        # Theorem 1 on the grid: V(D*, G) = 2 JS - log 4, and no D does better than D*.
        assert r["v_at_d_star"] == pytest.approx(r["two_js_minus_log4"], abs=1e-5)
        assert r["v_trained"] <= r["two_js_minus_log4"] + 1e-5
        # 300 steps of a 16-unit D climb towards the bound (the full run gets within 0.003).
        assert r["values"][0] < r["values"][-1] and r["v_gap"] < 0.3
