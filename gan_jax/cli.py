"""What the command-line entry points share: quiet library logs and one-line errors.

``gan_jax.main``, ``gan_jax.sample`` and ``gan_jax.evaluate`` start with ``cli.run(main)``
instead of ``absl.app.run(main)``, which differs in two ways:

- Logs: the terminal shows gan_jax's own lines and the libraries' warnings and errors. Orbax
  logs about 40 INFO lines per checkpoint save and JAX one per backend it cannot start
  ("Unable to initialize backend 'tpu'"), both through Python logging, which ``app.run`` sets
  to INFO. Unless ``--verbosity`` (``-v``) is given, the level is WARNING instead;
  ``--verbosity=0`` brings the INFO lines back.
- Errors: a bad ``--config`` (no such file, an unknown preset, a misspelt key) or any other
  bad flag exits with status 1 and one ``gan_jax: ...`` line on stderr, before anything is
  written. The config file's package root (the parent of ``configs/``) goes on ``sys.path``
  first, so the recipes' ``from configs import default`` works from any working directory.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import pathlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import ml_collections
from absl import app, flags, logging

FLAGS = flags.FLAGS
CONFIG_FLAG = "config"


def run(main: Callable[[list[str]], Any]) -> None:
    """``absl.app.run(main)`` with gan_jax's flag errors and log level (module docstring)."""

    def quiet_main(argv: list[str]) -> Any:
        quiet_library_logs()
        return main(argv)

    app.run(quiet_main, flags_parser=parse_flags)


def quiet_library_logs() -> None:
    """Python logging at WARNING unless ``--verbosity`` was given (``app.run`` sets INFO)."""
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)


def parse_flags(argv: Sequence[str]) -> list[str]:
    """``FLAGS(argv)``; a bad flag or config exits with one ``gan_jax: ...`` line."""
    argv = list(argv)
    if CONFIG_FLAG in FLAGS:
        config_arg = flag_value(argv, CONFIG_FLAG)
        if config_arg is not None:
            error = config_error(config_arg, config_overrides(argv))
            if error is not None:
                sys.exit(f"gan_jax: {error}")
    try:
        return FLAGS(argv)
    except Exception as e:  # only user input is parsed here: flag values and the config
        sys.exit(f"gan_jax: {last_line(e)}")


def last_line(error: BaseException) -> str:
    """The last non-empty line of an error's message (config_flags embeds whole tracebacks)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def flag_value(argv: Sequence[str], name: str) -> str | None:
    """The value ``argv`` gives flag ``name`` (``--name=V`` or ``--name V``; the last wins)."""
    value = None
    args = list(argv[1:])
    for i, arg in enumerate(args):
        if arg == "--":
            break
        for prefix in (f"--{name}", f"-{name}"):
            if arg.startswith(prefix + "="):
                value = arg[len(prefix) + 1 :]
            elif arg == prefix and i + 1 < len(args):
                value = args[i + 1]
    return value


def config_overrides(argv: Sequence[str]) -> list[tuple[str, str]]:
    """``(key, argument)`` of every ``--config.KEY[=VALUE]`` (and ``--noconfig.KEY``)."""
    found = []
    for arg in argv[1:]:
        if arg == "--":
            break
        for prefix in (f"--{CONFIG_FLAG}.", f"-{CONFIG_FLAG}.", f"--no{CONFIG_FLAG}."):
            if arg.startswith(prefix):
                found.append((arg[len(prefix) :].split("=", 1)[0], arg))
                break
    return found


def config_package_root(config_file: pathlib.Path) -> pathlib.Path | None:
    """The directory above the config file's package (``configs/``), None if it has none."""
    directory = config_file.resolve().parent
    return directory.parent if (directory / "__init__.py").is_file() else None


def load_config(config_arg: str) -> ml_collections.ConfigDict:
    """What config_flags loads for ``--config=FILE[:ARG]``: ``get_config(ARG)`` of FILE."""
    path, *arg = config_arg.split(":", 1)  # config_flags splits at the first colon too
    root = config_package_root(pathlib.Path(path))
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location("gan_jax_cli_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(*arg)


def config_error(config_arg: str, overrides: Sequence[tuple[str, str]]) -> str | None:
    """The one-line error for ``--config=config_arg`` and its overrides; None if they are fine."""
    path = config_arg.split(":", 1)[0]
    if not pathlib.Path(path).is_file():
        return (
            f"config error: --config={config_arg}: there is no file {path!r} "
            f"(relative paths start at {os.getcwd()}); allowed: a config file such as "
            "configs/wgan.py"
        )
    try:
        config = load_config(config_arg)
    except Exception as e:  # the user's config file, or its preset, failed
        return f"config error: --config={config_arg}: {last_line(e)}"
    for key, arg in overrides:
        problem = unknown_key(config, key)
        if problem is not None:
            return f"config error: {arg}: {problem}"
    return None


def unknown_key(config: ml_collections.ConfigDict, key: str) -> str | None:
    """Why dotted ``key`` names no field of ``config`` (with the allowed keys); None if it does."""
    node, done = config, []
    for part in key.split("."):
        where = ".".join(done) or "the config"
        if not isinstance(node, ml_collections.ConfigDict):
            return f"{where} is a value, not a block of keys"
        if part not in node:
            allowed = sorted(node.keys())
            close = difflib.get_close_matches(part, allowed, n=1)
            hint = f" (did you mean {'.'.join([*done, close[0]])}?)" if close else ""
            return f"key {key!r} does not exist{hint}; allowed in {where}: {', '.join(allowed)}"
        node = node[part]
        done.append(part)
    return None
