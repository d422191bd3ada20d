"""Optimisers from config blocks ``{name, lr, b1, b2, schedule, decay_steps}`` (optax).

The generator and the critic each have their own block (``optim.g``, ``optim.d``), so their
learning rates and Adam betas are set separately: the two time-scale update rule (TTUR, Heusel
et al. 2017, arXiv 1706.08500) is ``optim.d.lr`` != ``optim.g.lr``. ``b1`` and ``b2`` are Adam's
betas (DCGAN: 0.5, 0.999; WGAN-GP and SNGAN: 0, 0.9).

``schedule='constant'`` (the default) keeps ``lr``; ``schedule='cosine'`` decays it as
lr * (1 + cos(pi t / decay_steps)) / 2 to 0 at update ``decay_steps`` (Loshchilov & Hutter 2017,
arXiv 1608.03983, without restarts; ``optax.cosine_decay_schedule``); ``schedule='linear'``
decays it as lr * (1 - t / decay_steps) to 0 at update ``decay_steps`` and holds 0 after
(``optax.linear_schedule``; the decay of SNGAN's and BigGAN's longer runs). ``t`` counts this
optimiser's own updates, so a critic with ``train.d_steps = k`` reaches the end after
``decay_steps / k`` generator steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import optax

from gan_jax import schema
from gan_jax.errors import ConfigError

OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine", "linear")

# The keys of an `optim.<block>`, declared here where they are read (gan_jax/schema.py).
KEYS: schema.Spec = {
    "name": schema.choice("adam", OPTIMIZERS, "the optimiser"),
    "lr": schema.positive(2e-4, "learning rate (the peak of a schedule)"),
    "b1": schema.unit_interval(0.5, "adam: beta1 (DCGAN 0.5; WGAN-GP, SNGAN 0)"),
    "b2": schema.unit_interval(0.999, "adam: beta2 (DCGAN 0.999; WGAN-GP, SNGAN 0.9)"),
    # 'constant', or 'cosine' / 'linear': lr decays to 0 over decay_steps of this optimiser's own
    # updates (the critic makes train.d_steps per generator update).
    "schedule": schema.choice("constant", SCHEDULES, "the learning-rate schedule"),
    "decay_steps": schema.non_negative_int(0, "updates over which a schedule decays lr to 0"),
}


def default_block():
    """An `optim.<block>` config block at its defaults (Adam, lr 2e-4, betas 0.5 / 0.999)."""
    return schema.defaults(KEYS)


def check(prefix: str, cfg: Mapping[str, Any]) -> None:
    """ConfigError on a bad value of the `optim` block ``prefix`` (e.g. 'optim.d')."""
    schema.check_block(prefix, cfg, KEYS)
    if cfg["schedule"] != "constant" and not cfg["decay_steps"] > 0:
        raise ConfigError(
            f"{prefix}.decay_steps", cfg["decay_steps"], "a positive integer with a schedule"
        )


def learning_rate(cfg: Mapping[str, Any]) -> float | jax.Array | optax.Schedule:
    """The block's learning rate: a constant or a schedule of the optimiser's update count."""
    lr = schema.real(cfg["lr"])
    schedule = schema.value(cfg, KEYS, "schedule")
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return optax.cosine_decay_schedule(lr, int(cfg["decay_steps"]))
    if schedule == "linear":
        return optax.linear_schedule(lr, 0.0, int(cfg["decay_steps"]))
    raise ValueError(f"optimizer schedule={schedule!r}; allowed: {list(SCHEDULES)}")


def make_optimizer(cfg: Mapping[str, Any]) -> optax.GradientTransformation:
    """The optimiser of one config block (``optim.g`` or ``optim.d``)."""
    name, lr = cfg["name"], learning_rate(cfg)
    if name == "adam":
        b1, b2 = (schema.real(schema.value(cfg, KEYS, b)) for b in ("b1", "b2"))
        return optax.adam(lr, b1=b1, b2=b2)
    if name == "rmsprop":
        # PyTorch's RMSprop (the WGAN reference code) uses decay 0.99, eps 1e-8 outside the sqrt.
        return optax.rmsprop(lr, decay=0.99, eps=1e-8, eps_in_sqrt=False)
    if name == "sgd":
        return optax.sgd(lr)
    raise ValueError(f"optimizer name={name!r}; allowed: {list(OPTIMIZERS)}")
