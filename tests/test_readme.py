"""The README's code and commands stay true."""

import re

from conftest import REPO

README = (REPO / "README.md").read_text()


def test_readme_python_snippets_run():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_commands_match_ci():
    ci = (REPO / ".ci" / "run").read_text()
    test_line = 'python3 -m pip install -e ".[test]" && python3 -m pytest'
    assert test_line in README and test_line in ci
    run_line = "python3 -m pip install -e . && python3 -m gan_jax.main --config=configs/wgan.py"
    assert run_line in README
