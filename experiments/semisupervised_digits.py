"""Do the semi-supervised GANs beat a classifier trained on their 100 labels alone? Measures it.

    python experiments/semisupervised_digits.py [--seeds=0,1] [--steps=N] [--preset=mnist5k]
        [--methods=baseline,ssl_gan,triplegan] [--eval_every=N] [--set=game.alpha=0.3 ...]
        [--name=semisupervised_digits]

Three classifiers of the same network (``gan_jax.models.noisy_mlp.NoisyMLPClassifier``, the
MNIST critic of Salimans et al. 2016, at the width the recipes set) on the same data
(``mnist5k_ssl`` by default: 4000 train images of which 100 are labelled, 10 per class, and 1000
TEST images that nothing trains on; gan_jax/data.py), each for the same number of steps:

- ``baseline``: supervised only, softmax cross-entropy on the 100 labelled images (batches of
  ``train.batch_size`` drawn with replacement, as the games draw them), the same Gaussian noise
  on every layer, the same optimiser (``optim.d`` of configs/ssl_gan.py);
- ``ssl_gan``: configs/ssl_gan.py, the (K+1)-class critic (gan_jax/games/semisupervised.py);
- ``triplegan``: configs/triplegan.py, the classifier C (gan_jax/games/triplegan.py; its EMA copy,
  and the live parameters as ``test_error_live``);
- ``baseline_reg`` and ``triplegan_reg``: the baseline and Triple-GAN with the paper's code's
  regularisers of the classifier on the unlabelled batch (entropy 0.3, class balance 1e-3;
  ``CODE_REGULARIZERS``), so the GAN's part is measured against entropy minimisation alone;
  ``triplegan_pre``: ``triplegan_reg`` whose first 30 epochs (``PRETRAIN_EPOCHS``) train C
  alone on the labels with those terms (the code's pre-training; ``game.c_pretrain_steps``),
  the game the rest of the same budget.

Every method trains from the seed alone (the same seed gives the same numbers). The test error
is measured every ``--eval_every`` steps; the table reports the final one (mean +- standard
error over the seeds) and each method's CPU seconds (user + system of this process while it
trained, compilation included). Writes experiments/results/semisupervised_digits.json (every
figure, the curves) and .md (the table); a (method, seed) already in the JSON at the same budget
is read back, not retrained.
"""

from __future__ import annotations

import argparse
import ast
import json
import pathlib
import platform
import resource
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from configs import ssl_gan, triplegan  # noqa: E402
from gan_jax import data, steps  # noqa: E402
from gan_jax.games import semisupervised  # noqa: E402
from gan_jax.optim import make_optimizer  # noqa: E402
from gan_jax.runs import build_run  # noqa: E402

RESULTS = REPO / "experiments" / "results"
RECIPES = {
    "ssl_gan": ssl_gan,
    "triplegan": triplegan,
    "triplegan_reg": triplegan,
    "triplegan_pre": triplegan,
}
# Triple-GAN's code's regularisers of C on unlabelled images (entropy, class balance): the
# ``_reg`` methods add them, to the baseline (entropy minimisation alone, no GAN) and to
# Triple-GAN (game.entropy_weight / game.balance_weight), so both sides carry them.
CODE_REGULARIZERS = {"entropy_weight": 0.3, "balance_weight": 1e-3}
# ``triplegan_pre``: ``triplegan_reg`` after the code's pre-training of C, 30 epochs of the
# unlabelled images (40 steps of batch 100 each), inside the same total budget.
PRETRAIN_EPOCHS = 30


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def with_overrides(config, steps_: int | None, seed: int, overrides: list[str]):
    """``config`` at ``seed``, ``steps_`` (Triple-GAN's R_P from 30% of them) and the
    ``key=value`` overrides of keys the recipe has (values as Python literals)."""
    config.seed = seed
    if steps_:
        config.train.steps = steps_
        if "pseudo_start" in config.game:
            config.game.pseudo_start = int(0.3 * steps_)
    for item in overrides:
        dotted, value = item.split("=", 1)
        *parents, leaf = dotted.split(".")
        node = config
        for p in parents:
            node = node[p]
        if leaf in node:
            node[leaf] = ast.literal_eval(value)
    return config


def train_baseline(
    config, eval_every: int, entropy_weight: float = 0.0, balance_weight: float = 0.0
) -> dict:
    """The critic network trained with cross-entropy on the labelled subset only; plus, with
    weights > 0, Triple-GAN's code's entropy and class-balance terms on the unlabelled batch
    (``semisupervised.unlabelled_regularizers``)."""
    gc = semisupervised.game_block(config, semisupervised.KEYS)
    dataset = data.get_dataset(config.data)
    split = semisupervised.test_split(config)
    module = semisupervised.classifier_module(gc, dataset.num_classes)
    key = jax.random.key(config.seed)
    params = module.init(key, np.zeros((2, *dataset.shape)), None, train=False)["params"]
    tx = make_optimizer(config.optim.d)
    opt_state = tx.init(params)
    data_key = jax.random.fold_in(key, steps.ROLE_DATA)
    n = config.train.batch_size

    @jax.jit
    def step(params, opt_state, i):
        batch = dataset.sample(jax.random.fold_in(data_key, i), n)
        noise = jax.random.fold_in(jax.random.fold_in(key, steps.ROLE_D), i)

        def loss_fn(p):
            logits, _ = module.apply({"params": p}, batch["x_labelled"], noise, train=True)
            labels = batch["label_labelled"]
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
            if entropy_weight or balance_weight:
                unl, _ = module.apply(
                    {"params": p}, batch["x"], jax.random.fold_in(noise, 1), train=True
                )
                entropy, balance = semisupervised.unlabelled_regularizers(unl)
                loss = loss + entropy_weight * entropy + balance_weight * balance
            return loss

        grads = jax.grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    def error(params):
        classify = lambda p, x: module.apply({"params": p}, x, None, train=False)[0]
        return semisupervised.test_error(classify, params, split.test, split.test_labels)

    curve = []
    for i in range(config.train.steps):
        params, opt_state = step(params, opt_state, i)
        if (i + 1) % eval_every == 0 or i + 1 == config.train.steps:
            curve.append({"step": i + 1, "test_error": error(params)})
    return {"test_error": curve[-1]["test_error"], "curve": curve}


def train_game(config, eval_every: int) -> dict:
    """A game's recipe trained by the library's step, its headline measured along the way."""
    run = build_run(config)
    state = jax.jit(run.init_state)(jax.random.key(config.seed))
    # One compiled step per stage of a staged game (Triple-GAN's pre-training of C).
    train_steps = {}
    sample = jax.jit(run.sample_batches)
    data_key = run.data_key()
    curve, metrics = [], {}
    for i in range(config.train.steps):
        stage = run.game.stage_of(i)
        if stage not in train_steps:
            train_steps[stage] = steps.make_train_step(run.game.at_stage(stage))
        state, metrics = train_steps[stage](state, sample(data_key, i))
        if (i + 1) % eval_every == 0 or i + 1 == config.train.steps:
            curve.append({"step": i + 1, **run.game.headline(run, state)})
            print(f"    step {i + 1}: {curve[-1]}", flush=True)
    final = {k: v for k, v in curve[-1].items() if k != "step"}
    return {**final, "curve": curve, "final_metrics": {k: float(v) for k, v in metrics.items()}}


def mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, np.float64)
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--steps", type=int, default=0, help="0: the recipes' train.steps")
    parser.add_argument("--preset", default="mnist5k", choices=("mnist5k", "digits"))
    parser.add_argument("--methods", default="baseline,ssl_gan,triplegan")
    parser.add_argument("--eval_every", type=int, default=500)
    parser.add_argument("--name", default="semisupervised_digits")
    parser.add_argument(
        "--set", action="append", default=[], help="key=value for the recipes that have the key"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")

    path = RESULTS / f"{args.name}.json"
    stored = json.loads(path.read_text())["results"] if path.is_file() else {}
    results: dict[str, dict] = {}
    for method in methods:
        recipe = RECIPES.get(method, ssl_gan)
        runs_ = []
        for seed in seeds:
            config = recipe.get_config(args.preset)
            config = with_overrides(config, args.steps or None, seed, args.set)
            done = [
                r
                for r in stored.get(method, {}).get("runs", [])
                if r["seed"] == seed and stored[method]["steps"] == config.train.steps
            ]
            if done:  # deterministic: the same seed and budget gives the same numbers
                print(f"{method} seed {seed}: stored in {path.name}", flush=True)
                runs_.append(done[0])
                continue
            print(f"{method} seed {seed}: {config.train.steps} steps", flush=True)
            cpu, wall = cpu_seconds(), time.time()
            if method == "baseline":
                out = train_baseline(config, args.eval_every)
            elif method == "baseline_reg":
                out = train_baseline(config, args.eval_every, **CODE_REGULARIZERS)
            else:
                if method in ("triplegan_reg", "triplegan_pre"):
                    config.game.update(CODE_REGULARIZERS)
                if method == "triplegan_pre":
                    split = semisupervised.test_split(config)
                    epoch = len(split.unlabelled) // config.train.batch_size
                    config.game.c_pretrain_steps = PRETRAIN_EPOCHS * epoch
                out = train_game(config, args.eval_every)
            out.update(seed=seed, cpu_s=cpu_seconds() - cpu, wall_s=time.time() - wall)
            print(f"  test error {out['test_error']:.4f} ({out['cpu_s']:.0f} CPU s)", flush=True)
            runs_.append(out)
            mean, se = mean_se([r["test_error"] for r in runs_])
            results[method] = {
                "steps": config.train.steps,
                "test_error_mean": mean,
                "test_error_se": se,
                "runs": runs_,
            }
            write(path, config, seeds, {**stored, **results})  # nothing is lost if stopped
        mean, se = mean_se([r["test_error"] for r in runs_])
        results[method] = {
            "steps": config.train.steps,
            "test_error_mean": mean,
            "test_error_se": se,
            "runs": runs_,
        }
    write(path, config, seeds, results)
    print(path.with_suffix(".md").read_text())


def write(path: pathlib.Path, config, seeds: list[int], results: dict) -> None:
    """The JSON (setup and results) and the table (.md) of ``results``."""
    split = semisupervised.test_split(config)
    setup = {
        "data": config.data.to_dict(),
        "train_images": len(split.unlabelled),
        "labelled_images": len(split.labelled),
        "test_images": len(split.test),
        "batch_size": config.train.batch_size,
        "classifier": {k: config.game[k] for k in ("d_hidden", "input_noise", "hidden_noise")},
        "optimizer": config.optim.d.to_dict(),
        "seeds": seeds,
        "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()} device(s)",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"setup": setup, "results": results}, indent=1, default=str) + "\n")
    path.with_suffix(".md").write_text(table(setup, results))


def table(setup: dict, results: dict) -> str:
    lines = [
        f"# Semi-supervised test error: {setup['data']['name']}, {setup['labelled_images']} labels",
        "",
        f"{setup['train_images']} train images ({setup['labelled_images']} labelled, "
        f"{setup['data']['labels_per_class']} per class, labelled_seed "
        f"{setup['data']['labelled_seed']}), {setup['test_images']} TEST images that no player "
        f"sees, {setup['data']['resolution']}x{setup['data']['resolution']} pixels; batch "
        f"{setup['batch_size']}; seeds {setup['seeds']}. The same classifier network "
        f"({setup['classifier']}) in every row. Written by experiments/semisupervised_digits.py.",
        "",
        "| method | steps | test error (mean +- s.e.) | per seed | CPU s per run |",
        "|---|---|---|---|---|",
    ]
    for method, r in results.items():
        per_seed = ", ".join(f"{x['test_error']:.3f}" for x in r["runs"])
        cpu = np.mean([x["cpu_s"] for x in r["runs"]])
        lines.append(
            f"| {method} | {r['steps']} | {r['test_error_mean']:.3f} +- {r['test_error_se']:.3f} "
            f"| {per_seed} | {cpu:.0f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
