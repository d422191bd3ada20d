"""Divergence guard: find the first non-finite metric of a run without a host sync per step.

After every step a tiny jit-ted ``update_guard`` folds the step's metrics into a guard pytree:
the generator step at which a metric first became non-finite (-1 while all are finite) and a
bitmask of which metrics were non-finite at that step, in ``sorted(metrics)`` order. It lives
in device memory, so the host reads it only when it already syncs (log steps) and before every
checkpoint save; the message still names the exact first bad step and term (big_vision's
"fail loudly on non-finite values", without its per-step sync).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp

Guard = dict[str, jax.Array]
MAX_METRICS = 32  # bits in the uint32 mask


def init_guard() -> Guard:
    return {"first_bad_step": jnp.array(-1, jnp.int32), "bad_mask": jnp.array(0, jnp.uint32)}


def update_guard(guard: Guard, metrics: dict[str, jax.Array], step: jax.Array) -> Guard:
    """Record ``step`` and the non-finite metrics if this is the first step with any (pure)."""
    names = sorted(metrics)
    if len(names) > MAX_METRICS:
        raise ValueError(f"the guard tracks at most {MAX_METRICS} metrics; got {len(names)}")
    bad = [~jnp.all(jnp.isfinite(metrics[k])) for k in names]
    mask = sum(b.astype(jnp.uint32) << i for i, b in enumerate(bad))
    first = (guard["first_bad_step"] < 0) & (mask != 0)
    return {
        "first_bad_step": jnp.where(first, jnp.asarray(step, jnp.int32), guard["first_bad_step"]),
        "bad_mask": jnp.where(first, mask, guard["bad_mask"]),
    }


def describe(guard: Guard, metric_names: Iterable[str]) -> str | None:
    """None while the guard is clean, else 'non-finite d/loss, ... at step N' (syncs the host)."""
    guard = jax.device_get(guard)
    step = int(guard["first_bad_step"])
    if step < 0:
        return None
    mask = int(guard["bad_mask"])
    terms = [k for i, k in enumerate(sorted(metric_names)) if mask >> i & 1]
    return f"non-finite {', '.join(terms)} at step {step}"


@jax.jit
def all_finite(tree: Any) -> jax.Array:
    """Whether every floating-point leaf of ``tree`` is finite (one device reduction)."""
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in leaves] or [True]))
