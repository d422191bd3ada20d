"""StyleGAN (Karras et al. 2019, arXiv 1812.04948) and StyleGAN2 (Karras et al. 2020, arXiv
1912.04958) generators and critics, scaled down for 8-64 pixels.

The generator is a **mapping network** f: z -> w (pixel norm of z, then ``mapping_layers``
dense layers of ``w_dim`` units with LeakyReLU, learning-rate multiplier 0.01 with the
equalised learning rate) and a **synthesis network** that starts from a learned constant 4x4
input and doubles the resolution up to the image's, every layer taking its own copy of w:
``num_ws = 2 log2(resolution) - 2`` styles (6 at 16 px), as in both papers' code.

- StyleGAN (``version=1``): per resolution two 3x3 convolutions (bilinear 2x upsampling before
  the first), each followed by per-pixel noise (a learned per-channel strength, initialised to
  0), LeakyReLU and **AdaIN** (the paper's eq. 1): AdaIN(x, y) = y_s (x - mu(x)) / sigma(x) +
  y_b, mu and sigma per sample and channel over the positions, y = (y_s, y_b) an affine map of
  w (y_s's bias initialised to 1). A 1x1 convolution makes the image (linear output).
- StyleGAN2 (``version=2``): AdaIN is replaced by **modulated / demodulated convolutions**
  (the paper's eq. 1-3): w'_ijk = s_i w_ijk, then w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + eps),
  s an affine map of w (bias 1); computed as the paper's code does when it does not fuse
  (scale the input by s, convolve with the shared weight, scale the output by the
  demodulation), which is the same function. Noise and bias after each convolution; the
  **skip-connection generator** (the paper's Figure 7): every resolution adds a modulated 1x1
  toRGB (no demodulation) of its features to the upsampled image so far. The critic is the
  **residual** one of the paper (two 3x3 convolutions and a 1x1 skip, added and scaled by
  1/sqrt 2, 2x average-pool downsampling), with the minibatch stddev layer at 4x4.
  StyleGAN's own critic (ProGAN's) is the same without the residual skips.

Simplifications, said once: upsampling is bilinear resizing (the papers' [1, 3, 3, 1] FIR filter
for a 2x upsample is the same kernel) and downsampling a 2x2 average pool, not their blurred
strided convolutions; channels are ``width`` at the image's resolution and 2 * ``width`` below
(the papers double per halving up to 512). **Equalised learning rate** (ProGAN, Karras et al.
2018) is optional (``equalized_lr``): weights stored N(0, 1) (N(0, 1/lr_mul^2) in the mapping)
and scaled at run time by He's constant; without it they are initialised with He's std and
used as they are, so the two networks are the same function at initialisation.

**Noise inputs** need random numbers in every call; the core applies networks without RNG
streams, so a sample's noise is a pure function of its z: the key of each sample is the bits of
its first two z coordinates (``noise_keys``), folded with the layer's index. Fresh z every step
means fresh noise every step; the same z gives the same image (a fixed evaluation batch stays
fixed).

The generator's calls: ``G(z, labels=None, mix_z=None, crossover=None, train=..., truncation=
None)``. ``mix_z`` and ``crossover`` (B,) int32 are **style mixing** (the StyleGAN paper's
section 3.1): layers ``< crossover`` take w = f(z), the others f(mix_z); ``truncation`` psi is
the **truncation trick in W** (section 3.1 / appendix B): w' = w_avg + psi (w - w_avg), psi = 1
the identity, psi = 0 the mean w for every z. ``w_avg`` is a running mean of f(z) over training
(decay ``w_avg_decay`` = 0.995 as in the code), in the ``batch_stats`` collection: train-mode
calls of the generator's own update advance it, the critic's calls of G discard it
(gan_jax/steps.py), and G's EMA averages it with the weights. Methods for the games:
``styles`` (z -> the (B, num_ws, w_dim) styles) and ``synthesize`` (styles -> images), which the
path-length regulariser differentiates (gan_jax/games/stylegan.py).
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import append_features, minibatch_stddev

LRELU_SLOPE = 0.2
# LeakyReLU's gain that keeps unit variance (the papers' bias_act "lrelu" def_gain).
LRELU_GAIN = math.sqrt(2.0)
EPSILON = 1e-8


def num_styles(resolution: int) -> int:
    """Styles (copies of w) of a generator of ``resolution``: 2 log2(resolution) - 2."""
    return 2 * int(math.log2(resolution)) - 2


def lrelu(x: jax.Array) -> jax.Array:
    return nn.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN


def conv2d(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """Stride-1 'SAME' convolution, NHWC x HWIO."""
    return jax.lax.conv_general_dilated(
        x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


def upsample(x: jax.Array) -> jax.Array:
    """2x bilinear upsampling (the papers' [1, 3, 3, 1] filter)."""
    b, h, w, c = x.shape
    return jax.image.resize(x, (b, 2 * h, 2 * w, c), "bilinear")


def downsample(x: jax.Array) -> jax.Array:
    return nn.avg_pool(x, (2, 2), strides=(2, 2))


def pixel_norm(x: jax.Array) -> jax.Array:
    """x / sqrt(mean(x^2) + eps) over the features (ProGAN; the mapping network's input)."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + EPSILON)


def adain(x: jax.Array, scale: jax.Array, bias: jax.Array) -> jax.Array:
    """AdaIN(x, y) = y_s (x - mu(x)) / sigma(x) + y_b (StyleGAN, eq. 1).

    ``x`` (B, H, W, C); ``scale`` and ``bias`` (B, C); mu, sigma per sample and channel over H, W.
    """
    x32 = x.astype(jnp.float32)
    mean = jnp.mean(x32, axis=(1, 2), keepdims=True)
    var = jnp.var(x32, axis=(1, 2), keepdims=True)
    out = (x32 - mean) * jax.lax.rsqrt(var + EPSILON)
    return (scale[:, None, None, :] * out + bias[:, None, None, :]).astype(x.dtype)


def demodulation(kernel: jax.Array, style: jax.Array) -> jax.Array:
    """StyleGAN2's eq. 3: 1 / sqrt(sum_{k, i} (s_i w_ijk)^2 + eps), per sample and output j.

    ``kernel`` (K, K, I, J), ``style`` (B, I) -> (B, J).
    """
    k32, s32 = kernel.astype(jnp.float32), style.astype(jnp.float32)
    sq = jnp.einsum("hwij,bi->bj", jnp.square(k32), jnp.square(s32))
    return jax.lax.rsqrt(sq + EPSILON)


def modulated_conv(
    x: jax.Array, kernel: jax.Array, style: jax.Array, demodulate: bool = True
) -> jax.Array:
    """StyleGAN2's modulated (and demodulated) convolution, eq. 1-3.

    Equal to convolving sample b with w''_ijk = s_bi w_ijk d_bj: the input is scaled by s, the
    shared kernel applied, the output scaled by d (the paper's code with fused_modconv=False).
    """
    y = conv2d(x * style[:, None, None, :].astype(x.dtype), kernel.astype(x.dtype))
    if demodulate:
        y = y * demodulation(kernel, style)[:, None, None, :].astype(y.dtype)
    return y


def noise_keys(z: jax.Array) -> jax.Array:
    """One PRNG key per sample, from the bits of its first two z coordinates (see the module
    docstring): (B, z_dim) -> (B,) typed keys."""
    bits = jax.lax.bitcast_convert_type(z[:, :2].astype(jnp.float32), jnp.uint32)
    return jax.random.wrap_key_data(bits, impl="threefry2x32")


class EqualDense(nn.Module):
    """Dense layer with the optional equalised learning rate (``equalized``) and ``lr_mul``."""

    features: int
    equalized: bool = True
    lr_mul: float = 1.0
    bias_init: float = 0.0
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        he = 1.0 / math.sqrt(x.shape[-1])
        if self.equalized:
            init_std, w_scale, b_scale = 1.0 / self.lr_mul, he * self.lr_mul, self.lr_mul
        else:
            init_std, w_scale, b_scale = he, 1.0, 1.0
        kernel = self.param(
            "kernel", nn.initializers.normal(init_std), (x.shape[-1], self.features)
        )
        bias = self.param(
            "bias", nn.initializers.constant(self.bias_init / b_scale), (self.features,)
        )
        dtype = self.dtype or x.dtype
        y = x.astype(dtype) @ (kernel * w_scale).astype(dtype)
        return y + (bias * b_scale).astype(dtype)


class EqualConv(nn.Module):
    """k x k stride-1 convolution; with ``style`` (B, C_in) a modulated one (StyleGAN2)."""

    features: int
    kernel_size: int = 3
    equalized: bool = True
    use_bias: bool = True
    demodulate: bool = True
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, style: jax.Array | None = None) -> jax.Array:
        k, cin = self.kernel_size, x.shape[-1]
        he = 1.0 / math.sqrt(k * k * cin)
        init_std, scale = (1.0, he) if self.equalized else (he, 1.0)
        kernel = self.param("kernel", nn.initializers.normal(init_std), (k, k, cin, self.features))
        kernel = kernel * scale
        dtype = self.dtype or x.dtype
        x = x.astype(dtype)
        if style is None:
            y = conv2d(x, kernel.astype(dtype))
        else:
            y = modulated_conv(x, kernel, style, self.demodulate)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,)).astype(dtype)
        return y


class NoiseInput(nn.Module):
    """x + strength * N(0, 1) per pixel (one map for every channel), strength per channel, 0 at
    initialisation (StyleGAN's B); ``keys`` (B,) per-sample keys, ``index`` the layer's."""

    @nn.compact
    def __call__(self, x: jax.Array, keys: jax.Array, index: int) -> jax.Array:
        strength = self.param("strength", nn.initializers.zeros, (x.shape[-1],))
        shape = x.shape[1:3] + (1,)
        noise = jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, index), shape))(keys)
        return x + (noise * strength).astype(x.dtype)


class MappingNetwork(nn.Module):
    """f: z -> w: pixel norm, then ``layers`` dense layers of ``w_dim`` with LeakyReLU."""

    w_dim: int
    layers: int
    lr_mul: float = 0.01
    equalized: bool = True
    dtype: Any = None

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        x = pixel_norm(z.astype(jnp.float32))
        for i in range(self.layers):
            dense = EqualDense(
                self.w_dim, self.equalized, self.lr_mul, dtype=self.dtype, name=f"dense{i}"
            )
            x = lrelu(dense(x))
        return x.astype(jnp.float32)


class Synthesis(nn.Module):
    """The synthesis network of StyleGAN (``version`` 1, AdaIN) or StyleGAN2 (2, modulated
    convolutions with a skip-connection output): styles (B, num_ws, w_dim) -> images."""

    resolution: int
    channels: int
    width: int
    version: int = 2
    equalized: bool = True
    noise: bool = True
    dtype: Any = None

    def features(self, res: int) -> int:
        return self.width if res == self.resolution else 2 * self.width

    def noise_and_act(self, x: jax.Array, keys: jax.Array, layer: int) -> jax.Array:
        """Noise (if on), a per-channel bias and LeakyReLU after each convolution."""
        if self.noise:
            x = NoiseInput(name=f"noise{layer}")(x, keys, layer)
        bias = self.param(f"bias{layer}", nn.initializers.zeros, (x.shape[-1],))
        return lrelu(x + bias.astype(x.dtype))

    @nn.compact
    def __call__(self, ws: jax.Array, keys: jax.Array) -> jax.Array:
        b = ws.shape[0]
        dtype = self.dtype or jnp.float32
        c0 = self.features(4)
        const = self.param("const", nn.initializers.normal(1.0), (1, 4, 4, c0))
        x = jnp.broadcast_to(const, (b, 4, 4, c0)).astype(dtype)
        dense = lambda n, name: EqualDense(  # noqa: E731
            n, self.equalized, bias_init=1.0, name=name
        )
        layer, img, res = 0, None, 4
        while res <= self.resolution:
            c = self.features(res)
            for j in range(2 if self.version == 1 or res > 4 else 1):
                if j == 0 and res > 4:
                    x = upsample(x)
                if self.version == 1:
                    # StyleGAN: at 4x4 the constant itself, then one conv; two convs above.
                    if res > 4 or j > 0:
                        x = EqualConv(c, 3, self.equalized, use_bias=False, dtype=dtype)(x)
                    x = self.noise_and_act(x, keys, layer)
                    ys = dense(c, f"style{layer}_scale")(ws[:, layer])
                    yb = EqualDense(c, self.equalized, name=f"style{layer}_bias")(ws[:, layer])
                    x = adain(x, ys, yb)
                else:
                    s = dense(x.shape[-1], f"style{layer}")(ws[:, layer])
                    x = EqualConv(c, 3, self.equalized, use_bias=False, dtype=dtype)(x, s)
                    x = self.noise_and_act(x, keys, layer)
                layer += 1
            if self.version == 2:
                # toRGB takes the next conv's style index (the papers' code: num_ws = convs + 1).
                s = dense(x.shape[-1], f"torgb_style{res}")(ws[:, layer])
                torgb = EqualConv(
                    self.channels, 1, self.equalized, demodulate=False, dtype=dtype,
                    name=f"torgb{res}",
                )  # fmt: skip
                rgb = torgb(x, s)
                img = rgb if img is None else upsample(img) + rgb
            res *= 2
        if self.version == 1:
            img = EqualConv(self.channels, 1, self.equalized, dtype=dtype, name="torgb")(x)
        return img.astype(jnp.float32)


class StyleGenerator(nn.Module):
    """The style-based generator (module docstring): mapping, w_avg, truncation, mixing."""

    resolution: int
    channels: int
    width: int = 32
    z_dim: int = 64
    w_dim: int = 64
    mapping_layers: int = 2
    mapping_lr_mul: float = 0.01
    version: int = 2
    equalized: bool = True
    noise: bool = True
    w_avg_decay: float = 0.995
    dtype: Any = None

    @property
    def num_ws(self) -> int:
        return num_styles(self.resolution)

    def setup(self):
        self.mapping_net = MappingNetwork(
            self.w_dim, self.mapping_layers, self.mapping_lr_mul, self.equalized, self.dtype
        )
        self.synthesis = Synthesis(
            self.resolution,
            self.channels,
            self.width,
            self.version,
            self.equalized,
            self.noise,
            self.dtype,
        )
        self.w_avg = self.variable("batch_stats", "w_avg", jnp.zeros, (self.w_dim,), jnp.float32)

    def mapping(self, z: jax.Array, *, train: bool, track: bool = True) -> jax.Array:
        """w = f(z); a train-mode call advances w_avg towards the batch's mean w."""
        w = self.mapping_net(z)
        if train and track and not self.is_initializing():
            mean = jax.lax.stop_gradient(jnp.mean(w, axis=0))
            self.w_avg.value = mean + self.w_avg_decay * (self.w_avg.value - mean)
        return w

    def styles(
        self,
        z: jax.Array,
        labels: jax.Array | None = None,
        mix_z: jax.Array | None = None,
        crossover: jax.Array | None = None,
        *,
        train: bool,
        truncation: float | jax.Array | None = None,
    ) -> jax.Array:
        """The (B, num_ws, w_dim) styles: f(z) on layers < crossover, f(mix_z) on the others,
        then truncated towards w_avg when ``truncation`` (psi) is given."""
        del labels  # unconditional
        w = self.mapping(z, train=train)
        ws = jnp.broadcast_to(w[:, None, :], (w.shape[0], self.num_ws, self.w_dim))
        if mix_z is not None:
            w2 = self.mapping(mix_z, train=train, track=False)
            layer = jnp.arange(self.num_ws)[None, :, None]
            ws = jnp.where(layer < crossover[:, None, None], ws, w2[:, None, :])
        if truncation is not None:
            avg = self.w_avg.value
            ws = avg + jnp.asarray(truncation, jnp.float32) * (ws - avg)
        return ws

    def synthesize(self, ws: jax.Array, noise_from: jax.Array, *, train: bool) -> jax.Array:
        """Images from styles; the noise is that of the latents ``noise_from`` (B, z_dim)."""
        del train
        return self.synthesis(ws, noise_keys(noise_from))

    def __call__(
        self,
        z: jax.Array,
        labels: jax.Array | None = None,
        mix_z: jax.Array | None = None,
        crossover: jax.Array | None = None,
        *,
        train: bool,
        truncation: float | jax.Array | None = None,
    ) -> jax.Array:
        ws = self.styles(z, labels, mix_z, crossover, train=train, truncation=truncation)
        return self.synthesize(ws, z, train=train)


class StyleDiscriminator(nn.Module):
    """The critic: fromRGB 1x1, a block per resolution down to 4x4 (residual for StyleGAN2,
    plain for StyleGAN/ProGAN), minibatch stddev, 3x3 conv, two dense layers -> (B,)."""

    resolution: int
    width: int = 32
    residual: bool = True
    mbstd_group: int = 4
    equalized: bool = True
    dtype: Any = None

    def features(self, res: int) -> int:
        return self.width if res == self.resolution else 2 * self.width

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool):
        del labels, train  # unconditional; no normalisation layers
        dtype = self.dtype or jnp.float32
        conv = lambda c, k, name, bias=True: EqualConv(  # noqa: E731
            c, k, self.equalized, use_bias=bias, dtype=dtype, name=name
        )
        res = self.resolution
        x = lrelu(conv(self.features(res), 1, "fromrgb")(x.astype(dtype)))
        while res > 4:
            cin, cout = self.features(res), self.features(res // 2)
            y = lrelu(conv(cin, 3, f"conv{res}a")(x))
            y = downsample(lrelu(conv(cout, 3, f"conv{res}b")(y)))
            if self.residual:
                skip = conv(cout, 1, f"skip{res}", bias=False)(downsample(x))
                y = (y + skip) * (1.0 / math.sqrt(2.0))
            x = y
            res //= 2
        if self.mbstd_group:
            x = append_features(x, minibatch_stddev(x, self.mbstd_group)[:, None])
        x = lrelu(conv(self.features(4), 3, "conv4")(x))
        x = x.reshape(x.shape[0], -1)
        x = lrelu(EqualDense(self.features(4), self.equalized, dtype=dtype, name="fc")(x))
        out = EqualDense(1, self.equalized, dtype=dtype, name="out")(x)
        return out[:, 0].astype(jnp.float32)
