"""Shared fixtures: loading the repository's config files as the CLI does, and a per-session
extractor cache so tests never write to ~/.cache."""

from __future__ import annotations

import importlib
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG_NAMES = ("gan", "nsgan", "wgan", "wgan_gp", "lsgan", "hinge")
CONFIG_NAMES_2D = ("pacgan", "grid25_best")  # 2D-only recipes (their default preset is grid25)


def load_config(name: str, preset: str | None = None, **overrides):
    """configs/<name>.py:get_config(preset), then dotted-key overrides ('train.steps': 3)."""
    cfg = importlib.import_module(f"configs.{name}").get_config(preset)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        node[leaf] = value
    return cfg


def tiny(cfg):
    """Shrink a config to something that trains in a second or two."""
    cfg.train.steps = 3
    cfg.train.log_every = 1
    cfg.train.sample_every = 0
    cfg.eval.num_samples = 64
    if cfg.model.name in ("dcgan", "resnet"):
        cfg.model.width = 8
        cfg.train.batch_size = 8
        if cfg.model.name == "resnet":
            cfg.data.resolution = 16  # compiles in a fraction of the 32x32 time
            cfg.train.d_steps = 2  # SNGAN's 5 critic steps are unrolled: 5 compiled copies
    else:
        cfg.model.g_hidden = cfg.model.d_hidden = (16, 16)
        cfg.train.batch_size = 32
    return cfg


@pytest.fixture
def config_loader():
    return load_config


@pytest.fixture(scope="session", autouse=True)
def gan_jax_cache(tmp_path_factory):
    """Point $GAN_JAX_CACHE at a temporary directory for the whole session (subprocesses too)."""
    path = tmp_path_factory.mktemp("gan_jax_cache")
    old = os.environ.get("GAN_JAX_CACHE")
    os.environ["GAN_JAX_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("GAN_JAX_CACHE", None)
    else:
        os.environ["GAN_JAX_CACHE"] = old


@pytest.fixture(scope="session")
def digits_classifier(gan_jax_cache):
    """The 16x16 digits classifier, trained once per session into the session cache."""
    from gan_jax import classifier

    return classifier.digits_classifier(16)
