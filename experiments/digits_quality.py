"""Train every objective's default digits run and print a table of the final metrics.

    python experiments/digits_quality.py [--configs=gan,nsgan,wgan,wgan_gp,lsgan]
        [--workdir=runs/digits_quality] [--set=train.steps=200 --set=model.width=16]

For each config it runs ``gan_jax.train.train_and_evaluate`` on the config's default (digits)
preset, then reads the step-0 evaluation (the untrained generator) and the final one from the
run's metrics.jsonl / eval.json. The quickstart criterion of the evaluation issue is checked on
every row: the digits classifier assigns the samples to >= 9 of 10 classes with >= 3% each, and
the Frechet distance is well below the untrained generator's (here: below 1/5 of it). The
protocol of the numbers is printed once under the table.

The same seed gives bit-identical numbers on the same machine with the same versions (jax,
jaxlib, flax, optax); on another CPU the float rounding differs and training amplifies it, so the
README's table and the configs' comments, measured on different machines, differ: wgan.py's
final FD was 40.4, 39.55 and 39.1 on three machines, nsgan.py's 22.9 and 20.2 on two.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from gan_jax import train  # noqa: E402

OBJECTIVE_CONFIGS = ("gan", "nsgan", "wgan", "wgan_gp", "lsgan")
FD_RATIO = 0.2  # "well below the untrained generator's": at most a fifth of it


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_one(name: str, workdir: pathlib.Path, overrides: list[str]) -> dict:
    config = importlib.import_module(f"configs.{name}").get_config()
    for item in overrides:
        key, _, value = item.partition("=")
        node = config
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = _parse_value(value)
    t0, c0 = time.perf_counter(), time.process_time()
    train.train_and_evaluate(config, workdir)
    # CPU seconds beside wall seconds: on a shared machine the wall time depends on the load,
    # while on 2 idle cores a run's wall time is close to its CPU time (measured per step).
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    start = next(r for r in records if r["step"] == 0 and "eval/frechet_distance" in r)
    final = json.loads((workdir / "eval.json").read_text())
    return {
        "config": name,
        "steps": config.train.steps,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "fd0": start["eval/frechet_distance"],
        **final,
    }


def passes(row: dict) -> bool:
    return row["classes_min_fraction"] >= 9 and row["frechet_distance"] <= FD_RATIO * row["fd0"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(OBJECTIVE_CONFIGS))
    parser.add_argument("--workdir", default="runs/digits_quality")
    parser.add_argument("--set", action="append", default=[], help="key=value config override")
    args = parser.parse_args()
    root = pathlib.Path(args.workdir)
    rows = [run_one(n, root / n, args.set) for n in args.configs.split(",")]
    print()
    print(
        f"{'config':<8} {'steps':>6} {'wall':>6} {'cpu':>6} {'FD(0)':>7} {'FD':>7} {'KID':>7} "
        f"{'prec':>5} {'rec':>5} {'cls>=3%':>7} {'min%':>5} {'KL':>6} {'conf':>5}  pass"
    )
    for r in rows:
        print(
            f"{r['config']:<8} {r['steps']:>6} {r['seconds']:>5.0f}s {r['cpu_seconds']:>5.0f}s "
            f"{r['fd0']:>7.1f} "
            f"{r['frechet_distance']:>7.1f} {r['kid']:>7.2f} {r['precision']:>5.2f} "
            f"{r['recall']:>5.2f} {r['classes_min_fraction']:>7} "
            f"{100 * r['min_class_fraction']:>5.1f} {r['class_kl']:>6.3f} "
            f"{r['confidence']:>5.2f}  {'yes' if passes(r) else 'NO'}"
        )
    proto = rows[0]["protocol"]
    print(
        f"\nprotocol: {proto['extractor']} features ({proto['features']}), held-out accuracy "
        f"{proto['heldout_accuracy']:.4f} ({proto['split']}); real: {proto['real_split']}; "
        f"fake: {proto['fake_samples']} samples; KID {proto['kid']}; "
        f"P/R {proto['precision_recall']}"
    )
    return 0 if all(passes(r) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
