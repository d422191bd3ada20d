"""Shared fixtures: loading the repository's config files as the CLI does, a per-session
extractor cache so tests never write to ~/.cache, and a per-session XLA compilation cache."""

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
    return override(importlib.import_module(f"configs.{name}").get_config(preset), overrides)


def override(cfg, overrides):
    """Set dotted keys of ``cfg`` in place ({'train.steps': 3}); returns ``cfg``."""
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        node[leaf] = value
    return cfg


def tiny_run(recipe: str, steps: int = 3, preset: str | None = None, **overrides):
    """configs/<recipe>.py shrunk for end-to-end tests: ``steps`` steps of batch 8, metrics
    every step, no sample pictures, no evaluations, one checkpoint at the end; then the
    dotted ``overrides`` (a game's own sizes), which win."""
    cfg = load_config(recipe, preset)
    cfg.train.steps, cfg.train.log_every, cfg.train.sample_every = steps, 1, 0
    cfg.train.batch_size = 8
    cfg.eval.num_samples, cfg.eval.every_steps, cfg.eval.at_start = 64, 0, False
    cfg.checkpoint.every_steps = steps
    return override(cfg, overrides)


def leaves(tree) -> list:
    """The leaves of a pytree as numpy arrays (PRNG keys as their key data), to compare states."""
    import jax
    import numpy as np

    out = []
    for x in jax.tree.leaves(tree):
        if hasattr(x, "dtype") and jax.numpy.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


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


@pytest.fixture(scope="session")
def mnist5k_classifier(gan_jax_cache):
    """The 32x32 mnist5k classifier (the preset's resolution), trained once per session."""
    from gan_jax import classifier

    return classifier.dataset_classifier("mnist5k", 32)


@pytest.fixture(scope="session", autouse=True)
def xla_compilation_cache(tmp_path_factory):
    """JAX's persistent compilation cache in a temporary directory, for the whole session.

    Test-only. Every training run builds new jit-ted functions, which the in-memory cache cannot
    match, so the many tiny runs of the suite would compile the same programs again and again;
    with the persistent cache a program compiles once per session (subprocesses share it
    through the environment). Numbers are unaffected: a cached executable is the compiled one.
    """
    import jax
    from jax._src import compilation_cache

    keys = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    saved = {k: getattr(jax.config, k) for k in keys}
    cache_dir = str(tmp_path_factory.mktemp("xla_cache"))
    env = {
        "JAX_COMPILATION_CACHE_DIR": cache_dir,
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }
    old_env = {k: os.environ.get(k) for k in env}
    jax.config.update(keys[0], cache_dir)
    jax.config.update(keys[1], 0.0)
    compilation_cache.reset_cache()
    os.environ.update(env)
    yield cache_dir
    for k, v in saved.items():
        jax.config.update(k, v)
    compilation_cache.reset_cache()
    for k, v in old_env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
