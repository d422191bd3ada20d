"""The 2D mode-collapse benchmark, every gan_jax objective, next to the published tables.

    python -m experiments.mode_collapse_2d [--seeds=5] [--arms=gan,nsgan,...] [--datasets=...]

Protocol (../shared/GAN-NOTES.md; VEEGAN arXiv 1705.07761 section 5.1, PacGAN arXiv 1712.04086
section 5.1): train on ring8 (8 Gaussians on the unit circle, std 0.01) or grid25 (25 Gaussians
on {-4..4}^2, std 0.05), draw 2500 samples, count a sample as high quality (HQ) when it lies
within 3 std of its nearest mode, a mode as captured when it is the nearest mode of at least one
HQ sample, and report the reverse KL of the HQ samples' histogram over modes to the uniform
(``gan_jax.metrics.mode_metrics``). Every number is mean +- standard error over the seeds.

Each arm is a shipped config file (``configs/<file>.py:<dataset>``) plus the overrides listed in
``ARMS``. The seeds of an arm train together through ``gan_jax.sweep`` (one vmapped program per
arm and dataset, ``--chunk`` steps per dispatch): seed s starts from ``jax.random.key(s)`` and
draws its data from ``fold_in(key, ROLE_DATA)`` exactly as ``gan_jax.train`` does, and is an
ordinary gan_jax run directory under ``--runs_dir/<dataset>/<arm>/seed<s>/`` (config.json,
metrics.jsonl, eval.json, Orbax checkpoints; ``sweep.json`` / ``sweep.md`` beside them). Its
2500 evaluation samples are drawn from that checkpoint with ``gan_jax.sample.draw`` (what
``python -m gan_jax.sample --workdir=... --num=2500`` writes) and saved next to it as
``samples.npy``: the table is computed from those files.

Outputs in ``--results``: ``mode_collapse_2d.md`` (the table beside the published numbers),
``mode_collapse_2d.json`` (every seed's numbers, steps, wall times, machine),
``mode_collapse_<dataset>.png`` (seed 0 of every arm) and ``samples_grid25.npz`` (every grid25
sample set, keyed ``<arm>/seed<s>``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import pathlib
import platform
import time
from collections.abc import Sequence
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import app, flags, logging

from gan_jax import metrics, sweep
from gan_jax.data import get_dataset
from gan_jax.losses import OBJECTIVES
from gan_jax.runs import Run, build_run
from gan_jax.sample import draw

DATASETS = ("ring8", "grid25")
NUM_EVAL_SAMPLES = 2500  # GAN-NOTES / VEEGAN / PacGAN protocol


@dataclasses.dataclass(frozen=True)
class Arm:
    """One row family of the table: a config file, overrides, and its training budget.

    Attributes:
      name: short key (also the run directory name).
      label: what the table calls it.
      config: config file stem in configs/ (its ``:<dataset>`` preset is applied).
      steps: generator updates per dataset; a dataset missing here is not run for this arm.
      overrides: dotted config keys set after the preset.
    """

    name: str
    label: str
    config: str
    steps: dict[str, int]
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)


def load_config(name: str, preset: str) -> ml_collections.ConfigDict:
    """configs/<name>.py:get_config(preset), as ``--config=configs/<name>.py:<preset>`` loads it."""
    return importlib.import_module(f"configs.{name}").get_config(preset)


CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"

# The shipped recipe (configs/<file>.py) of each objective in gan_jax.losses.OBJECTIVES. An
# objective not listed runs configs/<objective name>.py if that file exists, else
# configs/default.py with objective.name set, so a new objective joins the table by itself.
RECIPES = {
    "minimax": "gan",
    "non_saturating": "nsgan",
    "least_squares": "lsgan",
    "wasserstein": "wgan",
    "wasserstein_gp": "wgan_gp",
}
# Networks and batch of the objective rows: smaller than the 2D presets (3x256, batch 256) so
# that every objective, 5 seeds, both datasets fit the hour on 2 cores (experiments/README.md).
OBJECTIVE_NETS = {"model.g_hidden": (128, 128), "model.d_hidden": (128, 128)}
# Budgets (issue 16 item 4). PacGAN's released config trains 400 epochs of 100k points at batch
# 100: 400k generator updates (fjxmlzn/PacGAN, synthetic_data_experiments/2DGrid_GAN&PacGAN/
# config.py). VEEGAN states no 2D budget (arXiv 1705.07761 section 5.1 and its project page,
# akashgit/VEEGAN index.md, give the protocol, not the iterations). Neither fits the 2 cores, so
# these are the largest that fit about an hour for all rows together on the idle machine (5
# seeds vmapped: the 2x128 MLPs ~400 steps/s, the PacGAN setup 24 / 12 / 8 / 6 steps/s at pac
# 1 / 2 / 3 / 4). A recipe with k > 1 critic updates per generator update (WGAN, WGAN-GP: k = 5)
# gets 2/k of the generator updates: twice the critic updates of the others.
OBJECTIVE_STEPS = {"ring8": 40000, "grid25": 40000}
PACGAN_STEPS = {"ring8": 4000, "grid25": 4000}  # 1% of PacGAN's 400k; see the table's notes
BEST_STEPS = 30000


def objective_arms() -> list[Arm]:
    """One arm per registered objective, on its shipped recipe with ``OBJECTIVE_NETS``."""
    arms = []
    for name in OBJECTIVES:
        file = RECIPES.get(name) or (name if (CONFIGS / f"{name}.py").is_file() else "default")
        overrides, arm = dict(OBJECTIVE_NETS), file
        if file == "default":
            overrides["objective.name"], arm = name, name
        d_steps = load_config(file, "grid25").train.d_steps
        steps = {k: v if d_steps == 1 else 2 * v // d_steps for k, v in OBJECTIVE_STEPS.items()}
        arms.append(Arm(arm, f"{name} (configs/{file}.py)", file, steps, overrides))
    return arms


ARMS: dict[str, Arm] = {
    arm.name: arm
    for arm in (
        *objective_arms(),
        Arm("pacgan1", "GAN, PacGAN setup (configs/pacgan.py)", "pacgan", PACGAN_STEPS),
        Arm(
            "pacgan2",
            "PacGAN2, PacGAN setup",
            "pacgan",
            PACGAN_STEPS,
            {"model.pac": 2, "train.batch_size": 200},
        ),
        Arm(
            "pacgan3",
            "PacGAN3, PacGAN setup",
            "pacgan",
            {"grid25": PACGAN_STEPS["grid25"]},
            {"model.pac": 3, "train.batch_size": 300},
        ),
        Arm(
            "pacgan4",
            "PacGAN4, PacGAN setup",
            "pacgan",
            {"grid25": PACGAN_STEPS["grid25"]},
            {"model.pac": 4, "train.batch_size": 400},
        ),
        Arm("best", "best recipe (configs/grid25_best.py)", "grid25_best", {"grid25": BEST_STEPS}),
    )
}
# What ``python -m experiments.mode_collapse_2d`` runs: every objective, the PacGAN setup with
# pac 1 (the published GAN row) to 4 at one budget, and the best recipe.
DEFAULT_ARMS = [a.name for a in objective_arms()] + [f"pacgan{p}" for p in (1, 2, 3, 4)] + ["best"]

# Published rows (mean +- s.e. over 10 trials), as quoted in ../shared/GAN-NOTES.md.
# (dataset, arm) -> (source, modes, HQ %, reverse KL); None where the notes give no figure.
PUBLISHED: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("grid25", "pacgan1"): ("PacGAN Table 1, GAN", "17.3 +- 0.8", "94.8", "0.70"),
    ("grid25", "pacgan4"): ("PacGAN Table 1, PacGAN4", "24.8 +- 0.2", "93.6", "0.04"),
    ("ring8", "pacgan1"): ("PacGAN Table 1, GAN", "6.3", "98.2", "-"),
    ("ring8", "pacgan2"): ("PacGAN Table 1, PacGAN2", "7.9", "95.6", "0.07"),
}
# VEEGAN averages five runs (its project page, akashgit/VEEGAN index.md: "We generate 2500
# samples from each trained model and average the numbers over five runs"), not ten.
VEEGAN_ROW = ("VEEGAN Table 1, VEEGAN", "24.6", "40", "-")


def arm_config(
    arm: Arm, dataset: str, steps: int | None = None, extra: dict[str, Any] | None = None
) -> ml_collections.ConfigDict:
    """The config an arm trains on ``dataset``: preset, arm overrides, then ``extra``."""
    config = load_config(arm.config, dataset)
    for dotted, value in {**arm.overrides, **(extra or {})}.items():
        *parents, leaf = dotted.split(".")
        node = config
        for p in parents:
            node = node[p]
        node[leaf] = tuple(value) if isinstance(value, list) else value
    config.train.steps = steps or arm.steps[dataset]
    for name, updates_per_step in (("g", 1), ("d", config.train.d_steps)):
        if config.optim[name].schedule == "cosine":  # the decay spans the run's own budget
            config.optim[name].decay_steps = config.train.steps * updates_per_step
    config.train.sample_every = 0
    config.eval.num_samples = NUM_EVAL_SAMPLES
    return config


def train_seeds(
    config: ml_collections.ConfigDict,
    seeds: Sequence[int],
    root: pathlib.Path,
    *,
    chunk: int | None = None,
    log=print,
) -> tuple[Run, list[pathlib.Path], dict[str, Any]]:
    """Train one run per seed with ``gan_jax.sweep`` (one vmapped program) into root/seed<s>.

    Each seed's directory is an ordinary gan_jax run (config.json, metrics.jsonl, eval.json,
    checkpoints), seed s exactly the run ``gan_jax.train`` does for ``config.seed = s``.
    ``chunk``: generator updates per dispatch (default ``train.steps_per_dispatch``).
    """
    config = seed_config(config, config.seed)
    if chunk:
        config.train.steps_per_dispatch = chunk
    t0, cpu0 = time.perf_counter(), time.process_time()
    record = sweep.train_sweep(config, root, seeds, say=lambda *a, **k: log(*a))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    timing = {
        "wall_s": wall,
        "cpu_s": cpu,  # process CPU time of the whole sweep (compilation, evaluations, saves)
        "seed_steps_per_s": len(seeds) * config.train.steps / wall,
        # The divergence guard per seed: the first step with a non-finite metric, -1 if none.
        "first_nonfinite_step": [m["first_nonfinite_step"] for m in record["members"]],
    }
    return build_run(config), [root / m["name"] for m in record["members"]], timing


def seed_config(config: ml_collections.ConfigDict, seed: int) -> ml_collections.ConfigDict:
    """A copy of ``config`` with ``seed`` set: the config of one seed's run directory."""
    cfg = ml_collections.ConfigDict(config.to_dict())
    cfg.seed = int(seed)
    return cfg


def evaluate_run(workdir: pathlib.Path, dataset) -> tuple[np.ndarray, dict[str, float]]:
    """2500 samples from the run's checkpoint (``gan_jax.sample.draw``), saved and scored.

    The scores are those of the run's final evaluation (eval.json, the same inputs); recounted
    here from the saved samples so that the table is computed from the files it ships.
    """
    samples = draw(workdir, NUM_EVAL_SAMPLES)
    np.save(workdir / "samples.npy", samples)
    return samples, metrics.mode_metrics(samples, dataset.modes, dataset.mode_std)


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample std / sqrt(n); 0 for one value)."""
    v = np.asarray(values, np.float64)
    if len(v) < 2 or not np.all(np.isfinite(v)):
        return float(np.mean(v)), 0.0 if len(v) < 2 else float("nan")
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))


def run_arm(
    arm: Arm,
    dataset: str,
    seeds: Sequence[int],
    workdir: pathlib.Path,
    *,
    steps: int | None = None,
    extra: dict[str, Any] | None = None,
    chunk: int | None = None,
    log=print,
) -> dict[str, Any]:
    """Train, save, sample and score every seed of one arm on one dataset."""
    config = arm_config(arm, dataset, steps, extra)
    log(
        f"  {arm.name} on {dataset}: {config.objective.name}, {config.model.name}, "
        f"{config.train.steps} steps x {len(seeds)} seeds"
    )
    run, workdirs, timing = train_seeds(
        config, seeds, workdir / dataset / arm.name, chunk=chunk, log=log
    )
    t0 = time.perf_counter()
    per_seed, samples = [], {}
    for seed, wd in zip(seeds, workdirs):
        pts, result = evaluate_run(wd, run.dataset)
        per_seed.append({"seed": int(seed), **result})
        samples[int(seed)] = pts
    timing["save_eval_s"] = time.perf_counter() - t0
    summary = {
        key: mean_se([r[key] for r in per_seed]) for key in ("modes", "hq_fraction", "reverse_kl")
    }
    log(
        f"    {summary['modes'][0]:.1f} modes, {100 * summary['hq_fraction'][0]:.1f}% HQ, "
        f"rev-KL {summary['reverse_kl'][0]:.3f}; train {timing['wall_s']:.0f}s "
        f"({timing['seed_steps_per_s']:.0f} seed-steps/s)"
    )
    return {
        "arm": arm.name,
        "label": arm.label,
        "dataset": dataset,
        "config": config.to_dict(),
        "steps": config.train.steps,
        "seeds": per_seed,
        "summary": summary,
        "timing": timing,
        "samples": samples,
        "workdirs": [str(w) for w in workdirs],
    }


# --------------------------------------------------------------------------------------------
# Reporting.


def _fmt(mean: float, se: float, scale: float = 1.0, digits: int = 1) -> str:
    if not math.isfinite(mean):
        return "inf"
    return f"{scale * mean:.{digits}f} +- {scale * se:.{digits}f}"


def setup_text(config: dict) -> str:
    m, o, t = config["model"], config["optim"]["g"], config["train"]
    if m["name"] == "pacgan_mlp":
        net = f"G {len(m['g_hidden'])}x{m['g_hidden'][0]} BN, D maxout {len(m['d_hidden'])}x"
        net += f"{m['d_hidden'][0]}x{m['maxout_pieces']}, pac {m['pac']}"
    else:
        net = f"G {len(m['g_hidden'])}x{m['g_hidden'][0]}, D {len(m['d_hidden'])}x"
        net += f"{m['d_hidden'][0]}"
    data = f"{config['data']['num_points'] // 1000}k points" if config["data"]["num_points"] else ""
    opt = f"{o['name']} {o['lr']:g}" + (f" b1 {o['b1']:g}" if o["name"] == "adam" else "")
    opt += " cosine" if o.get("schedule") == "cosine" else ""
    parts = [net, opt, f"batch {t['batch_size']}", f"{t['d_steps']} D/G", data]
    return ", ".join(p for p in parts if p)


# Issue 9's target for the best grid25 recipe, on every seed (beats PacGAN4's 24.8 / 93.6% / 0.04).
TARGET = {"modes": 25, "hq_fraction": 0.95, "reverse_kl": 0.03}


def target_met(seed_result: dict[str, float]) -> bool:
    return (
        seed_result["modes"] >= TARGET["modes"]
        and seed_result["hq_fraction"] >= TARGET["hq_fraction"]
        and seed_result["reverse_kl"] <= TARGET["reverse_kl"]
    )


def target_text(r: dict[str, Any]) -> str:
    """Per-seed numbers of a grid25 row against the target (all 25, >= 95% HQ, rev-KL <= 0.03)."""
    per_seed = "; ".join(
        f"seed {s['seed']}: {s['modes']}, {100 * s['hq_fraction']:.1f}%, {s['reverse_kl']:.3f}"
        + (" (met)" if target_met(s) else "")
        for s in r["seeds"]
    )
    met = sum(target_met(s) for s in r["seeds"])
    return (
        f"Target for `{r['arm']}` (25 modes, >= 95% HQ, reverse KL <= 0.03 on every seed): "
        f"met on {met} of {len(r['seeds'])} seeds. Per seed (modes, HQ, reverse KL): {per_seed}."
    )


def markdown_table(results: list[dict[str, Any]], header: str) -> str:
    lines = [header, ""]
    for dataset in DATASETS:
        rows = [r for r in results if r["dataset"] == dataset]
        if not rows:
            continue
        n_modes = 8 if dataset == "ring8" else 25
        lines += [
            f"### {dataset} ({n_modes} modes)",
            "",
            "| arm | setup | steps | seeds | modes | HQ % | reverse KL | published (same row) |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in rows:
            s = r["summary"]
            pub = PUBLISHED.get((dataset, r["arm"]))
            pub_text = f"{pub[0]}: {pub[1]} modes, {pub[2]}% HQ, rev-KL {pub[3]}" if pub else ""
            lines.append(
                f"| {r['label']} | {setup_text(r['config'])} | {r['steps']} | {len(r['seeds'])} | "
                f"{_fmt(*s['modes'])} | {_fmt(*s['hq_fraction'], scale=100)} | "
                f"{_fmt(*s['reverse_kl'], digits=3)} | {pub_text} |"
            )
        if dataset == "grid25":
            v = VEEGAN_ROW
            lines.append(
                f"| (published only) | VEEGAN's setup | | 5 | | | | "
                f"{v[0]}: {v[1]} modes, {v[2]}% HQ |"
            )
        notes = []
        for r in rows:
            if r["arm"] == "best" and dataset == "grid25":
                notes.append(target_text(r))
            bad = [(s["seed"], b) for s, b in zip(r["seeds"], r["timing"]["first_nonfinite_step"])]
            bad = [f"seed {s} at step {b}" for s, b in bad if b >= 0]
            if bad:
                notes.append(f"{r['label']}: non-finite metrics (diverged): {', '.join(bad)}.")
        for note in notes:
            lines += ["", note]
        lines.append("")
    return "\n".join(lines)


def plot_scatters(results: list[dict[str, Any]], dataset: str, path: pathlib.Path) -> None:
    """One panel per arm: seed 0's 2500 samples over the true modes (small PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if r["dataset"] == dataset]
    if not rows:
        return
    modes = get_dataset({"name": dataset}).modes
    cols = min(4, len(rows))
    nrows = math.ceil(len(rows) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(2.6 * cols, 2.8 * nrows), squeeze=False)
    span = np.abs(modes).max() * 1.4
    for ax in axes.flat:
        ax.axis("off")
    for ax, r in zip(axes.flat, rows):
        seed = r["seeds"][0]
        pts = r["samples"][seed["seed"]]
        ax.axis("on")
        ax.scatter(pts[:, 0], pts[:, 1], s=0.5, alpha=0.4, rasterized=True)
        ax.scatter(modes[:, 0], modes[:, 1], marker="x", c="red", s=12, linewidths=0.8)
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(
            f"{r['arm']}: {seed['modes']} modes\n{100 * seed['hq_fraction']:.0f}% HQ, "
            f"KL {seed['reverse_kl']:.2f}",
            fontsize=8,
        )
    fig.suptitle(f"{dataset}, seed 0 of each arm, 2500 samples", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def machine_text() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{platform.processor() or platform.machine()}, {cores} cores visible, "
        f"jax {jax.__version__} on {jax.default_backend()}"
    )


def write_results(
    results: list[dict[str, Any]],
    results_dir: pathlib.Path,
    meta: dict[str, Any],
    *,
    plots: bool = True,
) -> None:
    """The table and the JSON record; with ``plots`` also the scatter plots and grid25 samples."""
    results_dir.mkdir(parents=True, exist_ok=True)
    header = (
        "## 2D mode-collapse benchmark: gan_jax vs the published tables\n\n"
        f"Command: `{meta['command']}`. Machine: {meta['machine']}; total wall time "
        f"{meta['wall_s'] / 60:.1f} min (load average {meta['load_start']} at the start, "
        f"{meta['load_end']} at the end). "
        f"Mean +- standard error over {meta['num_seeds']} seeds; 2500 samples per seed, drawn "
        "with `gan_jax.sample.draw` from each seed's checkpoint. Published rows: PacGAN (arXiv "
        "1712.04086) Table 1 (mean +- s.e. over 10 trials) and VEEGAN (arXiv 1705.07761) Table "
        "1 (the mean of five runs), as quoted in ../shared/GAN-NOTES.md. Budgets differ: the "
        "steps column is generator updates here. The published PacGAN runs train 400 epochs of "
        "the 100k points at batch 100, i.e. 400k updates (the paper's released config, "
        "fjxmlzn/PacGAN synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py: num_epoch 400, "
        "num_sample 100000, batch_size 100); VEEGAN states no budget for its 2D runs (its "
        "section 5.1 and project page give the protocol only). Neither fits the 2 cores: the "
        "steps column is the largest budget that fit about an hour for all rows together, so "
        "the PacGAN-setup rows are the architecture and optimiser of the published rows at "
        "1% of their budget, not a reproduction of them. The objective rows run each "
        "objective's shipped recipe on smaller MLPs (2x128, not the presets' 3x256) and "
        "recipes with 5 critic updates per generator update get 2/5 of the generator updates."
    )
    (results_dir / "mode_collapse_2d.md").write_text(markdown_table(results, header) + "\n")
    slim = [{k: v for k, v in r.items() if k != "samples"} for r in results]
    (results_dir / "mode_collapse_2d.json").write_text(
        json.dumps(sweep.finite({"meta": meta, "results": slim}), indent=1, default=float) + "\n"
    )
    if not plots:
        return
    for dataset in DATASETS:
        plot_scatters(results, dataset, results_dir / f"mode_collapse_{dataset}.png")
    grid = {
        f"{r['arm']}/seed{seed}": pts
        for r in results
        if r["dataset"] == "grid25"
        for seed, pts in r["samples"].items()
    }
    if grid:
        np.savez_compressed(results_dir / "samples_grid25.npz", **grid)


def run_table(
    arms: Sequence[str],
    datasets: Sequence[str],
    seeds: Sequence[int],
    workdir: pathlib.Path,
    results_dir: pathlib.Path,
    *,
    steps: int | None = None,
    extra: dict[str, Any] | None = None,
    chunk: int | None = None,
    command: str = "",
    log=print,
) -> list[dict[str, Any]]:
    """Every requested arm on every requested dataset it has a budget for; writes the results."""
    t0 = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = []

    def meta() -> dict[str, Any]:
        return {
            "command": command,
            "machine": machine_text(),
            "wall_s": time.perf_counter() - t0,
            "load_start": round(load, 2),
            "load_end": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else math.nan,
            "num_seeds": len(seeds),
        }

    for dataset in datasets:
        for name in arms:
            arm = ARMS[name]
            if dataset in arm.steps:
                results.append(
                    run_arm(
                        arm, dataset, seeds, workdir, steps=steps, extra=extra, chunk=chunk, log=log
                    )
                )
                # A run cut short keeps its finished rows.
                write_results(results, results_dir, meta(), plots=False)
    final = meta()
    write_results(results, results_dir, final)
    log(f"wrote {results_dir}/mode_collapse_2d.md in {final['wall_s'] / 60:.1f} min")
    return results


flags.DEFINE_integer("seeds", 5, "Number of seeds (0 .. seeds-1), trained together with vmap.")
flags.DEFINE_list("arms", DEFAULT_ARMS, f"Arms to run, from {list(ARMS)}.")
flags.DEFINE_list("datasets", list(DATASETS), "Datasets: ring8, grid25.")
flags.DEFINE_integer("steps", None, "Override every arm's steps (a quick look; not the table).")
flags.DEFINE_integer(
    "chunk", None, "Generator updates per dispatch; default: the config's train.steps_per_dispatch."
)
flags.DEFINE_string("runs_dir", "runs/mode_collapse_2d", "Where the per-seed run directories go.")
flags.DEFINE_string("results", "experiments/results", "Where the table and plots go.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save and restore at INFO
    bad = [a for a in FLAGS.arms if a not in ARMS] + [
        d for d in FLAGS.datasets if d not in DATASETS
    ]
    if bad or FLAGS.seeds < 1:
        raise app.UsageError(
            f"unknown arms/datasets {bad} or --seeds={FLAGS.seeds}; allowed arms {list(ARMS)}, "
            f"datasets {list(DATASETS)}, seeds >= 1"
        )
    command = "python -m experiments.mode_collapse_2d " + " ".join(
        f"--{k}={FLAGS[k].serialize().split('=', 1)[-1]}"
        for k in ("seeds", "arms", "datasets", "steps", "chunk")
        if FLAGS[k].present
    )
    run_table(
        FLAGS.arms,
        FLAGS.datasets,
        list(range(FLAGS.seeds)),
        pathlib.Path(FLAGS.runs_dir),
        pathlib.Path(FLAGS.results),
        steps=FLAGS.steps,
        chunk=FLAGS.chunk,
        command=command.strip(),
    )


if __name__ == "__main__":
    app.run(main)
