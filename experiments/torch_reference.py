"""PyTorch eager references of gan_jax's benchmark workloads (used by experiments/benchmark.py).

Each reference mirrors gan_jax's architecture and update rule (gan_jax/models, gan_jax/steps.py)
so that the two do the same arithmetic:

- MLPs: z -> [Linear -> ReLU] * L -> Linear for G; x -> [Linear -> LeakyReLU(0.2)] * L ->
  Linear(1) for D.
- DCGAN (Radford et al. 2015): G projects z to 4x4xC with a bias-free Linear, then 4x4 stride-2
  transposed convolutions (padding 1: the 'SAME' of flax), BatchNorm + ReLU after each but the
  last, tanh; D mirrors it with 4x4 stride-2 convolutions, LeakyReLU(0.2), a norm on every layer
  but the first, and a final 4x4 valid convolution. Layers followed by BatchNorm carry no bias.
  ``d_norm='layer'`` normalises over the channels of each pixel, as ``flax.linen.LayerNorm``
  (eps 1e-6) does on NHWC activations.
- One train step = ``d_steps`` critic updates, each on a fresh real batch and fresh fakes drawn
  from G in train mode without gradient, then one generator update on fresh noise; the critic's
  parameters do not collect gradients during the generator update (gan_jax differentiates with
  respect to G's parameters only). Objectives: the non-saturating GAN (softplus on logits) and
  WGAN-GP (Gulrajani et al. 2017, eq. 3: double backward through the critic).
- SNGAN's ResNets (gan_jax/models/resnet.py; Miyato et al. 2018, Appendix B.4): G's up ResBlocks
  with nearest-neighbour upsampling and BatchNorm, the critic's ResBlocks with average pooling,
  every critic layer in ``torch.nn.utils.parametrizations.spectral_norm`` (one power iteration
  per training forward pass, as gan_jax's SpectralNorm).

This is the strongest eager PyTorch we know to write for it: fused Adam where the build has it,
``zero_grad(set_to_none=True)``, no host synchronisation inside the step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel of an NCHW tensor (flax LayerNorm on NHWC)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
    if kind == "layer":
        return ChannelLayerNorm(channels)
    return nn.Identity()


def mlp_generator(z_dim: int, hidden: tuple[int, ...], out_dim: int) -> nn.Module:
    layers, width = [], z_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, out_dim))


def mlp_discriminator(in_dim: int, hidden: tuple[int, ...]) -> nn.Module:
    layers, width = [], in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 1), nn.Flatten(0))


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, resolution: int, width: int, channels: int, norm: str):
        super().__init__()
        n = {16: 2, 32: 3, 64: 4}[resolution]
        self.feats = width * 2 ** (n - 1)
        bias = norm != "batch"
        self.project = nn.Linear(z_dim, 4 * 4 * self.feats, bias=bias)
        self.norm0 = _norm(norm, self.feats)
        layers, feats = [], self.feats
        for _ in range(1, n):
            layers += [
                nn.ConvTranspose2d(feats, feats // 2, 4, 2, 1, bias=bias),
                _norm(norm, feats // 2),
                nn.ReLU(),
            ]
            feats //= 2
        layers += [nn.ConvTranspose2d(feats, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.feats, 4, 4)
        return self.body(F.relu(self.norm0(x)))


def dcgan_discriminator(resolution: int, width: int, channels: int, norm: str) -> nn.Module:
    n = {16: 2, 32: 3, 64: 4}[resolution]
    layers, cin, feats = [], channels, width
    for i in range(n):
        bias = i == 0 or norm != "batch"
        layers.append(nn.Conv2d(cin, feats, 4, 2, 1, bias=bias))
        if i > 0:
            layers.append(_norm(norm, feats))
        layers.append(nn.LeakyReLU(0.2))
        cin, feats = feats, feats * 2
    return nn.Sequential(*layers, nn.Conv2d(cin, 1, 4), nn.Flatten(0))


class ResNetGBlock(nn.Module):
    """SNGAN's up ResBlock: BN-ReLU-up-conv3x3-BN-ReLU-conv3x3, shortcut up-conv1x1."""

    def __init__(self, cin: int, cout: int, bias: bool):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=bias)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=bias)
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResNetGenerator(nn.Module):
    """SNGAN's ResNet generator (gan_jax/models/resnet.py, unconditional, BatchNorm)."""

    def __init__(self, z_dim: int, resolution: int, width: int, channels: int):
        super().__init__()
        self.width = width
        self.project = nn.Linear(z_dim, 4 * 4 * width, bias=False)
        n = {16: 2, 32: 3, 64: 4}[resolution]
        self.blocks = nn.Sequential(*[ResNetGBlock(width, width, False) for _ in range(n)])
        self.bn_out = nn.BatchNorm2d(width)
        self.conv_out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.project(z).view(z.shape[0], self.width, 4, 4))
        return torch.tanh(self.conv_out(F.relu(self.bn_out(x))))


def _sn(layer: nn.Module) -> nn.Module:
    return torch.nn.utils.parametrizations.spectral_norm(layer)


class ResNetDBlock(nn.Module):
    """SNGAN's critic ResBlock (``optimized``: the first block), every layer spectrally normed."""

    def __init__(self, cin: int, cout: int, downsample: bool, optimized: bool = False):
        super().__init__()
        self.downsample, self.optimized = downsample, optimized
        self.conv1 = _sn(nn.Conv2d(cin, cout, 3, padding=1))
        self.conv2 = _sn(nn.Conv2d(cout, cout, 3, padding=1))
        learned = optimized or downsample or cin != cout
        self.shortcut = _sn(nn.Conv2d(cin, cout, 1)) if learned else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.optimized else F.relu(x))
        h = self.conv2(F.relu(h))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.optimized:
            return h + self.shortcut(F.avg_pool2d(x, 2))
        s = x if self.shortcut is None else self.shortcut(x)
        return h + (F.avg_pool2d(s, 2) if self.downsample else s)


def resnet_discriminator(width: int, channels: int) -> nn.Module:
    """SNGAN's ResNet critic: optimized block, down block, two plain blocks, ReLU, sum, Dense."""

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(
                ResNetDBlock(channels, width, True, optimized=True),
                ResNetDBlock(width, width, True),
                ResNetDBlock(width, width, False),
                ResNetDBlock(width, width, False),
            )
            self.logit = _sn(nn.Linear(width, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.logit(F.relu(self.blocks(x)).sum(dim=(2, 3)))[:, 0]

    return Critic()


def adam(params, lr: float, b1: float, b2: float) -> torch.optim.Optimizer:
    try:
        return torch.optim.Adam(params, lr=lr, betas=(b1, b2), eps=1e-8, fused=True)
    except (RuntimeError, TypeError):  # builds without a fused CPU kernel
        return torch.optim.Adam(params, lr=lr, betas=(b1, b2), eps=1e-8, foreach=True)


def gradient_penalty(d: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float):
    """weight * E[(||grad f(x^)||_2 - 1)^2], x^ = e x + (1 - e) G(z) (Gulrajani et al., eq. 3)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)))
    interp = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grads,) = torch.autograd.grad(d(interp).sum(), interp, create_graph=True)
    return weight * (grads.flatten(1).norm(dim=1) - 1).square().mean()


def make_train_step(
    g: nn.Module,
    d: nn.Module,
    *,
    objective: str,
    z_dim: int,
    batch_size: int,
    d_steps: int,
    sample: Callable[[int], torch.Tensor],
    lr: float,
    b1: float,
    b2: float,
    gp_weight: float = 10.0,
) -> Callable[[], None]:
    """One gan_jax train step (``d_steps`` critic updates, one G update) as a closure."""
    opt_g, opt_d = adam(g.parameters(), lr, b1, b2), adam(d.parameters(), lr, b1, b2)
    d_params = list(d.parameters())

    def d_loss(real_out, fake_out):
        if objective == "non_saturating":
            return F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
        return fake_out.mean() - real_out.mean()

    def g_loss(fake_out):
        if objective == "non_saturating":
            return F.softplus(-fake_out).mean()
        return -fake_out.mean()

    def step() -> None:
        for p in d_params:
            p.requires_grad_(True)
        for _ in range(d_steps):
            real = sample(batch_size)
            with torch.no_grad():
                fake = g(torch.randn(batch_size, z_dim))
            loss = d_loss(d(real), d(fake))
            if objective == "wasserstein_gp":
                loss = loss + gradient_penalty(d, real, fake, gp_weight)
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()
        for p in d_params:
            p.requires_grad_(False)
        loss = g_loss(d(g(torch.randn(batch_size, z_dim))))
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()

    return step
