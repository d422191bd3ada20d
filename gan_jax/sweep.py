"""Many seeds and hyperparameter values in one compiled program: ``python -m gan_jax.sweep``.

    python -m gan_jax.sweep --config=configs/nsgan.py:grid25 --seeds=0-4 \\
        [--sweep=optim.d.lr=1e-4,2e-4,4e-4 ...] [--workdir=DIR]

The members of a sweep are every combination of the ``--sweep`` values (the cartesian product
over the keys) times every seed. They train together: the trainer's own dispatch
(``gan_jax.dispatch.make_dispatch``, ``jit=False``) under ``jax.vmap`` over the members' states,
divergence guards, seeds and swept values, one compiled program whatever the number of members.
The swept values enter that program as arrays: inside it the run is built once more from the
config with each swept key set to its (traced) value, so every number the config feeds into the
computation (learning rates, Adam betas, loss and penalty weights) can be swept. A key whose
value changes a shape (widths, batch size, z_dim, ...) is refused with one ConfigError naming it;
so is a key the builders read as a Python value (a step count, a schedule length, a name).

On several devices the members are spread over them: the stacked states are split along the
member axis (a mesh axis ``runs``, ``jax.sharding``); each member's own batch stays on one device
(no data axis inside a member yet).

Each member is an ordinary run directory, ``<workdir>/[<key>=<value>,.../]seed<s>/``, with what
``gan_jax.train`` writes (config.json, metrics.jsonl, samples/, eval.json, checkpoints/), so
``gan_jax.sample``, ``gan_jax.evaluate`` and ``gan_jax.main`` (resume) treat it like any other
run, and its numbers are those of the same config trained alone (tests/test_sweep.py). A member
that diverges stops being saved and logged (its numbers stay non-finite in the program) and the
others go on; ``sweep.json`` names it. ``sweep.json`` / ``sweep.md`` in the workdir: every final
metric's mean +- standard error over the seeds, per combination of swept values, with the
protocol (``aggregate``).

Resume: SIGTERM / SIGINT stop at the next step boundary and save every member; the sweep's own
record of the last step every member saved (``sweep_state.json``) is what the rerun of the same
command resumes from, so the members restart together.
"""

from __future__ import annotations

import builtins
import dataclasses
import itertools
import json
import math
import pathlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import flags
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from ml_collections import config_flags

from gan_jax import checkpointing, cli, divergence, evaluation, pictures, resume, runs, xla_cpu
from gan_jax.dispatch import make_dispatch
from gan_jax.errors import ConfigError, GanJaxError
from gan_jax.games import GAMES, loss_name
from gan_jax.logger import RunLogger, format_duration
from gan_jax.preemption import PreemptionRequest
from gan_jax.runs import Run, build_run
from gan_jax.steps import State
from gan_jax.train import Job, next_stop, prepare_workdir

SWEEP_STATE = "sweep_state.json"  # {"step": the last step every member saved, "members": [...]}
RUNS_AXIS = "runs"
# Errors JAX raises when a builder reads a traced value as a Python value (bool, int, float).
TRACER_ERRORS = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerBoolConversionError,
    jax.errors.TracerIntegerConversionError,
    TypeError,
)


@dataclasses.dataclass(frozen=True)
class Member:
    """One run of a sweep: a seed and a value of every swept key."""

    seed: int
    values: tuple[tuple[str, Any], ...]
    config: ml_collections.ConfigDict

    @property
    def point(self) -> str:
        """The combination of swept values, ``key=value,...`` ('' when only seeds are swept)."""
        return ",".join(f"{k}={v}" for k, v in self.values)

    @property
    def name(self) -> str:
        """The member's run directory, relative to the sweep's workdir."""
        return f"{self.point}/seed{self.seed}" if self.values else f"seed{self.seed}"


# --------------------------------------------------------------------------------------------
# The members.


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0, 1, 2, 3, 4]; '0,3,7' and '0-2,9' too. ConfigError on anything else."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError("--seeds", text, "distinct non-negative integers such as 0-4 or 0,3,7")
    return seeds


def parse_sweep(config: ml_collections.ConfigDict, text: str) -> tuple[str, list[Any]]:
    """'optim.d.lr=1e-4,2e-4' -> ('optim.d.lr', [1e-4, 2e-4]), typed like the config's value."""
    key, eq, values = text.partition("=")
    key = key.strip()
    if not eq or not values:
        raise ConfigError("--sweep", text, "KEY=V1,V2,... such as optim.d.lr=1e-4,2e-4")
    if key == "seed":
        raise ConfigError("--sweep", text, "any config key but seed (seeds go in --seeds)")
    problem = cli.unknown_key(config, key)
    if problem is not None:
        raise ConfigError("--sweep", text, problem)
    current = get_key(config, key)
    if isinstance(current, ml_collections.ConfigDict):
        raise ConfigError("--sweep", text, f"a key with a value; {key} is a block of keys")
    parsed = [parse_value(key, current, v.strip()) for v in values.split(",")]
    if len(set(map(repr, parsed))) != len(parsed):
        raise ConfigError("--sweep", text, "distinct values")
    return key, parsed


def parse_value(key: str, current: Any, text: str) -> Any:
    kind = type(current)
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind in (int, float):
            return kind(float(text)) if kind is int and float(text).is_integer() else kind(text)
        if kind is str:
            return text
    except ValueError:
        raise ConfigError(key, text, f"a {kind.__name__} (the type of {key})") from None
    raise ConfigError(key, text, f"a number, bool or string key ({key} holds a {kind.__name__})")


def get_key(config: ml_collections.ConfigDict, dotted: str) -> Any:
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


def set_key(config: ml_collections.ConfigDict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[leaf] = value


def copy_config(config: ml_collections.ConfigDict, **kwargs) -> ml_collections.ConfigDict:
    """An unlocked copy with the field references resolved (what config.json holds)."""
    return ml_collections.ConfigDict(config.to_dict(), **kwargs)


def members(
    config: ml_collections.ConfigDict,
    seeds: Sequence[int],
    sweeps: Sequence[tuple[str, Sequence[Any]]] = (),
) -> list[Member]:
    """Every combination of the swept values (in the order given) times every seed."""
    keys = [k for k, _ in sweeps]
    if len(set(keys)) != len(keys):
        raise ConfigError("--sweep", ",".join(keys), "each key once")
    out = []
    for combo in itertools.product(*(values for _, values in sweeps)):
        for seed in seeds:
            cfg = copy_config(config)
            cfg.seed = int(seed)
            for key, value in zip(keys, combo):
                set_key(cfg, key, value)
            out.append(Member(int(seed), tuple(zip(keys, combo)), cfg))
    return out


# --------------------------------------------------------------------------------------------
# One compiled program for all members.


def shapes(run: Run) -> Any:
    """What must agree between members to share a program: the shapes of the state, the real
    batches and the evaluation inputs (``jax.eval_shape``, so nothing is computed)."""
    key = run.data_key()
    return (
        run.abstract_state(),
        jax.eval_shape(run.sample_batches, key, 0),
        jax.eval_shape(lambda: run.eval_inputs(4)),
    )


def shape_difference(a: Any, b: Any) -> str | None:
    """'path: shape -> shape' of the first leaf whose shape or dtype differs; None if none."""
    # Paths and shapes only: the treedefs hold each build's own optimiser and apply function.
    flat_a = dict(jax.tree_util.tree_flatten_with_path(a)[0])
    flat_b = dict(jax.tree_util.tree_flatten_with_path(b)[0])
    for path in sorted(set(flat_a) | set(flat_b), key=jax.tree_util.keystr):
        x, y = flat_a.get(path), flat_b.get(path)
        where = jax.tree_util.keystr(path)
        if x is None or y is None:
            return f"{where}: {'absent' if x is None else 'present'} -> " + (
                "absent" if y is None else "present"
            )
        if x.shape != y.shape or x.dtype != y.dtype:
            return f"{where}: {x.shape} {x.dtype} -> {y.shape} {y.dtype}"
    return None


def traced_run(run: Run, values: Mapping[str, jax.Array]) -> Run:
    """``run`` built once more from its config with the swept keys set to ``values`` (tracers
    inside the vmapped program); its dataset is shared (data keys cannot be swept)."""
    if not values:
        return run
    cfg = copy_config(run.config, type_safe=False)
    for key, value in values.items():
        set_key(cfg, key, value)
    return Run(cfg, run.dataset, GAMES[cfg.game.name].build(cfg, run.dataset))


def with_run(state: State, run: Run) -> State:
    """``state`` with every network's optimiser and apply function taken from ``run``."""
    optims = {name: run.optimizers()[net.optim] for name, net in run.game.networks.items()}
    nets = {
        name: ms.replace(tx=optims[name], apply_fn=run.game.networks[name].module.apply)
        for name, ms in state.nets.items()
    }
    return state.replace(nets=nets)


@dataclasses.dataclass
class Program:
    """The members' compiled calls: ``init(seeds, values)`` and ``dispatch(n)`` (n steps)."""

    run: Run  # member 0's run: the static parts every member shares
    seeds: jax.Array  # (M,) uint32
    values: dict[str, jax.Array]  # swept key -> (M,) values
    mesh: Mesh | None
    # How the members share the program: "vmap" (one batched copy of the step) or "unrolled"
    # (one copy of the step per member, side by side in the same program). XLA:CPU turns
    # vmapped convolutions into grouped convolutions, several times slower per member than
    # the plain ones (experiments/README.md, sweep cost); unrolled keeps the plain kernels at
    # the price of a compile time that grows with the member count.
    members_as: str = "vmap"
    _dispatches: dict[int, Callable] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        # One abstract state whose optimisers and apply functions every state the program takes
        # and returns carries: they are pytree metadata, so new ones would mean a new program.
        self.static = self.run.abstract_state()

    def _member_fn(self, fn: Callable) -> Callable:
        """``fn(run, *args)`` of one member, run with its swept values, for jax.vmap."""
        static = self.static

        def member(values, *args):
            out = fn(traced_run(self.run, values), *args)
            # The optimisers and apply functions are static parts of the state's pytree: give
            # back member 0's (the traced ones hold tracers that must not leave the program).
            return jax.tree.map(
                lambda x: with_static(x, static) if isinstance(x, State) else x,
                out,
                is_leaf=lambda x: isinstance(x, State),
            )

        return member

    def _sharding(self) -> NamedSharding | None:
        return None if self.mesh is None else NamedSharding(self.mesh, PartitionSpec(RUNS_AXIS))

    def _jit(self, fn: Callable, **kwargs) -> Callable:
        sh = self._sharding()
        if sh is not None:
            kwargs |= {"out_shardings": sh}
        devices = jax.devices() if self.mesh is None else list(self.mesh.devices.flat)
        options = xla_cpu.compiler_options(self.run.config.train, devices)
        return jax.jit(fn, compiler_options=options, **kwargs)

    def init_fn(self) -> Callable[[], tuple[State, divergence.Guard]]:
        """``() -> (states, guards)`` of every member at step 0 (pure)."""

        def init(run, seed):
            return with_run(run.init_state(jax.random.key(seed)), run), divergence.init_guard()

        fn = self._batched(self._member_fn(init))
        return lambda: fn(self.values, self.seeds)

    def dispatch_fn(self, n: int) -> Callable:
        """``(states, guards) -> (states, guards, metrics)``: n train steps of every member
        (pure)."""

        def step(run, state, guard, seed):
            one = make_dispatch(run, n, jit=False)
            return one(with_run(state, run), guard, None, seed)

        fn = self._batched(self._member_fn(step))
        return lambda states, guards: fn(self.values, states, guards, self.seeds)

    def _batched(self, member: Callable) -> Callable:
        """``member`` over the leading (member) axis of every argument: vmap or unrolled."""
        if self.members_as == "vmap":
            return jax.vmap(member)
        if self.members_as != "unrolled":
            raise ConfigError("--members_as", self.members_as, "'vmap' or 'unrolled'")

        def unrolled(*args):
            outs = [member(*member_tree(args, i)) for i in range(len(self.seeds))]
            return stack(outs)

        return unrolled

    def init(self) -> tuple[State, divergence.Guard]:
        return self._jit(self.init_fn())()

    def dispatch(self, n: int) -> Callable:
        """``dispatch_fn(n)``, compiled once per n, the states donated."""
        if n not in self._dispatches:
            self._dispatches[n] = self._jit(self.dispatch_fn(n), donate_argnums=0)
        return self._dispatches[n]

    def put(self, tree: Any) -> Any:
        """Stacked member arrays laid out along the runs axis (no-op on one device)."""
        sh = self._sharding()
        return tree if sh is None else jax.device_put(tree, sh)


def with_static(state: State, static: State) -> State:
    nets = {
        name: ms.replace(tx=static.nets[name].tx, apply_fn=static.nets[name].apply_fn)
        for name, ms in state.nets.items()
    }
    return state.replace(nets=nets)


def check_members(ms: Sequence[Member]) -> list[Run]:
    """Build every member's run (ConfigError on a bad value) and refuse a sweep key that changes
    a shape or is read as a Python value; returns the runs."""
    built = [build_run(m.config) for m in ms]
    base, base_shapes = built[0], shapes(built[0])
    if built[0].dataset.on_host:
        raise ConfigError(
            "data.name",
            base.config.data.name,
            "an embedded dataset (a sweep samples its batches "
            "in the compiled program; host pipelines are not supported yet)",
        )
    for m, run in zip(ms, built):
        for key, value in m.values:
            if key.startswith("data."):
                raise ConfigError(
                    f"--sweep {key}",
                    value,
                    "a key outside the data block (members share a dataset)",
                )
        diff = shape_difference(base_shapes, shapes(run))
        if diff is not None:
            key, value, diff = shape_changing_key(ms[0], m, base_shapes)
            raise ConfigError(
                f"--sweep {key}",
                value,
                f"values that keep every shape; {key} changes the shapes ({diff}), so its values "
                "cannot share one compiled program: run one sweep per value",
            )
    # Keys read as Python values: trace the program once per swept key.
    seeds = jnp.zeros((1,), jnp.uint32)
    for key, _ in ms[0].values:
        try:
            value = jnp.asarray([get_key(ms[0].config, key)])  # a string has no array
            prog = Program(base, seeds, {key: value}, None)
            states, guards = jax.eval_shape(prog.init_fn())
            jax.eval_shape(prog.dispatch_fn(1), states, guards)
        except TRACER_ERRORS as e:
            raise ConfigError(
                f"--sweep {key}",
                get_key(ms[0].config, key),
                f"a key that enters the computation as a number (learning rates, Adam betas, loss "
                f"and penalty weights); the run's builders read {key} as a Python value "
                f"({type(e).__name__}), so its values cannot share one compiled program: run one "
                "sweep per value",
            ) from None
    return built


def shape_changing_key(a: Member, b: Member, a_shapes: Any) -> tuple[str, Any, str]:
    """(key, value, difference) of the swept key that, set alone to its value in ``b``, changes
    the shapes of ``a``'s run (the first such key; the last differing one if none alone does)."""
    found = None
    for (key, va), (_, vb) in zip(a.values, b.values):
        if va == vb:
            continue
        cfg = copy_config(a.config)
        set_key(cfg, key, vb)
        found = (key, vb, shape_difference(a_shapes, shapes(build_run(cfg))))
        if found[2] is not None:
            return found
    return found if found is not None else ("seed", b.seed, "")


def runs_mesh(num_members: int) -> Mesh | None:
    """A mesh of the most devices that divide the member count (None on one device)."""
    n = math.gcd(num_members, jax.device_count())
    return None if n < 2 else Mesh(np.asarray(jax.devices()[:n]), (RUNS_AXIS,))


def member_tree(tree: Any, i: int) -> Any:
    return jax.tree.map(lambda x: x[i], tree)


def stack(trees: Sequence[Any]) -> Any:
    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


# --------------------------------------------------------------------------------------------
# The loop.


def train_sweep(
    config: ml_collections.ConfigDict,
    workdir: str | pathlib.Path,
    seeds: Sequence[int],
    sweeps: Sequence[tuple[str, Sequence[Any]]] = (),
    *,
    members_as: str = "vmap",
    say: Callable[..., None] = builtins.print,
) -> dict[str, Any]:
    """Train every member (``members``) to ``train.steps``; returns the ``sweep.json`` record.

    Writes each member's run directory, ``sweep.json`` and ``sweep.md`` under ``workdir``.
    ``members_as``: 'vmap' (default) or 'unrolled' (``Program.members_as``).
    """
    ms = members(config, seeds, sweeps)
    built = check_members(ms)
    root = prepare_workdir(workdir)
    dirs = [prepare_workdir(root / m.name) for m in ms]
    max_to_keep = max(2, config.checkpoint.max_to_keep)  # the sweep's step must survive a save
    mgrs = [checkpointing.manager(d, max_to_keep) for d in dirs]
    try:
        return _train(ms, built, root, dirs, mgrs, say, members_as)
    finally:
        for mgr in mgrs:
            mgr.wait_until_finished()
            mgr.close()


def _resume(ms, built, root, mgrs, prog, say, diverged) -> tuple[State, divergence.Guard, int]:
    """The members' stacked states at the sweep's last saved step (``SWEEP_STATE``), or at 0.

    A member that had diverged before that step has no checkpoint there: it stays diverged
    (``diverged`` is filled in) and holds its initial state, which is neither logged nor saved.
    """
    record = root / SWEEP_STATE
    init_states, guards = prog.init()
    if not record.is_file():
        return init_states, guards, 0
    saved = json.loads(record.read_text())
    names = [m.name for m in ms]
    if saved["members"] != names:
        raise GanJaxError(
            f"the sweep in {root} has other members ({', '.join(saved['members'])}); "
            "run the same --seeds and --sweep, or use a new --workdir"
        )
    step, states = saved["step"], []
    static = prog.static
    for i, (m, run, mgr) in enumerate(zip(ms, built, mgrs)):
        if m.name in saved.get("diverged", {}):
            problem, bad_step = saved["diverged"][m.name]
            diverged[i] = (problem, bad_step)
            states.append(with_static(member_tree(init_states, i), static))
            continue

        def abstract_state_for(cfg, run=run, mgr=mgr):
            checkpointing.check_resume_config(cfg, run.config.to_dict(), str(mgr.directory))
            return run.abstract_state()

        restored = checkpointing.restore(
            mgr, abstract_state_for, step=step, log=lambda t: say(t, flush=True)
        )
        states.append(with_static(restored.state, static))
    say(f"  resuming the {len(ms)} members from step {step} ({record})", flush=True)
    return prog.put(stack(states)), guards, step


def _train(ms, built, root, dirs, mgrs, say, members_as) -> dict[str, Any]:
    config, run = ms[0].config, built[0]
    tc, ec = config.train, config.eval
    seeds = jnp.asarray([m.seed for m in ms], jnp.uint32)
    values = {key: jnp.asarray([get_key(m.config, key) for m in ms]) for key, _ in ms[0].values}
    mesh = runs_mesh(len(ms))
    prog = Program(run, seeds, values, mesh, members_as)
    evaluator = evaluation.make_evaluator(run.dataset, ec)
    diverged: dict[int, tuple[str, int]] = {}  # member -> (what, first non-finite step)
    states, guards, start = _resume(ms, built, root, mgrs, prog, say, diverged)
    for m, d in zip(ms, dirs):
        (d / "config.json").write_text(m.config.to_json_best_effort(indent=2) + "\n")
        resume.rewind(d, start)
    loggers = [RunLogger(d, tc.steps, start_step=start, progress_bar=False) for d in dirs]
    metrics, saved, t_last, last_logged = None, None, 0.0, start

    def alive() -> list[int]:
        return [i for i in range(len(ms)) if i not in diverged]

    def check(step: int) -> None:
        host_guards = jax.device_get(guards)
        for i in alive():
            guard = member_tree(host_guards, i)
            problem = divergence.describe(guard, metrics)
            if problem is not None:
                diverged[i] = (problem, int(guard["first_bad_step"]))
                say(f"  {ms[i].name} diverged ({problem}): no longer saved or logged")

    def log(step: int) -> None:
        nonlocal t_last, last_logged
        check(step)
        host = jax.device_get(metrics)
        now = time.perf_counter()
        rate = (step - last_logged) / max(now - t_last, 1e-9) if step > last_logged else math.nan
        t_last, last_logged = now, step
        for i in alive():
            loggers[i].log_train(step, {k: float(v[i]) for k, v in host.items()}, rate)

    def checkpoint(step: int) -> None:
        nonlocal saved
        check(step)
        for i in alive():
            state = member_tree(states, i)
            resume.save(mgrs[i], step, state, member_tree(guards, i), metrics, ms[i].config)
        for mgr in mgrs:
            mgr.wait_until_finished()
        record = {
            "step": step,
            "members": [m.name for m in ms],
            "diverged": {ms[i].name: list(v) for i, v in diverged.items()},
        }
        (root / SWEEP_STATE).write_text(json.dumps(record, indent=1) + "\n")
        saved = step

    def samples(step: int) -> None:
        for i in alive():
            pictures.write_samples(built[i], member_tree(states, i), dirs[i], step, loggers[i])

    def evaluate(step: int, final: bool = False) -> None:
        for i in alive():
            record = runs.evaluate(built[i], member_tree(states, i), evaluator)
            if record is not None:
                loggers[i].log_eval(step, record)
                if final:
                    text = json.dumps(finite({"step": step, **record}), indent=2)
                    (dirs[i] / "eval.json").write_text(text + "\n")

    jobs = [
        Job("log", tc.log_every, log, at_end=True),
        Job("checkpoint", config.checkpoint.every_steps, checkpoint, at_end=True),
        Job("samples", tc.sample_every, samples),
        Job("evaluate", ec.every_steps, evaluate),
    ]
    where = f"{mesh.size} devices" if mesh is not None else "1 device"
    say(
        f"gan_jax.sweep: {len(ms)} members ({len(set(m.point for m in ms))} value combinations x "
        f"{len(set(m.seed for m in ms))} seeds) of {loss_name(config)} on "
        f"{run.dataset.name} with {config.model.name}, {tc.steps} steps, one program on {where}; "
        f"workdir {root}",
        flush=True,
    )
    if start >= tc.steps:
        # A sweep stopped between its last save and its final evaluation: finish that.
        missing = [i for i in alive() if not (dirs[i] / "eval.json").is_file()]
        say(f"gan_jax.sweep: every member is at step {start} already", flush=True)
        if missing:
            samples(start)
            evaluate(start, final=True)
        for logger in loggers:
            logger.close()
        return write_summary(root, ms, dirs, diverged, say)
    try:
        with PreemptionRequest() as preemption:
            if ec.at_start and start == 0:
                evaluate(0)
            t_start = time.perf_counter()
            k, done = tc.steps_per_dispatch, start
            while done < tc.steps:
                n = k if done + k <= next_stop(jobs, done, tc.steps) else 1
                states, guards, metrics = prog.dispatch(n)(states, guards)
                first, done = done == start, done + n
                if first:
                    jax.block_until_ready(states)
                    say(f"  compiled and ran step {done} in {time.perf_counter() - t_start:.1f}s")
                    t_last, last_logged = time.perf_counter(), done
                t_aside, logged = time.perf_counter(), last_logged
                for job in jobs:
                    if job.due(done, tc.steps):
                        if preemption.requested(done) is not None and job.name != "log":
                            break
                        job.run(done)
                # Pictures, evaluations and saves are not training time: keep them out of steps/s.
                aside = time.perf_counter() - t_aside
                t_last = time.perf_counter() if last_logged != logged else t_last + aside
                reason = preemption.requested(done)
                if reason is not None and done < tc.steps:
                    if saved != done:
                        checkpoint(done)
                    say(f"  {reason}: saved every member at step {done}; rerun to resume")
                    return {"stopped_at": done, "reason": reason}
                if not alive():
                    break
            if alive() and done == tc.steps:
                for i in alive():
                    pictures.write_samples(
                        built[i], member_tree(states, i), dirs[i], done, loggers[i]
                    )
                evaluate(done, final=True)
    finally:
        for logger in loggers:
            logger.close()
    say(f"  done in {format_duration(time.perf_counter() - t_start)}", flush=True)
    return write_summary(root, ms, dirs, diverged, say)


# --------------------------------------------------------------------------------------------
# sweep.json / sweep.md.


def finite(record: Any) -> Any:
    """``record`` with every non-finite float as None (JSON has no Infinity or NaN)."""
    if isinstance(record, Mapping):
        return {k: finite(v) for k, v in record.items()}
    if isinstance(record, (list, tuple)):
        return [finite(v) for v in record]
    if isinstance(record, float) and not math.isfinite(record):
        return None
    return record


def mean_se(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and standard error (sample std / sqrt(n), ddof 1) of ``values``.

    A non-finite or missing value (a diverged member, an infinite reverse KL) makes the mean and
    standard error None: an average that leaves a bad seed out would flatter the recipe.
    """
    vals = [None if v is None or not math.isfinite(v) else float(v) for v in values]
    n, bad = len(vals), sum(v is None for v in vals)
    out: dict[str, Any] = {"n": n, "values": vals, "mean": None, "se": None}
    if n and not bad:
        arr = np.asarray(vals, np.float64)
        out["mean"] = float(arr.mean())
        out["se"] = float(arr.std(ddof=1) / math.sqrt(n)) if n > 1 else None
    if bad:
        out["non_finite"] = bad
    return out


def numbers(record: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in record.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step"
    }


def member_metrics(workdir: pathlib.Path) -> tuple[dict[str, float], dict[str, Any]]:
    """A member's final numbers: eval.json's (``eval/<name>``) and the last logged training
    metrics (``train/<name>``); and its evaluation protocol."""
    out: dict[str, float] = {}
    protocol: dict[str, Any] = {}
    lines = (
        (workdir / "metrics.jsonl").read_text().splitlines()
        if (workdir / "metrics.jsonl").is_file()
        else []
    )
    train = [json.loads(line) for line in lines if line.strip()]
    train = [r for r in train if not any(k.startswith("eval/") for k in r)]
    if train:
        last = {k: v for k, v in train[-1].items() if v is not None}
        out |= {f"train/{k}": v for k, v in numbers(last).items() if k != "steps_per_sec"}
    path = workdir / "eval.json"
    if path.is_file():
        record = json.loads(path.read_text())
        out |= {
            f"eval/{k}": (math.inf if v is None else v)
            for k, v in numbers(
                {k: (math.inf if v is None else v) for k, v in record.items() if k != "protocol"}
            ).items()
        }
        protocol = record.get("protocol", {})
    return out, protocol


def aggregate(
    points: Sequence[str],
    per_member: Sequence[Mapping[str, float]],
    seeds: Sequence[int],
) -> dict[str, dict[str, Any]]:
    """point -> {"seeds": [...], "metrics": {name: mean_se(...)}}: every metric any member of
    the point reports, over that point's members (a member missing it counts as non-finite)."""
    out: dict[str, dict[str, Any]] = {}
    for point in dict.fromkeys(points):
        idx = [i for i, p in enumerate(points) if p == point]
        names = sorted(set().union(*(per_member[i] for i in idx)))
        out[point] = {
            "seeds": [int(seeds[i]) for i in idx],
            "metrics": {k: mean_se([per_member[i].get(k) for i in idx]) for k in names},
        }
    return out


def write_summary(root, ms, dirs, diverged, say=builtins.print) -> dict[str, Any]:
    """Write sweep.json and sweep.md from the members' run directories; returns the record."""
    per_member, protocol = [], {}
    for d in dirs:
        numbers_, proto = member_metrics(d)
        per_member.append(numbers_)
        protocol = protocol or proto
    config = ms[0].config
    record = {
        "protocol": {
            "statistic": "mean and standard error (sample std with ddof 1 / sqrt(n)) over the "
            "seeds of each combination of swept values; null where a member's value is "
            "non-finite or missing (a diverged member, an infinite reverse KL)",
            "final_step": int(config.train.steps),
            "metrics": "eval/*: the final evaluation (eval.json) of each member; train/*: the "
            "last logged training metrics",
            "evaluation": protocol,
            "config": f"{loss_name(config)} on {config.data.name} with {config.model.name}",
        },
        "swept": [k for k, _ in ms[0].values],
        "members": [
            {
                "name": m.name,
                "seed": m.seed,
                "values": dict(m.values),
                "diverged": diverged[i][0] if i in diverged else None,
                "first_nonfinite_step": diverged[i][1] if i in diverged else -1,
            }
            for i, m in enumerate(ms)
        ],
        "points": aggregate([m.point for m in ms], per_member, [m.seed for m in ms]),
    }
    (root / "sweep.json").write_text(json.dumps(finite(record), indent=1) + "\n")
    (root / "sweep.md").write_text(markdown(record) + "\n")
    say(f"  wrote {root / 'sweep.md'}", flush=True)
    return record


def _fmt(stat: Mapping[str, Any]) -> str:
    if stat["mean"] is None:
        return f"n/a ({stat.get('non_finite', 0)} of {stat['n']} non-finite)"
    se = "" if stat["se"] is None else f" +- {stat['se']:.4g}"
    return f"{stat['mean']:.4g}{se}"


def markdown(record: Mapping[str, Any]) -> str:
    points = record["points"]
    names = sorted(set().union(*(p["metrics"] for p in points.values())))
    names = [n for n in names if n.startswith("eval/")] + [
        n for n in names if not n.startswith("eval/")
    ]
    labels = [p or "(base config)" for p in points]
    p = record["protocol"]
    lines = [
        f"## Sweep: {p['config']}, {p['final_step']} steps",
        "",
        f"Mean +- standard error over the seeds ({p['statistic']}). {p['metrics']}.",
        "",
        "| metric | "
        + " | ".join(
            f"{lab} (seeds {','.join(map(str, points[k]['seeds']))})"
            for lab, k in zip(labels, points)
        )
        + " |",
        "| --- | " + " | ".join("---:" for _ in points) + " |",
    ]
    for name in names:
        cells = [
            _fmt(points[k]["metrics"][name]) if name in points[k]["metrics"] else "" for k in points
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    bad = [m for m in record["members"] if m["diverged"]]
    if bad:
        lines += ["", "Diverged: " + "; ".join(f"{m['name']}: {m['diverged']}" for m in bad) + "."]
    if p["evaluation"]:
        lines += ["", f"Evaluation protocol: `{json.dumps(p['evaluation'])}`."]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The command line.


def define_flags() -> None:
    """The CLI's flags, defined only when it runs (importing the library defines none)."""
    config_flags.DEFINE_config_file(
        "config", None, "Config file, e.g. configs/nsgan.py:grid25.", lock_config=True
    )
    flags.DEFINE_string("seeds", "0-4", "Seeds: a range 0-4, a list 0,3,7 or both 0-2,9.")
    flags.DEFINE_multi_string(
        "sweep", None, "KEY=V1,V2,...: values of a config key (repeat for a grid)."
    )
    flags.DEFINE_string("workdir", None, "Sweep directory; default runs/sweep_<config stem>.")
    flags.DEFINE_enum(
        "members_as",
        "vmap",
        ["vmap", "unrolled"],
        "How members share the program: vmap (one batched step) or unrolled (one step per "
        "member; faster convnets on CPU, longer compilation).",
    )
    flags.mark_flags_as_required(["config"])


def main(argv):
    if len(argv) > 1:
        sys.exit(f"gan_jax: unexpected arguments: {argv[1:]}")
    FLAGS = flags.FLAGS
    try:
        config = FLAGS.config
        sweeps = [parse_sweep(config, s) for s in FLAGS.sweep or ()]
        seeds = parse_seeds(FLAGS.seeds)
        stem = pathlib.Path(config_flags.get_config_filename(FLAGS["config"])).stem
        workdir = FLAGS.workdir or str(pathlib.Path("runs") / f"sweep_{stem}")
        train_sweep(config, workdir, seeds, sweeps, members_as=FLAGS.members_as)
    except GanJaxError as e:
        sys.exit(f"gan_jax: {e}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
