"""A run as a library object: build it from a config, load it from a workdir, draw its samples.

``build_run(config)`` validates the config and builds its dataset and game; ``Run.init_state``
and ``Run.abstract_state`` give the state pytree (``gan_jax.steps.State``); ``load_run(workdir)``
rebuilds the run of a checkpoint and restores its state; ``sample_images`` draws the game's
samples from the run's fixed evaluation inputs. The trainer, ``gan_jax.sample``,
``gan_jax.evaluate``, the experiments and notebooks all use these; none of them imports the
trainer::

    from gan_jax import runs
    run = runs.build_run(config)
    state = run.init_state(jax.random.key(config.seed))
    step = steps.make_train_step(run.game)
    state, metrics = step(state, run.sample_batches(data_key, 0))
    images = runs.sample_images(run, state, 64)
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import checkpointing, evaluation
from gan_jax.data import Dataset, get_dataset
from gan_jax.errors import GanJaxError
from gan_jax.games import GAMES
from gan_jax.models import MODELS
from gan_jax.optim import make_optimizer
from gan_jax.steps import ROLE_DATA, ROLE_EVAL, Game, State, create_state
from gan_jax.validation import validate, validate_for_dataset


@dataclasses.dataclass(frozen=True)
class Run:
    """What a config builds: its dataset and its game (networks, players, sampler)."""

    config: ml_collections.ConfigDict
    dataset: Dataset
    game: Game

    def optimizers(self) -> dict:
        """The optimiser of every ``optim.<block>`` the game's networks name."""
        optims = {net.optim for net in self.game.networks.values()}
        return {name: make_optimizer(self.config.optim[name]) for name in optims}

    def init_state(self, key: jax.Array) -> State:
        return create_state(self.game, key, self.optimizers())

    def abstract_state(self) -> State:
        return jax.eval_shape(self.init_state, jax.random.key(self.config.seed))

    @property
    def num_classes(self) -> int:
        """Classes a conditional model is conditioned on; 0 when unconditional."""
        return int(self.config.model.num_classes)

    def data_key(self, seed: int | None = None) -> jax.Array:
        """The key of the run's data stream (batch ``s`` is a function of it and ``s``)."""
        seed = self.config.seed if seed is None else seed
        return jax.random.fold_in(jax.random.key(seed), ROLE_DATA)

    def sample_batches(self, key: jax.Array, step) -> dict:
        """The real batches of train step ``step``: leaves (game.batches_per_step, B, ...)."""
        return sample_batches(
            self.dataset, self.game.batches_per_step, self.config.train.batch_size, key, step
        )

    def eval_inputs(
        self, n: int, seed: int | None = None, labels=None, truncation: float | None = None
    ) -> dict:
        """The game's generator inputs for ``n`` samples: the run's fixed evaluation inputs
        (from the seed's ROLE_EVAL key), or drawn from ``jax.random.key(seed)``; ``labels``
        replaces the classes of a conditional run's inputs; ``truncation`` (``truncated``)
        applies the truncation trick at T."""
        if seed is None:
            key = jax.random.fold_in(jax.random.key(self.config.seed), ROLE_EVAL)
        else:
            key = jax.random.key(seed)
        inputs = self.game.eval_inputs(key, n)
        if labels is not None:
            inputs = {**inputs, "label": jnp.asarray(labels, jnp.int32)}
        if truncation is not None:
            own = MODELS[self.config.model.name].own_truncation
            inputs = truncated(inputs, truncation, jax.random.fold_in(key, TRUNCATION), own)
        return inputs


# Folded into the evaluation key for the resampled noise of the truncation trick.
TRUNCATION = 1


def truncated_normal(key: jax.Array, z: jax.Array, threshold: float) -> jax.Array:
    """``z`` with every entry |z_i| > ``threshold`` redrawn from N(0, 1) until none is left
    (BigGAN's truncation trick, Brock et al. 2018, section 3.1): entries already inside keep
    their values, so samples at different thresholds share the noise that fits both."""

    def redraw(carry):
        k, x = carry
        k, sub = jax.random.split(k)
        return k, jnp.where(jnp.abs(x) > threshold, jax.random.normal(sub, x.shape, x.dtype), x)

    return jax.lax.while_loop(
        lambda carry: jnp.any(jnp.abs(carry[1]) > threshold), redraw, (key, z)
    )[1]


def truncated(inputs: dict, threshold: float, key: jax.Array, own: bool) -> dict:
    """The generator ``inputs`` at truncation ``threshold`` (> 0): for a family that truncates
    itself (``Family.own_truncation``: StyleGAN's psi) the threshold rides along as
    ``inputs['truncation']`` for the game's generator to pass on; otherwise the Gaussian noise
    ``inputs['z']`` is resampled (``truncated_normal``). GanJaxError for a game without it."""
    if not threshold > 0:
        raise GanJaxError(f"--truncation={threshold} is not allowed; allowed: a positive number")
    if own:
        return {**inputs, "truncation": jnp.float32(threshold)}
    if "z" not in inputs:
        raise GanJaxError(
            f"--truncation={threshold} is not allowed: this game's generator inputs "
            f"{sorted(inputs)} have no Gaussian noise 'z'"
        )
    return {**inputs, "z": truncated_normal(key, inputs["z"], threshold)}


def sample_batches(dataset: Dataset, n: int, batch_size: int, key, step) -> dict:
    """The real batches of train step ``step``: leaves of shape (n, B, ...)."""
    flat = dataset.sample(jax.random.fold_in(key, step), n * batch_size)
    return jax.tree.map(lambda a: a.reshape(n, batch_size, *a.shape[1:]), flat)


def build_run(config: ml_collections.ConfigDict) -> Run:
    """Validate ``config`` and build its components (raises ConfigError on a bad value)."""
    validate(config)
    dataset = get_dataset(config.data)
    evaluation.resolve_extractor(dataset, config.eval.extractor)  # ConfigError if it does not fit
    validate_for_dataset(config, dataset)
    return Run(config, dataset, GAMES[config.game.name].build(config, dataset))


def load_run(workdir: str | pathlib.Path, step: int | None = None) -> tuple[Run, State, int]:
    """(Run, state, step) of the latest readable checkpoint in ``workdir`` (or of ``step``).

    The run is rebuilt from the config saved in that checkpoint, through the same restore path
    as training's auto-resume (checkpointing.restore: falls back past unreadable steps).
    """
    path = pathlib.Path(workdir)
    if not (path / "config.json").is_file() and not checkpointing.checkpoint_dir(path).is_dir():
        raise GanJaxError(
            f"workdir={str(workdir)!r} has no config.json and no checkpoints/: is it a gan_jax run?"
        )

    def abstract_state_for(saved: dict):
        return build_run(ml_collections.ConfigDict(saved)).abstract_state()

    log = lambda message: print(message, file=sys.stderr)  # stdout may be piped
    restored = checkpointing.load(workdir, abstract_state_for, step=step, log=log)
    return build_run(ml_collections.ConfigDict(restored.config)), restored.state, restored.step


def sample_images(
    run: Run, state: State, n: int, batch: int = 500, inputs: dict | None = None
) -> np.ndarray:
    """``n`` samples of the game's generator, inference mode, EMA copies where kept.

    ``inputs``: the game's generator inputs (default: the run's fixed evaluation inputs,
    ``Run.eval_inputs``), drawn in chunks of ``batch``.
    """
    if inputs is None:
        inputs = run.eval_inputs(n)
    gen = jax.jit(run.game.generate)
    chunk = lambda a, i: a[i : i + batch] if jnp.ndim(a) else a  # scalars (truncation) stay
    chunks = [
        np.asarray(gen(state, jax.tree.map(lambda a, i=i: chunk(a, i), inputs)))
        for i in range(0, n, batch)
    ]
    return np.concatenate(chunks)


def evaluate(run: Run, state: State, evaluator) -> dict | None:
    """The evaluation record of ``state``: the evaluator's metrics on samples of the run's fixed
    evaluation inputs, plus the game's headline measures as ``headline/<name>``; None when the
    run has neither."""
    record = (
        None if evaluator is None else evaluator(sample_images(run, state, evaluator.num_samples))
    )
    if run.game.headline is not None:
        headline = {f"headline/{k}": float(v) for k, v in run.game.headline(run, state).items()}
        record = {**(record or {"protocol": {"headline": run.game.name}}), **headline}
    return record
