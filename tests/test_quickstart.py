"""The quickstart shows learning: each objective's default digits run ends with recognisable digits.

Slow (minutes per config on 2 CPU cores): run with ``pytest -m slow tests/test_quickstart.py``.
The criterion of the evaluation issue: the digits classifier assigns the final samples to at
least 9 of the 10 classes with at least 3% each, and the Frechet distance is well below (here:
under a fifth of) the untrained generator's, measured at step 0 of the same run.
"""

from __future__ import annotations

import json

import pytest
from conftest import CONFIG_NAMES, load_config

from gan_jax import train


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_default_digits_run_learns(tmp_path, name, digits_classifier):
    train.train_and_evaluate(load_config(name), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    untrained = next(r for r in records if r["step"] == 0 and "eval/frechet_distance" in r)
    final = json.loads((tmp_path / "eval.json").read_text())
    assert final["classes_min_fraction"] >= 9, final["class_histogram"]
    assert final["frechet_distance"] < 0.2 * untrained["eval/frechet_distance"]
