"""Orbax checkpoints of a run: save, restore with fallback, and the rules for resuming.

Layout: ``workdir/checkpoints/<step>/`` holds three plain Orbax items, so a notebook restores
them with ``orbax.checkpoint`` alone (docs/checkpoints.md):

- ``state``: the whole ``steps.State`` pytree (StandardSave): the step, every network's params,
  optimiser state and BatchNorm statistics under ``nets/<name>``, EMA copies under
  ``ema/<name>``, the game's own arrays under ``aux`` and the run's PRNG key.
- ``config``: the resolved config as JSON (JsonSave).
- ``data``: the input pipeline's position as JSON (JsonSave), only for pipelines that have one.
  The embedded datasets derive each batch from (data key, step), so their position *is* the
  step and they save no ``data`` item; a stateful pipeline (a grain iterator) saves its
  ``get_state()`` here and gets it back in ``Restored.data``.

Orbax writes a step into ``<step>.orbax-checkpoint-tmp`` and renames it on commit, so a process
killed mid-save leaves the previous steps intact and only a tmp directory behind (reported by
``incomplete_saves``). ``restore`` tries the newest step first and falls back past any step it
cannot read, naming each one. Everything that loads a run (training's auto-resume,
``gan_jax.sample``) goes through ``restore``.

Resuming with a changed config: ``check_resume_config`` refuses changes to keys that change the
state's layout or the data (``REFUSED_ON_RESUME``), and ``restore`` double-checks the layout
against the checkpoint's array metadata, so a layout change through any other key is refused
too instead of being mistaken for a damaged checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from gan_jax import sharding
from gan_jax.errors import CheckpointError, GanJaxError

STATE, CONFIG, DATA = "state", "config", "data"
TMP_SUFFIX = ".orbax-checkpoint-tmp"

# Config keys whose change on resume is refused: they change the shapes in the saved state
# (game.name: the networks and players; model.*: widths, depths, z_dim, norms, upsampling;
# data.resolution; the optimiser kind, which sets the optimiser-state layout) or the data the
# run learns from (data.name). Every other key (learning rates, train.steps, batch size, logging
# and checkpoint intervals) may change; the trainer logs each change. Any layout change these
# prefixes miss is still caught by comparing the checkpoint's array metadata with the new state
# (``layout_differences``).
REFUSED_ON_RESUME = (
    "model.",
    "game.name",
    "data.name",
    "data.resolution",
    "optim.g.name",
    "optim.d.name",
)
# Exceptions to REFUSED_ON_RESUME: the compute dtype leaves the (float32) state as it is.
ALLOWED_ON_RESUME = ("model.dtype",)


def checkpoint_dir(workdir: str | pathlib.Path) -> pathlib.Path:
    return pathlib.Path(workdir).absolute() / "checkpoints"


def manager(
    workdir: str | pathlib.Path, max_to_keep: int = 3, *, create: bool = True
) -> ocp.CheckpointManager:
    """An asynchronous CheckpointManager on ``workdir/checkpoints`` keeping ``max_to_keep`` steps.

    Saves go through ``save`` (which passes force=True): the trainer decides when a save is due,
    so Orbax's own ``save_interval_steps`` stays at its default.
    """
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=create, enable_async_checkpointing=True
    )
    # Registering the handlers lets a fresh manager read item metadata before any restore.
    handlers = {
        STATE: ocp.StandardCheckpointHandler(),
        CONFIG: ocp.JsonCheckpointHandler(),
        DATA: ocp.JsonCheckpointHandler(),
    }
    return ocp.CheckpointManager(checkpoint_dir(workdir), item_handlers=handlers, options=options)


def save(
    mgr: ocp.CheckpointManager,
    step: int,
    state: Any,
    config: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> None:
    """Start an asynchronous save of ``state``, ``config`` and (if given) ``data`` at ``step``.

    Orbax copies the arrays to host memory before this returns, so the caller may donate
    ``state`` to the next step right away; ``mgr.wait_until_finished()`` waits for the write.
    """
    items = {STATE: ocp.args.StandardSave(state), CONFIG: ocp.args.JsonSave(dict(config))}
    if data is not None:
        items[DATA] = ocp.args.JsonSave(dict(data))
    mgr.save(step, args=ocp.args.Composite(**items), force=True)


def incomplete_saves(workdir: str | pathlib.Path) -> list[str]:
    """Names of the tmp directories of saves that never committed (a process killed mid-save)."""
    ckpt_dir = checkpoint_dir(workdir)
    if not ckpt_dir.is_dir():
        return []
    return sorted(p.name for p in ckpt_dir.iterdir() if TMP_SUFFIX in p.name)


@dataclasses.dataclass(frozen=True)
class Restored:
    """A restored checkpoint.

    Attributes:
      step: the checkpoint's step (generator updates done).
      state: the state pytree, in the layout of the abstract state it was restored into.
      config: the resolved config saved with it (a JSON dict).
      data: the input pipeline's saved position, or None when it saved none.
      unreadable: ``(step, reason)`` of each newer checkpoint that could not be read.
    """

    step: int
    state: Any
    config: dict
    data: dict | None
    unreadable: tuple[tuple[int, str], ...] = ()


def with_default_sharding(abstract_state: Any, default: jax.sharding.Sharding) -> Any:
    """Give ``default`` to every leaf of ``abstract_state`` that has no sharding.

    Leaves from ``jax.eval_shape`` have none; restored replicated over this run's devices (the
    layout training uses), a checkpoint written on other devices (a pod, 8 GPUs) loads on a
    laptop, where Orbax would otherwise refuse the saved topology.
    """
    return jax.tree.map(
        lambda x: (
            x
            if getattr(x, "sharding", None) is not None
            else jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=default)
        ),
        abstract_state,
    )


def _short(error: Exception, limit: int = 200) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def restore(
    mgr: ocp.CheckpointManager,
    abstract_state_for: Callable[[dict], Any],
    *,
    step: int | None = None,
    log: Callable[[str], None] = print,
    default_sharding: jax.sharding.Sharding | None = None,
) -> Restored | None:
    """Restore the newest readable checkpoint (or exactly ``step``); None when there is none.

    ``abstract_state_for(saved_config)`` returns the abstract state to restore into (e.g.
    ``jax.eval_shape`` of the initialiser); it may raise a ``GanJaxError`` to refuse the saved
    config, which propagates. Its leaves without a sharding get ``default_sharding`` (default:
    replicated over all devices, ``with_default_sharding``). A checkpoint that cannot be read
    (damaged or missing files) is reported through ``log`` and the previous one is tried; if
    none can be read this raises ``CheckpointError`` naming each failure.
    """
    if default_sharding is None:
        default_sharding = sharding.replicated(sharding.make_mesh())
    steps = sorted(mgr.all_steps(), reverse=True) if step is None else [step]
    if not steps:
        return None
    unreadable = []
    for s in steps:
        try:
            config = mgr.restore(s, args=ocp.args.Composite(**{CONFIG: ocp.args.JsonRestore()}))
            config = config[CONFIG]
            items = mgr.metadata(s).item_metadata
            refuse_old_layout(items[STATE].tree, s, mgr.directory)
            abstract = abstract_state_for(config)
            differences = layout_differences(abstract, items[STATE].tree)
            if differences:
                raise CheckpointError(
                    f"the state in checkpoint {s} in {mgr.directory} has a different layout "
                    "from this config's (path: saved -> now):\n  " + "\n  ".join(differences)
                )
            abstract = with_default_sharding(abstract, default_sharding)
            args = {STATE: ocp.args.StandardRestore(abstract)}
            if DATA in items:
                args[DATA] = ocp.args.JsonRestore()
            restored = mgr.restore(s, args=ocp.args.Composite(**args))
        except GanJaxError:
            raise
        except Exception as e:  # any failure to read a step means "unreadable"
            reason = _short(e)
            unreadable.append((s, reason))
            log(f"  checkpoint {s} in {mgr.directory} is unreadable ({reason})")
            continue
        if unreadable:
            log(f"  using the previous checkpoint, step {s}")
        data = restored.get(DATA)
        return Restored(s, restored[STATE], config, data, tuple(unreadable))
    failures = "\n  ".join(f"step {s}: {reason}" for s, reason in unreadable)
    raise CheckpointError(
        f"no readable checkpoint in {mgr.directory}:\n  {failures}\n"
        "Move the checkpoints directory away to start afresh."
    )


def restore_data(mgr: ocp.CheckpointManager, step: int) -> dict | None:
    """The input pipeline's position saved at ``step`` (the ``data`` item), or None if it has none.

    For the trainer, which restores the state first (``restore``) and opens its input afterwards.
    """
    if DATA not in mgr.metadata(step).item_metadata:
        return None
    return mgr.restore(step, args=ocp.args.Composite(**{DATA: ocp.args.JsonRestore()}))[DATA]


def load(
    workdir: str | pathlib.Path,
    abstract_state_for: Callable[[dict], Any],
    *,
    step: int | None = None,
    log: Callable[[str], None] = print,
    default_sharding: jax.sharding.Sharding | None = None,
) -> Restored:
    """``restore`` from ``workdir`` without writing to it (for samplers and evaluators)."""
    ckpt_dir = checkpoint_dir(workdir)
    if not ckpt_dir.is_dir():
        raise CheckpointError(f"no checkpoints in {ckpt_dir}: train a run with --workdir={workdir}")
    mgr = manager(workdir, create=False)
    try:
        restored = restore(
            mgr, abstract_state_for, step=step, log=log, default_sharding=default_sharding
        )
    finally:
        mgr.close()
    if restored is None:
        raise CheckpointError(f"no complete checkpoint in {ckpt_dir}")
    return restored


def restore_state(
    workdir: str | pathlib.Path, abstract_state: Any, step: int | None = None
) -> tuple[Any, int]:
    """(state, step) of the latest readable checkpoint (or ``step``) in ``workdir``.

    ``load`` for callers that already hold the abstract state (replicated over all devices
    where it has no sharding).
    """
    restored = load(workdir, lambda saved: abstract_state, step=step)
    return restored.state, restored.step


def set_aside(mgr: ocp.CheckpointManager, steps: Iterable[int]) -> list[pathlib.Path]:
    """Move unreadable checkpoint steps out of the manager's directory (kept for inspection).

    A resumed run re-saves those steps, which Orbax refuses while the old directories exist.
    """
    root = pathlib.Path(mgr.directory)
    moved = []
    for s in steps:
        target = root.parent / "unreadable_checkpoints" / str(s)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(root / str(s), target)
        moved.append(target)
    mgr.reload()
    return moved


def refuse_old_layout(saved_tree: Any, step: int, directory) -> None:
    """Raise CheckpointError for a state saved before games (top-level ``g`` / ``d``, no ``nets``).

    The state layout changed once, when every GAN became a game of named networks
    (``steps.State``); such checkpoints are refused with one line rather than read wrongly.
    """
    if isinstance(saved_tree, Mapping) and "nets" not in saved_tree and "g" in saved_tree:
        raise CheckpointError(
            f"checkpoint {step} in {directory} has the layout of gan_jax before games "
            "(state.g / state.d; now state.nets['g'] / state.nets['d']): it cannot be resumed "
            "or loaded by this version; retrain into a new --workdir, or read its arrays with "
            "Orbax alone (docs/checkpoints.md)"
        )


def _flat_leaves(tree: Any) -> dict[str, Any]:
    flat = ocp.tree.to_flat_dict(tree)
    return {"/".join(str(k) for k in path): leaf for path, leaf in flat.items()}


def layout_differences(abstract_state: Any, saved_tree: Any) -> list[str]:
    """``path: saved -> now`` for every array whose presence, shape or dtype differs.

    ``saved_tree`` is the ``state`` item's metadata tree (``mgr.metadata(step)``). PRNG keys are
    compared by presence only: Orbax stores a typed key as its raw uint32 key data.
    """
    now = _flat_leaves(ocp.tree.serialize_tree(abstract_state))
    saved = _flat_leaves(saved_tree)

    def describe(leaf) -> str:
        return f"{tuple(leaf.shape)} {np.dtype(leaf.dtype).name}" if leaf is not None else "absent"

    differences = []
    for path in sorted(set(now) | set(saved)):
        a, b = saved.get(path), now.get(path)
        if a is not None and b is not None:
            if jax.dtypes.issubdtype(b.dtype, jax.dtypes.prng_key):
                continue
            if tuple(a.shape) == tuple(b.shape) and np.dtype(a.dtype) == np.dtype(b.dtype):
                continue
        differences.append(f"{path}: {describe(a)} -> {describe(b)}")
    return differences


def flatten_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys to JSON-normalised values (tuples become lists, as in the saved config)."""
    flat = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(f"{prefix}{k}.", v)
        else:
            flat[prefix[:-1]] = node

    walk("", json.loads(json.dumps(dict(config), default=str)))
    return flat


_ABSENT = "<absent>"


def config_changes(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(key, saved value, current value)`` for every key whose value differs."""
    old, new = flatten_config(saved), flatten_config(now)
    return [
        (k, old.get(k, _ABSENT), new.get(k, _ABSENT))
        for k in sorted(set(old) | set(new))
        if old.get(k, _ABSENT) != new.get(k, _ABSENT)
    ]


def is_refused_on_resume(key: str) -> bool:
    if key in ALLOWED_ON_RESUME:
        return False
    return any(key.startswith(p) if p.endswith(".") else key == p for p in REFUSED_ON_RESUME)


def check_resume_config(
    saved: Mapping[str, Any], now: Mapping[str, Any], where: str = "the checkpoint"
) -> list[tuple[str, Any, Any]]:
    """The allowed changes from ``saved`` to ``now``; raise CheckpointError on a refused one.

    The error lists every refused change as ``key: saved -> now``.
    """
    changes = config_changes(saved, now)
    refused = [c for c in changes if is_refused_on_resume(c[0])]
    if refused:
        lines = "\n  ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in refused)
        raise CheckpointError(
            f"cannot resume from {where}: these config changes would change the saved state's "
            f"shapes or the data (key: saved -> now):\n  {lines}\n"
            "Restore those values, or train into a new --workdir. Learning rates, train.steps, "
            "batch size and logging/checkpoint intervals may change on resume."
        )
    return changes
