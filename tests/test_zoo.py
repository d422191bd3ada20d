"""experiments/zoo.py: its rows come from the registries, its table from the records."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "experiments"))
import zoo  # noqa: E402

from gan_jax import losses  # noqa: E402


def test_rows_are_every_registry_entry_with_a_recipe():
    rows = zoo.registered_rows()
    with_recipe = {o.recipe for o in losses.OBJECTIVES.values() if o.recipe}
    assert with_recipe <= set(rows) and {"nsgan", "wgan_gp", "sngan", "pacgan"} <= set(rows)
    assert all((REPO / "configs" / f"{recipe}.py").is_file() for recipe in rows)
    assert rows["sngan"]["kind"] == "model" and rows["nsgan"]["variant"] == "non_saturating"


def test_table_has_a_line_per_trained_row_and_marks_overridden_budgets():
    rows = zoo.registered_rows()
    results = {
        "nsgan": {
            "dataset": "digits",
            "steps": 100,
            "default_steps": 3500,
            "cpu_seconds": 12.3,
            "metrics": {"frechet_distance": 22.94, "kid": 14.4, "headline/code_accuracy": 0.9},
        }
    }
    table = zoo.write_table(results, rows)
    (line,) = [line for line in table.splitlines() if "`configs/nsgan.py`" in line]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[4] == "100*" and cells[5] == "22.9" and cells[6] == "14.4" and cells[-1] == "12"
    assert cells[-2] == "code_accuracy 0.9"
    assert "Not trained yet:" in table and "wgan_gp" in table.split("Not trained yet:")[1]
