"""gan_jax against PyTorch eager on the same workloads, side by side: steps/s, compile, memory.

    pip install -e ".[bench]"   # torch==2.13.0, the PyTorch reference
    python experiments/benchmark.py [--workloads=toy512,dcgan32] [--repeats=3] [--seconds=0.5]
        [--variants=default|none|subpixel,flax,...] [--cpus=0] [--json=rows.json]

For each workload the script starts one worker process per implementation: gan_jax's real
training dispatch (``dispatch.make_dispatch``, the call ``train_and_evaluate`` makes, with the
config's ``train.steps_per_dispatch``), gan_jax variants (``subpixel``: the transposed
convolutions as four phase convolutions instead of XLA's own; ``conv_transpose``: flax's
ConvTranspose in G; ``conv``: flax's Conv with XLA's own gradients in D; ``flax``: both;
``k=N``: N updates per dispatch), and the PyTorch eager reference of
experiments/torch_reference.py. Each worker builds its model and warms up (gan_jax: tracing and
XLA compilation), one worker at a time; then the parent asks the workers in turn for
``--repeats`` timed windows of about ``--seconds`` each, interleaved (jax, torch, jax, torch,
...), so that all implementations see the same machine load. A step is one generator update with
its ``d_steps`` critic updates; steps/s is the median over the windows, each window ending with
``block_until_ready`` on the state (PyTorch eager on CPU is synchronous). ``GFLOP/s``: steps/s
times the FLOPs of one step as XLA's cost analysis counts them in gan_jax's default program
(the PyTorch reference does the same multiply-adds).

Columns: ``steps/s`` median (min-max over windows); ``x torch``: gan_jax steps/s over the
PyTorch reference's in the same run; ``first s``: wall time of the first call less one steady
call (gan_jax: tracing + XLA compilation; PyTorch: eager warm-up); ``peak MB``: the worker's
peak resident set (VmHWM of /proc/self/status: interpreter, libraries, data, model, XLA compiler
together); ``work MB``: that peak less the resident set right after the imports; ``steady MB``:
the resident set after the timing once glibc has returned freed heap (``malloc_trim(0)``), i.e.
without the compiler's transient memory. ``--json`` rows also hold ``xla_buffers_mb``, the
buffers XLA allocates for one dispatch (``compiled.memory_analysis()``). Threads: XLA:CPU sizes
its intra-op pool to the CPUs the process may run on (``os.sched_getaffinity``, see ``--cpus``),
and PyTorch gets ``torch.set_num_threads`` of the same number.

The baseline is the strongest PyTorch a user would run on the machine: every ratio (``x best``)
is taken against the fastest of the PyTorch variants (``--torch_variants``): ``eager`` with the
environment's OpenMP settings (PyTorch's default, fastest on an idle machine), ``passive``
(``OMP_WAIT_POLICY=passive``, for a loaded machine, where spinning OpenMP threads slow PyTorch
10-50x; read the load average printed at the start and the end), and for the convnets
``channels_last`` (NHWC networks and images) and ``compile`` (``torch.compile`` of G and D); a
variant that fails to build (torch.compile of WGAN-GP's double backward) gets a 'failed' row.
Before the workloads, each framework's float32 2048^3 matmul rate is measured in the same run:
``% peak`` is a row's GFLOP/s over its own framework's.

Workloads (gan_jax side in brackets):
  toy512   MLP G and D, 4 hidden layers of 512, batch 512, ring8, NS GAN, Adam [nsgan.py:ring8]
  toy128   the same with 4 layers of 128, batch 256
  dcgan32  DCGAN 32x32x3, width 64, z 100, batch 64, NS GAN, Adam 2e-4 (0.5, 0.999): the
           shipped configs/nsgan.py:cifar10 on uniform-noise images
           (no 32x32x3 dataset is embedded; data values do not change the cost)
  digits   configs/default.py as shipped (DCGAN 16x16x1 on the embedded digits)
  wgan_gp  configs/wgan_gp.py:cifar10 on the same noise images: LayerNorm critic, 5 critic
           steps with the gradient penalty's double backward, Adam 1e-4 (0, 0.9)
  resnet   configs/sngan.py as shipped: the SNGAN ResNets (G 128 / D 64 channels) on the digits
           at 32x32, spectral norm in every critic layer, 5 critic steps, Adam 2e-4 (0, 0.9)
  biggan   configs/biggan.py as shipped (BigGAN 16x16x1, conditional, self-attention, spectral
           norm in G and D, orthogonal regularisation, G EMA); gan_jax only (no PyTorch twin)
  stylegan2  configs/stylegan2.py as shipped (16x16 digits, width 16, batch 32: style mixing,
           R1 every 16 and path length every 4 critic / G updates); gan_jax only (no PyTorch
           reference: its rows have no ``x torch``). On CPU the lazy terms are computed on every
           update and masked (gan_jax.losses.lazy_penalty), so the step has a fixed shape.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import os
import pathlib
import select
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
WORKLOADS = ("toy512", "toy128", "dcgan32", "digits", "wgan_gp", "resnet", "biggan", "stylegan2")
# Workloads without a PyTorch reference network (timed in gan_jax only).
JAX_ONLY = ("biggan", "stylegan2")
SYNTHETIC_SHAPE = (32, 32, 3)


# --------------------------------------------------------------------------------------------
# Workload definitions (shared by both frameworks' workers).


def jax_config(workload: str, variant: str):
    """The gan_jax config of a workload; ``variant`` is 'default' or a named override."""
    sys.path.insert(0, str(REPO))
    from configs import biggan, default, nsgan, sngan, stylegan2, wgan_gp

    if workload in ("toy512", "toy128"):
        c = nsgan.get_config("ring8")
        width, batch = (512, 512) if workload == "toy512" else (128, 256)
        c.model.g_hidden = c.model.d_hidden = (width,) * 4
        c.train.batch_size = batch
    elif workload == "digits":
        c = default.get_config()
    elif workload == "resnet":
        c = sngan.get_config()
    elif workload == "biggan":
        c = biggan.get_config()
    elif workload == "stylegan2":
        c = stylegan2.get_config()
    else:
        # The shipped CIFAR-10 preset (the dcgan32: 32x32x3, width 64, z 100, batch 64),
        # trained on uniform-noise images of its shape (see jax_run).
        c = (wgan_gp if workload == "wgan_gp" else nsgan).get_config("cifar10")
        spec = (c.data.resolution, c.model.width, c.model.z_dim, c.train.batch_size)
        assert spec == (SYNTHETIC_SHAPE[0], 64, 100, 64), spec
    if variant == "subpixel":  # transposed convs as four phase convs (same gradients)
        c.model.upsample = c.model.downsample = "subpixel"
    elif variant == "conv_transpose":  # flax's ConvTranspose in G
        c.model.upsample = "conv_transpose"
    elif variant == "conv":  # flax's Conv (XLA's own gradients) in D
        c.model.downsample = "conv"
    elif variant == "flax":  # both: the plain Flax DCGAN
        c.model.upsample, c.model.downsample = "conv_transpose", "conv"
    elif variant.startswith("k="):
        c.train.steps_per_dispatch = int(variant[2:])
    elif variant != "default":
        raise ValueError(f"variant={variant!r}; allowed: {VARIANTS}")
    return c


VARIANTS = ("subpixel", "conv_transpose", "conv", "flax", "k=N")
# gan_jax variants timed by default besides the shipped config (--variants overrides).
DEFAULT_VARIANTS = {
    "toy512": ("k=1",),
    "toy128": ("k=1",),
    "dcgan32": ("subpixel", "flax"),
    "digits": ("subpixel", "flax"),
    "wgan_gp": ("subpixel",),  # 'conv' / 'flax': ~15 s a step (XLA's own double backward)
    "resnet": (),  # no strided (transposed) convolutions: the variants change nothing
    "biggan": (),  # no DCGAN layers to swap
    "stylegan2": (),  # no strided convolutions: the subpixel / flax variants do not apply
}


# PyTorch variants, the best of which is each ratio's baseline: 'eager' (the environment's
# OpenMP settings: PyTorch's default spinning threads on an idle machine), 'passive'
# (OMP_WAIT_POLICY=passive: for a loaded machine, where spinning threads collapse), 'channels_last'
# (convnets: NHWC memory format for the networks and images), 'compile' (torch.compile of G and D,
# the inductor's default mode).
TORCH_VARIANTS = ("eager", "passive", "channels_last", "compile")
CONVNETS = ("dcgan32", "digits", "wgan_gp", "resnet")


def torch_variants(workload: str, requested: str) -> tuple[str, ...]:
    if requested == "default":
        requested = ",".join(TORCH_VARIANTS)
    if requested == "none":
        return ()
    chosen = requested.split(",")
    unknown = sorted(set(chosen) - set(TORCH_VARIANTS))
    if unknown:
        raise ValueError(f"--torch_variants: unknown {unknown}; allowed: {TORCH_VARIANTS}")
    return tuple(v for v in chosen if v != "channels_last" or workload in CONVNETS)


def jax_variants(workload: str, requested: str) -> tuple[str, ...]:
    if requested == "default":
        return ("default", *DEFAULT_VARIANTS[workload])
    if requested == "none":
        return ("default",)
    dcgan_layers = not workload.startswith("toy") and workload not in (*JAX_ONLY, "resnet")
    chosen = [v for v in requested.split(",") if v.startswith("k=") or dcgan_layers]
    return ("default", *chosen)


def _rss_mb() -> dict[str, float]:
    fields = {}
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


# --------------------------------------------------------------------------------------------
# Workers: build, warm up, then answer 'time N' / 'stats' / 'quit' on stdin.


def _serve(run_steps, first_s: float, after_import_mb: float, extra: dict, describe=dict) -> None:
    def reply(obj):
        print("@@" + json.dumps(obj), flush=True)

    reply({"ready": True, "first_s": first_s, **extra})
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "time":
            t0 = time.perf_counter()
            steps = run_steps(int(args[0]))
            reply({"steps": steps, "seconds": time.perf_counter() - t0})
        elif cmd == "stats":
            peak = _rss_mb()["VmHWM"]
            more = describe()  # after the peak is read: it may compile
            # glibc keeps freed heap (e.g. the XLA compiler's) resident until trimmed.
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            steady = _rss_mb()["VmRSS"]
            reply({"peak_mb": peak, "work_mb": peak - after_import_mb, "steady_mb": steady, **more})
        elif cmd == "quit":
            return


def jax_run(workload: str, variant: str = "default"):
    """gan_jax's ``train.Run`` of a workload (dcgan32 and wgan_gp on uniform-noise images)."""
    import jax

    from gan_jax import runs
    from gan_jax.data import Dataset
    from gan_jax.games import GAMES
    from gan_jax.validation import validate

    cfg = jax_config(workload, variant)
    if workload not in ("dcgan32", "wgan_gp"):
        return runs.build_run(cfg)

    def sample(key, n):
        x = jax.random.uniform(key, (n, *SYNTHETIC_SHAPE), minval=-1.0, maxval=1.0)
        return {"x": x, "label": jax.numpy.zeros((n,), jax.numpy.int32)}

    validate(cfg)
    dataset = Dataset("uniform32", SYNTHETIC_SHAPE, sample, 1)
    return runs.Run(cfg, dataset, GAMES[cfg.game.name].build(cfg, dataset))


def jax_worker(workload: str, variant: str) -> None:
    import jax

    from gan_jax import divergence, sharding
    from gan_jax.dispatch import make_dispatch

    after_import = _rss_mb()["VmRSS"]
    run = jax_run(workload, variant)
    cfg = run.config
    k = cfg.train.steps_per_dispatch
    # As train_and_evaluate sets it up: a mesh over all devices, state and guard replicated.
    mesh = sharding.make_mesh()
    replicated = sharding.replicated(mesh)
    dispatch = make_dispatch(run, k, mesh)
    state = jax.jit(run.init_state, out_shardings=replicated)(jax.random.key(cfg.seed))
    guard = jax.jit(divergence.init_guard, out_shardings=replicated)()
    jax.block_until_ready(state)

    def run_steps(n: int) -> int:
        nonlocal state, guard
        calls = max(1, -(-n // k))
        for _ in range(calls):
            state, guard, _ = dispatch(state, guard)
        jax.block_until_ready(state)
        return calls * k

    t0 = time.perf_counter()
    run_steps(k)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_steps(k)
    first -= time.perf_counter() - t0

    def describe() -> dict:
        compiled = dispatch.lower(state, guard).compile()  # cached: the executable that ran
        mem = compiled.memory_analysis()
        size = mem.temp_size_in_bytes + mem.argument_size_in_bytes
        size += mem.output_size_in_bytes - mem.alias_size_in_bytes
        # FLOPs of one update, by XLA's cost analysis of a one-update program.
        one = compiled if k == 1 else make_dispatch(run, 1, mesh).lower(state, guard).compile()
        return {
            "xla_buffers_mb": size / 2**20,
            "gflop_per_step": one.cost_analysis()["flops"] / 1e9,
        }

    _serve(run_steps, first, after_import, {"k": k}, describe)


def torch_setup(workload: str):
    """(config, G, D, sampler) of the PyTorch reference; the recipe is read off gan_jax's config."""
    import torch

    sys.path.insert(0, str(REPO / "experiments"))
    import torch_reference as ref

    cfg = jax_config(workload, "default")
    mc = cfg.model
    if workload.startswith("toy"):
        angles = 2 * torch.pi * torch.arange(8) / 8
        means = torch.stack([torch.cos(angles), torch.sin(angles)], 1)

        def sample(n):
            return means[torch.randint(0, 8, (n,))] + 0.01 * torch.randn(n, 2)

        g = ref.mlp_generator(mc.z_dim, tuple(mc.g_hidden), 2)
        d = ref.mlp_discriminator(2, tuple(mc.d_hidden))
        return cfg, g, d, sample
    if workload in ("digits", "resnet"):
        from sklearn.datasets import load_digits

        res = cfg.data.resolution
        imgs = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 8 - 1
        images = torch.nn.functional.interpolate(imgs, (res, res), mode="bilinear")

        def sample(n):
            return images[torch.randperm(images.shape[0])[:n]]

        shape = (res, res, 1)
    else:
        shape = SYNTHETIC_SHAPE

        def sample(n):
            return torch.rand(n, shape[2], shape[0], shape[1]) * 2 - 1

    if workload == "resnet":  # SNGAN: D has model.width channels, G twice as many
        g = ref.ResNetGenerator(mc.z_dim, shape[0], 2 * mc.width, shape[2])
        return cfg, g, ref.resnet_discriminator(mc.width, shape[2]), sample
    g = ref.DCGANGenerator(mc.z_dim, shape[0], mc.width, shape[2], mc.g_norm)
    d = ref.dcgan_discriminator(shape[0], mc.width, shape[2], mc.d_norm)
    return cfg, g, d, sample


def torch_train_step(workload: str, variant: str = "eager"):
    """The PyTorch reference's train step of a workload in a variant (seeded, threads set)."""
    import torch

    sys.path.insert(0, str(REPO / "experiments"))
    import torch_reference as ref

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    cfg, g, d, sample = torch_setup(workload)
    if variant == "channels_last":
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
        nchw_sample = sample

        def sample(n):
            return nchw_sample(n).contiguous(memory_format=torch.channels_last)

    elif variant == "compile":
        g, d = torch.compile(g), torch.compile(d)
    opt, tc = cfg.optim.d, cfg.train
    return ref.make_train_step(
        g,
        d,
        objective=cfg.objective.name,
        z_dim=cfg.model.z_dim,
        batch_size=tc.batch_size,
        d_steps=tc.d_steps,
        sample=sample,
        lr=opt.lr,
        b1=opt.b1,
        b2=opt.b2,
        gp_weight=cfg.objective.gp_weight,
    )


def torch_worker(workload: str, variant: str = "eager") -> None:
    import torch

    after_import = _rss_mb()["VmRSS"]
    step = torch_train_step(workload, variant)

    def run_steps(n: int) -> int:
        for _ in range(n):
            step()
        return n

    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    step()
    first -= time.perf_counter() - t0
    extra = {"threads": torch.get_num_threads(), "version": torch.__version__}
    _serve(run_steps, first, after_import, extra)


# --------------------------------------------------------------------------------------------
# The machine's peak: a float32 matmul in each framework, measured in the same run.

PEAK_N = 2048


def peak_worker(framework: str) -> None:
    """GFLOP/s of a float32 PEAK_N^3 matmul, the best of 5 timed windows of ~0.5 s."""
    n = PEAK_N
    if framework == "jax":
        import jax
        import jax.numpy as jnp

        a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
        matmul = jax.jit(lambda a: a @ a)

        def once():
            matmul(a).block_until_ready()

    else:
        import torch

        torch.set_num_threads(len(os.sched_getaffinity(0)))
        a = torch.randn(n, n)

        def once():
            torch.mm(a, a)

    once()
    best = 0.0
    for _ in range(5):
        t0, reps = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.5:
            once()
            reps += 1
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    print("@@" + json.dumps({"peak_gflop_per_s": best}), flush=True)


# --------------------------------------------------------------------------------------------
# The parent: start workers, interleave timed windows, print the table.


@dataclasses.dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    timeout: float
    info: dict = dataclasses.field(default_factory=dict)
    rates: list = dataclasses.field(default_factory=list)
    steps: int = 1  # steps per timed window

    @classmethod
    def start(cls, name: str, spec: str, args) -> Worker:
        env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
        if args.omp_wait_policy:
            env["OMP_WAIT_POLICY"] = args.omp_wait_policy
        if spec.endswith(":passive"):
            env["OMP_WAIT_POLICY"] = "passive"
        proc = subprocess.Popen(
            [sys.executable, __file__, f"--worker={spec}", f"--cpus={args.cpus}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        worker = cls(name, proc, args.timeout)
        worker.info = worker.read()
        return worker

    def read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.proc.kill()
                raise TimeoutError(f"{self.name}: no answer within {self.timeout:.0f}s")
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name}: worker exited (rc {self.proc.wait()})")
            if line.startswith("@@"):
                return json.loads(line[2:])

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


def bench_workload(workload: str, args) -> list[dict]:
    variants = jax_variants(workload, args.variants)
    specs = [(f"gan_jax {v}", f"jax:{workload}:{v}") for v in variants]
    if not args.no_torch and workload not in JAX_ONLY:
        tv = torch_variants(workload, args.torch_variants)
        specs += [(f"pytorch {v}", f"torch:{workload}:{v}") for v in tv]
    workers, failed = [], []
    try:
        for name, spec in specs:  # one at a time, so that compile times are not contended
            try:
                workers.append(Worker.start(name, spec, args))
            except (RuntimeError, TimeoutError) as e:  # e.g. torch.compile of a double backward
                if not name.startswith("pytorch"):
                    raise
                failed.append({"workload": workload, "impl": name, "error": str(e)})
        # Calibrate: steps per window so that each window lasts about --seconds.
        for w in workers:
            probe = w.ask("time 1")
            rate = probe["steps"] / probe["seconds"]
            w.steps = max(1, int(rate * args.seconds))
        for _ in range(args.repeats):
            for w in workers:
                res = w.ask(f"time {w.steps}")
                w.rates.append(res["steps"] / res["seconds"])
        rows = []
        for w in workers:
            stats = w.ask("stats")
            rows.append(
                {
                    "workload": workload,
                    "impl": w.name,
                    "steps_per_s": statistics.median(w.rates),
                    "min": min(w.rates),
                    "max": max(w.rates),
                    "first_s": w.info["first_s"],
                    **stats,
                    **{k: v for k, v in w.info.items() if k in ("k", "threads")},
                }
            )
    finally:
        for w in workers:
            w.close()
    torch_rows = [r for r in rows if r["impl"].startswith("pytorch")]
    best = max(torch_rows, key=lambda r: r["steps_per_s"], default=None)
    gflop = rows[0]["gflop_per_step"]  # gan_jax's default: the same arithmetic as PyTorch's
    for r in rows:
        r["ratio"] = r["steps_per_s"] / best["steps_per_s"] if best else float("nan")
        r["baseline"] = best["impl"] if best else None
        r["gflop_per_s"] = gflop * r["steps_per_s"]
        r["load_average"] = os.getloadavg()[0]
    return rows + failed


def print_table(rows: list[dict], peaks: dict[str, float]) -> None:
    """``x best``: steps/s over the fastest PyTorch variant's of the workload (marked *);
    ``% peak``: GFLOP/s over the same framework's peak matmul rate of this run."""
    head = (
        f"{'workload':<9} {'implementation':<26} {'steps/s':>9} {'(min-max)':>17} "
        f"{'x best':>7} {'GFLOP/s':>8} {'% peak':>7} {'first s':>8} {'peak MB':>8} "
        f"{'work MB':>8} {'steady MB':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['workload']:<9} {r['impl']:<26} failed: {r['error']}", flush=True)
            continue
        impl = r["impl"] + (f" (k={r['k']})" if r.get("k", 1) > 1 else "")
        impl += " *" if r["impl"] == r["baseline"] else ""
        spread = f"({r['min']:.2f}-{r['max']:.2f})"
        peak = peaks.get("torch" if r["impl"].startswith("pytorch") else "jax")
        share = f"{100 * r['gflop_per_s'] / peak:>6.0f}%" if peak else f"{'-':>7}"
        print(
            f"{r['workload']:<9} {impl:<26} {r['steps_per_s']:>9.2f} {spread:>17} "
            f"{r['ratio']:>7.2f} {r['gflop_per_s']:>8.1f} {share} {r['first_s']:>8.2f} "
            f"{r['peak_mb']:>8.0f} {r['work_mb']:>8.0f} {r['steady_mb']:>9.0f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=3, help="timed windows per worker")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one window")
    parser.add_argument(
        "--variants",
        default="default",
        help="gan_jax variants besides the shipped config: 'default' (per workload), 'none', "
        f"or a comma list of {VARIANTS}",
    )
    parser.add_argument("--no_torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument(
        "--torch_variants",
        default="default",
        help=f"PyTorch variants: 'default' (all that apply), 'none', or a comma list of "
        f"{TORCH_VARIANTS}; the fastest is each ratio's baseline",
    )
    parser.add_argument("--timeout", type=float, default=240, help="seconds per worker answer")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument(
        "--cpus",
        default=",".join(map(str, sorted(os.sched_getaffinity(0)))),
        help="CPUs the workers run on (e.g. 0 for a one-core comparison); default: all",
    )
    parser.add_argument(
        "--omp_wait_policy",
        default="",
        help="OMP_WAIT_POLICY of every worker; '' (default) keeps the environment's (PyTorch's "
        "spinning threads, fastest on an idle machine; the 'passive' torch variant sets it "
        "for itself, for loaded machines)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        # Before jax or torch start: XLA sizes its thread pool to the CPUs allowed here.
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
        kind, workload, *variant = args.worker.split(":")
        if kind == "jax":
            jax_worker(workload, variant[0])
        elif kind == "peak":
            peak_worker(workload)
        else:
            torch_worker(workload, variant[0] if variant else "eager")
        return
    workloads = args.workloads.split(",")
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"--workloads: unknown {unknown}; allowed: {list(WORKLOADS)}")
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    print(
        f"# workers on CPUs {args.cpus}, OMP_WAIT_POLICY={args.omp_wait_policy or 'unset'}; "
        f"load average {load:.2f} at start",
        flush=True,
    )
    peaks = {}
    for framework in ("jax",) + (() if args.no_torch else ("torch",)):
        worker = Worker.start(f"peak {framework}", f"peak:{framework}", args)
        peaks[framework] = worker.info["peak_gflop_per_s"]
        worker.proc.wait()
    print(
        f"# peak float32 {PEAK_N}^3 matmul: "
        + ", ".join(f"{f} {g:.0f} GFLOP/s" for f, g in peaks.items()),
        flush=True,
    )
    rows = []
    for workload in workloads:
        rows += bench_workload(workload, args)
        if len(workloads) > 1:
            print(f"# {workload} done after {time.perf_counter() - t0:.0f}s", flush=True)
    print()
    print_table(rows, peaks)
    flops = {r["workload"]: r["gflop_per_step"] for r in rows if r["impl"] == "gan_jax default"}
    print(
        "# GFLOP per step (XLA cost analysis of gan_jax's default program): "
        + ", ".join(f"{w} {f:.2f}" for w, f in flops.items())
    )
    print(
        f"# {time.perf_counter() - t0:.0f}s in all; load average {os.getloadavg()[0]:.2f} "
        "at the end",
        flush=True,
    )
    if args.json:
        out = {"peaks_gflop_per_s": peaks, "rows": rows}
        pathlib.Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
