"""Where a benchmark workload's train step spends its time: gan_jax's kernels and PyTorch's ops.

    python experiments/profile_step.py --workload=dcgan32 [--steps=5] [--top=15] [--torch]

gan_jax side: the workload's real dispatch (``experiments/benchmark.py``'s ``jax_run`` and
``dispatch.make_dispatch``, compiled with the shipped ``train.xla_cpu_ynn_fusions`` plus
``xla_cpu_enable_xprof_traceme``) runs ``--steps`` times under ``jax.profiler``; every kernel
XLA:CPU launches (a thunk: one fusion, convolution, dot or copy) is a trace event named after
its HLO instruction. The events are summed per instruction and grouped by what the optimised
HLO says the instruction is: a convolution (forward / strided, transposed: ``lhs_dilate``,
weight gradient: ``rhs_dilate``) run by XLA's own kernels or inside a YNNPACK fusion, a copy or
transpose, another fusion (element-wise: BatchNorm, activations, Adam), a dot. Times are per
step and summed over the intra-op threads, so they can exceed the step's wall time.

``--torch`` also profiles the PyTorch reference in its ``channels_last`` variant (the fastest
PyTorch on these convnets, see benchmark.py) with ``torch.profiler`` and prints its ops' self
times per step. PyTorch must be installed (``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import collections
import glob
import os
import re
import sys
import tempfile
import time

from absl import app, flags

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # experiments/ and the repository root
import benchmark  # noqa: E402  (experiments/benchmark.py: the workloads)


def conv_kind(line: str) -> str:
    """A convolution instruction's role, read off its window."""
    if "rhs_dilate" in line:
        return "weight gradient"
    if "lhs_dilate" in line:
        return "transposed (G upsampling / input gradient)"
    return "forward / strided"


def categorise(hlo: str):
    """A function from an instruction name of the optimised HLO text to its category."""
    defs, bodies, current = {}, {}, None
    for line in hlo.splitlines():
        head = None if line.startswith(" ") else re.match(r"^%?([\w.\-]+) .*\{\s*$", line)
        if head:
            current = head.group(1)
            bodies[current] = []
        elif current:
            bodies[current].append(line)
        m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = ", line)
        if m:
            defs.setdefault(m.group(1), line)

    def category(name: str) -> str:
        line = defs.get(name, "")
        called = re.search(r"calls=%?([\w.\-]+)", line)
        if "kind=kCustom" in line and called:
            body = bodies.get(called.group(1), [])
            convs = [x for x in body if " convolution(" in x]
            if convs:
                return "YNNPACK conv " + conv_kind(convs[0])
            if any(" dot(" in x for x in body):
                return "YNNPACK dot"
            if any(" reduce(" in x for x in body):
                return "YNNPACK reduce"
            return "YNNPACK other"
        if " convolution(" in line:
            return "XLA conv " + conv_kind(line)
        if " dot(" in line:
            return "XLA dot"
        if "copy" in name or "transpose" in name:
            return "copy / transpose"
        if " fusion(" in line:
            return "reduce fusion" if "reduce" in name else "element-wise fusion"
        return "other"

    return category, defs


def profile_jax(workload: str, steps: int, top: int) -> None:
    import jax

    from gan_jax import dispatch as dispatching
    from gan_jax import divergence, sharding, xla_cpu

    shipped = xla_cpu.compiler_options
    xla_cpu.compiler_options = lambda tc, devices: {
        **shipped(tc, devices),
        "xla_cpu_enable_xprof_traceme": True,
    }
    run = benchmark.jax_run(workload)
    mesh = sharding.make_mesh()
    rep = sharding.replicated(mesh)
    dispatch = dispatching.make_dispatch(run, 1, mesh)
    state = jax.jit(run.init_state, out_shardings=rep)(jax.random.key(0))
    guard = jax.jit(divergence.init_guard, out_shardings=rep)()
    category, defs = categorise(dispatch.lower(state, guard).compile().as_text())
    for _ in range(2):
        state, guard, _ = dispatch(state, guard)
    jax.block_until_ready(state)
    with tempfile.TemporaryDirectory() as trace_dir:
        jax.profiler.start_trace(trace_dir)
        t0 = time.perf_counter()
        for _ in range(steps):
            state, guard, _ = dispatch(state, guard)
        jax.block_until_ready(state)
        wall = (time.perf_counter() - t0) / steps * 1e3
        jax.profiler.stop_trace()
        path = glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True)[0]
        data = jax.profiler.ProfileData.from_file(path)
    per_op = collections.Counter()
    for plane in data.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if line.name == "python":
                continue
            for event in line.events:
                if event.name in defs:  # kernels only (not thread-pool bookkeeping)
                    per_op[event.name] += event.duration_ns / 1e6 / steps
    by_category = collections.Counter()
    for name, ms in per_op.items():
        by_category[category(name)] += ms
    total = sum(per_op.values())
    print(f"gan_jax {workload}: {wall:.1f} ms/step wall (profiled), kernel events {total:.1f} ms")
    for name, ms in by_category.most_common():
        print(f"  {name:48s} {ms:9.2f} ms {100 * ms / total:5.1f}%")
    # XLA's own (Eigen) convolution thunks hand their work to the intra-op pool and close their
    # event before it finishes, so their events undercount; the wall time left over is theirs.
    convs = sum(ms for name, ms in by_category.items() if name.startswith("XLA conv"))
    other = total - convs
    print(
        f"  not convolutions: {other:.1f} ms/step; wall less that: {wall - other:.1f} ms/step "
        "(the convolutions, whose XLA events undercount)"
    )
    print(f"  top {top} kernels:")
    for name, ms in per_op.most_common(top):
        print(f"    {ms:8.2f} ms  {category(name):40s} {name}")


def profile_torch(workload: str, steps: int, top: int) -> None:
    from torch.profiler import ProfilerActivity, profile

    step = benchmark.torch_train_step(workload, "channels_last")
    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    wall = (time.perf_counter() - t0) / steps * 1e3
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    ops = collections.Counter()
    for event in prof.key_averages():
        if event.key.startswith("aten::"):
            ops[event.key] += event.self_cpu_time_total / 1e3 / steps
    total = sum(ops.values())
    print(f"PyTorch channels_last {workload}: {wall:.1f} ms/step wall, ops {total:.1f} ms/step")
    for name, ms in ops.most_common(top):
        print(f"  {name:48s} {ms:9.2f} ms {100 * ms / total:5.1f}%")


def main(argv) -> None:
    del argv
    profile_jax(flags.FLAGS.workload, flags.FLAGS.steps, flags.FLAGS.top)
    if flags.FLAGS.torch:
        profile_torch(flags.FLAGS.workload, flags.FLAGS.steps, flags.FLAGS.top)


if __name__ == "__main__":
    # Defined here, not at import, so that tests can import this module beside other experiments
    # that define the same flag names.
    flags.DEFINE_string("workload", "dcgan32", "A workload of experiments/benchmark.py.")
    flags.DEFINE_integer("steps", 5, "Profiled steps (after two warm-up steps).")
    flags.DEFINE_integer("top", 15, "How many single kernels / ops to list.")
    flags.DEFINE_bool("torch", False, "Also profile the PyTorch channels_last reference.")
    app.run(main)
