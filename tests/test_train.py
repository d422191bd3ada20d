"""The training dispatch: k updates per call, in-graph batches, the loop's schedule."""

import functools
import json

import jax
import ml_collections
import numpy as np
import pytest
from conftest import load_config, tiny

from gan_jax import dispatch as dispatching
from gan_jax import divergence, runs, steps, train, xla_cpu


def build(name, preset=None, **overrides):
    cfg = tiny(load_config(name, preset, **overrides))
    run = runs.build_run(cfg)
    return run, jax.jit(run.init_state)(jax.random.key(cfg.seed))


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves((state.nets["g"], state.nets["d"], state.step))]


def assert_states_close(a, b):
    for x, y in zip(leaves(a), leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name,preset,k", [("nsgan", "ring8", 3), ("wgan_gp", "grid25", 3), ("nsgan", None, 2)]
)
def test_k_updates_per_dispatch_equal_k_dispatches_of_one(name, preset, k):
    # MLPs loop with a rolled scan, the DCGAN (digits) is unrolled; wgan_gp has 5 critic steps.
    run, state = build(name, preset)
    one, many = dispatching.make_dispatch(run, 1), dispatching.make_dispatch(run, k)
    guard = divergence.init_guard()
    multi, multi_guard, multi_metrics = many(jax.tree.map(lambda a: a.copy(), state), guard)
    single, single_guard = state, guard
    for _ in range(k):
        single, single_guard, single_metrics = one(single, single_guard)
    assert int(multi.step) == int(single.step) == k
    assert int(multi_guard["first_bad_step"]) == int(single_guard["first_bad_step"]) == -1
    assert_states_close(multi, single)
    for key in single_metrics:
        np.testing.assert_allclose(multi_metrics[key], single_metrics[key], rtol=1e-5, atol=1e-6)


def test_dispatch_samples_the_batches_the_host_sampler_gives():
    run, state = build("wgan", "grid25")  # 5 critic steps: every slice of the batches counts
    tc = run.config.train
    step_fn = steps.make_train_step(run.game)
    batch_fn = jax.jit(
        functools.partial(runs.sample_batches, run.dataset, tc.d_steps, tc.batch_size)
    )
    data_key = jax.random.fold_in(jax.random.key(run.config.seed), steps.ROLE_DATA)
    host = jax.tree.map(lambda a: a.copy(), state)
    for i in range(2):
        host, _ = step_fn(host, batch_fn(data_key, i))
    dispatch, guard = dispatching.make_dispatch(run, 1), divergence.init_guard()
    for _ in range(2):
        state, guard, _ = dispatch(state, guard)
    assert_states_close(state, host)


def test_dispatch_compiles_once():
    run, state = build("nsgan", "ring8")
    dispatch, guard = dispatching.make_dispatch(run, 4), divergence.init_guard()
    for _ in range(3):
        state, guard, _ = dispatch(state, guard)
    assert dispatch._cache_size() == 1
    assert int(state.step) == 12


def test_dispatch_compiles_with_the_configured_xla_cpu_fusions():
    # Dots and convolutions left to XLA (the shipped setting) appear as plain dot / convolution
    # instructions of the compiled program; YNNPACK fusions take them with XLA's defaults (dots)
    # or when asked to (convolutions).
    probe = ml_collections.ConfigDict({"xla_cpu_ynn_fusions": "reduce"})
    if not xla_cpu.compiler_options(probe, jax.devices()):
        pytest.skip("this jaxlib does not take the YNNPACK fusion option")

    def plain(op, config, preset, fusions):
        # The shipped sizes: YNNPACK does not take the convolutions of the tests' tiny models.
        run = runs.build_run(load_config(config, preset, **{"train.xla_cpu_ynn_fusions": fusions}))
        state = jax.jit(run.init_state)(jax.random.key(0))
        dispatch, guard = dispatching.make_dispatch(run, 1), divergence.init_guard()
        text = dispatch.lower(state, guard).compile().as_text()
        return text[text.index("ENTRY") :].count(f" {op}(")

    shipped = load_config("nsgan", "ring8").train.xla_cpu_ynn_fusions
    assert {"dot", "individual_convolution"}.isdisjoint(shipped.split(","))
    assert plain("dot", "nsgan", "ring8", shipped) > plain("dot", "nsgan", "ring8", "default")
    to_ynn = "reduce,individual_convolution"
    convs = [plain("convolution", "nsgan", None, f) for f in (shipped, to_ynn)]
    assert convs[0] > convs[1]


def test_next_stop_respects_every_job_and_the_end():
    def stops(periods, total=25, at=(0, 3, 4, 8, 10, 20, 24)):
        jobs = [train.Job(str(i), every, lambda step: None) for i, every in enumerate(periods)]
        return [train.next_stop(jobs, d, total) for d in at]

    assert stops((10, 4, 100, 0)) == [4, 4, 8, 10, 12, 24, 25]
    assert stops((10, 0, 15, 0), at=(0, 10, 14, 15, 20, 21)) == [10, 15, 15, 20, 25, 25]
    assert stops((10, 0, 15, 7), at=(0, 7, 10, 14, 15)) == [7, 10, 14, 15, 20]


def test_jobs_due_at_their_period_and_the_last_step_only_when_at_end():
    log = train.Job("log", 10, lambda step: None, at_end=True)
    samples = train.Job("samples", 10, lambda step: None)
    assert [log.due(s, 25) for s in (10, 15, 20, 25)] == [True, False, True, True]
    assert [samples.due(s, 20) for s in (10, 20)] == [True, False]
    assert not train.Job("never", 0, lambda step: None).due(10, 25)


def test_training_with_steps_per_dispatch_logs_every_log_step_and_matches_k1(tmp_path):
    def run_with(k, workdir):
        cfg = tiny(load_config("nsgan", "ring8"))
        cfg.train.steps, cfg.train.log_every, cfg.train.steps_per_dispatch = 7, 3, k
        cfg.checkpoint.every_steps = 6
        state = train.train_and_evaluate(cfg, workdir)
        lines = (workdir / "metrics.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        return state, [r for r in records if "d/loss" in r]

    state_k, records_k = run_with(2, tmp_path / "k2")
    state_1, records_1 = run_with(1, tmp_path / "k1")
    assert [r["step"] for r in records_k] == [r["step"] for r in records_1] == [3, 6, 7]
    assert_states_close(state_k, state_1)
    for a, b in zip(records_k, records_1):
        np.testing.assert_allclose(a["d/loss"], b["d/loss"], rtol=1e-5)
