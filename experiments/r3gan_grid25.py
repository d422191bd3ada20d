"""R3GAN's claim at small scale: RpGAN + R1 + R2 against RpGAN + R1 and RpGAN alone, on grid25.

    python -m experiments.r3gan_grid25 [--seeds=3] [--steps=3000] [--arms=r1_r2,r1,none,lazy4]

Huang et al. 2024 (arXiv 2501.05441, section 2 and their Figure 1 / Table 1) argue that the
relativistic pairing loss with both zero-centred penalties, R1 on real and R2 on fake data, is
stable and covers the modes, where RpGAN with R1 alone (or no penalty) collapses or diverges;
their first evidence is a StackedMNIST mode count. Here the modes are grid25's 25 Gaussians
(PacGAN / VEEGAN protocol, ``gan_jax.metrics.mode_metrics``: modes captured, high-quality
fraction, reverse KL to uniform over 2500 samples), every arm on configs/r3gan.py:grid25 with the
smaller MLPs of experiments/mode_collapse_2d.py (2 x 128) at the same budget and seeds, trained by
that experiment's vmapped-seed machinery (``mode_collapse_2d.run_arm``). The ``lazy4`` arm is R1 +
R2 applied on one critic update in 4, times 4 (StyleGAN2's lazy regularisation,
``objective.penalty_every``), to measure what it saves and what it changes.

Writes experiments/results/r3gan_grid25.{json,md} and r3gan_grid25.png (seed 0 of each arm).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

from experiments import mode_collapse_2d as mc

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

ARMS = {
    "r1_r2": ("RpGAN + R1 + R2 (configs/r3gan.py)", {}),
    "r1": ("RpGAN + R1", {"objective.penalty": "r1"}),
    "none": ("RpGAN, no penalty", {"objective.penalty": "none"}),
    "lazy4": (
        "RpGAN + R1 + R2, lazy (every 4th critic update, x4)",
        {"objective.penalty_every": 4},
    ),
}


def markdown(results: list[dict], meta: dict) -> str:
    first = results[0]
    lines = [
        "## R3GAN on grid25: RpGAN + R1 + R2 vs RpGAN + R1 vs RpGAN alone",
        "",
        f"Command: `{meta['command']}`. Every arm: configs/r3gan.py:grid25 (RpGAN, Adam lr "
        f"{first['config']['optim']['g']['lr']:g} betas (0, 0.99), gamma "
        f"{first['config']['objective']['penalty_weight']:g}, batch "
        f"{first['config']['train']['batch_size']}, 1 critic update per G update), MLPs 2 x 128, "
        f"{first['steps']} G updates, seeds {[s['seed'] for s in first['seeds']]} (mean +- s.e.); "
        "2500 samples per seed from its checkpoint, the PacGAN / VEEGAN mode protocol. "
        f"Machine: {meta['machine']}; load average {meta['load_start']} at the start "
        "(the cores were shared, so times compare only within this table).",
        "",
        "| arm | modes (of 25) | HQ % | reverse KL | train s (all seeds) | non-finite seeds |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        s = r["summary"]
        bad = sum(b >= 0 for b in r["timing"]["first_nonfinite_step"])
        lines.append(
            f"| {r['label']} | {mc._fmt(*s['modes'])} | {mc._fmt(*s['hq_fraction'], scale=100)} | "
            f"{mc._fmt(*s['reverse_kl'], digits=3)} | {r['timing']['wall_s']:.0f} | {bad} |"
        )
    lines += ["", "Per seed (modes, HQ %, reverse KL):", ""]
    for r in results:
        per_seed = "; ".join(
            f"seed {s['seed']}: {s['modes']}, {100 * s['hq_fraction']:.1f}, {s['reverse_kl']:.3f}"
            for s in r["seeds"]
        )
        lines.append(f"- {r['arm']}: {per_seed}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="Seeds per arm (0..n-1).")
    parser.add_argument("--steps", type=int, default=3000, help="Generator updates per arm.")
    parser.add_argument("--arms", default=",".join(ARMS), help="Arms to run.")
    parser.add_argument("--runs_dir", default="runs/r3gan_grid25", help="Seeds' run dirs.")
    parser.add_argument("--results", default=str(RESULTS), help="Table, record and plot.")
    args = parser.parse_args()
    args.arms = [a for a in args.arms.split(",") if a]
    seeds = list(range(args.seeds))
    t0 = time.perf_counter()
    load = mc.os.getloadavg()[0]
    results = []
    for name in args.arms:
        label, overrides = ARMS[name]
        arm = mc.Arm(name, label, "r3gan", {"grid25": args.steps}, overrides)
        results.append(
            mc.run_arm(arm, "grid25", seeds, pathlib.Path(args.runs_dir), extra=mc.OBJECTIVE_NETS)
        )
    meta = {
        "command": f"python -m experiments.r3gan_grid25 --seeds={args.seeds} "
        f"--steps={args.steps} --arms={','.join(args.arms)}",
        "machine": mc.machine_text(),
        "wall_s": time.perf_counter() - t0,
        "load_start": round(load, 2),
    }
    out = pathlib.Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "r3gan_grid25.md").write_text(markdown(results, meta))
    slim = [{k: v for k, v in r.items() if k != "samples"} for r in results]
    (out / "r3gan_grid25.json").write_text(
        json.dumps({"meta": meta, "results": slim}, indent=1, default=float) + "\n"
    )
    mc.plot_scatters(results, "grid25", out / "r3gan_grid25.png")
    print(markdown(results, meta))


if __name__ == "__main__":
    main()
