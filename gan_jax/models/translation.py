"""Image-to-image networks: CycleGAN's ResNet generator and PatchGAN critic, scaled down.

Zhu et al. 2017 (arXiv 1703.10593, appendix 7.2) after Johnson et al. 2016: the generator is a
reflection-padded 7x7 convolution, two stride-2 downsampling convolutions, ``num_blocks``
residual blocks of two 3x3 convolutions, two stride-2 upsampling transposed convolutions and a
7x7 convolution to the image's channels with tanh; each hidden layer is normalised (instance
norm without affine parameters, as the reference code's default) and ReLU-ed. The critic is
the PatchGAN of pix2pix (Isola et al. 2017): ``num_layers`` 4x4 stride-2 convolutions, one 4x4
stride-1 convolution, then a 4x4 stride-1 convolution to one score per patch, LeakyReLU(0.2)
between them and no norm on the first layer; it returns the (B, H / 2^num_layers,
W / 2^num_layers, 1) patch map. Weights are initialised N(0, 0.02^2) as in the reference code.
A convolution followed by instance norm has no bias (the reference code's has one, which the
norm's mean subtraction cancels exactly: it changes nothing but has a gradient of rounding
noise, which Adam turns into steps of +-lr that differ from one device count to another).

Differences from the paper's networks, for 16x16 digits: widths and block counts are arguments
(the paper's are 64 and 9 for 256x256), and the stride-2 layers are 4x4 (the DCGAN layers of
``layers.py``, whose gradients XLA:CPU runs well) rather than 3x3. Not in the ``MODELS``
registry: these map images to images, not noise to images.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import layers

NORMS = ("instance", "none")
INIT = nn.initializers.normal(0.02)


def _norm(kind: str, name: str):
    if kind == "instance":
        # PyTorch's InstanceNorm2d defaults: no affine parameters, eps 1e-5.
        return nn.InstanceNorm(epsilon=1e-5, use_scale=False, use_bias=False, name=name)
    if kind == "none":
        return lambda x: x
    raise ValueError(f"norm={kind!r}; allowed: {list(NORMS)}")


# ResnetGenerator's padding of its stride-1 convolutions: 'reflect' (CycleGAN's, Johnson et al.)
# or 'zeros' (StarGAN's, appendix table 4: a domain code tiled as constant input planes survives
# a zero-padded stem at the borders, and is erased exactly by reflection padding followed by
# instance norm, which subtracts each channel's spatial mean).
PADDINGS = {"reflect": "reflect", "zeros": "constant"}


def _reflect_conv(
    x: jax.Array,
    features: int,
    size: int,
    name: str,
    use_bias: bool = True,
    padding: str = "reflect",
) -> jax.Array:
    """A stride-1 ``size`` x ``size`` convolution over reflection (or zero: ``padding``)
    padding, the same size out."""
    p = size // 2
    x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode=PADDINGS[padding])
    conv = nn.Conv(
        features, (size, size), padding="VALID", use_bias=use_bias, kernel_init=INIT, name=name
    )
    return conv(x)


class ResnetGenerator(nn.Module):
    """x (B, H, W, C) in [-1, 1] -> image (B, H, W, C) in [-1, 1]; H, W divisible by 4."""

    width: int = 16
    num_blocks: int = 3
    norm: str = "instance"
    out_channels: int = 0  # 0: as many as the input's (StarGAN's input carries extra channels)
    padding: str = "reflect"  # of the stride-1 convolutions: 'reflect' or 'zeros' (PADDINGS)

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train  # no running statistics: instance norm normalises each image by itself
        h = _encode(x, self.width, self.num_blocks, self.norm, self.padding)
        channels = self.out_channels or x.shape[-1]
        return _decode(h, self.width, 0, self.norm, channels, self.padding)


class ResnetEncoder(nn.Module):
    """The first half of ``ResnetGenerator``: x (B, H, W, C) -> features (B, H/4, W/4, 4 width)
    (the stem, both downsampling layers and ``num_blocks`` residual blocks). ComboGAN's
    per-domain encoder (Anoosheh et al. 2018)."""

    width: int = 16
    num_blocks: int = 2
    norm: str = "instance"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        return _encode(x, self.width, self.num_blocks, self.norm)


class ResnetDecoder(nn.Module):
    """The second half of ``ResnetGenerator``: features -> image (B, H, W, ``channels``) in
    [-1, 1] (``num_blocks`` residual blocks, both upsampling layers, the 7x7 output with tanh).
    ComboGAN's per-domain decoder."""

    width: int = 16
    num_blocks: int = 1
    norm: str = "instance"
    channels: int = 1

    @nn.compact
    def __call__(self, h: jax.Array, train: bool = False) -> jax.Array:
        del train
        return _decode(h, self.width, self.num_blocks, self.norm, self.channels)


# The layers are created by these functions inside a compact module's __call__, so their
# parameters belong to that module (ResnetGenerator's tree is the encoder's then the decoder's).


def _encode(
    x: jax.Array, width: int, num_blocks: int, norm: str, padding: str = "reflect"
) -> jax.Array:
    bias = norm == "none"
    h = _reflect_conv(x, width, 7, "conv_in", bias, padding)
    h = nn.relu(_norm(norm, "norm_in")(h))
    for i, mult in enumerate((2, 4)):
        h = layers.StridedConv(width * mult, bias, kernel_init=INIT, name=f"down{i}")(h)
        h = nn.relu(_norm(norm, f"norm_down{i}")(h))
    return _blocks(h, num_blocks, norm, padding)


def _decode(
    h: jax.Array, width: int, num_blocks: int, norm: str, channels: int, padding: str = "reflect"
) -> jax.Array:
    bias = norm == "none"
    h = _blocks(h, num_blocks, norm, padding)
    for i, mult in enumerate((2, 1)):
        up = layers.ConvTranspose4x4(width * mult, bias, kernel_init=INIT, name=f"up{i}")
        h = nn.relu(_norm(norm, f"norm_up{i}")(up(h)))
    return jnp.tanh(_reflect_conv(h, channels, 7, "conv_out", padding=padding))


def _blocks(h: jax.Array, num_blocks: int, norm: str, padding: str = "reflect") -> jax.Array:
    """Residual blocks of two reflection-padded (or zero-padded) 3x3 convolutions (Johnson et
    al. 2016)."""
    width, bias = h.shape[-1], norm == "none"
    for i in range(num_blocks):
        r = _reflect_conv(h, width, 3, f"block{i}_conv0", bias, padding)
        r = nn.relu(_norm(norm, f"block{i}_norm0")(r))
        r = _reflect_conv(r, width, 3, f"block{i}_conv1", bias, padding)
        h = h + _norm(norm, f"block{i}_norm1")(r)
    return h


class StarDiscriminator(nn.Module):
    """StarGAN's critic (Choi et al. 2018, appendix 7.1), scaled down: ``num_layers`` 4x4
    stride-2 convolutions with LeakyReLU(0.01) and no norm (a gradient penalty is per sample),
    then two heads on the last feature map: D_src, a 3x3 convolution to one score per patch,
    (B, H / 2^num_layers, W / 2^num_layers, 1), and D_cls, a convolution over the whole map to
    ``num_domains`` logits, (B, num_domains)."""

    width: int = 16
    num_layers: int = 2
    num_domains: int = 2

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
        del train
        h = x
        for i in range(self.num_layers):
            h = layers.StridedConv(self.width * 2**i, True, kernel_init=INIT, name=f"down{i}")(h)
            h = nn.leaky_relu(h, 0.01)
        src = nn.Conv(1, (3, 3), padding="SAME", use_bias=False, name="src")(h)
        cls = nn.Conv(self.num_domains, h.shape[1:3], padding="VALID", use_bias=False, name="cls")(
            h
        )
        return src, cls.reshape(cls.shape[0], self.num_domains)


class PerDomainCritics(nn.Module):
    """One ``PatchDiscriminator`` per domain (CycleGAN's critics, instance norm) as one module:
    x (B, H, W, C) -> (patch maps (B, H / 2^num_layers, W / 2^num_layers, num_domains), None),
    channel d the score of domain d's own critic; None where StarDiscriminator gives D_cls (each
    critic already judges one domain). StarGAN's ``game.critic='per_domain'`` ablation."""

    width: int = 16
    num_layers: int = 2
    num_domains: int = 2

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> tuple[jax.Array, None]:
        maps = [
            PatchDiscriminator(self.width, self.num_layers, name=f"critic{d}")(x, train)
            for d in range(self.num_domains)
        ]
        return jnp.concatenate(maps, axis=-1), None


class PatchDiscriminator(nn.Module):
    """x (B, H, W, C) -> patch scores (B, H / 2^num_layers, W / 2^num_layers, 1), raw."""

    width: int = 16
    num_layers: int = 2
    norm: str = "instance"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        h, bias = x, self.norm == "none"
        for i in range(self.num_layers):
            down = layers.StridedConv(
                self.width * 2**i, bias or not i, kernel_init=INIT, name=f"down{i}"
            )
            h = down(h)
            if i:
                h = _norm(self.norm, f"norm{i}")(h)
            h = nn.leaky_relu(h, 0.2)
        last = nn.Conv(
            self.width * 2**self.num_layers,
            (4, 4),
            padding="SAME",
            use_bias=bias,
            kernel_init=INIT,
            name="conv_last",
        )
        h = nn.leaky_relu(_norm(self.norm, "norm_last")(last(h)), 0.2)
        return nn.Conv(1, (4, 4), padding="SAME", kernel_init=INIT, name="patch_scores")(h)


class UnetGenerator(nn.Module):
    """pix2pix's U-Net (Isola et al. 2017, section 3.2.1 and appendix 6.1.1), scaled down.

    x (B, H, W, C) in [-1, 1] -> image (B, H, W, C) in [-1, 1]; H, W divisible by 2^depth.
    Encoder: ``depth`` 4x4 stride-2 convolutions of width min(width * 2^i, 8 * width),
    LeakyReLU(0.2), instance norm except on the first and the innermost (a 1x1 map has no spatial
    statistics; the reference code's innermost block has no norm either). Decoder: 4x4 stride-2
    transposed convolutions, ReLU, each concatenated with the encoder's map of the same size
    (the skip connections), instance norm except on the output, tanh. ``dropout`` > 0 is the
    paper's noise: dropout of that rate on the first ``min(3, depth - 1)`` decoder layers, drawn
    from ``key`` (none without a key, as at evaluation here; the paper keeps it at test time).
    """

    width: int = 16
    depth: int = 4
    norm: str = "instance"
    dropout: float = 0.0

    @nn.compact
    def __call__(
        self, x: jax.Array, key: jax.Array | None = None, train: bool = False
    ) -> jax.Array:
        channels, bias = x.shape[-1], self.norm == "none"
        widths = [min(self.width * 2**i, 8 * self.width) for i in range(self.depth)]
        skips, h = [], x
        for i, w in enumerate(widths):
            inner = i == self.depth - 1
            h = layers.StridedConv(w, bias or i == 0 or inner, kernel_init=INIT, name=f"down{i}")(
                nn.leaky_relu(h, 0.2) if i else h
            )
            if 0 < i < self.depth - 1:
                h = _norm(self.norm, f"norm_down{i}")(h)
            skips.append(h)
        keys = [None] * self.depth if key is None else list(jax.random.split(key, self.depth))
        h = skips.pop()
        for i, w in enumerate(reversed([channels, *widths[:-1]])):
            outer = i == self.depth - 1
            up = layers.ConvTranspose4x4(w, bias or outer, kernel_init=INIT, name=f"up{i}")
            h = up(nn.relu(h))
            if outer:
                return jnp.tanh(h)
            h = _norm(self.norm, f"norm_up{i}")(h)
            if self.dropout and i < 3 and keys[i] is not None:
                h = nn.Dropout(self.dropout)(h, deterministic=False, rng=keys[i])
            h = jnp.concatenate([h, skips.pop()], axis=-1)
        raise AssertionError("unreachable")


def depth_to_space(x: jax.Array, r: int) -> jax.Array:
    """(B, H, W, r*r*C) -> (B, r*H, r*W, C), PyTorch's PixelShuffle channel order
    (Shi et al. 2016, the sub-pixel convolution): out[b, r*h + i, r*w + j, c] = x[b, h, w,
    c*r*r + i*r + j]."""
    b, h, w, crr = x.shape
    c = crr // (r * r)
    x = x.reshape(b, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(b, h * r, w * r, c)


class SRResNet(nn.Module):
    """SRGAN's generator (Ledig et al. 2017, figure 4), scaled down, without BatchNorm.

    Low-res x (B, h, w, C) -> (B, 2^upsamples h, 2^upsamples w, C): a 9x9 convolution and
    PReLU, ``num_blocks`` residual blocks (3x3 conv, PReLU, 3x3 conv, + skip) at the input's
    resolution, a 3x3 convolution plus the long skip, then ``upsamples`` sub-pixel blocks (3x3
    convolution to 4x channels, ``depth_to_space`` by 2, PReLU) and a 9x9 convolution to the
    image's channels, linear (as the paper's). No BatchNorm: the paper has it in every block;
    EDSR (Lim et al. 2017) showed it hurts super-resolution, and without it the network needs
    no running statistics.
    """

    width: int = 32
    num_blocks: int = 4
    upsamples: int = 2

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        channels = x.shape[-1]

        def conv(h, features, size, name):
            return nn.Conv(features, (size, size), padding="SAME", name=name)(h)

        h = nn.PReLU(name="prelu_in")(conv(x, self.width, 9, "conv_in"))
        skip = h
        for i in range(self.num_blocks):
            r = nn.PReLU(name=f"block{i}_prelu")(conv(h, self.width, 3, f"block{i}_conv0"))
            h = h + conv(r, self.width, 3, f"block{i}_conv1")
        h = skip + conv(h, self.width, 3, "conv_mid")
        for i in range(self.upsamples):
            h = depth_to_space(conv(h, 4 * self.width, 3, f"up{i}_conv"), 2)
            h = nn.PReLU(name=f"up{i}_prelu")(h)
        return conv(h, channels, 9, "conv_out")


class SRDiscriminator(nn.Module):
    """SRGAN's critic (Ledig et al. 2017, figure 4), scaled down, without BatchNorm.

    x (B, H, W, C) -> (B,) logits: pairs of 3x3 convolutions (stride 1 then 2) of widths
    ``width * 2^i`` for i < ``num_stages``, LeakyReLU(0.2), a dense layer of 8 * width, LeakyReLU,
    a dense layer to one logit (the paper's sigmoid is the loss's). The paper has 4 stages of
    64..512 channels and BatchNorm after every convolution but the first.
    """

    width: int = 16
    num_stages: int = 3

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        h = x
        for i in range(self.num_stages):
            w = self.width * 2**i
            for stride in (1, 2):
                conv = nn.Conv(
                    w, (3, 3), (stride, stride), padding="SAME", name=f"conv{i}_{stride}"
                )
                h = nn.leaky_relu(conv(h), 0.2)
        h = nn.leaky_relu(nn.Dense(8 * self.width, name="dense")(h.reshape(h.shape[0], -1)), 0.2)
        return nn.Dense(1, name="logit")(h)[:, 0]


class _XganEncoderHead(nn.Module):
    width: int
    norm: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        bias = self.norm == "none"
        h = nn.relu(_norm(self.norm, "norm_in")(_reflect_conv(x, self.width, 7, "conv_in", bias)))
        h = layers.StridedConv(self.width * 2, bias, kernel_init=INIT, name="down0")(h)
        return nn.relu(_norm(self.norm, "norm_down0")(h))


class _XganEncoderTrunk(nn.Module):
    width: int
    embed_dim: int
    norm: str

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        h = layers.StridedConv(self.width * 4, self.norm == "none", kernel_init=INIT, name="down1")(
            h
        )
        h = nn.relu(_norm(self.norm, "norm_down1")(h))
        return nn.Dense(self.embed_dim, kernel_init=INIT, name="embed")(h.reshape(h.shape[0], -1))


class _XganDecoderTrunk(nn.Module):
    width: int
    side: int  # the side of the 1/4-resolution map the embedding is decoded into
    norm: str

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        h = nn.Dense(self.side * self.side * self.width * 4, kernel_init=INIT, name="project")(z)
        h = nn.relu(h.reshape(z.shape[0], self.side, self.side, self.width * 4))
        up = layers.ConvTranspose4x4(
            self.width * 2, self.norm == "none", kernel_init=INIT, name="up0"
        )
        return nn.relu(_norm(self.norm, "norm_up0")(up(h)))


class _XganDecoderHead(nn.Module):
    width: int
    channels: int
    norm: str

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        up = layers.ConvTranspose4x4(self.width, self.norm == "none", kernel_init=INIT, name="up1")
        h = nn.relu(_norm(self.norm, "norm_up1")(up(h)))
        return jnp.tanh(_reflect_conv(h, self.channels, 7, "conv_out"))


class XganAutoencoder(nn.Module):
    """XGAN's two domain autoencoders with a shared embedding (Royer et al. 2017, section 3.1):
    encoder e_d = a domain-specific head (7x7 stem, one stride-2 convolution) then a SHARED
    trunk (one stride-2 convolution, a dense layer to ``embed_dim``); decoder g_d = a SHARED
    trunk (dense, one 4x4 upsampling) then a domain-specific head (one upsampling, 7x7 output,
    tanh). ``encode(x, d)`` and ``decode(z, d)`` for d in 'a', 'b'; calling it (as ``init``
    does) autoencodes x through both domains' paths, summed."""

    width: int = 16
    embed_dim: int = 64
    side: int = 4
    channels: int = 1
    norm: str = "instance"

    def setup(self):
        self.enc_head = {d: _XganEncoderHead(self.width, self.norm) for d in "ab"}
        self.enc_trunk = _XganEncoderTrunk(self.width, self.embed_dim, self.norm)
        self.dec_trunk = _XganDecoderTrunk(self.width, self.side, self.norm)
        self.dec_head = {d: _XganDecoderHead(self.width, self.channels, self.norm) for d in "ab"}

    def encode(self, x: jax.Array, domain: str, train: bool = False) -> jax.Array:
        del train
        return self.enc_trunk(self.enc_head[domain](x))

    def decode(self, z: jax.Array, domain: str, train: bool = False) -> jax.Array:
        del train
        return self.dec_head[domain](self.dec_trunk(z))

    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        return sum(self.decode(self.encode(x, d), d) for d in "ab")


class EmbeddingClassifier(nn.Module):
    """z (B, D) -> one logit (B,) that z is an embedding of domain A (XGAN's domain-adversarial
    classifier c_dann): ``num_layers`` hidden dense layers of ``hidden`` units, LeakyReLU(0.2)."""

    hidden: int = 64
    num_layers: int = 2

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = False) -> jax.Array:
        del train
        h = z
        for i in range(self.num_layers):
            h = nn.leaky_relu(nn.Dense(self.hidden, name=f"dense{i}")(h), 0.2)
        return nn.Dense(1, name="logit")(h)[:, 0]
