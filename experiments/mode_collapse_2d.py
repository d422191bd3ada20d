"""The 2D mode-collapse benchmark, every gan_jax objective, next to the published tables.

    python -m experiments.mode_collapse_2d [--seeds=5] [--arms=gan,nsgan,...] [--datasets=...]

Protocol (../shared/GAN-NOTES.md; VEEGAN arXiv 1705.07761 section 5.1, PacGAN arXiv 1712.04086
section 5.1): train on ring8 (8 Gaussians on the unit circle, std 0.01) or grid25 (25 Gaussians
on {-4..4}^2, std 0.05), draw 2500 samples, count a sample as high quality (HQ) when it lies
within 3 std of its nearest mode, a mode as captured when it is the nearest mode of at least one
HQ sample, and report the reverse KL of the HQ samples' histogram over modes to the uniform
(``gan_jax.metrics.mode_metrics``). Every number is mean +- standard error over the seeds.

Each arm is a shipped config file (``configs/<file>.py:<dataset>``) plus the overrides listed in
``ARMS``. The seeds of an arm train together: ``jax.vmap`` over the seeds of ``init_state`` and of
``gan_jax.steps.train_step``, with ``lax.scan`` over ``--chunk`` steps per dispatch, one compiled
program per arm and dataset. Seed s starts from ``jax.random.key(s)`` and draws its data from
``fold_in(key, ROLE_DATA)`` exactly as ``gan_jax.train`` does. Each seed is then saved as an
ordinary gan_jax run directory (``config.json`` + Orbax checkpoint) under
``--runs_dir/<dataset>/<arm>/seed<s>/``, and its 2500 evaluation samples are drawn from that
checkpoint with ``gan_jax.sample.draw`` (what ``python -m gan_jax.sample --workdir=... --num=2500``
writes) and saved next to it as ``samples.npy``: the table is computed from those files.

Outputs in ``--results``: ``mode_collapse_2d.md`` (the table beside the published numbers),
``mode_collapse_2d.json`` (every seed's numbers, steps, wall times, machine),
``mode_collapse_<dataset>.png`` (seed 0 of every arm) and ``samples_grid25.npz`` (every grid25
sample set, keyed ``<arm>/seed<s>``).
"""

from __future__ import annotations

import dataclasses
import functools
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
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags

from gan_jax import checkpointing, metrics
from gan_jax.sample import draw
from gan_jax.steps import ROLE_DATA, GANState, generate, train_step
from gan_jax.train import Run, build_run, sample_batches

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


# Budgets sized so that the whole table runs in under an hour on 2 CPU cores (experiments/
# README.md has the measured throughput and wall times).
ARMS: dict[str, Arm] = {
    arm.name: arm
    for arm in (
        Arm("gan", "minimax GAN (saturating G loss)", "gan", {"ring8": 5000, "grid25": 10000}),
        Arm("nsgan", "non-saturating GAN", "nsgan", {"ring8": 5000, "grid25": 10000}),
        Arm(
            "lsgan", "least squares GAN (a=0, b=1, c=1)", "lsgan", {"ring8": 5000, "grid25": 10000}
        ),
        Arm("wgan", "WGAN, weight clipping", "wgan", {"ring8": 5000, "grid25": 10000}),
        Arm("wgan_gp", "WGAN-GP", "wgan_gp", {"ring8": 5000, "grid25": 10000}),
        Arm("pacgan1", "GAN, PacGAN setup", "pacgan", {"ring8": 10000, "grid25": 10000}),
        Arm(
            "pacgan2",
            "PacGAN2, PacGAN setup",
            "pacgan",
            {"ring8": 10000, "grid25": 10000},
            {"model.pac": 2, "train.batch_size": 200},
        ),
        Arm(
            "pacgan4",
            "PacGAN4, PacGAN setup",
            "pacgan",
            {"grid25": 10000},
            {"model.pac": 4, "train.batch_size": 400},
        ),
    )
}

# Published rows (mean +- s.e. over 10 trials), as quoted in ../shared/GAN-NOTES.md.
# (dataset, arm) -> (source, modes, HQ %, reverse KL); None where the notes give no figure.
PUBLISHED: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("grid25", "pacgan1"): ("PacGAN Table 1, GAN", "17.3 +- 0.8", "94.8", "0.70"),
    ("grid25", "pacgan4"): ("PacGAN Table 1, PacGAN4", "24.8 +- 0.2", "93.6", "0.04"),
    ("ring8", "pacgan1"): ("PacGAN Table 1, GAN", "6.3", "98.2", "-"),
    ("ring8", "pacgan2"): ("PacGAN Table 1, PacGAN2", "7.9", "95.6", "0.07"),
}
VEEGAN_ROW = ("VEEGAN Table 1, VEEGAN", "24.6", "40", "-")


def load_config(name: str, preset: str) -> ml_collections.ConfigDict:
    """configs/<name>.py:get_config(preset), as ``--config=configs/<name>.py:<preset>`` loads it."""
    return importlib.import_module(f"configs.{name}").get_config(preset)


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
    config.train.sample_every = 0
    config.eval.num_samples = NUM_EVAL_SAMPLES
    return config


def train_seeds(
    config: ml_collections.ConfigDict,
    seeds: Sequence[int],
    *,
    chunk: int = 250,
    log=print,
    on_chunk=None,
) -> tuple[Run, GANState, dict[str, Any]]:
    """Train one run per seed in a single vmapped program; returns the stacked final states.

    Every step of seed s is ``gan_jax.steps.train_step`` on the batches ``gan_jax.train`` would
    draw for ``config.seed = s``; ``lax.scan`` runs ``chunk`` steps per dispatch. ``on_chunk``,
    if given, is called as ``on_chunk(run, steps_done, states)`` after every chunk.
    """
    run = build_run(config)
    tc = config.train
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
    data_keys = jax.vmap(lambda k: jax.random.fold_in(k, ROLE_DATA))(keys)
    step = functools.partial(train_step, objective=run.objective, z_dim=config.model.z_dim)

    def one_step(state, data_key, i):
        batches = sample_batches(run.dataset, tc.d_steps, tc.batch_size, data_key, i)
        return step(state, batches)

    many = jax.vmap(one_step, in_axes=(0, 0, None))

    @functools.partial(jax.jit, static_argnums=2, donate_argnums=0)
    def run_chunk(states, start, length):
        states, ms = jax.lax.scan(
            lambda s, i: many(s, data_keys, i), states, start + jnp.arange(length)
        )
        return states, jax.tree.map(lambda m: m[-1], ms)

    t0 = time.perf_counter()
    states = jax.jit(jax.vmap(run.init_state))(keys)
    done, first_chunk_s, first_chunk_len, cpu0 = 0, None, 0, 0.0
    while done < tc.steps:
        length = min(chunk, tc.steps - done)
        states, last = run_chunk(states, jnp.asarray(done, jnp.int32), length)
        done += length
        if on_chunk is not None:
            on_chunk(run, done, states)
        if first_chunk_s is None:
            jax.block_until_ready(states)
            first_chunk_s, first_chunk_len, cpu0 = (
                time.perf_counter() - t0,
                done,
                time.process_time(),
            )
        if done % (10 * chunk) == 0 or done == tc.steps:
            host = jax.device_get(last)
            log(
                f"    step {done:>6}/{tc.steps}  d/loss {np.mean(host['d/loss']):+.4f}  "
                f"g/loss {np.mean(host['g/loss']):+.4f}  ({time.perf_counter() - t0:.0f}s)"
            )
    jax.block_until_ready(states)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    steady = tc.steps - first_chunk_len  # steps after the first (compiling) chunk
    finite = [
        bool(np.all([np.all(np.isfinite(x[i])) for x in jax.tree.leaves(states.g.params)]))
        for i in range(len(seeds))
    ]
    timing = {
        "wall_s": wall,
        "first_chunk_s": first_chunk_s,
        "seed_steps_per_s": len(seeds) * tc.steps / wall,
        # After compilation: wall and process CPU time per step of all seeds together.
        "steady_steps_per_s": steady / (wall - first_chunk_s) if steady else float("nan"),
        "steady_cpu_ms_per_step": 1000 * cpu / steady if steady else float("nan"),
        "finite": finite,
    }
    return run, states, timing


def seed_samples(run: Run, states: GANState, seeds: Sequence[int], num: int) -> np.ndarray:
    """(S, num, 2) samples of every seed from its own evaluation noise (``Run.fixed_noise``)."""
    z = jnp.stack(
        [
            dataclasses.replace(run, config=seed_config(run.config, s)).fixed_noise(num)
            for s in seeds
        ]
    )
    return np.asarray(jax.jit(jax.vmap(generate))(states, z))


def seed_config(config: ml_collections.ConfigDict, seed: int) -> ml_collections.ConfigDict:
    """A copy of ``config`` with ``seed`` set: the config of one seed's run directory."""
    cfg = ml_collections.ConfigDict(config.to_dict())
    cfg.seed = int(seed)
    return cfg


def save_seed_runs(
    config: ml_collections.ConfigDict,
    states: GANState,
    seeds: Sequence[int],
    root: pathlib.Path,
) -> list[pathlib.Path]:
    """Save seed i of the stacked ``states`` as a gan_jax run directory root/seed<s>."""
    workdirs = []
    for i, seed in enumerate(seeds):
        cfg = seed_config(config, seed)
        workdir = root / f"seed{seed}"
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "config.json").write_text(cfg.to_json_best_effort(indent=2) + "\n")
        state = jax.tree.map(lambda x, i=i: x[i], states)
        mgr = checkpointing.manager(workdir, max_to_keep=1)
        checkpointing.save(mgr, config.train.steps, state, cfg.to_dict())
        mgr.wait_until_finished()
        mgr.close()
        workdirs.append(workdir)
    return workdirs


def evaluate_run(workdir: pathlib.Path, dataset) -> tuple[np.ndarray, dict[str, float]]:
    """2500 samples from the run's checkpoint (``gan_jax.sample.draw``), saved and scored."""
    samples = draw(workdir, NUM_EVAL_SAMPLES)
    np.save(workdir / "samples.npy", samples)
    result = metrics.mode_metrics(samples, dataset.modes, dataset.mode_std)
    (workdir / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    return samples, result


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
    chunk: int = 250,
    log=print,
) -> dict[str, Any]:
    """Train, save, sample and score every seed of one arm on one dataset."""
    config = arm_config(arm, dataset, steps, extra)
    log(
        f"  {arm.name} on {dataset}: {config.objective.name}, {config.model.name}, "
        f"{config.train.steps} steps x {len(seeds)} seeds"
    )
    run, states, timing = train_seeds(config, seeds, chunk=chunk, log=log)
    t0 = time.perf_counter()
    workdirs = save_seed_runs(config, states, seeds, workdir / dataset / arm.name)
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
    parts = [net, opt, f"batch {t['batch_size']}", f"{t['d_steps']} D/G", data]
    return ", ".join(p for p in parts if p)


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
                f"| (published only) | VEEGAN's setup | | 10 | | | | "
                f"{v[0]}: {v[1]} modes, {v[2]}% HQ |"
            )
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
    modes = build_run(arm_config(ARMS["nsgan"], dataset, 1)).dataset.modes
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
    results: list[dict[str, Any]], results_dir: pathlib.Path, meta: dict[str, Any]
) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    header = (
        "## 2D mode-collapse benchmark: gan_jax vs the published tables\n\n"
        f"Command: `{meta['command']}`. Machine: {meta['machine']}; total wall time "
        f"{meta['wall_s'] / 60:.1f} min (load average at start {meta['load_start']}). "
        f"Mean +- standard error over {meta['num_seeds']} seeds; 2500 samples per seed, drawn "
        "with `gan_jax.sample.draw` from each seed's checkpoint. Published rows: PacGAN "
        "(arXiv 1712.04086) Table 1 and VEEGAN (arXiv 1705.07761) Table 1, mean +- s.e. over 10 "
        "trials, as quoted in ../shared/GAN-NOTES.md (PacGAN trains 400 epochs of 100k points, "
        "i.e. 400k updates; our steps column is the budget here)."
    )
    (results_dir / "mode_collapse_2d.md").write_text(markdown_table(results, header) + "\n")
    slim = [{k: v for k, v in r.items() if k != "samples"} for r in results]
    (results_dir / "mode_collapse_2d.json").write_text(
        json.dumps({"meta": meta, "results": slim}, indent=1, default=float) + "\n"
    )
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
    chunk: int = 250,
    command: str = "",
    log=print,
) -> list[dict[str, Any]]:
    """Every requested arm on every requested dataset it has a budget for; writes the results."""
    t0 = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = []
    for dataset in datasets:
        for name in arms:
            arm = ARMS[name]
            if dataset in arm.steps:
                results.append(
                    run_arm(
                        arm, dataset, seeds, workdir, steps=steps, extra=extra, chunk=chunk, log=log
                    )
                )
    meta = {
        "command": command,
        "machine": machine_text(),
        "wall_s": time.perf_counter() - t0,
        "load_start": round(load, 2),
        "num_seeds": len(seeds),
    }
    write_results(results, results_dir, meta)
    log(f"wrote {results_dir}/mode_collapse_2d.md in {meta['wall_s'] / 60:.1f} min")
    return results


flags.DEFINE_integer("seeds", 5, "Number of seeds (0 .. seeds-1), trained together with vmap.")
flags.DEFINE_list("arms", list(ARMS), f"Arms to run, from {list(ARMS)}.")
flags.DEFINE_list("datasets", list(DATASETS), "Datasets: ring8, grid25.")
flags.DEFINE_integer("steps", None, "Override every arm's steps (a quick look; not the table).")
flags.DEFINE_integer("chunk", 250, "Train steps per dispatch (lax.scan length).")
flags.DEFINE_string("runs_dir", "runs/mode_collapse_2d", "Where the per-seed run directories go.")
flags.DEFINE_string("results", "experiments/results", "Where the table and plots go.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
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
