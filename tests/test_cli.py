"""gan_jax.cli's argv reading and config checks (the subprocess tests are in tests/test_main.py)."""

from conftest import REPO

from gan_jax import cli


def test_flag_value_reads_both_spellings_and_the_last_wins():
    argv = ["main", "--config", "a.py", "--workdir=x", "--config=b.py:ring8", "--", "--config=c"]
    assert cli.flag_value(argv, "config") == "b.py:ring8"
    assert cli.flag_value(["main", "--config"], "config") is None
    assert cli.config_overrides(["main", "--config.train.steps=5", "--noconfig.model.pac"]) == [
        ("train.steps", "--config.train.steps=5"),
        ("model.pac", "--noconfig.model.pac"),
    ]


def test_config_error_names_the_key_the_suggestion_and_what_is_allowed():
    config = str(REPO / "configs" / "wgan.py")
    assert cli.config_error(config, [("train.steps", "--config.train.steps=5")]) is None
    error = cli.config_error(config, [("train.stepz", "--config.train.stepz=5")])
    assert error.startswith("config error: --config.train.stepz=5: key 'train.stepz' ")
    assert "(did you mean train.steps?)" in error and "allowed in train: batch_size, " in error
    error = cli.config_error(config, [("optim.q.lr", "--config.optim.q.lr=1")])
    assert "allowed in optim: d, g" in error
    error = cli.config_error(config, [("seed.x", "--config.seed.x=1")])
    assert "seed is a value, not a block of keys" in error
    assert "preset 'ring9' is not known" in cli.config_error(config + ":ring9", [])
    assert "there is no file" in cli.config_error("configs/nope.py", [])
