"""Orbax checkpoints of a run: the whole GANState plus the resolved config as JSON.

Layout: ``workdir/checkpoints/<step>/{state,config}``, plain Orbax (StandardSave for the state
pytree, JsonSave for the config), so a notebook can restore the generator without gan_jax.
Everything that loads a run (training, ``gan_jax.sample``) goes through ``restore_state``.
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import orbax.checkpoint as ocp

from gan_jax import sharding
from gan_jax.errors import GanJaxError


def checkpoint_dir(workdir: str | pathlib.Path) -> pathlib.Path:
    return pathlib.Path(workdir).absolute() / "checkpoints"


def manager(
    workdir: str | pathlib.Path, max_to_keep: int = 3, *, create: bool = True
) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=create, enable_async_checkpointing=True
    )
    return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def save(mgr: ocp.CheckpointManager, step: int, state: Any, config: dict) -> None:
    """Start an asynchronous save of ``state`` and ``config`` at ``step``."""
    mgr.save(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config)
        ),
        force=True,
    )


def restore_state(workdir: str | pathlib.Path, abstract_state: Any, step: int | None = None):
    """Restore the state at ``step`` (default: the latest) into the layout of ``abstract_state``.

    Leaves of ``abstract_state`` without a sharding (e.g. from ``jax.eval_shape``) are restored
    replicated over this run's devices, the layout training uses; a checkpoint written on other
    devices (a pod, 8 GPUs) thus loads on a laptop, where Orbax would otherwise refuse the
    saved topology.
    """
    replicated = sharding.replicated(sharding.make_mesh())
    abstract_state = jax.tree.map(
        lambda x: (
            x
            if getattr(x, "sharding", None) is not None
            else jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated)
        ),
        abstract_state,
    )
    ckpt_dir = checkpoint_dir(workdir)
    if not ckpt_dir.is_dir():
        raise GanJaxError(f"no checkpoints in {ckpt_dir}: train a run with --workdir={workdir}")
    mgr = manager(workdir, create=False)
    step = mgr.latest_step() if step is None else step
    if step is None:
        raise GanJaxError(f"no complete checkpoint in {ckpt_dir}")
    restored = mgr.restore(
        step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state))
    )
    mgr.close()
    return restored["state"], step
