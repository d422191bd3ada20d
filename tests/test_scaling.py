"""The data-parallel step's collectives do not regress (experiments/scaling.py reads them).

The compiled per-device program of the digits DCGAN's step on 8 fake devices (its own process:
the device count is fixed when jax starts) communicates with all-reduces only, of bytes that do
not grow with the batch: the gradients of each update and the BatchNorm statistics, never an
all-gather of activations or parameters.
"""

import pytest

from experiments import scaling


def test_collectives_parses_tuple_and_async_all_reduces():
    hlo = "\n".join(
        [
            "  %a = (f32[4,4,1,32]{3,2,1,0}, f32[32]{0}) all-reduce(%x, %y), replica_groups={}",
            "  %b = bf16[8,16]{1,0} all-gather-start(%z), dimensions={0}",
            "  %c = f32[8,16]{1,0} add(%p, %q)",
            "  %d = f32[] all-reduce(%s), to_apply=%sum",
        ]
    )
    ops = scaling.collectives(hlo)
    assert ops == [
        {"kind": "all-reduce", "bytes": (4 * 4 * 32 + 32) * 4, "operands": 2},
        {"kind": "all-gather", "bytes": 8 * 16 * 2, "operands": 1},
        {"kind": "all-reduce", "bytes": 4, "operands": 1},
    ]
    assert scaling.summarise(ops)["bytes"] == {"all-reduce": 2180, "all-gather": 256}


@pytest.fixture(scope="module")
def tiny():
    return scaling.run_worker("tiny", devices=8, per_device=4)


def test_step_on_8_devices_only_all_reduces_gradients_and_statistics(tiny):
    assert tiny["devices"] == 8
    assert set(tiny["ops"]) == {"all-reduce"}
    # Bytes independent of the batch: nothing per example crosses devices.
    assert tiny["bytes_at_double_batch"] == tiny["bytes"]
    params, updates = tiny["param_bytes"], tiny["updates_per_step"]
    grads = sum(params[p] * updates[p] for p in ("d", "g"))
    reduced = tiny["bytes"]["all-reduce"]
    assert reduced >= grads * 0.95  # every update's gradients (BatchNorm's counted below)
    # At most: the critic's gradient twice (XLA:CPU reduces the real and the fake pass's partial
    # gradients separately, then adds them), G's once, and 10% for statistics and metrics.
    assert reduced <= (2 * params["d"] * updates["d"] + params["g"]) * 1.1


def test_projection_is_linear_compute_plus_ring_communication():
    measured = {
        8: {
            "flops_per_device": 4e12,
            "per_device_batch": 4,
            "bytes": {"all-reduce": 1e9},
            "ops": {"all-reduce": 10},
        },
    }
    (row,) = [r for r in scaling.project(measured, [32]) if r["machine"].startswith("H100")]
    machine = scaling.MACHINES["H100 NVLink node(s)"]
    compute = 4e12 / (scaling.UTILISATION * machine["peak_flops"])
    comm = 2 * 7 / 8 * 1e9 / machine["local_bw"] + 10 * machine["local_alpha"]
    assert row["compute_ms"] == pytest.approx(1e3 * compute)
    assert row["comm_ms"] == pytest.approx(1e3 * comm)
    assert row["efficiency"] == pytest.approx(compute / (compute + comm))
    # 16 devices: two nodes, plus the InfiniBand ring of each device's 1/8 shard.
    t16 = scaling.allreduce_seconds(machine, 16, 1e9, 10)
    extra = 2 * 1 / 2 * 1e9 / 8 / machine["remote_bw"] + 10 * machine["remote_alpha"]
    assert t16 == pytest.approx(comm + extra)
