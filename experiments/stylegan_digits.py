"""StyleGAN2 (and StyleGAN) on the digits against DCGAN at a matched budget; truncation; mixing.

    python experiments/stylegan_digits.py [--steps=1500] [--batch=32] [--seed=0]
        [--arms=stylegan2,dcgan,stylegan] [--workdir=runs/stylegan_digits]

Every arm trains through the command line (``python -m gan_jax.main``) with the same number of
steps, batch and seed: configs/stylegan2.py, configs/stylegan.py and the DCGAN recipe
configs/nsgan.py (non-saturating loss, the matched baseline); a run that reached the budget is
read, not retrained. Three measurements, all on the digits classifier's features (the runs' own
evaluator, 2500 samples of the fixed evaluation noise against the 1797 real digits):

1. FD / KID / precision / recall of each arm's final evaluation (eval.json).
2. Truncation in W (StyleGAN, section 3.1 / appendix B) on the StyleGAN2 run: the same samples
   drawn with psi = 0.5, 0.7, 1.0; the claim is that lower psi raises precision and lowers recall.
3. Style mixing (StyleGAN, section 3.1, Figure 3): for N pairs (z_a, z_b), the image of z_a with
   its **coarse** styles (the 4x4 layers, styles 0-1) taken from z_b, and with its **fine** styles
   (the 16x16 layers, styles 4-5 of 6) taken from z_b, noise kept z_a's; the digits classifier
   says how often each swap changes the class of G(z_a), and how often the coarse swap gives
   z_b's class. The claim: coarse styles carry identity, fine ones stroke style.

Writes experiments/results/stylegan_digits.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import subprocess
import sys

import jax
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
sys.path.insert(0, str(REPO))

from gan_jax import classifier, evaluation, runs, steps  # noqa: E402

ARMS = {
    "stylegan2": ("StyleGAN2 (configs/stylegan2.py)", "stylegan2"),
    "dcgan": ("DCGAN, non-saturating (configs/nsgan.py)", "nsgan"),
    "stylegan": ("StyleGAN (configs/stylegan.py)", "stylegan"),
}
KEYS = ("frechet_distance", "kid", "precision", "recall", "classes_min_fraction", "class_kl")
PSIS = (0.5, 0.7, 1.0)
MIX_PAIRS = 1000


def train(arm: str, workdir: pathlib.Path, steps_: int, batch: int, seed: int) -> float | None:
    """Train one arm unless its run reached ``steps_``; its CPU seconds (None if not trained)."""
    done = workdir / "eval.json"
    if done.is_file() and json.loads(done.read_text())["step"] == steps_:
        return None
    command = [sys.executable, "-m", "gan_jax.main", f"--config=configs/{ARMS[arm][1]}.py"]
    command += [f"--workdir={workdir}", f"--config.train.steps={steps_}", f"--config.seed={seed}"]
    command += [f"--config.train.batch_size={batch}", f"--config.eval.every_steps={steps_}"]
    command += ["--config.eval.at_start=False", f"--config.checkpoint.every_steps={steps_}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def truncation_sweep(run, state) -> dict[str, dict]:
    evaluator = evaluation.make_evaluator(run.dataset, run.config.eval)
    z = run.eval_inputs(evaluator.num_samples)["z"]
    out = {}
    for psi in PSIS:
        gen = jax.jit(lambda st, z, psi=psi: steps.apply(st, "g", z, truncation=psi))
        samples = np.concatenate(
            [np.asarray(gen(state, z[i : i + 500])) for i in range(0, len(z), 500)]
        )
        result = evaluation.scalars(evaluator(samples))
        out[str(psi)] = {k: result[k] for k in KEYS}
        print("psi", psi, out[str(psi)], flush=True)
    return out


def mixing(run, state, layers: tuple[int, int]) -> dict[str, float]:
    """Class changes when z_a's styles ``layers`` = [lo, hi) come from z_b (noise of z_a)."""
    clf = classifier.digits_classifier(run.dataset.shape[0], verbose=False)
    z_a = run.eval_inputs(MIX_PAIRS, seed=101)["z"]
    z_b = run.eval_inputs(MIX_PAIRS, seed=202)["z"]
    lo, hi = layers

    @jax.jit
    def images(st, z_a, z_b):
        base = steps.apply(st, "g", z_a, method="styles")
        other = steps.apply(st, "g", z_b, method="styles")
        layer = np.arange(base.shape[1])[None, :, None]
        mixed = np.where((layer >= lo) & (layer < hi), 1.0, 0.0)
        ws = base + mixed * (other - base)
        return (
            steps.apply(st, "g", base, z_a, method="synthesize"),
            steps.apply(st, "g", other, z_b, method="synthesize"),
            steps.apply(st, "g", ws, z_a, method="synthesize"),
        )

    a, b, m = (np.asarray(x) for x in images(state, z_a, z_b))
    ca, cb, cm = (np.argmax(clf.logits_and_features(x)[0], axis=1) for x in (a, b, m))
    return {
        "class_changed": float(np.mean(cm != ca)),
        "class_of_b": float(np.mean(cm == cb)),
        "a_b_differ": float(np.mean(ca != cb)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arms", default="stylegan2,dcgan,stylegan")
    parser.add_argument("--workdir", default="runs/stylegan_digits")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    rows, style_runs = {}, {}
    for arm in [a for a in args.arms.split(",") if a]:
        workdir = pathlib.Path(args.workdir) / f"{arm}_seed{args.seed}"
        cpu = train(arm, workdir, args.steps, args.batch, args.seed)
        record = json.loads((workdir / "eval.json").read_text())
        rows[arm] = {"cpu_s": cpu, **{k: record[k] for k in KEYS}}
        print(arm, rows[arm], flush=True)
        if arm.startswith("stylegan"):
            style_runs[arm] = workdir
    truncation, mix = {}, {}
    for arm, workdir in style_runs.items():
        run, state, _ = runs.load_run(workdir)
        truncation[arm] = truncation_sweep(run, state)
        num_ws = run.game.networks["g"].module.num_ws
        mix[arm] = {
            "coarse (styles 0-1, 4x4)": mixing(run, state, (0, 2)),
            f"fine (styles {num_ws - 2}-{num_ws - 1}, top resolution)": mixing(
                run, state, (num_ws - 2, num_ws)
            ),
        }
        print(arm, "mixing", mix[arm], flush=True)
    results = {
        "steps": args.steps,
        "batch": args.batch,
        "seed": args.seed,
        "arms": rows,
        "truncation": truncation,
        "mixing": mix,
    }
    out = pathlib.Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stylegan_digits.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "## StyleGAN / StyleGAN2 on the digits (16x16), against DCGAN at a matched budget",
        "",
        f"Command: `python experiments/stylegan_digits.py --steps={args.steps} "
        f"--batch={args.batch} --seed={args.seed}`. Every arm {args.steps} steps of batch "
        f"{args.batch}, seed {args.seed}, one run each (no error bars). Final evaluation: 2500 "
        "samples (EMA G where kept) against the 1797 real digits on the digits classifier's "
        "features; precision / recall k-NN (k=3).",
        "",
        "| arm | FD | KID | precision | recall | classes >= 3% | class KL | CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for arm, r in rows.items():
        cpu = "-" if r["cpu_s"] is None else f"{r['cpu_s']:.0f}"
        lines.append(
            f"| {ARMS[arm][0]} | {r['frechet_distance']:.1f} | {r['kid']:.2f} | "
            f"{r['precision']:.3f} | {r['recall']:.3f} | {r['classes_min_fraction']} | "
            f"{r['class_kl']:.3f} | {cpu} |"
        )
    for arm, sweep in truncation.items():
        lines += ["", f"Truncation in W, {arm} (same evaluation noise):", ""]
        lines += ["| psi | FD | precision | recall |", "| ---: | ---: | ---: | ---: |"]
        for psi, r in sweep.items():
            lines.append(
                f"| {psi} | {r['frechet_distance']:.1f} | {r['precision']:.3f} | "
                f"{r['recall']:.3f} |"
            )
    for arm, m in mix.items():
        lines += ["", f"Style mixing, {arm} ({MIX_PAIRS} pairs z_a, z_b; noise of z_a):", ""]
        lines += [
            "| styles from z_b | class of G(z_a) changed | class is G(z_b)'s "
            "| G(z_a), G(z_b) differ |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, r in m.items():
            lines.append(
                f"| {name} | {r['class_changed']:.3f} | {r['class_of_b']:.3f} | "
                f"{r['a_b_differ']:.3f} |"
            )
    (out / "stylegan_digits.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
