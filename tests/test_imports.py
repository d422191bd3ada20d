"""Importing gan_jax starts no XLA backend.

``jax.distributed.initialize`` (every host of a pod, tests/test_parallel.py) must run before
anything touches a device; a module-level ``jnp`` computation anywhere in the package breaks
multi-host runs at import (f-GAN's ``log 2`` once did). Each CLI module defines absl flags, so
only one of them is imported per process.
"""

import subprocess
import sys

import pytest
from conftest import REPO

CHECK = """
import importlib, pkgutil, sys
import gan_jax
clis = {'gan_jax.main', 'gan_jax.reference_stats', 'gan_jax.sample', 'gan_jax.evaluate',
        'gan_jax.sweep'}
names = [m.name for m in pkgutil.walk_packages(gan_jax.__path__, 'gan_jax.')]
for name in names:
    if name not in clis:
        importlib.import_module(name)
importlib.import_module(sys.argv[1])
import configs.default
from jax._src import xla_bridge
assert not xla_bridge._backends, sorted(xla_bridge._backends)
print(len(names))
"""


@pytest.mark.parametrize("cli", ["gan_jax.main", "gan_jax.sweep"])
def test_importing_every_module_starts_no_backend(cli):
    proc = subprocess.run(
        [sys.executable, "-c", CHECK, cli], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) > 40
