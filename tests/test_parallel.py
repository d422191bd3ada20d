"""Data parallelism: the result of a run does not depend on how many devices or hosts ran it.

The multi-device runs happen in subprocesses (tests/parallel_worker.py) because fake CPU
devices (XLA_FLAGS=--xla_force_host_platform_device_count=N) must be set before JAX starts.
One module fixture launches them together, bounded by timeouts:

- one process with 8 devices training a BatchNorm DCGAN on meshes of 1, 4 and 8 devices, and
  an MLP, configs/hinge.py's MLP preset and a relativistic MLP with the R1 penalty on 1 and 8,
  from the same seed and global batch;
- two processes with 2 devices each on 127.0.0.1 (gloo collectives), through the real entry
  point gan_jax.main with --coordinator_address/--num_processes/--process_id.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys

import jax
import numpy as np
import parallel_worker as worker
import pytest

from gan_jax import checkpointing, sharding, steps, train
from gan_jax import dispatch as dispatching
from gan_jax.errors import ConfigError
from gan_jax.runs import build_run

WORKER = pathlib.Path(worker.__file__)
# The whole fixture on 2 busy cores: a normal run takes well under 2 minutes; with the cgan and
# sngan runs it took 330 s at a load average of 7 on the shared 2-core machine.
TIMEOUT_S = 600
RTOL = 1e-4


def _env(num_devices: int) -> dict[str, str]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={num_devices}"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(worker.ROOT), env.get("PYTHONPATH", "")])
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Launch the 8-device process and the two 2-device processes at once; wait for all."""
    root = tmp_path_factory.mktemp("parallel")
    meshes_dir, two_dir = root / "meshes", root / "two_process"
    meshes_dir.mkdir()
    (two_dir / "dump").mkdir(parents=True)
    port = _free_port()
    procs = {
        "meshes": subprocess.Popen(
            [sys.executable, str(WORKER), "meshes", str(meshes_dir)],
            env=_env(8),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    }
    for i in range(2):
        procs[f"process_{i}"] = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "main",
                *worker.main_flags("dcgan_bn"),
                f"--workdir={two_dir / 'run'}",
                f"--dump_dir={two_dir / 'dump'}",
                f"--coordinator_address=127.0.0.1:{port}",
                "--num_processes=2",
                f"--process_id={i}",
            ],
            env=_env(2),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    outputs, errors = {}, {}
    try:
        for name, proc in procs.items():
            outputs[name], errors[name] = proc.communicate(timeout=TIMEOUT_S)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for name, proc in procs.items():
        assert proc.returncode == 0, f"{name} failed:\n{errors[name][-4000:]}"
    return {"meshes": meshes_dir, "two_process": two_dir, "outputs": outputs}


def load_dump(path: pathlib.Path) -> dict[str, dict[int, np.ndarray]]:
    """{leaf: {local replica index: array}} from a parallel_worker dump."""
    leaves: dict[str, dict[int, np.ndarray]] = {}
    with np.load(path) as z:
        for key in z.files:
            leaf, replica = key.rsplit("@", 1)
            leaves.setdefault(leaf, {})[int(replica)] = z[key]
    return leaves


def assert_replicas_identical(dump) -> None:
    for leaf, replicas in dump.items():
        for i, x in replicas.items():
            np.testing.assert_array_equal(x, replicas[0], err_msg=f"{leaf} replica {i}")


def assert_states_close(actual, expected, atol: float = 0.0) -> None:
    assert actual.keys() == expected.keys()
    for leaf in expected:
        np.testing.assert_allclose(
            actual[leaf][0], expected[leaf][0], rtol=RTOL, atol=atol, err_msg=leaf
        )


# These losses do not change when a constant is added to the critic's output, so a few critic
# biases have an exactly zero gradient and stay at rounding level (~1e-9), where a relative
# tolerance means nothing; every other parameter is O(1e-4) or more (parallel_worker._SGD).
ATOL = {"hinge": 1e-7, "ralsgan_r1": 1e-7}


@pytest.mark.parametrize("config", ["dcgan_bn", "mlp", "cgan", "sngan", "hinge", "ralsgan_r1"])
def test_one_device_and_eight_devices_train_the_same_parameters(runs, config):
    one = load_dump(runs["meshes"] / f"{config}_1.npz")
    eight = load_dump(runs["meshes"] / f"{config}_8.npz")
    assert all(len(r) == 8 for r in eight.values())
    assert_replicas_identical(eight)
    assert_states_close(eight, one, ATOL.get(config, 0.0))
    if config == "dcgan_bn":  # the test really covers BatchNorm statistics
        assert any("norm1']['mean" in leaf for leaf in one)
    if config in ("cgan", "sngan"):  # ... spectral-norm vectors (and cgan's generator EMA)
        assert any("kernel/u" in leaf for leaf in one)
        assert any(leaf.startswith("['g_ema']") for leaf in one) == (config == "cgan")
    # Training moved the parameters (biases start at 0), so this is not two equal initial states.
    assert any(np.any(one[k][0] != 0) for k in one if k.endswith("['bias']"))


def test_two_processes_agree_with_each_other_and_with_one_process_on_four_devices(runs):
    dumps = [load_dump(runs["two_process"] / "dump" / f"process_{i}.npz") for i in range(2)]
    for dump in dumps:
        assert all(len(r) == 2 for r in dump.values())  # each process holds 2 of the 4 devices
        assert_replicas_identical(dump)
    for leaf in dumps[0]:
        np.testing.assert_array_equal(dumps[1][leaf][0], dumps[0][leaf][0], err_msg=leaf)
    four = load_dump(runs["meshes"] / "dcgan_bn_4.npz")
    assert all(len(r) == 4 for r in four.values())
    assert_states_close(dumps[0], four)


def test_each_process_feeds_its_own_part_of_a_global_batch(runs):
    for i in range(2):
        report = json.loads((runs["two_process"] / "dump" / f"process_{i}.json").read_text())
        assert report == {"process_batch_size": 8, "global_shape": [16, 3], "holds_its_rows": True}


def test_two_process_checkpoint_and_logs(runs):
    """Both processes wrote the checkpoint together; only process 0 wrote logs and progress.

    The checkpoint was written on 4 devices in 2 processes and is restored here on 1 device.
    """
    workdir = runs["two_process"] / "run"
    run = build_run(worker.get_config("dcgan_bn"))
    state, step = checkpointing.restore_state(workdir, run.abstract_state())
    assert step == run.config.train.steps
    dump = load_dump(runs["two_process"] / "dump" / "process_0.npz")
    restored = {
        jax.tree_util.keystr(path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_leaves_with_path(
            {
                "g": (state.nets["g"].params, state.nets["g"].batch_stats),
                "d": (state.nets["d"].params, state.nets["d"].batch_stats),
            }
        )
    }
    assert restored.keys() == dump.keys()
    for leaf, x in restored.items():
        np.testing.assert_array_equal(x, dump[leaf][0], err_msg=leaf)
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    # One writer: no duplicated records (log steps 2 and 4; evaluations at the start and end).
    assert [r["step"] for r in records if "d/loss" in r] == [2, 4]
    assert [r["step"] for r in records if "eval/frechet_distance" in r] == [0, 4]
    assert len(records) == 4
    outputs = runs["outputs"]
    assert "gan_jax: non_saturating on digits" in outputs["process_0"]
    assert "on 4 cpu device(s)" in outputs["process_0"]
    assert "gan_jax:" not in outputs["process_1"] and "step " not in outputs["process_1"]


def test_step_and_batch_function_traced_once_per_run(runs):
    compiled = json.loads((runs["meshes"] / "compiled.json").read_text())
    assert compiled.keys() == worker.MESH_RUNS.keys()
    for run, report in compiled.items():
        assert report["traces"] == {"train_step": 1, "sample_batches": 1}, run


def test_each_device_does_its_share_of_the_work(runs):
    """Per-device FLOPs of the compiled step fall with the device count.

    Measured on the MLP config: 5.2e5 on 1 device, 1.1e5 on 8 (batch 16; the replicated
    optimiser update does not shrink). Without the sharding constraint on the generator's noise,
    XLA replicated the generator: DCGAN at batch 64 did 7.2e7 on 1 device, 6.1e7 on each of 8
    (9.3e6 with it).
    """
    compiled = json.loads((runs["meshes"] / "compiled.json").read_text())
    flops = {
        run: report["flops_per_device"]
        for run, report in compiled.items()
        if "flops_per_device" in report
    }
    assert flops["mlp_8"] < flops["mlp_1"] / 4, flops


def test_batch_size_not_divisible_by_devices_is_one_clear_error(runs):
    message = (runs["meshes"] / "batch_error.txt").read_text()
    assert message.startswith("config error: train.batch_size=12 is not allowed")
    assert "multiple of the number of devices, 8" in message and "8 or 16" in message


def test_global_batch_splits_each_process_batch_across_devices(runs):
    shards = json.loads((runs["meshes"] / "global_batch.json").read_text())
    # A (d_steps=2, B=16, 3) host batch on 8 devices: each device holds (2, 2, 3), in order.
    assert shards["shape"] == [2, 16, 3]
    assert shards["shard_shapes"] == [[2, 2, 3]] * 8
    assert shards["in_order"] is True


def test_check_batch_size():
    sharding.check_batch_size(16, 8)
    with pytest.raises(ConfigError, match=r"train.batch_size=12 .* devices, 8, .*8 or 16"):
        sharding.check_batch_size(12, 8)
    with pytest.raises(ConfigError, match=r"train.batch_size=3 .*nearest: 4\)"):
        sharding.check_batch_size(3, 4)


def test_initialize_distributed_flag_errors(monkeypatch):
    monkeypatch.setattr(sharding, "cluster_detected", lambda: False)
    assert sharding.initialize_distributed("auto") is False  # single host: nothing to start
    assert sharding.initialize_distributed("off") is False
    with pytest.raises(
        ConfigError, match="--coordinator_address='h:1' .* unset with --distributed"
    ):
        sharding.initialize_distributed("off", coordinator_address="h:1")
    with pytest.raises(ConfigError, match="--num_processes=None"):
        sharding.initialize_distributed("auto", coordinator_address="h:1", process_id=0)
    with pytest.raises(ConfigError, match="--coordinator_address=None"):
        sharding.initialize_distributed("on")
    with pytest.raises(ConfigError, match=r"--process_id=2 .* 0 <= process_id < 2"):
        sharding.initialize_distributed("on", "h:1", num_processes=2, process_id=2)
    with pytest.raises(ConfigError, match="--distributed='yes'"):
        sharding.initialize_distributed("yes")
    assert not jax.distributed.is_initialized()


def test_cluster_detection_uses_jax_detectors(monkeypatch):
    slurm = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")
    for var in slurm:
        monkeypatch.delenv(var, raising=False)
    assert sharding.cluster_detected() is False
    for var, value in zip(slurm, ("7", "node1", "2", "0", "0")):
        monkeypatch.setenv(var, value)
    assert sharding.cluster_detected() is True


def test_no_host_round_trips_between_log_steps(monkeypatch, tmp_path):
    """Device-to-host reads happen only on log steps; the step function compiles once.

    Every read of a jax.Array's value goes through ArrayImpl._value (np.asarray, float,
    device_get); the test records how many steps had been dispatched at each read. On CPU the
    loop's jax.transfer_guard cannot see device-to-host reads (host memory is device memory),
    hence this count. Host-to-device transfers in the loop are errors under that guard. A log
    step's metrics are read once the next step is dispatched (the last step's at once).
    """
    from jax._src import array as jax_array

    config = worker.get_config("mlp")
    config.train.steps, config.train.log_every = 7, 3
    dispatched, reads_at, traces = [0], [], {}
    value = jax_array.ArrayImpl._value

    def recording_value(self):
        reads_at.append(dispatched[0])
        return value.fget(self)

    make_dispatch = dispatching.make_dispatch

    def counting_make_dispatch(*args, **kwargs):
        dispatch_fn = make_dispatch(*args, **kwargs)

        def dispatch(state, guard):
            dispatched[0] += 1
            return dispatch_fn(state, guard)

        return dispatch

    monkeypatch.setattr(dispatching, "make_dispatch", counting_make_dispatch)
    monkeypatch.setattr(steps, "train_step", worker.counted(steps.train_step, "train_step", traces))
    monkeypatch.setattr(jax_array.ArrayImpl, "_value", property(recording_value))
    train.train_and_evaluate(config, tmp_path)
    monkeypatch.undo()

    assert dispatched[0] == 7 and traces == {"train_step": 1}
    assert set(reads_at) - {0} and set(reads_at) <= {0, 4, 7}, sorted(set(reads_at))
