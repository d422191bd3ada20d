"""The trainer's one compiled call: ``steps_per_dispatch`` train steps with no host work between.

``make_dispatch(run, k, mesh)`` returns ``(state, guard) -> (state, guard, metrics)``: each train
step samples its real batches inside the call from the run's data key and ``state.step``
(``Run.sample_batches``), runs ``steps.train_step`` of the run's game and folds its metrics into
the divergence guard, so k steps per call give the numbers of k calls of one. The state is
donated; the metrics are the last step's. With a ``mesh`` the call is data parallel (state
replicated, batches split along B) and each device samples only its shard of the batches.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import jax
from jax.sharding import Mesh

from gan_jax import divergence, sharding, steps, xla_cpu
from gan_jax.runs import Run

# Model families whose multi-step dispatch is a rolled lax.scan; all others are unrolled.
ROLLED_MODELS = ("mlp", "pacgan_mlp")


def make_dispatch(
    run: Run,
    steps_per_dispatch: int = 1,
    mesh: Mesh | None = None,
    *,
    jit: bool = True,
    stage: int = 0,
) -> Callable[..., tuple[steps.State, divergence.Guard, dict]]:
    """``(state, guard) -> (state, guard, metrics)``: ``steps_per_dispatch`` train steps.

    ``stage``: the game's stage these steps train (``steps.Game.at_stage``); the caller keeps
    the steps of one call inside one stage.

    MLPs loop with a rolled lax.scan (one compiled body whatever k). Convnets are unrolled into
    k copies: XLA:CPU keeps convolution gradients on its fast kernels only outside while loops
    (see ``steps.train_step``), so a rolled loop would be many times slower; their compile time
    grows with k (experiments/README.md).

    Host datasets (``run.dataset.on_host``: TFDS, image folders) cannot be sampled in the graph;
    their dispatch is ``(state, guard, batches) -> ...`` with the k steps' batches stacked on
    the host (leaves (k, n, B, ...), split over the mesh along B): one transfer per call, so
    k > 1 still saves the per-call overhead, at the cost of k steps of input in memory.

    ``jit=False`` returns the pure function, with an optional fourth argument ``seed`` (default
    ``config.seed``) whose data stream it samples: ``jax.vmap`` over states, guards and seeds
    trains several seeds in one program (experiments/mode_collapse_2d.py).
    """
    tc = run.config.train
    fed = run.dataset.on_host
    step_fn = steps.make_train_step(run.game.at_stage(stage), jit=False, mesh=mesh)
    layout = None if mesh is None else sharding.batch_sharding(mesh, batch_axis=1)
    rolled = run.config.model.name in ROLLED_MODELS

    def update(state, guard, batches=None, seed=run.config.seed):
        if batches is None:
            batches = run.sample_batches(run.data_key(seed), state.step)
        if layout is not None:
            batches = jax.lax.with_sharding_constraint(batches, layout)
        state, metrics = step_fn(state, batches)
        return state, divergence.update_guard(guard, metrics, state.step), metrics

    def dispatch(state, guard, fed_batches=None, seed=run.config.seed):
        if rolled and steps_per_dispatch > 1:

            def body(carry, batches):
                state, guard, metrics = update(*carry, batches, seed)
                return (state, guard), metrics

            (state, guard), metrics = jax.lax.scan(
                body, (state, guard), fed_batches, length=steps_per_dispatch
            )
            return state, guard, jax.tree.map(lambda m: m[-1], metrics)
        for i in range(steps_per_dispatch):
            # Step i's slice of the fed batches (None stays None: the batches are sampled).
            batches = jax.tree.map(operator.itemgetter(i), fed_batches)
            state, guard, metrics = update(state, guard, batches, seed)
        return state, guard, metrics

    if not jit:
        return dispatch
    devices = jax.devices() if mesh is None else mesh.devices.flat
    options = xla_cpu.compiler_options(tc, devices)
    if mesh is None:
        return jax.jit(dispatch, donate_argnums=0, compiler_options=options)
    rep = sharding.replicated(mesh)
    in_shardings = (rep, rep, sharding.batch_sharding(mesh, batch_axis=2)) if fed else (rep, rep)
    return jax.jit(
        dispatch,
        in_shardings=in_shardings,
        out_shardings=(rep, rep, rep),
        donate_argnums=0,
        compiler_options=options,
    )
