"""Bad configs fail before training with one message naming key, value and what is allowed."""

import pytest
from conftest import load_config

from gan_jax import runs
from gan_jax.errors import ConfigError
from gan_jax.losses import OBJECTIVES, get_objective
from gan_jax.validation import validate


@pytest.mark.parametrize(
    "name,overrides,key",
    [
        ("nsgan", {"objective.name": "hinge_typo"}, "objective.name"),
        ("nsgan", {"data.name": "imagenet"}, "data.name"),
        ("nsgan", {"model.name": "vit"}, "model.name"),
        ("nsgan", {"model.name": "resnet"}, "model.d_norm"),
        ("nsgan", {"model.num_classes": 7}, "model.num_classes"),
        ("nsgan", {"model.num_classes": -1}, "model.num_classes"),
        ("nsgan", {"model.g_ema_decay": 1.0}, "model.g_ema_decay"),
        ("nsgan", {"model.g_ema_decay": -0.5}, "model.g_ema_decay"),
        ("sngan", {"model.g_norm": "none", "model.num_classes": 10}, "model.g_norm"),
        ("nsgan", {"optim.g.lr": 0.0}, "optim.g.lr"),
        ("wgan", {"optim.d.lr": -1e-4}, "optim.d.lr"),
        ("nsgan", {"optim.d.name": "adagrad"}, "optim.d.name"),
        ("nsgan", {"train.batch_size": 0}, "train.batch_size"),
        ("nsgan", {"train.batch_size": -8}, "train.batch_size"),
        ("nsgan", {"train.steps": 0}, "train.steps"),
        ("nsgan", {"train.d_steps": 0}, "train.d_steps"),
        ("nsgan", {"train.steps_per_dispatch": 0}, "train.steps_per_dispatch"),
        ("nsgan", {"train.xla_cpu_ynn_fusions": "dots"}, "train.xla_cpu_ynn_fusions"),
        ("nsgan", {"train.xla_cpu_ynn_fusions": ""}, "train.xla_cpu_ynn_fusions"),
        ("nsgan", {"model.downsample": "avg_pool"}, "model.downsample"),
        ("nsgan", {"data.resolution": 24}, "data.resolution"),
        ("nsgan", {"model.d_norm": "group"}, "model.d_norm"),
        ("wgan_gp", {"model.d_norm": "batch"}, "model.d_norm"),
        ("nsgan", {"model.name": "mlp"}, "model.name"),
        ("wgan", {"objective.clip": 0.0}, "objective.clip"),
        ("hinge", {"objective.penalty": "r3"}, "objective.penalty"),
        ("wgan_gp", {"objective.penalty": "r1"}, "objective.penalty"),
        ("nsgan", {"objective.penalty": "r1"}, "model.d_norm"),  # BatchNorm critic
        (
            "hinge",
            {"objective.penalty": "r1", "objective.penalty_weight": 0.0},
            "objective.penalty_weight",
        ),
        (
            "hinge",
            {"objective.penalty": "dragan", "objective.dragan_c": -1.0},
            "objective.dragan_c",
        ),
        ("wgan_gp", {"objective.gp_weight": -10.0}, "objective.gp_weight"),
        ("nsgan", {"model.dtype": "float16"}, "model.dtype"),
        ("hinge", {"optim.d.b1": 1.0}, "optim.d.b1"),
        ("nsgan", {"optim.g.b2": -0.1}, "optim.g.b2"),
        ("nsgan", {"optim.g.schedule": "linear", "optim.g.decay_steps": 0}, "optim.g.decay_steps"),
        ("nsgan", {"optim.g.schedule": "step"}, "optim.g.schedule"),
    ],
)
def test_bad_config_names_key_value_and_allowed(name, overrides, key):
    cfg = load_config(name, **overrides)
    with pytest.raises(ConfigError) as err:
        runs.build_run(cfg)
    assert err.value.key == key
    msg = str(err.value)
    assert key in msg and "allowed" in msg
    value = cfg
    for part in key.split("."):
        value = value[part]
    assert repr(value) in msg  # the offending value, which may come from the recipe


def test_unknown_preset():
    with pytest.raises(ValueError, match="allowed"):
        load_config("wgan", "cifar_typo")


@pytest.mark.parametrize(
    "name", ["gan", "nsgan", "wgan", "wgan_gp", "lsgan", "pacgan", "hinge", "default"]
)
@pytest.mark.parametrize("preset", [None, "ring8", "grid25"])
def test_every_shipped_config_validates(name, preset):
    runs.build_run(load_config(name, preset))


def test_recipes_follow_their_papers():
    wgan = load_config("wgan")
    assert wgan.objective.clip == 0.01 and wgan.train.d_steps == 5
    assert wgan.optim.d.name == "rmsprop" and wgan.optim.d.lr == 5e-5
    gp = load_config("wgan_gp")
    assert gp.objective.gp_weight == 10.0 and gp.train.d_steps == 5
    assert (gp.optim.d.lr, gp.optim.d.b1, gp.optim.d.b2) == (1e-4, 0.0, 0.9)
    assert gp.model.d_norm != "batch"
    assert load_config("gan").objective.name == "minimax"
    assert load_config("nsgan").objective.name == "non_saturating"
    ls = load_config("lsgan").objective
    assert (ls.name, ls.ls_a, ls.ls_b, ls.ls_c) == ("least_squares", 0.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "name,preset,overrides,key",
    [
        ("nsgan", "grid25", {"data.num_points": -1}, "data.num_points"),
        ("nsgan", None, {"data.num_points": 100}, "data.num_points"),
        ("nsgan", "ring8", {"model.pac": 0}, "model.pac"),
        ("nsgan", None, {"model.pac": 2}, "model.pac"),
        ("pacgan", "grid25", {"model.pac": 3}, "train.batch_size"),
        ("wgan_gp", "ring8", {"model.pac": 2}, "model.pac"),
        ("pacgan", "grid25", {"model.maxout_pieces": 0}, "model.maxout_pieces"),
        ("nsgan", "ring8", {"model.name": "dcgan"}, "model.name"),
        ("nsgan", None, {"model.name": "pacgan_mlp"}, "model.name"),
    ],
)
def test_bad_packing_and_fixed_set_keys(name, preset, overrides, key):
    cfg = load_config(name, preset, **overrides)
    with pytest.raises(ConfigError) as err:
        runs.build_run(cfg)
    assert err.value.key == key and "allowed" in str(err.value)


def test_pacgan_config_follows_the_paper():
    c = load_config("pacgan", "grid25")
    assert c.model.name == "pacgan_mlp" and c.objective.name == "non_saturating"
    assert tuple(c.model.g_hidden) == (400,) * 4 and c.model.g_norm == "batch"
    assert tuple(c.model.d_hidden) == (200,) * 3 and c.model.maxout_pieces == 5
    assert (c.optim.d.lr, c.optim.d.b1, c.optim.g.b1) == (1e-4, 0.8, 0.8)
    assert (c.train.batch_size, c.data.num_points, c.model.z_dim) == (100, 100_000, 2)


def test_hinge_recipe_is_sngans():
    c = load_config("hinge")
    assert c.objective.name == "hinge" and c.objective.penalty == "none"
    for opt in (c.optim.g, c.optim.d):
        assert (opt.name, opt.lr, opt.b1, opt.b2) == ("adam", 2e-4, 0.0, 0.9)
    assert c.train.d_steps == 5 and c.model.d_norm == "none" and c.model.d_spectral_norm


@pytest.mark.parametrize("name", ["gan", "nsgan", "wgan", "wgan_gp", "lsgan", "hinge"])
def test_every_objective_and_penalty_selectable_from_every_config(name):
    """--config.objective.name / .penalty work on any recipe; the one refused combination is a
    BatchNorm critic under a gradient penalty, with one clear error."""
    for objective in OBJECTIVES:
        for penalty in ("none", "r1") if objective != "wasserstein_gp" else ("none",):
            cfg = load_config(name, **{"objective.name": objective, "objective.penalty": penalty})
            penalised = objective == "wasserstein_gp" or penalty != "none"
            if penalised and cfg.model.d_norm == "batch":
                with pytest.raises(ConfigError, match="model.d_norm='batch'"):
                    validate(cfg)
                cfg.model.d_norm = "layer"
            validate(cfg)
            obj = get_objective(cfg.objective)
            assert obj.name == objective and (obj.penalty is not None) == penalised
