"""The pure steps on the classic game: determinism, jit == eager, one trace, the recipe details."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config, tiny

from gan_jax import losses, runs, steps
from gan_jax.losses import get_objective


def build(name="nsgan", preset=None, seed=0, **overrides):
    cfg = tiny(load_config(name, preset, **overrides))
    cfg.seed = seed
    run = runs.build_run(cfg)
    state = jax.jit(run.init_state)(jax.random.key(seed))
    batch_fn = jax.jit(
        functools.partial(runs.sample_batches, run.dataset, cfg.train.d_steps, cfg.train.batch_size)
    )
    return cfg, run, state, batch_fn


def run_steps(run, state, batch_fn, n, jit=True):
    fn = steps.make_train_step(run.game, jit=jit)
    key = jax.random.fold_in(jax.random.key(run.config.seed), steps.ROLE_DATA)
    for i in range(n):
        state, metrics = fn(state, batch_fn(key, i))
    return state, metrics


def leaves(state):
    return [
        np.asarray(x)
        for x in jax.tree.leaves(
            (
                state.nets["g"].params,
                state.nets["d"].params,
                state.nets["g"].batch_stats,
                state.nets["d"].batch_stats,
            )
        )
    ]


@pytest.mark.parametrize("name,preset", [("nsgan", None), ("wgan_gp", "ring8")])
def test_same_seed_same_parameters_other_seed_different(name, preset):
    a = run_steps(*build(name, preset, seed=0)[1:], 3)[0]
    b = run_steps(*build(name, preset, seed=0)[1:], 3)[0]
    c = run_steps(*build(name, preset, seed=1)[1:], 3)[0]
    for x, y in zip(leaves(a), leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(leaves(a), leaves(c)))


@pytest.mark.parametrize(
    "name",
    ["nsgan", "lsgan", *(pytest.param(n, marks=pytest.mark.slow) for n in ("wgan", "wgan_gp"))],
)
def test_jit_and_eager_agree(name):
    _, run, state, batch_fn = build(name)
    jitted = run_steps(run, state, batch_fn, 2, jit=True)[0]
    _, run, state, batch_fn = build(name)
    with jax.disable_jit():
        eager = run_steps(run, state, batch_fn, 2, jit=False)[0]
    for x, y in zip(leaves(jitted), leaves(eager)):
        np.testing.assert_allclose(x, y, rtol=2e-4, atol=2e-5)


def test_train_step_traced_once_across_many_calls():
    _, run, state, batch_fn = build("wgan")
    fn = steps.make_train_step(run.game)
    key = jax.random.key(0)
    for i in range(6):
        state, _ = fn(state, batch_fn(key, i))
    assert fn._cache_size() == 1


def test_step_counters_and_metrics():
    cfg, run, state, batch_fn = build("wgan")
    state, metrics = run_steps(run, state, batch_fn, 2)
    assert int(state.step) == 2 and int(state.nets["g"].step) == 2
    assert int(state.nets["d"].step) == 2 * cfg.train.d_steps == 10
    for k in ("d/loss", "d/real", "d/fake", "d/grad_norm", "g/loss", "g/fake", "g/grad_norm"):
        assert metrics[k].shape == () and np.isfinite(metrics[k]), k


def test_weight_clipping_bounds_every_critic_weight():
    _, run, state, batch_fn = build("wgan", **{"objective.clip": 0.003})
    state, _ = run_steps(run, state, batch_fn, 1)
    top = max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(state.nets["d"].params))
    assert top <= 0.003 + 1e-9
    assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(state.nets["g"].params)) > 0.003


def test_gradient_penalty_reported_and_positive():
    _, run, state, batch_fn = build("wgan_gp")
    _, metrics = run_steps(run, state, batch_fn, 1)
    assert float(metrics["d/penalty"]) > 0
    np.testing.assert_allclose(
        metrics["d/loss"], metrics["d/real"] + metrics["d/fake"] + metrics["d/penalty"], rtol=1e-4
    )


def player_update(run, name, state, batch):
    """One update of the classic game's player ``name`` ('d' or 'g')."""
    (player,) = [p for p in run.game.players if p.name == name]
    return steps.update(run.game, player, state, batch)


def test_critic_update_does_not_touch_generator_and_generator_update_not_critic():
    cfg, run, state, batch_fn = build("nsgan")
    batch = jax.tree.map(lambda a: a[0], batch_fn(jax.random.key(0), 0))
    after_d, _ = player_update(run, "d", state, batch)
    for x, y in zip(jax.tree.leaves(state.nets["g"]), jax.tree.leaves(after_d.nets["g"])):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    after_g, _ = player_update(run, "g", state, batch)
    for x, y in zip(jax.tree.leaves(state.nets["d"]), jax.tree.leaves(after_g.nets["d"])):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert int(after_d.nets["d"].step) == 1 and int(after_d.nets["g"].step) == 0


BASE_OBJECTIVES = [n for n in sorted(losses.OBJECTIVES) if n != "wasserstein_gp"]
PENALTIES = losses.PENALTY_NAMES


@pytest.mark.parametrize(
    "objective,penalty",
    [(name, PENALTIES[i % len(PENALTIES)]) for i, name in enumerate(BASE_OBJECTIVES)]
    + [("hinge", "r2")],
)
def test_objectives_and_penalties_through_the_real_step(objective, penalty):
    """Every objective and every penalty once through train_step (eager: no compile per case);
    test_losses composes all pairs on a small critic."""
    _, run, state, batch_fn = build(
        "nsgan", "ring8", **{"objective.name": objective, "objective.penalty": penalty}
    )
    with jax.disable_jit():
        new, metrics = run_steps(run, state, batch_fn, 1, jit=False)
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    parts = metrics["d/real"] + metrics["d/fake"] + metrics.get("d/penalty", 0.0)
    np.testing.assert_allclose(metrics["d/loss"], parts, rtol=1e-5)
    assert ("d/penalty" in metrics) == (penalty != "none")
    assert ("g/real" in metrics) == objective.startswith("relativistic")
    for old, now in (
        (state.nets["g"].params, new.nets["g"].params),
        (state.nets["d"].params, new.nets["d"].params),
    ):
        assert any(not np.array_equal(a, b) for a, b in zip(leaves_of(old), leaves_of(now)))


def leaves_of(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


@pytest.mark.parametrize("objective", ["relativistic_average", "relativistic_average_ls"])
def test_relativistic_generator_step_compares_fakes_with_the_real_batch(objective):
    cfg, run, state, batch_fn = build("nsgan", "ring8", **{"objective.name": objective})
    batch = jax.tree.map(lambda a: a[0], batch_fn(jax.random.key(5), 0))
    _, metrics = player_update(run, "g", state, batch)
    # By hand: the step's noise, G and D in train mode, the loss on both batches' outputs.
    key_z = jax.random.split(steps.role_key(state.key, steps.ROLE_G, state.nets["g"].step))[0]
    z = jax.random.normal(key_z, (cfg.train.batch_size, cfg.model.z_dim))

    def train_mode(name, x):
        ms = state.nets[name]
        variables = {"params": ms.params, "batch_stats": ms.batch_stats}
        return ms.apply_fn(variables, x, None, train=True, mutable=["batch_stats"])[0]

    fake = train_mode("g", z)
    real_out, fake_out = train_mode("d", batch["x"]), train_mode("d", fake)
    expected, _ = get_objective(cfg.objective).g_loss(real_out, fake_out)
    np.testing.assert_allclose(metrics["g/loss"], expected, rtol=1e-5)
    other = {"x": batch["x"] + 1.0}
    _, shifted = player_update(run, "g", state, other)
    assert abs(float(shifted["g/loss"]) - float(metrics["g/loss"])) > 1e-4


def test_unused_real_outputs_cost_nothing_in_the_compiled_generator_step():
    """Only the relativistic losses read D(real) in the G step; XLA drops it for the others.

    FLOPs from XLA's cost analysis of the compiled generator update on the same networks and
    batch.
    """

    def g_step_flops(objective):
        cfg, run, state, batch_fn = build("nsgan", "ring8", **{"objective.name": objective})
        batch = jax.tree.map(lambda a: a[0], batch_fn(jax.random.key(0), 0))
        fn = jax.jit(functools.partial(player_update, run, "g"))
        return fn.lower(state, batch).compile().cost_analysis()["flops"]

    ns, hinge, ra = (g_step_flops(n) for n in ("non_saturating", "hinge", "relativistic_average"))
    # D's forward pass on the real batch (16 -> 16 -> 1 units here) is a few percent of the step.
    assert ns < 0.97 * ra and hinge < 0.97 * ra, (ns, hinge, ra)


def test_bfloat16_compute_trains_float32_parameters():
    runs = {}
    for dtype in ("float32", "bfloat16"):
        _, run, state, batch_fn = build("nsgan", "ring8", **{"model.dtype": dtype})
        runs[dtype] = run_steps(run, state, batch_fn, 2)
    (_, m32), (s16, m16) = runs["float32"], runs["bfloat16"]
    assert {x.dtype for x in jax.tree.leaves((s16.nets["g"].params, s16.nets["d"].params))} == {
        jnp.dtype("float32")
    }
    assert all(m16[k].dtype == jnp.float32 and np.isfinite(m16[k]) for k in m16)
    np.testing.assert_allclose(m16["d/loss"], m32["d/loss"], rtol=0.05)
    assert float(m16["d/loss"]) != float(m32["d/loss"])
