"""The functional core: games of named networks and players, the state pytree, the pure steps.

A **game** (``Game``) declares its networks (name -> ``Network``: a Flax module, the example
inputs it is initialised on, the ``optim.<block>`` that trains it, whether it keeps an EMA copy),
its **players** (``Player``: the networks it updates, its loss, how many updates it makes per
train step, its key role) and how it generates samples for evaluation. Every GAN of gan_jax is
one: the classic game (one G, one D, any objective of ``losses.py``) and the variants in
``gan_jax/games/``. The state carries, by name, every network's TrainState, the EMA copies, the
game's own arrays (``aux``: BEGAN's k_t, ADA's p, CycleGAN's image pools, ...) and the root key:

    State(step, nets={'g': ModelState, 'd': ModelState, ...}, ema={'g': {...}}, aux={...}, key)

The steps are pure:

    update(game, player, state, batch) -> (state, metrics)     one update of one player
    train_step(game, state, batches) -> (state, metrics)       every player, in order

A game of several stages (``Game.stages``, ``Game.staged``: progressive growing's resolutions)
keeps one state pytree and gives each stage its own players; the trainer compiles one step per
stage (``Game.at_stage``).

A player's loss is ``loss(ctx, batch, key) -> (loss, terms)``. ``ctx`` (``Context``) is the
loss's view of the networks: ``ctx('d', x, labels, train=True)`` applies network ``d`` with the
parameters being differentiated for the player's own networks and the frozen ones of the others;
``ctx.params[name]`` are those parameters; ``ctx.step`` the train step, ``ctx.counter`` the
player's update number (a critic's with ``train.d_steps`` > 1 counts every update); ``ctx.aux``
the game's arrays, and
``ctx.set_aux(name, value)`` the player's new value for one of them. BatchNorm statistics (and
spectral-norm power-iteration vectors, which flax keeps in the same collection): a train-mode
call of a network the player updates chains its statistics from call to call and keeps them
after the update; a train-mode call of a frozen network discards them; an inference-mode call
(``train=False``) sees the statistics the update started with. So the critic's update advances
its statistics (two power iterations: real, then fake, as the SNGAN code does), the generator's
loss never moves the critic's, and a gradient penalty sees a fixed critic.

Keys: update number ``c`` of a player (``c`` = the step counter of its first network) gets
``fold_in(fold_in(root key, player.role), c)``, so a run depends on the seed alone, not on the
order in which anything is traced. ``train_step`` gives player p the last ``p.steps`` slices of
``batches`` (leaves ``(n, B, ...)``, ``n`` = the largest ``steps`` of any player: the classic
critic's ``train.d_steps`` updates see one slice each, the generator the last one), averages each
player's metrics over its updates and counts one train step (``state.step``). Metrics are flat
dicts of scalars prefixed by the player's name ("d/loss", "d/real", "g/loss", ...).

Data parallel: the state is replicated and the step is one jit-ted program over the global
batch (``make_train_step`` with a mesh); noise drawn with ``ctx.normal`` / ``ctx.randint`` is
laid out along the data axis like the real batch.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state
from jax.sharding import Mesh, Sharding

from gan_jax import sharding

Array = jax.Array
Metrics = dict[str, Array]
Batch = dict[str, Array]
LossOut = tuple[Array, dict[str, Array]]

# Roles folded into the root key; distinct constants keep the streams independent. Players of
# the classic game are 0 (critic) and 1 (generator); other players take roles from FIRST_FREE_ROLE.
ROLE_D, ROLE_G, ROLE_DATA, ROLE_EVAL = 0, 1, 2, 3
FIRST_FREE_ROLE = 4


class ModelState(train_state.TrainState):
    """A network's params, optimiser state and BatchNorm statistics ({} when it has none)."""

    batch_stats: Any = None


@flax.struct.dataclass
class State:
    """The whole training state of any game.

    Attributes:
      step: train steps done (for the classic game: generator updates).
      nets: every network's ``ModelState``, by name.
      ema: ``{'params', 'batch_stats'}`` of the exponential moving average of each network that
        keeps one, by name ({} when none does).
      aux: the game's own arrays (scalars such as BEGAN's k_t, buffers such as image pools).
      key: the run's root PRNG key (typed, jax.random.key).
    """

    step: Array
    nets: dict[str, ModelState]
    ema: dict[str, Any]
    aux: dict[str, Array]
    key: Array


@dataclasses.dataclass(frozen=True)
class Network:
    """One network of a game.

    Attributes:
      module: the Flax module; called as ``module(*inputs, train=...)``.
      init_inputs: example inputs (a batch of 2) that ``module.init`` is called on.
      optim: the ``optim.<optim>`` config block of its optimiser.
      ema: whether the state keeps an exponential moving average of it.
    """

    module: nn.Module
    init_inputs: tuple[Any, ...]
    optim: str
    ema: bool = False


Loss = Callable[["Context", Batch, Array], LossOut]


@dataclasses.dataclass(frozen=True)
class Player:
    """One player: the networks it updates and the loss it minimises over their parameters.

    Attributes:
      name: prefix of its metrics ("d" -> "d/loss").
      role: the role folded into the root key for its updates' keys (unique within a game).
      updates: the networks whose parameters it updates (one optimiser step each per update).
      loss: ``(ctx, batch, key) -> (loss, terms)``, a pure function of the parameters in ``ctx``.
      steps: updates per train step (the classic critic's ``train.d_steps``).
      project: optional ``params -> params`` applied to each updated network after every update
        (WGAN's weight clipping).
    """

    name: str
    role: int
    updates: tuple[str, ...]
    loss: Loss
    steps: int = 1
    project: Callable[[Any], Any] | None = None


@dataclasses.dataclass(frozen=True)
class Game:
    """A GAN: its networks, its players (run in order every train step) and its sampler.

    Attributes:
      name: the ``game.name`` it was built from.
      networks: name -> ``Network``.
      players: run in this order by ``train_step``.
      generate: ``(state, inputs) -> samples``, pure: what evaluation, sample grids and
        ``gan_jax.sample`` draw (inference mode, EMA copies where the state keeps them).
      eval_inputs: ``(key, n) -> inputs`` of ``generate`` (noise, codes, labels, source images);
        the run's fixed evaluation inputs come from the seed's ROLE_EVAL key.
      init_aux: ``() -> dict`` of the game's own arrays at step 0.
      ema_decay: decay of every EMA copy (``Network.ema``).
      headline: optional ``(run, state) -> {name: number}``: the variant's own measure of the
        claim its paper is known for (InfoGAN's code accuracy, CycleGAN's class preservation),
        added to every evaluation record as ``headline/<name>`` and to the zoo table.
      stages: the train steps at which the compiled step changes (sorted; progressive growing's
        resolution changes). Stage ``i`` runs the steps from ``stages[i - 1]`` (0 for i = 0) to
        ``stages[i]``; () for one program throughout.
      staged: ``i -> Game``, the game of stage ``i``: the same networks (so the same state
        pytree), players whose losses may differ by stage. This game itself is stage 0's. The
        trainer builds one program per stage and never dispatches across a stage boundary.
      begin_step: optional ``state -> state``, pure, applied by ``train_step`` before the
        players (progressive growing resets the optimisers at the first step of a stage).
    """

    name: str
    networks: Mapping[str, Network]
    players: tuple[Player, ...]
    generate: Callable[[State, dict], Array]
    eval_inputs: Callable[[Array, int], dict]
    init_aux: Callable[[], dict[str, Array]] = dict
    ema_decay: float = 0.0
    headline: Callable[[Any, State], dict[str, float]] | None = None
    stages: tuple[int, ...] = ()
    staged: Callable[[int], Game] | None = None
    begin_step: Callable[[State], State] | None = None

    def __post_init__(self):
        roles = [p.role for p in self.players]
        if len(set(roles)) != len(roles) or {ROLE_DATA, ROLE_EVAL} & set(roles):
            raise ValueError(f"game {self.name!r}: player roles must be distinct, not 2 or 3")
        for p in self.players:
            unknown = set(p.updates) - set(self.networks)
            if unknown or not p.updates:
                raise ValueError(f"game {self.name!r}: player {p.name!r} updates {p.updates}")

    def stage_of(self, step: int) -> int:
        """The stage of the train step that starts from ``state.step == step``."""
        return bisect.bisect_right(self.stages, step)

    def next_stage_start(self, step: int) -> float:
        """The first stage boundary after ``step`` (inf when none is left)."""
        return next((s for s in self.stages if s > step), math.inf)

    def at_stage(self, stage: int) -> Game:
        """The game whose players train stage ``stage`` (itself for a game of one stage)."""
        return self if self.staged is None or stage == 0 else self.staged(stage)

    @property
    def batches_per_step(self) -> int:
        """Real batches one train step consumes: the most updates any player makes."""
        return max(p.steps for p in self.players)


def role_key(key: Array, role: int, counter: Array | int) -> Array:
    """The key of update number ``counter`` of a role: fold_in(fold_in(key, role), counter)."""
    return jax.random.fold_in(jax.random.fold_in(key, role), counter)


def create_state(
    game: Game, key: Array, optimizers: Mapping[str, optax.GradientTransformation]
) -> State:
    """Initial state from ``key``; pure, so ``jax.eval_shape`` gives the checkpoint layout.

    ``optimizers``: the optimiser of every ``optim`` block the game's networks name. The key is
    split into one key per network (in declaration order) and the run's root key, last.
    """
    keys = jax.random.split(key, len(game.networks) + 1)
    nets = {}
    for net_key, (name, net) in zip(keys[:-1], game.networks.items()):
        variables = net.module.init(net_key, *net.init_inputs, train=False)
        nets[name] = ModelState.create(
            apply_fn=net.module.apply,
            params=variables["params"],
            tx=optimizers[net.optim],
            batch_stats=variables.get("batch_stats", {}),
        )
    ema = {name: ema_variables(nets[name]) for name, net in game.networks.items() if net.ema}
    return State(
        step=jnp.zeros((), jnp.int32), nets=nets, ema=ema, aux=game.init_aux(), key=keys[-1]
    )


def ema_variables(ms: ModelState) -> dict[str, Any]:
    """The variables an EMA tracks: params and BatchNorm running statistics."""
    return {"params": ms.params, "batch_stats": ms.batch_stats}


def update_ema(ema: dict[str, Any], ms: ModelState, decay: float) -> dict[str, Any]:
    """ema <- decay * ema + (1 - decay) * current, leaf by leaf (Polyak averaging).

    Yazici et al. 2019 (arXiv 1806.04498) and Karras et al. 2018 (ProGAN) sample from this
    average of the generator's iterates. BatchNorm statistics: averaged with the same formula
    as the parameters (not recomputed), so the EMA network runs with running statistics that
    cover the same window of training as its weights; they are the live network's statistics,
    averaged, not those of the EMA weights' own activations (that would need BigGAN's
    "standing statistics" pass).
    """
    return optax.incremental_update(ema_variables(ms), ema, step_size=1.0 - decay)


def variables(state: State, name: str, ema: bool = True) -> dict[str, Any]:
    """Network ``name``'s variables: its EMA copy when ``ema`` and the state keeps one."""
    if ema and name in state.ema:
        return state.ema[name]
    return ema_variables(state.nets[name])


def apply(state: State, name: str, *inputs, ema: bool = True, **kwargs) -> Any:
    """Network ``name`` in inference mode (EMA copy where kept), for samplers and evaluators."""
    return state.nets[name].apply_fn(variables(state, name, ema), *inputs, train=False, **kwargs)


class Context:
    """A loss's view of the game's networks during one update (see the module docstring).

    Built by ``update`` inside the differentiated function, so everything read through it is a
    function of the parameters being differentiated (``params`` of the player's networks) and
    the frozen state.
    """

    def __init__(
        self,
        state: State,
        params: dict[str, Any],
        updates: tuple[str, ...],
        batch_sharding: Sharding | None,
    ):
        self.params = params
        self.aux = state.aux
        self.step = state.step
        # The update's number: its first network's optimiser steps (the counter of its key).
        self.counter = state.nets[updates[0]].step if updates else state.step
        self.batch_sharding = batch_sharding
        self._nets = state.nets
        self.stats = {name: state.nets[name].batch_stats for name in updates}
        self.new_aux: dict[str, Array] = {}

    def __call__(self, name: str, *inputs, train: bool, method: str | None = None, **kwargs) -> Any:
        """Apply network ``name`` to ``inputs`` (``module(*inputs, train=train, **kwargs)``)."""
        ms = self._nets[name]
        kwargs = kwargs if method is None else {**kwargs, "method": method}
        stats = self.stats.get(name, ms.batch_stats) if train else ms.batch_stats
        variables = {"params": self.params[name], "batch_stats": stats}
        if not train:
            return ms.apply_fn(variables, *inputs, train=False, **kwargs)
        out, updates = ms.apply_fn(
            variables, *inputs, train=True, mutable=["batch_stats"], **kwargs
        )
        if name in self.stats:
            self.stats[name] = updates.get("batch_stats", stats)
        return out

    def set_aux(self, name: str, value: Array) -> None:
        """The player's new value of the game array ``name`` (gradients stopped)."""
        if name not in self.aux:
            raise KeyError(f"game array {name!r} is not in the state's aux: {sorted(self.aux)}")
        self.new_aux[name] = jax.lax.stop_gradient(value)

    def constrain(self, x: Array) -> Array:
        """Lay ``x`` (B, ...) out along the data axis like the real batch (no-op off a mesh).

        Without it nothing ties generated noise to the data axis, and XLA would run the
        generator on the whole batch on every device. Values do not depend on the sharding.
        """
        if self.batch_sharding is None:
            return x
        return jax.lax.with_sharding_constraint(x, self.batch_sharding)

    def normal(self, key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
        """N(0, I) noise for the global batch, laid out like the real batch."""
        return self.constrain(jax.random.normal(key, shape, dtype))

    def randint(self, key: Array, shape: tuple[int, ...], high: int) -> Array:
        """Uniform int32 in [0, high) for the global batch, laid out like the real batch."""
        return self.constrain(jax.random.randint(key, shape, 0, high, jnp.int32))


def prefixed(prefix: str, terms: Mapping[str, Array]) -> Metrics:
    return {f"{prefix}/{k}": v for k, v in terms.items()}


def update(
    game: Game,
    player: Player,
    state: State,
    batch: Batch,
    *,
    batch_sharding: Sharding | None = None,
) -> tuple[State, Metrics]:
    """One update of ``player``: its loss's gradient step on each network it updates.

    Then the player's projection (if any), the EMA copies of its networks, and the game arrays
    its loss set. Metrics: ``<name>/loss``, its terms, ``<name>/grad_norm`` (global norm of the
    gradients of all its networks).
    """
    key = role_key(state.key, player.role, state.nets[player.updates[0]].step)
    own = {name: state.nets[name].params for name in player.updates}
    frozen = {name: ms.params for name, ms in state.nets.items() if name not in own}

    def loss_fn(params):
        ctx = Context(state, {**frozen, **params}, player.updates, batch_sharding)
        loss, terms = player.loss(ctx, batch, key)
        return loss, (terms, ctx.stats, ctx.new_aux)

    (loss, (terms, stats, new_aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(own)
    nets, ema = dict(state.nets), dict(state.ema)
    for name in player.updates:
        ms = nets[name].apply_gradients(grads=grads[name], batch_stats=stats[name])
        if player.project is not None:
            ms = ms.replace(params=player.project(ms.params))
        nets[name] = ms
        if name in ema:
            ema[name] = update_ema(ema[name], ms, game.ema_decay)
    metrics = {
        f"{player.name}/loss": loss,
        **prefixed(player.name, terms),
        f"{player.name}/grad_norm": optax.tree.norm(grads),
    }
    return state.replace(nets=nets, ema=ema, aux={**state.aux, **new_aux}), metrics


def train_step(
    game: Game, state: State, batches: Batch, *, batch_sharding: Sharding | None = None
) -> tuple[State, Metrics]:
    """The game's ``begin_step``, every player in order, ``player.steps`` updates each, then
    ``state.step += 1``.

    ``batches`` leaves are (n, B, ...), n = ``game.batches_per_step``; player p's updates see
    the last ``p.steps`` slices. ``batch_sharding`` (data-parallel runs): how a (B, ...) batch is
    split across devices. The numbers do not depend on it.
    """
    # A Python loop (updates per step are few and static), not lax.scan: XLA:CPU runs
    # convolutions inside a while-loop body ~15x slower (measured 594 ms vs 38 ms for 5 DCGAN
    # critic steps on 2 cores), and lax.scan(..., unroll=True) still emits a one-trip while loop
    # for one update (measured: 0.24 vs 0.06 CPU s per step of the non-saturating digits config).
    n = jax.tree.leaves(batches)[0].shape[0]
    metrics: Metrics = {}
    if game.begin_step is not None:
        state = game.begin_step(state)
    for player in game.players:
        player_metrics = []
        for i in range(n - player.steps, n):
            batch = jax.tree.map(lambda a, i=i: a[i], batches)
            state, m = update(game, player, state, batch, batch_sharding=batch_sharding)
            player_metrics.append(m)
        metrics.update(jax.tree.map(lambda *xs: jnp.mean(jnp.stack(xs)), *player_metrics))
    return state.replace(step=state.step + 1), metrics


def make_train_step(
    game: Game, jit: bool = True, mesh: Mesh | None = None
) -> Callable[[State, Batch], tuple[State, Metrics]]:
    """``train_step`` of ``game``; jit-ted with the state donated.

    With a ``mesh`` the step runs data parallel on it (``gan_jax.sharding``): state and metrics
    replicated, the (n, B, ...) batches split along B.
    """
    if mesh is None:
        fn = functools.partial(train_step, game)
        return jax.jit(fn, donate_argnums=0) if jit else fn
    fn = functools.partial(train_step, game, batch_sharding=sharding.batch_sharding(mesh))
    if not jit:
        return fn
    rep, batches = sharding.replicated(mesh), sharding.batch_sharding(mesh, batch_axis=1)
    return jax.jit(fn, in_shardings=(rep, batches), out_shardings=(rep, rep), donate_argnums=0)
