"""Shrunken versions of the experiments in experiments/, so that they do not rot."""

import json
import os
import re
import runpy
import subprocess
import sys

import jax
import ml_collections
import numpy as np
import pytest
from conftest import REPO

from experiments import mode_collapse_2d as mc
from gan_jax import checkpointing, metrics, runs, train
from gan_jax.data import grid25_modes
from gan_jax.losses import OBJECTIVES

TINY_NETS = {"model.g_hidden": (16, 16), "model.d_hidden": (16, 16)}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """One objective on both datasets, two seeds, 4 steps of tiny networks."""
    root = tmp_path_factory.mktemp("mode_collapse")
    results = mc.run_table(
        ["nsgan"],
        ["ring8", "grid25"],
        [0, 1],
        root / "runs",
        root / "results",
        steps=4,
        extra=TINY_NETS,
        chunk=2,  # two dispatches of the same compiled call
        log=lambda *a: None,
    )
    return root, results


def test_every_registered_objective_has_an_arm_on_its_recipe():
    by_objective = {}
    for name in mc.DEFAULT_ARMS:
        for dataset in mc.ARMS[name].steps:
            cfg = mc.arm_config(mc.ARMS[name], dataset)
            by_objective.setdefault(cfg.objective.name, set()).add(name)
    assert set(OBJECTIVES) <= set(by_objective)
    assert by_objective["wasserstein"] == {"wgan"}  # the recipe file, with its RMSProp and clip
    cfg = mc.arm_config(mc.ARMS["wgan"], "grid25")
    assert cfg.optim.d.name == "rmsprop" and cfg.train.d_steps == 5
    assert cfg.model.g_hidden == mc.OBJECTIVE_NETS["model.g_hidden"]


def test_best_recipe_decays_over_its_own_budget():
    cfg = mc.arm_config(mc.ARMS["best"], "grid25", steps=40)
    assert cfg.train.steps == 40
    for name in ("g", "d"):
        if cfg.optim[name].schedule == "cosine":
            assert cfg.optim[name].decay_steps == 40 * (cfg.train.d_steps if name == "d" else 1)


def test_table_and_plots_are_written(table):
    root, results = table
    assert [(r["arm"], r["dataset"]) for r in results] == [("nsgan", "ring8"), ("nsgan", "grid25")]
    md = (root / "results" / "mode_collapse_2d.md").read_text()
    assert "### ring8" in md and "### grid25" in md
    assert "VEEGAN Table 1, VEEGAN: 24.6 modes" in md
    for dataset in ("ring8", "grid25"):
        assert (root / "results" / f"mode_collapse_{dataset}.png").stat().st_size > 1000
    saved = json.loads((root / "results" / "mode_collapse_2d.json").read_text())
    assert saved["meta"]["num_seeds"] == 2
    for r in saved["results"]:
        assert r["steps"] == 4 and [s["seed"] for s in r["seeds"]] == [0, 1]
        assert r["config"]["model"]["g_hidden"] == [16, 16]
        modes = [s["modes"] for s in r["seeds"]]
        assert r["summary"]["modes"] == pytest.approx(list(mc.mean_se(modes)))
        assert r["timing"]["first_nonfinite_step"] == [-1, -1]
    npz = np.load(root / "results" / "samples_grid25.npz")
    assert sorted(npz.files) == ["nsgan/seed0", "nsgan/seed1"]
    assert npz["nsgan/seed0"].shape == (2500, 2)


def test_mean_and_standard_error():
    assert mc.mean_se([20, 24, 25]) == pytest.approx((23.0, np.std([20, 24, 25], ddof=1) / 3**0.5))
    assert mc.mean_se([7]) == (7.0, 0.0)


def test_paired_seed_comparison_matches_a_hand_computed_t_test():
    from scipy import stats

    from experiments.study_runs import paired

    base = [20.0, 27.5, 19.3, 18.6, 16.9]
    arm = [17.3, 22.9, 18.5, 19.4, 15.8]
    rows = [{"arm": "a", "seed": s, "frechet_distance": v} for s, v in enumerate(base)]
    rows += [{"arm": "b", "seed": s, "frechet_distance": v} for s, v in enumerate(arm)]
    rows.append({"arm": "b", "seed": 9, "frechet_distance": 0.0})  # no partner: left out
    d = np.subtract(arm, base)
    t, p = stats.ttest_rel(arm, base)
    line = paired(rows, "a", "b")
    assert f"{d.mean():+.2f} +- {d.std(ddof=1) / 5**0.5:.2f}" in line
    assert f"t = {t:.2f}, 4 d.f., two-sided p = {p:.3f}" in line
    assert "lower on 4 of 5" in line
    assert paired(rows[:1] + rows[5:6], "a", "b") is None  # one shared seed: no test


def test_seed_runs_are_ordinary_run_directories(table):
    root, results = table
    r = next(r for r in results if r["dataset"] == "grid25")
    cfg = json.loads((root / "runs" / "grid25" / "nsgan" / "seed1" / "config.json").read_text())
    assert cfg["seed"] == 1 and cfg["train"]["steps"] == 4
    s0, s1 = (np.load(os.path.join(wd, "samples.npy")) for wd in r["workdirs"])
    assert not np.array_equal(s0, s1)  # independent seeds
    npz = np.load(root / "results" / "samples_grid25.npz")
    np.testing.assert_array_equal(s1, npz["nsgan/seed1"])


def test_pacgan_arms_are_pacgans_setup_and_the_published_rows_sit_beside_them():
    for name, pac in (("pacgan1", 1), ("pacgan2", 2), ("pacgan3", 3), ("pacgan4", 4)):
        cfg = mc.arm_config(mc.ARMS[name], "grid25")
        assert cfg.model.name == "pacgan_mlp" and cfg.model.pac == pac
        assert cfg.model.g_hidden == (400,) * 4 and cfg.model.d_hidden == (200,) * 3
        assert cfg.model.maxout_pieces == 5 and cfg.data.num_points == 100_000
        assert cfg.train.batch_size == 100 * pac
        assert (cfg.optim.g.lr, cfg.optim.g.b1) == (1e-4, 0.8)
    assert mc.PUBLISHED[("grid25", "pacgan1")][1:] == ("17.3 +- 0.8", "94.8", "0.70")


def test_table_numbers_recount_from_the_sample_cli(table, tmp_path):
    """`python -m gan_jax.sample` on a grid25 seed gives the samples the table was computed on."""
    root, results = table
    r = next(r for r in results if r["arm"] == "nsgan" and r["dataset"] == "grid25")
    workdir, out = r["workdirs"][0], tmp_path / "s.npy"
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
        samples, np.load(root / "results" / "samples_grid25.npz")["nsgan/seed0"]
    )
    recount = metrics.mode_metrics(samples, grid25_modes(), 0.05)
    assert recount == {k: r["seeds"][0][k] for k in recount}


def test_vmapped_seed_matches_the_single_run_trainer(table, tmp_path):
    """Seed s of the vmapped program is the run gan_jax.train does for config.seed = s."""
    _, results = table
    r = next(r for r in results if r["arm"] == "nsgan" and r["dataset"] == "ring8")
    single = mc.seed_config(ml_collections.ConfigDict(r["config"]), 1)
    train.train_and_evaluate(single, tmp_path)
    abstract = runs.build_run(single).abstract_state()
    alone, step = checkpointing.restore_state(tmp_path, abstract)
    assert step == 4
    seed0, seed1 = (checkpointing.restore_state(wd, abstract)[0] for wd in r["workdirs"])
    for a, b in zip(
        jax.tree.leaves(alone.nets["g"].params), jax.tree.leaves(seed1.nets["g"].params)
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(
        jax.tree.leaves(alone.nets["d"].params), jax.tree.leaves(seed0.nets["d"].params)
    ):
        assert not np.allclose(a, b)  # seed 0 is another run


def test_optimal_discriminator_notebook_runs_and_agrees_with_theory(tmp_path):
    path = REPO / "experiments" / "optimal_discriminator.py"
    nb = runpy.run_path(str(path), run_name="notebook")  # every cell but the __main__ one
    rows = nb["main"](steps=200, batch=256, lr=1e-2, hidden=(16,), out=tmp_path / "od.png")
    assert (tmp_path / "od.png").stat().st_size > 1000
    assert len(rows) == len(nb["GENERATORS"])
    for r in rows:
        # Theorem 1 on the grid: V(D*, G) = 2 JS - log 4, and no D does better than D*.
        assert r["v_at_d_star"] == pytest.approx(r["two_js_minus_log4"], abs=1e-5)
        assert r["v_trained"] <= r["two_js_minus_log4"] + 1e-5
        # 200 steps of a 16-unit D climb towards the bound (the full run gets within 0.003).
        assert r["values"][0] < r["values"][-1] and r["v_gap"] < 0.3


def test_experiments_readme_snippets_run_on_the_committed_samples(monkeypatch):
    """The re-count snippet of experiments/README.md runs on the committed grid25 samples."""
    monkeypatch.chdir(REPO)
    readme = (REPO / "experiments" / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "experiments/README.md", "exec"), {})
