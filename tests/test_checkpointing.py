"""Checkpoints, exact resume and fault tolerance (gan_jax.checkpointing, train, divergence).

In-process runs use tiny MLP / DCGAN configs; the preemption tests run ``python -m gan_jax.main``
in a subprocess, bounded by timeouts, and signal it.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import types

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from configs import default
from gan_jax import checkpointing, divergence, runs, train
from gan_jax.errors import CheckpointError, ConfigError, DivergenceError
from gan_jax.games import classic
from gan_jax.runs import load_run

REPO = pathlib.Path(__file__).resolve().parents[1]


def tiny_config(kind: str, steps_: int, every: int):
    """A config that trains in about a second; ``kind`` is 'mlp' or 'dcgan'."""
    c = default.get_config("ring8" if kind == "mlp" else "digits")
    c.train.steps = steps_
    c.train.log_every = 5
    c.train.sample_every = 0
    c.checkpoint.every_steps = every
    c.eval.num_samples = 64
    if kind == "mlp":
        c.model.g_hidden = c.model.d_hidden = (16,)
        c.train.batch_size = 32
    else:
        c.model.width = 8
        c.model.z_dim = 8
        c.train.batch_size = 8
    return c


def assert_trees_equal(a, b):
    a, b = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def saved_steps(workdir) -> list[int]:
    return sorted(
        int(p.name) for p in checkpointing.checkpoint_dir(workdir).iterdir() if p.name.isdigit()
    )


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """One MLP run of 8 steps with checkpoints at 4 and 8: (workdir, final state).

    Tests copy the workdir instead of retraining, which keeps the module fast.
    """
    workdir = tmp_path_factory.mktemp("mlp_run")
    return workdir, train.train_and_evaluate(tiny_config("mlp", 8, every=4), workdir)


def copy_run(mlp_run, tmp_path) -> pathlib.Path:
    shutil.copytree(mlp_run[0], tmp_path / "run")
    return tmp_path / "run"


def training_log_steps(workdir) -> list[int]:
    lines = (pathlib.Path(workdir) / "metrics.jsonl").read_text().splitlines()
    return [r["step"] for r in map(json.loads, lines) if "g/loss" in r]


def test_mlp_resume_is_bit_identical_to_a_straight_run(mlp_run, tmp_path, capsys):
    straight = mlp_run[1]
    train.train_and_evaluate(tiny_config("mlp", 4, every=4), tmp_path)
    assert saved_steps(tmp_path) == [4]
    capsys.readouterr()
    resumed = train.train_and_evaluate(tiny_config("mlp", 8, every=4), tmp_path)
    out = capsys.readouterr().out
    assert "resuming from the checkpoint at step 4" in out
    assert "config changed since that checkpoint: train.steps: 4 -> 8" in out
    assert int(resumed.step) == 8 and saved_steps(tmp_path) == [4, 8]
    assert_trees_equal(straight, resumed)
    # The comparison is between trained states, not two initialisations.
    init = runs.build_run(tiny_config("mlp", 8, 4)).init_state(jax.random.key(0))
    assert not np.array_equal(
        init.nets["g"].params["out"]["kernel"], straight.nets["g"].params["out"]["kernel"]
    )
    assert training_log_steps(tmp_path) == [4, 5, 8]


def test_dcgan_resume_is_bit_identical_to_a_straight_run(tmp_path, capsys):
    # The straight run's own checkpoint at step 4 is the "stopped" run: the state a run that
    # stops at 4 saves is the same one (the stop-and-rerun path itself is the SIGTERM test's).
    cfg = tiny_config("dcgan", 8, every=4)
    straight = train.train_and_evaluate(cfg, tmp_path)
    assert saved_steps(tmp_path) == [4, 8]
    shutil.rmtree(checkpointing.checkpoint_dir(tmp_path) / "8")
    capsys.readouterr()
    resumed = train.train_and_evaluate(cfg, tmp_path)
    assert "resuming from the checkpoint at step 4" in capsys.readouterr().out
    assert (
        straight.nets["g"].batch_stats and straight.nets["d"].batch_stats
    )  # BatchNorm statistics included
    assert_trees_equal(straight, resumed)


@pytest.mark.slow
def test_resume_with_ema_spectral_norm_and_labels_is_bit_identical(tmp_path, capsys):
    """A conditional DCGAN with a spectrally normalised critic and a generator EMA: the EMA
    and the power-iteration vectors are in the checkpoint and resume exactly."""
    cfg = tiny_config("dcgan", 6, every=3)
    cfg.model.num_classes, cfg.model.d_spectral_norm, cfg.model.g_ema_decay = 10, True, 0.9
    straight = train.train_and_evaluate(cfg, tmp_path)
    shutil.rmtree(checkpointing.checkpoint_dir(tmp_path) / "6")
    capsys.readouterr()
    resumed = train.train_and_evaluate(cfg, tmp_path)
    assert "resuming from the checkpoint at step 3" in capsys.readouterr().out
    assert straight.ema["g"] and "sn0" in straight.nets["d"].batch_stats
    assert_trees_equal(straight, resumed)
    init = runs.build_run(cfg).init_state(jax.random.key(0))
    assert not np.array_equal(init.nets["d"].batch_stats["sn0"]["conv0/kernel/u"],
                              straight.nets["d"].batch_stats["sn0"]["conv0/kernel/u"])  # fmt: skip


def test_finished_run_is_not_retrained(mlp_run, tmp_path, capsys):
    workdir = copy_run(mlp_run, tmp_path)
    before = (workdir / "metrics.jsonl").read_text()
    again = train.train_and_evaluate(tiny_config("mlp", 8, every=4), workdir)
    assert "already reaches train.steps=8: nothing to train" in capsys.readouterr().out
    assert_trees_equal(mlp_run[1], again)
    assert (workdir / "metrics.jsonl").read_text() == before


def test_shape_changing_config_is_refused_and_other_changes_are_logged(mlp_run, tmp_path, capsys):
    workdir = copy_run(mlp_run, tmp_path)
    saved_json = (workdir / "config.json").read_text()
    changed = tiny_config("mlp", 12, every=4)
    changed.model.g_hidden = (32,)
    changed.data.name = "grid25"
    changed.optim.g.lr = 1e-3
    with pytest.raises(CheckpointError) as err:
        train.train_and_evaluate(changed, workdir)
    refused = str(err.value).split("(key: saved -> now):")[1].split("Restore those")[0]
    assert refused.strip().splitlines() == [
        "data.name: 'ring8' -> 'grid25'",
        "  model.g_hidden: [16] -> [32]",
    ]
    assert (workdir / "config.json").read_text() == saved_json  # nothing overwritten
    assert saved_steps(workdir) == [4, 8]

    capsys.readouterr()
    allowed = tiny_config("mlp", 12, every=4)
    allowed.optim.g.lr = 1e-3
    train.train_and_evaluate(allowed, workdir)
    out = capsys.readouterr().out
    assert "config changed since that checkpoint: optim.g.lr: 0.0001 -> 0.001" in out
    assert saved_steps(workdir) == [4, 8, 12]


def test_layout_change_through_an_unlisted_key_is_refused_not_taken_for_damage(mlp_run):
    wider = tiny_config("mlp", 8, every=4)
    wider.model.d_hidden = (24,)
    other_layout = runs.build_run(wider).abstract_state()
    with pytest.raises(
        CheckpointError,
        match=r"different layout[\s\S]*d/params/dense0/kernel: "
        r"\(2, 16\) float32 -> \(2, 24\) float32",
    ):
        checkpointing.load(mlp_run[0], lambda saved: other_layout)


# Orbax leaves an asyncio callback behind after a failed read; it is harmless here.
ORBAX_READ_ERROR_NOISE = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning"
)


def damage(step_dir: pathlib.Path) -> None:
    """Truncate every array data file of a checkpoint's state item to 10 bytes."""
    files = [p for p in (step_dir / "state").rglob("*") if p.is_file() and p.parent.name == "d"]
    assert files
    for p in files:
        p.write_bytes(p.read_bytes()[:10])


@ORBAX_READ_ERROR_NOISE
def test_truncated_latest_checkpoint_falls_back_to_the_previous(mlp_run, tmp_path, capsys):
    workdir = copy_run(mlp_run, tmp_path)
    damage(checkpointing.checkpoint_dir(workdir) / "8")
    # A save killed before its commit leaves only a tmp directory behind.
    (checkpointing.checkpoint_dir(workdir) / "12.orbax-checkpoint-tmp" / "state").mkdir(
        parents=True
    )

    _, _, step = load_run(workdir)  # gan_jax.sample's path: read-only, falls back
    assert step == 4
    assert saved_steps(workdir) == [4, 8]
    assert re.search(r"checkpoint 8 in \S+ is unreadable \(\w+", capsys.readouterr().err)

    resumed = train.train_and_evaluate(tiny_config("mlp", 8, every=4), workdir)
    out = capsys.readouterr().out
    assert "ignoring 12.orbax-checkpoint-tmp" in out
    assert re.search(r"checkpoint 8 in \S+ is unreadable \(\w+", out)
    assert "using the previous checkpoint, step 4" in out
    assert "resuming from the checkpoint at step 4" in out
    assert (workdir / "unreadable_checkpoints" / "8").is_dir()
    assert saved_steps(workdir) == [4, 8]
    assert_trees_equal(mlp_run[1], resumed)  # retraining 4..8 reproduces the lost checkpoint


def test_a_failed_read_leaves_no_event_loop_tracebacks(mlp_run, tmp_path, monkeypatch):
    """TensorStore reports each leftover callback of a failed read as an unraisable
    RuntimeError('Event loop is closed') (6 lines each, dozens per checkpoint, but not every
    time); after a restore those are dropped and any other unraisable still reaches the hook."""
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    workdir = copy_run(mlp_run, tmp_path)
    damage(checkpointing.checkpoint_dir(workdir) / "8")
    assert load_run(workdir)[2] == 4

    def unraisable(error):
        return types.SimpleNamespace(
            exc_type=type(error), exc_value=error, exc_traceback=None, err_msg=None, object=None
        )

    other = unraisable(ValueError("something else"))
    sys.unraisablehook(unraisable(RuntimeError("Event loop is closed")))
    sys.unraisablehook(other)
    assert reported == [other]


@ORBAX_READ_ERROR_NOISE
def test_no_readable_checkpoint_is_one_clear_error(mlp_run, tmp_path):
    workdir = copy_run(mlp_run, tmp_path)
    for step in (4, 8):
        damage(checkpointing.checkpoint_dir(workdir) / str(step))
    with pytest.raises(
        CheckpointError, match=r"no readable checkpoint[\s\S]*step 8: [\s\S]*step 4: "
    ):
        load_run(workdir)


def poison_g_loss_from(monkeypatch, first_bad_step: int) -> None:
    """Make the generator loss NaN from generator update ``first_bad_step`` on (1-based)."""
    g_loss = classic.generator_loss

    def poisoned(ctx, batch, key, **kwargs):
        loss, terms = g_loss(ctx, batch, key, **kwargs)
        scale = jnp.where(ctx.step + 1 >= first_bad_step, jnp.nan, 1.0)
        return loss * scale, terms  # NaN loss, so NaN gradients too

    monkeypatch.setattr(classic, "generator_loss", poisoned)


def test_nan_in_the_loss_stops_the_run_and_keeps_the_good_checkpoint(tmp_path, monkeypatch):
    poison_g_loss_from(monkeypatch, 7)
    cfg = tiny_config("mlp", 20, every=4)
    cfg.train.log_every = 10
    with pytest.raises(DivergenceError) as err:
        train.train_and_evaluate(cfg, tmp_path)
    message = str(err.value)
    # Detected before the save at step 8 (no host sync in between), first bad step named.
    assert "non-finite g/grad_norm, g/loss at step 7" in message
    assert "stopped at step 8 without saving it" in message
    assert "the latest checkpoint, step 4" in message
    assert saved_steps(tmp_path) == [4]
    monkeypatch.undo()
    state = load_run(tmp_path)[1]
    assert bool(divergence.all_finite(state))


def test_divergence_guard_keeps_the_first_bad_step():
    guard = divergence.init_guard()
    update = jax.jit(divergence.update_guard)
    names = {"a": jnp.float32(1.0), "b": jnp.float32(2.0), "c": jnp.float32(3.0)}
    guard = update(guard, names, 1)
    assert divergence.describe(guard, names) is None
    guard = update(guard, {**names, "c": jnp.float32(jnp.inf), "a": jnp.float32(jnp.nan)}, 2)
    guard = update(guard, {**names, "b": jnp.float32(jnp.nan)}, 3)
    assert divergence.describe(guard, names) == "non-finite a, c at step 2"
    assert not bool(divergence.all_finite({"w": jnp.array([1.0, jnp.inf]), "k": jax.random.key(0)}))


@pytest.mark.parametrize("key", ["every_steps", "max_to_keep"])
def test_checkpoint_keys_are_validated(key, tmp_path):
    cfg = tiny_config("mlp", 4, every=4)
    cfg.checkpoint[key] = 0
    with pytest.raises(ConfigError, match=f"checkpoint.{key}=0 is not allowed"):
        train.train_and_evaluate(cfg, tmp_path)


def test_data_item_round_trips_and_is_optional(tmp_path):
    state = {"w": jnp.arange(3.0), "key": jax.random.key(1)}
    mgr = checkpointing.manager(tmp_path)
    checkpointing.save(mgr, 1, state, {"seed": 0})
    checkpointing.save(mgr, 2, state, {"seed": 0}, data={"iterator": {"index": 17}})
    mgr.wait_until_finished()
    abstract = jax.eval_shape(lambda: state)
    assert checkpointing.restore(mgr, lambda c: abstract, step=1).data is None
    restored = checkpointing.restore(mgr, lambda c: abstract)
    mgr.close()
    assert restored.step == 2 and restored.data == {"iterator": {"index": 17}}
    assert_trees_equal(restored.state, state)


def test_notebook_snippet_restores_the_generator_with_orbax_alone(mlp_run, tmp_path):
    doc = (REPO / "docs" / "checkpoints.md").read_text()
    snippet = re.search(
        r"## Loading a run in a notebook.*?```python\n(.*?)```", doc, re.DOTALL
    ).group(1)
    assert "runs/default/checkpoints" in snippet
    snippet = snippet.replace("runs/default/checkpoints", str(mlp_run[0] / "checkpoints"))
    check = (
        "\nimport sys\n"
        "assert 'gan_jax' not in sys.modules\n"
        "print('RESULT', step, g_params['out']['kernel'].shape, config['model']['g_hidden'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", snippet + check],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "RESULT 8 (16, 2) [16]" in proc.stdout
    restored = ocp.StandardCheckpointer().restore(mlp_run[0] / "checkpoints" / "8" / "state")
    np.testing.assert_array_equal(
        restored["nets"]["g"]["params"]["out"]["kernel"],
        mlp_run[1].nets["g"].params["out"]["kernel"],
    )


# --- Preemption: real signals ---------------------------------------------------------------

# The config of the runs below; the subprocesses get it as flags, in-process reruns as a config.
MAIN_OVERRIDES = {
    "model.g_hidden": (8,),
    "model.d_hidden": (8,),
    "train.batch_size": 32,
    "train.log_every": 20,
    "train.sample_every": 0,
    "eval.num_samples": 64,
}
FOREVER = 10**8


def main_config(**overrides):
    c = default.get_config("ring8")
    for dotted, value in {**MAIN_OVERRIDES, **overrides}.items():
        section, key = dotted.split(".")
        c[section][key] = value
    return c


def start_main(workdir, **overrides) -> subprocess.Popen:
    """``python -m gan_jax.main`` in the background; stdout/stderr go to files next to workdir.

    (Files, not pipes: Orbax logs every save to stderr, and a full pipe would block the child.)
    """
    flags = [f"--config.{k}={v}" for k, v in {**MAIN_OVERRIDES, **overrides}.items()]
    cmd = [sys.executable, "-m", "gan_jax.main", "--config=configs/default.py:ring8"]
    workdir = pathlib.Path(workdir)
    workdir.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{workdir}.out", "w") as out, open(f"{workdir}.err", "w") as err:
        return subprocess.Popen(
            [*cmd, f"--workdir={workdir}", *flags], cwd=REPO, stdout=out, stderr=err, text=True
        )


def finished_output(proc: subprocess.Popen, workdir, timeout: float = 120) -> tuple[str, str]:
    proc.wait(timeout=timeout)
    return pathlib.Path(f"{workdir}.out").read_text(), pathlib.Path(f"{workdir}.err").read_text()


def wait_for(predicate, proc: subprocess.Popen, workdir, timeout: float = 300) -> None:
    """Poll ``predicate`` until true; fail (with the child's output) if ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = finished_output(proc, workdir, 30)
            pytest.fail(f"condition not reached (rc={proc.returncode}):\n{out}\n{err[-3000:]}")
        time.sleep(0.05)


def logged_lines(workdir) -> int:
    """Training log records in metrics.jsonl (evaluation records, e.g. step 0's, not counted)."""
    path = pathlib.Path(workdir) / "metrics.jsonl"
    text = path.read_text() if path.is_file() else ""
    return sum('"d/loss"' in line for line in text.splitlines())


@pytest.mark.slow
def test_cli_falls_back_past_a_truncated_checkpoint_in_a_few_lines(tmp_path):
    """The fallback names the checkpoint and what it did; no library tracebacks or INFO logs."""
    workdir = tmp_path / "run"
    run = {"train.steps": 8, "checkpoint.every_steps": 4, "train.log_every": 4}
    out, err = finished_output(start_main(workdir, **run), workdir)
    assert saved_steps(workdir) == [4, 8], err[-3000:]
    damage(checkpointing.checkpoint_dir(workdir) / "8")
    proc = start_main(workdir, **run)
    out, err = finished_output(proc, workdir)
    assert proc.returncode == 0, err[-3000:]
    lines = (out + err).splitlines()
    assert re.search(r"checkpoint 8 in \S+ is unreadable \(\w+", out)
    assert "using the previous checkpoint, step 4" in out
    assert "Traceback" not in err and "Event loop is closed" not in err
    assert not [line for line in lines if re.match(r"I\d{4} ", line)]  # absl-format INFO
    assert len(lines) <= 12, "\n".join(lines)


def test_sigterm_saves_a_checkpoint_exits_0_and_the_rerun_resumes(tmp_path, capsys):
    workdir = tmp_path / "run"
    proc = start_main(workdir, **{"train.steps": FOREVER, "checkpoint.every_steps": FOREVER})
    try:
        wait_for(lambda: logged_lines(workdir) >= 1, proc, workdir)
        proc.send_signal(signal.SIGTERM)
        out, err = finished_output(proc, workdir)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    match = re.search(r"SIGTERM: saved a checkpoint at step (\d+) in (\S+);", out)
    assert match, out
    step = int(match.group(1))
    assert step >= 20 and pathlib.Path(match.group(2)).is_dir()
    assert saved_steps(workdir) == [step]

    resumed = train.train_and_evaluate(main_config(**{"train.steps": step + 5}), workdir)
    assert f"resuming from the checkpoint at step {step}" in capsys.readouterr().out
    assert int(resumed.step) == step + 5 and saved_steps(workdir) == [step, step + 5]


def test_sigint_in_process_saves_and_returns(tmp_path, capsys):
    cfg = main_config(**{"train.steps": FOREVER, "checkpoint.every_steps": FOREVER})

    def interrupt_once_logging():
        # The handler is installed once the loop logs. Send the signal even on a timeout, so a
        # broken run fails the test instead of training forever.
        deadline = time.monotonic() + 300
        while logged_lines(tmp_path) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=interrupt_once_logging, daemon=True)
    thread.start()
    state = train.train_and_evaluate(cfg, tmp_path)
    thread.join(timeout=10)
    step = int(state.step)
    assert f"SIGINT: saved a checkpoint at step {step} in " in capsys.readouterr().out
    assert saved_steps(tmp_path) == [step]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_a_signal_during_the_evaluation_at_a_checkpoint_step_saves_once_and_stops(
    tmp_path, capsys, monkeypatch
):
    """Ctrl-C during the host work of step 10 (its checkpoint, then its evaluation): the run
    stops at step 10 with that one checkpoint, without a further step or save."""
    cfg = tiny_config("mlp", 40, every=10)
    cfg.eval.every_steps, cfg.eval.at_start = 10, False
    evaluate = train.run_evaluation

    def interrupted(run, state, evaluator, step, logger):
        if step == 10:
            signal.raise_signal(signal.SIGINT)
        return evaluate(run, state, evaluator, step, logger)

    monkeypatch.setattr(train, "run_evaluation", interrupted)
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 10
    assert saved_steps(tmp_path) == [10]
    assert "SIGINT: saved a checkpoint at step 10 in " in capsys.readouterr().out
    assert max(training_log_steps(tmp_path)) == 10


def test_resume_drops_the_pictures_and_records_of_abandoned_steps(mlp_run, tmp_path):
    workdir = copy_run(mlp_run, tmp_path)
    shutil.rmtree(checkpointing.checkpoint_dir(workdir) / "8")  # as if killed after step 4
    (workdir / "samples" / "step_0000006.png").write_bytes(b"abandoned")
    (workdir / "samples" / "step_0000004.png").write_bytes(b"kept")
    assert max(training_log_steps(workdir)) == 8
    train.train_and_evaluate(tiny_config("mlp", 4, every=4), workdir)  # resumes at 4: done
    assert (workdir / "samples" / "step_0000004.png").read_bytes() == b"kept"
    assert not (workdir / "samples" / "step_0000006.png").exists()
    records = (workdir / "metrics.jsonl").read_text().splitlines()
    assert records and max(json.loads(r)["step"] for r in records) <= 4


def test_kill_9_during_a_save_leaves_the_latest_complete_checkpoint_usable(tmp_path, capsys):
    workdir = tmp_path / "run"
    overrides = {"train.steps": FOREVER, "checkpoint.every_steps": 5, "checkpoint.max_to_keep": 2}
    proc = start_main(workdir, **overrides)

    def saving_after_a_complete_checkpoint() -> bool:
        ckpt_dir = checkpointing.checkpoint_dir(workdir)
        return (
            ckpt_dir.is_dir()
            and bool(saved_steps(workdir))
            and bool(checkpointing.incomplete_saves(workdir))
        )

    try:
        wait_for(saving_after_a_complete_checkpoint, proc, workdir)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    latest = saved_steps(workdir)[-1]
    leftovers = checkpointing.incomplete_saves(workdir)
    _, state, step = load_run(workdir)
    assert step == latest and int(state.step) == latest

    train.train_and_evaluate(main_config(**{**overrides, "train.steps": latest + 5}), workdir)
    out = capsys.readouterr().out
    assert f"resuming from the checkpoint at step {latest}" in out
    for name in leftovers:  # usually the interrupted save; it may have committed meanwhile
        assert f"ignoring {name}" in out
    logged = training_log_steps(workdir)  # records past the checkpoint were rewound
    assert logged == sorted(set(logged)) and logged[-1] == latest + 5


def test_absurd_learning_rate_is_stopped_by_the_guard(tmp_path):
    cfg = main_config(**{"train.steps": 200, "checkpoint.every_steps": 1000})
    cfg.optim.g.lr = cfg.optim.d.lr = 1e30
    with pytest.raises(DivergenceError, match=r"training diverged: non-finite \S+.* at step \d+"):
        train.train_and_evaluate(cfg, tmp_path)
    assert saved_steps(tmp_path) == []


def test_a_checkpoint_of_the_layout_before_games_is_refused_with_one_line(mlp_run, tmp_path):
    """A state saved as GANState was (top-level g / d, no nets) is named, not misread."""
    workdir = copy_run(mlp_run, tmp_path)
    state = mlp_run[1]
    old = {"step": state.step, "g": state.nets["g"], "d": state.nets["d"], "key": state.key}
    mgr = checkpointing.manager(workdir)
    checkpointing.save(mgr, 9, old, json.loads((workdir / "config.json").read_text()))
    mgr.wait_until_finished()
    mgr.close()
    with pytest.raises(CheckpointError, match="layout of gan_jax before games") as err:
        load_run(workdir)
    assert "\n" not in str(err.value) and "checkpoint 9" in str(err.value)
