"""Optimisers from config blocks ``{name, lr, b1, b2}`` (optax)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optax

OPTIMIZERS = ("adam", "rmsprop", "sgd")


def make_optimizer(cfg: Mapping[str, Any]) -> optax.GradientTransformation:
    name, lr = cfg["name"], float(cfg["lr"])
    if name == "adam":
        return optax.adam(lr, b1=float(cfg.get("b1", 0.9)), b2=float(cfg.get("b2", 0.999)))
    if name == "rmsprop":
        # PyTorch's RMSprop (the WGAN reference code) uses decay 0.99, eps 1e-8 outside the sqrt.
        return optax.rmsprop(lr, decay=0.99, eps=1e-8, eps_in_sqrt=False)
    if name == "sgd":
        return optax.sgd(lr)
    raise ValueError(f"optimizer name={name!r}; allowed: {list(OPTIMIZERS)}")
