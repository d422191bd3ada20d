"""BEGAN on the 16x16 digits in PyTorch, another critic shape: is the collapse ours or the data's?

    python experiments/began_torch_check.py export --out=runs/began_torch/digits.npy   # gan_jax
    python experiments/began_torch_check.py train --gamma=0.75 --seed=0 \\
        --data=runs/began_torch/digits.npy --out=runs/began_torch/g0.75_s0.npz        # torch
    python experiments/began_torch_check.py evaluate runs/began_torch/*.npz            # gan_jax

``--dataset=mnist5k`` (export and evaluate) uses the 5000 MNIST digits at 32x32 instead,
PyTorch-GAN's own BEGAN setting; the networks follow the side of the exported array.

configs/began.py collapses on the digits (experiments/README.md, "EBGAN and BEGAN"). This trains
BEGAN outside gan_jax, in eager PyTorch on the CPU, with the small BEGAN of the widely used
PyTorch-GAN collection's shape (written here from its description, not copied): G projects z
(62-d) to 4x4x128, then two (nearest-neighbour x2, 3x3 conv, BatchNorm, LeakyReLU 0.2) blocks
and a 3x3 conv with tanh; the critic is a lossy autoencoder, one 3x3 stride-2 conv (64, ReLU),
a dense bottleneck of 32 with BatchNorm and ReLU, a dense layer back to 8x8x64 with BatchNorm
and ReLU, nearest-neighbour x2 and a 3x3 conv, linear output. Per step: one G update on
L(G(z)), then one critic update on L(x) - k_t L(G(z)) (the same fakes, detached), then k_{t+1} =
clip(k_t + 0.001 (gamma L(x) - L(G(z))), 0, 1); Adam 2e-4 (0.5, 0.999), batch 64, ``--steps``
(3500: configs/began.py's budget), N(0, 0.02) conv init. Every ``--every`` (500) steps 2500
samples of fixed noise (G in eval mode) go to the .npz; ``evaluate`` scores them with the
trainer's evaluator (the digits CNN's features, all 1797 digits). Two environments because
gan_jax's does not carry torch: ``pip install torch==2.13.0 numpy`` in another virtualenv for
``train``.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
Z_DIM, STEPS, BATCH, EVERY, SAMPLES = 62, 3500, 64, 500, 2500


# --dataset: the embedded set and the side its images are trained at (the digits at 16x16, as
# configs/began.py; the 5000 MNIST digits at 32x32, PyTorch-GAN's own BEGAN setting).
DATASETS = {"digits": 16, "mnist5k": 32}


def export(out: pathlib.Path, dataset: str = "digits") -> None:
    sys.path.insert(0, str(REPO))
    from gan_jax import data

    images, _ = data.EMBEDDED_IMAGES[dataset](DATASETS[dataset])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, images.transpose(0, 3, 1, 2))  # NCHW for torch


def train(gamma, seed, steps, every, data_path: pathlib.Path, out: pathlib.Path) -> None:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_all = torch.tensor(np.load(data_path))
    side = x_all.shape[-1]  # 16 or 32: G starts at side / 4, the critic's code is at side / 2

    def init(m):
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    def up_block(cin, cout):
        return [
            nn.Upsample(scale_factor=2),
            nn.Conv2d(cin, cout, 3, 1, 1),
            nn.BatchNorm2d(cout, 0.8),
            nn.LeakyReLU(0.2),
        ]

    g_project = nn.Linear(Z_DIM, 128 * (side // 4) ** 2)
    g_body = nn.Sequential(
        nn.BatchNorm2d(128), *up_block(128, 128), *up_block(128, 64), nn.Conv2d(64, 1, 3, 1, 1)
    )
    dim = 64 * (side // 2) ** 2
    d_down = nn.Sequential(nn.Conv2d(1, 64, 3, 2, 1), nn.ReLU())
    d_code = nn.Sequential(
        nn.Linear(dim, 32), nn.BatchNorm1d(32, 0.8), nn.ReLU(),
        nn.Linear(32, dim), nn.BatchNorm1d(dim), nn.ReLU(),
    )  # fmt: skip
    d_up = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(64, 1, 3, 1, 1))
    g_params = [*g_project.parameters(), *g_body.parameters()]
    d_params = [*d_down.parameters(), *d_code.parameters(), *d_up.parameters()]
    for m in (g_body, d_down, d_up):
        m.apply(init)

    def generate(z):
        return torch.tanh(g_body(g_project(z).view(-1, 128, side // 4, side // 4)))

    def loss(v):  # L(v) = mean |v - D(v)|
        return (
            (d_up(d_code(d_down(v).flatten(1)).view(-1, 64, side // 2, side // 2)) - v).abs().mean()
        )

    opt_g = torch.optim.Adam(g_params, 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d_params, 2e-4, betas=(0.5, 0.999))
    z_fixed = torch.randn(SAMPLES, Z_DIM, generator=torch.Generator().manual_seed(123))
    k, saved, order, pos = 0.0, {}, torch.randperm(len(x_all)), 0
    for step in range(1, steps + 1):
        if pos + BATCH > len(x_all):
            order, pos = torch.randperm(len(x_all)), 0
        real, pos = x_all[order[pos : pos + BATCH]], pos + BATCH
        opt_g.zero_grad()
        fake = generate(torch.randn(BATCH, Z_DIM))
        loss(fake).backward()
        opt_g.step()
        opt_d.zero_grad()
        real_loss, fake_loss = loss(real), loss(fake.detach())
        (real_loss - k * fake_loss).backward()
        opt_d.step()
        balance = gamma * real_loss.item() - fake_loss.item()
        k = min(max(k + 0.001 * balance, 0.0), 1.0)
        if step % every == 0 or step == steps:
            g_body.eval()
            with torch.no_grad():
                samples = generate(z_fixed).numpy()
            g_body.train()
            saved[str(step)] = samples.transpose(0, 2, 3, 1)
            saved[f"k_{step}"] = np.float32(k)
            print(
                f"step {step}: k {k:.4f}  L(x) {real_loss.item():.4f}  L(G(z)) "
                f"{fake_loss.item():.4f}  M_global {real_loss.item() + abs(balance):.4f}  "
                f"pixel std across samples {samples.std(0).mean():.3f}",
                flush=True,
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **saved)


def evaluate(paths: list[pathlib.Path], dataset: str = "digits") -> list[dict]:
    """Prints (and returns) one row per saved step of every .npz: k_t, FD, precision, recall
    and the classes with >= 3% of the samples."""
    sys.path.insert(0, str(REPO))
    from gan_jax import data, evaluation

    loader = data.mnist5k if dataset == "mnist5k" else data.digits
    embedding = evaluation.classifier_embedding(loader(DATASETS[dataset]))
    evaluator = evaluation.feature_evaluator(embedding, SAMPLES)
    print("| run | step | k_t | FD | precision | recall | classes >= 3% |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for path in paths:
        arrays = np.load(path)
        for step in sorted((s for s in arrays.files if s.isdigit()), key=int):
            r = evaluator(np.clip(arrays[step], -1.0, 1.0).astype(np.float32))
            row = {"run": path.stem, "step": int(step), "k": float(arrays[f"k_{step}"])}
            row.update({m: float(r[m]) for m in ("frechet_distance", "precision", "recall")})
            row["classes"] = int(r["classes"])
            rows.append(row)
            print(
                f"| {row['run']} | {step} | {row['k']:.3f} | {row['frechet_distance']:.1f} | "
                f"{row['precision']:.2f} | {row['recall']:.2f} | {row['classes']} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/began_torch/digits.npy"))
    p.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    p = sub.add_parser("train")
    p.add_argument("--gamma", type=float, default=0.75)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--every", type=int, default=EVERY, help="steps between saved samples")
    p.add_argument("--data", type=pathlib.Path, default=pathlib.Path("runs/began_torch/digits.npy"))
    p.add_argument("--out", type=pathlib.Path, required=True)
    p = sub.add_parser("evaluate")
    p.add_argument("paths", type=pathlib.Path, nargs="+")
    p.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    args = parser.parse_args()
    if args.command == "export":
        export(args.out, args.dataset)
    elif args.command == "train":
        train(args.gamma, args.seed, args.steps, args.every, args.data, args.out)
    else:
        evaluate(args.paths, args.dataset)


if __name__ == "__main__":
    main()
