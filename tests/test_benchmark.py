"""experiments/benchmark.py: the PyTorch references are the gan_jax networks (needs torch)."""

import sys

import jax
import numpy as np
import pytest
from conftest import REPO

torch = pytest.importorskip("torch")
sys.path.insert(0, str(REPO / "experiments"))
import benchmark  # noqa: E402


def jax_param_counts(run):
    nets = run.abstract_state().nets
    return [sum(int(np.prod(a.shape)) for a in jax.tree.leaves(nets[n].params)) for n in "gd"]


@pytest.mark.parametrize(
    "workload", [w for w in benchmark.WORKLOADS if w not in benchmark.JAX_ONLY]
)
def test_torch_reference_has_the_gan_jax_networks(workload):
    run = benchmark.jax_run(workload)
    cfg, g, d, sample = benchmark.torch_setup(workload)
    torch_counts = [sum(p.numel() for p in m.parameters()) for m in (g, d)]
    assert torch_counts == jax_param_counts(run)
    real = sample(4)
    shape = run.dataset.shape  # NHWC in gan_jax, NCHW in PyTorch
    assert tuple(real.shape[1:]) == (shape if len(shape) == 1 else (shape[2], *shape[:2]))
    fake = g(torch.randn(4, cfg.model.z_dim))
    assert fake.shape == real.shape and d(fake).shape == (4,)


@pytest.mark.parametrize("objective", ["non_saturating", "wasserstein_gp"])
def test_torch_train_step_updates_both_networks(objective):
    import torch_reference as ref

    cfg, g, d, sample = benchmark.torch_setup("toy128")
    before = [p.detach().clone() for p in (*g.parameters(), *d.parameters())]
    step = ref.make_train_step(
        g,
        d,
        objective=objective,
        z_dim=cfg.model.z_dim,
        batch_size=16,
        d_steps=2,
        sample=sample,
        lr=1e-3,
        b1=0.0,
        b2=0.9,
    )
    step()
    changed = [not torch.equal(a, b) for a, b in zip(before, (*g.parameters(), *d.parameters()))]
    # A Wasserstein critic's output bias has zero gradient (it cancels between real and fake).
    assert changed == [True] * (len(changed) - (objective == "wasserstein_gp")) + [False] * (
        objective == "wasserstein_gp"
    )
