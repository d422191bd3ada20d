"""Config validation: every block checked by its owner, then the rules between blocks.

``validate(config)`` raises one ``ConfigError`` naming the key, the value and what is allowed.
Each registry entry checks the keys it declares (gan_jax/schema.py): the game (``game.*``,
gan_jax/games/), the objective and its penalty (``objective.*``, losses.py), the model family
(``model.*``, models/), the dataset (``data.*``, data.py), each optimiser (``optim.*``,
optim.py) and the extractor (``eval.*``, evaluation.py). What is left here are the trainer's
own keys (``train.*``, ``checkpoint.*``, the evaluation schedule) and ``check_combination``:
the few rules that tie blocks together; the classic game's critic regularisers (``augment.*``,
``regularizer.*``) are checked with their rules by gan_jax/regularizers.py.
"""

from __future__ import annotations

from gan_jax import data, evaluation, losses, models, optim, regularizers, schema, xla_cpu
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES

# The trainer's keys (gan_jax/train.py, gan_jax/dispatch.py).
TRAIN_KEYS: schema.Spec = {
    "steps": schema.positive_int(1500, "train steps (generator updates in the classic game)"),
    "batch_size": schema.positive_int(64, "global batch size"),
    "d_steps": schema.positive_int(1, "critic updates per generator update"),
    "log_every": schema.positive_int(100, "train steps between log lines"),
    "sample_every": schema.non_negative_int(500, "sample grids every N steps; 0: at the end"),
    "steps_per_dispatch": schema.positive_int(1, "train steps per compiled call"),
}
CHECKPOINT_KEYS: schema.Spec = {
    "every_steps": schema.positive_int(500, "train steps between checkpoints"),
    "max_to_keep": schema.positive_int(3, "checkpoints kept"),
}
EVAL_SCHEDULE_KEYS: schema.Spec = {
    "every_steps": schema.non_negative_int(
        500, "evaluate every N steps", allowed="a non-negative integer (0: only at the end)"
    ),
    "at_start": schema.boolean(True, "also evaluate the untrained generator (the baseline)"),
}


def validate(config) -> None:
    """Raise ConfigError on the first key whose value is not allowed."""
    schema.check_block("game", config.game, {"name": schema.choice("classic", GAMES, "")})
    GAMES[config.game.name].check(config)
    losses.check(config.objective)
    data.check(config)
    models.check(config)
    for name in config.optim:
        optim.check(f"optim.{name}", config.optim[name])
    schema.check_block("train", config.train, TRAIN_KEYS)
    xla_cpu.check(config.train)
    schema.check_block("checkpoint", config.checkpoint, CHECKPOINT_KEYS)
    schema.check_block("eval", config.eval, EVAL_SCHEDULE_KEYS)
    evaluation.check(config.eval)
    check_combination(config)
    regularizers.check(config)


def check_combination(config) -> None:
    """The rules between blocks: data kind x game and x model kind, gradient penalty x BatchNorm
    critic, packing x penalty and batch size."""
    family, kind = models.MODELS[config.model.name], data.entry(config.data.name).kind
    game_kinds = GAMES[config.game.name].DATA_KINDS
    if kind not in game_kinds:
        fitting = [name for name in data.DATASETS if data.DATASETS[name].kind in game_kinds]
        raise ConfigError(
            "data.name", config.data.name, f"one of {fitting} for game.name={config.game.name!r}"
        )
    if kind in ("domains", "paired", "multidomain", "semisupervised"):
        return  # the translation and semi-supervised games build their own networks
    if family.data_kind != kind:
        fitting = [name for name, f in models.MODELS.items() if f.data_kind == kind]
        raise ConfigError(
            "model.name", config.model.name, f"one of {fitting} for data.name={config.data.name!r}"
        )
    obj, model = config.objective, config.model
    if losses.penalised(obj) and model.d_norm == "batch" and "d_norm" in family.keys:
        which = (
            "objective.name='wasserstein_gp'"
            if obj.name == "wasserstein_gp"
            else f"objective.penalty={obj.penalty!r}"
        )
        raise ConfigError(
            "model.d_norm",
            "batch",
            f"'layer' or 'none' with {which} (a gradient penalty is per sample; BatchNorm mixes "
            "samples)",
        )
    pac = model.pac
    if "pac" not in family.keys:
        if pac != 1:
            raise ConfigError("model.pac", pac, f"1 with model.name={model.name!r} (MLPs only)")
    elif config.train.batch_size % pac:
        raise ConfigError(
            "train.batch_size",
            config.train.batch_size,
            f"a multiple of model.pac={pac} (the discriminator judges packs of pac samples)",
        )
    elif pac > 1 and losses.penalised(obj):
        raise ConfigError("model.pac", pac, "1 with a gradient penalty (it is computed per sample)")
    if kind == "images" and config.data.num_points != 0:
        raise ConfigError(
            "data.num_points", config.data.num_points, "0 for image datasets (ring8/grid25 only)"
        )


def validate_for_dataset(config, dataset: Dataset) -> None:
    """Checks that need the built dataset: a conditional model has the dataset's classes."""
    k = config.model.num_classes
    if k and k != dataset.num_classes:
        raise ConfigError(
            "model.num_classes",
            k,
            f"0 (unconditional) or {dataset.num_classes}, the number of classes of "
            f"data.name={dataset.name!r}",
        )
