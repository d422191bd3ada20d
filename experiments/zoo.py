"""The zoo table: train the recipe of every registered variant and tabulate its final evaluation.

    python experiments/zoo.py [--rows=nsgan,infogan] [--steps=N] [--seed=0] [--workdir=runs/zoo]

The rows come from the registries, so a new variant appears here by registering: every game
module of ``gan_jax.games.GAMES`` with a ``RECIPE`` (InfoGAN, CycleGAN, ...), every objective of
``gan_jax.losses.OBJECTIVES`` and every model family of ``gan_jax.models.MODELS`` with a
``recipe``, and every critic regulariser of ``gan_jax.regularizers.RECIPES`` (DiffAugment, ADA:
their rows train on a tenth of the digits, the dataset column says so). Each row trains
``configs/<recipe>.py`` at its defaults (seed 0; ``--steps`` overrides the budget, and the table
says which budget ran) through the command line (``python -m gan_jax.main``), then reads the
run's eval.json: Frechet distance, KID, precision, recall and the classes holding >= 3% of the
samples on the digits classifier's features; modes and high-quality fraction on the 2D mixtures;
and the variant's own headline measures (``headline/*``: InfoGAN's code accuracy, CycleGAN's
class preservation). CPU seconds are the training process's user + system time (compilation
and evaluations included).

Results accumulate in experiments/results/zoo.json (one entry per row, rewritten when a row is
trained again), and experiments/results/zoo.md is rewritten from all of them, so rows can be
trained in several sittings. A run directory that already reached its steps is not retrained.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import resource
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gan_jax import games, losses, models, regularizers  # noqa: E402

RESULTS = REPO / "experiments" / "results"


def registered_rows() -> dict[str, dict]:
    """recipe -> {'variant', 'kind', 'paper'} for every registry entry that has a recipe."""
    rows = {}
    for name, module in games.GAMES.items():
        if getattr(module, "RECIPE", None):
            rows[module.RECIPE] = {"variant": name, "kind": "game", "paper": module.PAPER}
    for name, objective in losses.OBJECTIVES.items():
        if objective.recipe:
            rows[objective.recipe] = {
                "variant": name,
                "kind": "objective",
                "paper": objective.paper,
            }
    for name, family in models.MODELS.items():
        if family.recipe:
            rows[family.recipe] = {"variant": name, "kind": "model", "paper": family.paper}
    for name, (paper, recipe) in regularizers.RECIPES.items():
        rows[recipe] = {"variant": name, "kind": "regularizer", "paper": paper}
    return rows


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_row(recipe: str, workdir: pathlib.Path, steps: int | None, seed: int) -> dict:
    """Train configs/<recipe>.py into ``workdir`` (unless it is done) and read its eval.json."""
    config = importlib.import_module(f"configs.{recipe}").get_config()
    budget = steps or config.train.steps
    done = workdir / "eval.json"
    cpu = None
    if not (done.is_file() and json.loads(done.read_text())["step"] == budget):
        command = [
            sys.executable,
            "-m",
            "gan_jax.main",
            f"--config={REPO / 'configs' / (recipe + '.py')}",
            f"--workdir={workdir}",
            f"--config.train.steps={budget}",
            f"--config.seed={seed}",
        ]
        before = cpu_seconds_of_children()
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"zoo: {recipe} failed:\n{proc.stderr[-3000:]}")
        cpu = cpu_seconds_of_children() - before
    record = json.loads(done.read_text())
    points = config.data.name in ("ring8", "grid25")
    return {
        "recipe": recipe,
        "dataset": config.data.name
        + ("" if points else f" {config.data.resolution}px")
        + (f" ({config.data.num_examples} images)" if config.data.get("num_examples") else ""),
        "steps": budget,
        "default_steps": config.train.steps,
        "seed": seed,
        "cpu_seconds": cpu,
        "metrics": {k: v for k, v in record.items() if isinstance(v, (int, float))},
        "protocol": record.get("protocol", {}),
    }


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.{digits}g}"
    return str(value)


def write_table(results: dict[str, dict], rows: dict[str, dict]) -> str:
    lines = [
        "# The zoo: every registered variant's recipe, trained at its defaults",
        "",
        "Written by `python experiments/zoo.py` (seed 0). Digits rows: features of the embedded",
        "digits classifier (gan_jax.classifier), all 1797 real digits against 2500 samples of the",
        "run's fixed evaluation inputs; 2D rows: the VEEGAN/PacGAN mode protocol. Each number is",
        "comparable only with the other rows of its dataset, resolution (the classifier is trained",
        "at the data's resolution) and protocol. `steps` is the budget",
        "that ran (the recipe's default unless marked *). CPU s: the training process's CPU time,",
        "compilation and evaluations included.",
        "",
        "| variant | paper | recipe | dataset | steps | FD | KID | precision | recall | "
        "classes >= 3% | modes | HQ | headline | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for recipe, row in rows.items():
        if recipe not in results:
            continue
        r, m = results[recipe], results[recipe]["metrics"]
        headline = ", ".join(
            f"{k.removeprefix('headline/')} {_fmt(v)}" for k, v in m.items() if "headline/" in k
        )
        steps = f"{r['steps']}" + ("" if r["steps"] == r["default_steps"] else "*")
        cells = [
            f"{row['variant']} ({row['kind']})",
            row["paper"],
            f"`configs/{recipe}.py`",
            r["dataset"],
            steps,
            _fmt(m.get("frechet_distance")),
            _fmt(m.get("kid")),
            _fmt(m.get("precision"), 2),
            _fmt(m.get("recall"), 2),
            _fmt(m.get("classes_min_fraction")),
            _fmt(m.get("modes")),
            _fmt(m.get("hq_fraction"), 3),
            headline or "-",
            _fmt(None if r["cpu_seconds"] is None else round(r["cpu_seconds"])),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    missing = [recipe for recipe in rows if recipe not in results]
    if missing:
        lines += ["", f"Not trained yet: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="", help="Recipes to train (default: every row).")
    parser.add_argument("--steps", type=int, default=None, help="Override every budget.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="runs/zoo")
    parser.add_argument("--table_only", action="store_true", help="Rewrite zoo.md from zoo.json.")
    args = parser.parse_args()
    rows = registered_rows()
    if args.table_only:
        results = json.loads((RESULTS / "zoo.json").read_text())
        (RESULTS / "zoo.md").write_text(write_table(results, rows))
        return
    chosen = [r for r in args.rows.split(",") if r] or list(rows)
    unknown = [r for r in chosen if r not in rows]
    if unknown:
        raise SystemExit(f"zoo: --rows={','.join(unknown)} is not allowed; allowed: {list(rows)}")
    cache = RESULTS / "zoo.json"
    results = json.loads(cache.read_text()) if cache.is_file() else {}
    for recipe in chosen:
        print(f"zoo: {recipe} ({rows[recipe]['variant']})", flush=True)
        workdir = pathlib.Path(args.workdir) / f"{recipe}_seed{args.seed}"
        row = train_row(recipe, workdir, args.steps, args.seed)
        if row["cpu_seconds"] is None and recipe in results:  # not retrained: keep its time
            row["cpu_seconds"] = results[recipe]["cpu_seconds"]
        results[recipe] = row
        cache.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        (RESULTS / "zoo.md").write_text(write_table(results, rows))
    print((RESULTS / "zoo.md").read_text())


if __name__ == "__main__":
    main()
