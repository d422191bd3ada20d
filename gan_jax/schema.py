"""Config keys declared where they are read: each registry entry owns its keys.

An objective, penalty, model family, dataset, extractor or game declares the keys it reads as
``{name: Key(default, check, allowed, doc)}``. ``defaults(*specs)`` builds a config block from
them (configs/default.py does), ``check_block(prefix, block, spec)`` raises one ``ConfigError``
naming the key, the value and what is allowed. A key read by several entries (``model.width``
by dcgan and resnet) is declared by each with the same default, and ``defaults`` refuses two
different ones, so every default has one home per reader and never disagrees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import ml_collections

from gan_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Key:
    """One config key: its default, a check of a value, what is allowed (for the error), a doc."""

    default: Any
    check: Callable[[Any], bool]
    allowed: str
    doc: str = ""


Spec = Mapping[str, Key]


def traced(value) -> bool:
    """Whether ``value`` is a JAX tracer: a swept value that ``gan_jax.sweep`` vmaps over.

    A sweep checks every member's concrete config first, then builds the run once more inside
    the vmapped program with the swept keys set to tracers; those are not checked again.
    """
    return isinstance(value, jax.core.Tracer)


def real(value) -> Any:
    """``float(value)``, or the tracer itself when a sweep vmaps over the key (``traced``)."""
    return value if traced(value) else float(value)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_number(key: str, value, kind=(int, float), low: float = 0, high=None) -> None:
    """ConfigError unless ``value`` is a ``kind`` number (not a bool) with low <= value (< high);
    for game modules that check their keys by hand rather than through a ``Spec``."""
    bad = isinstance(value, bool) or not isinstance(value, kind) or value < low
    if bad or (high is not None and value >= high):
        what = "an integer" if kind is int else "a number"
        raise ConfigError(key, value, f"{what} >= {low}" + (f" and < {high}" if high else ""))


def positive(default, doc: str = "") -> Key:
    return Key(default, lambda v: _number(v) and v > 0, "a positive number", doc)


def non_negative(default, doc: str = "") -> Key:
    return Key(default, lambda v: _number(v) and v >= 0, "a non-negative number", doc)


def number(default, doc: str = "") -> Key:
    return Key(default, _number, "a number", doc)


def positive_int(default, doc: str = "") -> Key:
    return Key(default, lambda v: _integer(v) and v > 0, "a positive integer", doc)


def non_negative_int(default, doc: str = "", allowed: str = "a non-negative integer") -> Key:
    return Key(default, lambda v: _integer(v) and v >= 0, allowed, doc)


def unit_interval(default, doc: str = "", allowed: str = "a number in [0, 1)") -> Key:
    return Key(default, lambda v: _number(v) and 0 <= v < 1, allowed, doc)


def boolean(default, doc: str = "") -> Key:
    return Key(default, lambda v: isinstance(v, bool), "True or False", doc)


def choice(default, allowed: Iterable, doc: str = "") -> Key:
    options = tuple(allowed)
    return Key(default, lambda v: v in options, str(sorted(options)), doc)


def string(default, doc: str = "") -> Key:
    return Key(default, lambda v: isinstance(v, str), "a string", doc)


def int_tuple(default, doc: str = "") -> Key:
    return Key(
        tuple(default),
        lambda v: isinstance(v, (tuple, list)) and all(_integer(x) and x > 0 for x in v),
        "a tuple of positive integers",
        doc,
    )


def defaults(*specs: Spec) -> ml_collections.ConfigDict:
    """A config block holding every key of ``specs`` at its default."""
    block: dict[str, Any] = {}
    for spec in specs:
        for name, key in spec.items():
            if name in block and block[name] != key.default:
                raise ValueError(
                    f"key {name!r} declared with defaults {block[name]!r} and {key.default!r}"
                )
            block[name] = key.default
    return ml_collections.ConfigDict(block)


def check_block(prefix: str, block: Mapping[str, Any], spec: Spec) -> None:
    """Raise ConfigError for the first key of ``spec`` whose value in ``block`` is not allowed.

    A key the block lacks takes its default (configs written before the key existed). Traced
    values (``traced``) were checked as concrete values before the sweep traced them.
    """
    for name, key in spec.items():
        value = block[name] if name in block else key.default
        if not traced(value) and not key.check(value):
            raise ConfigError(f"{prefix}.{name}", value, key.allowed)


def value(block: Mapping[str, Any], spec: Spec, name: str) -> Any:
    """``block[name]``, or the spec's default for a block written before the key existed."""
    return block[name] if name in block else spec[name].default
