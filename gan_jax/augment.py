"""Differentiable augmentations of the critic's inputs, and ADA's adaptive probability.

DiffAugment (Zhao et al. 2020, arXiv 2006.10738) applies the same family of random,
differentiable transformations T to the real images and to the generated ones before the critic
sees them, in the critic's loss and in the generator's, so that D(T(x)) and D(T(G(z))) are
compared and G receives gradients through T. The operations follow the paper's code
(``DiffAugment_pytorch.py``), on NHWC images in [-1, 1]:

- ``brightness``: x + (u - 0.5), u ~ U[0, 1) per sample;
- ``saturation``: (x - m_c) * 2u + m_c, m_c the per-pixel mean over channels (identity on
  grayscale images);
- ``contrast``: (x - m) * (u + 0.5) + m, m the per-sample mean over all pixels and channels;
  (the three make up the policy's ``color``);
- ``translation``: the image moved by integers (dy, dx), each uniform in [-s, s] with
  s = round(side / 8), the vacated pixels zero;
- ``cutout``: one square of side round(side / 2), its centre uniform over the image (clipped at
  the borders), set to zero.

Each operation is applied to each sample independently with probability ``p`` (a Bernoulli per
sample and operation, as ADA applies its pipeline: Karras et al. 2020, arXiv 2006.06676); p = 1
is DiffAugment, which always transforms. Gradients flow through every operation to its input.

ADA drives p with an overfitting heuristic: every ``interval`` critic updates (the paper's
N = 4 minibatches), r_t = E[sign(D(x_real))] over them, and p <- clip(p + sign(r_t - target) *
B * N / (kimg * 1000), 0, 1), so that p can travel from 0 to 1 in ``kimg`` thousand real images
(the paper: target 0.6, 500 kimg). ``ada_update`` is that rule; the classic game keeps p and the
running sum of signs in ``State.aux`` (gan_jax/regularizers.py).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gan_jax import schema

Array = jax.Array

# The policy's names -> the operations they stand for, in the order they are applied (the
# paper's code applies color, then translation, then cutout).
POLICIES: dict[str, tuple[str, ...]] = {
    "color": ("brightness", "saturation", "contrast"),
    "translation": ("translation",),
    "cutout": ("cutout",),
}
# The paper's code's ratios: translation by up to 1/8 of the side, cutout of half the side.
TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> the operations, in POLICIES order; '' -> (). ValueError if unknown."""
    names = [name.strip() for name in policy.split(",") if name.strip()]
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentations {unknown}")
    return tuple(op for name in POLICIES if name in names for op in POLICIES[name])


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid_policy(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_policy(value)
    except ValueError:
        return False
    return True


def policy_key(default: str, doc: str) -> schema.Key:
    """A config key holding a policy: '' or comma-separated names of POLICIES."""
    return schema.Key(
        default, _valid_policy, f"'' or a comma-separated subset of {sorted(POLICIES)}", doc
    )


# The `augment` config block (read by the classic game through gan_jax/regularizers.py).
KEYS: schema.Spec = {
    "policy": policy_key(
        "",
        "augmentations of the critic's real and fake inputs ('': none; DiffAugment: "
        "'color,translation,cutout')",
    ),
    "p": schema.Key(
        1.0,
        lambda v: _number(v) and 0 <= v <= 1,
        "a number in [0, 1]",
        "probability of each operation per sample (1: DiffAugment); with ada, p's initial value",
    ),
    "ada": schema.boolean(False, "adapt p to the overfitting heuristic r_t (ADA)"),
    "ada_target": schema.Key(
        0.6,
        lambda v: _number(v) and 0 < v < 1,
        "a number in (0, 1)",
        "ADA: the target of r_t = E[sign D(x_real)]",
    ),
    "ada_interval": schema.positive_int(4, "ADA: critic updates between adjustments of p (N)"),
    "ada_kimg": schema.positive(
        500.0, "ADA: thousands of real images in which p can move from 0 to 1 (speed)"
    ),
}


def default_block():
    return schema.defaults(KEYS)


# --------------------------------------------------------------------------------------------
# The operations with explicit parameters (constructed-input tests call these).


def brightness(x: Array, delta: Array) -> Array:
    """x + delta, ``delta`` (B,) per sample."""
    return x + delta[:, None, None, None]


def saturation(x: Array, factor: Array) -> Array:
    """(x - m_c) * factor + m_c, m_c the mean over channels, ``factor`` (B,)."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    return (x - mean) * factor[:, None, None, None] + mean


def contrast(x: Array, factor: Array) -> Array:
    """(x - m) * factor + m, m the per-sample mean over pixels and channels, ``factor`` (B,)."""
    mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * factor[:, None, None, None] + mean


def translate(x: Array, shift: Array, max_shift: int) -> Array:
    """Each image moved by ``shift`` (B, 2) int (dy, dx), |shift| <= max_shift: out[i, j] =
    x[i - dy, j - dx], zero where that falls outside the image."""
    _, h, w, _ = x.shape
    m = max_shift
    padded = jnp.pad(x, ((0, 0), (m, m), (m, m), (0, 0)))

    def one(image, s):
        return jax.lax.dynamic_slice(image, (m - s[0], m - s[1], 0), (h, w, image.shape[-1]))

    return jax.vmap(one)(padded, shift.astype(jnp.int32))


def cutout(x: Array, centre: Array, size: int) -> Array:
    """Each image with the ``size`` x ``size`` square whose rows and columns start at
    ``centre - size // 2`` (``centre`` (B, 2) int) set to zero, clipped at the borders."""
    _, h, w, _ = x.shape
    start = centre.astype(jnp.int32) - size // 2
    rows = jnp.arange(h)[None, :] - start[:, :1]
    cols = jnp.arange(w)[None, :] - start[:, 1:]
    inside = ((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[:, None, :]
    return x * (1 - inside[..., None].astype(x.dtype))


# --------------------------------------------------------------------------------------------
# Random draws of the parameters.


def _random_op(op: str, key: Array, x: Array) -> Array:
    b, h, w, _ = x.shape
    if op == "brightness":
        return brightness(x, jax.random.uniform(key, (b,), x.dtype) - 0.5)
    if op == "saturation":
        return saturation(x, 2.0 * jax.random.uniform(key, (b,), x.dtype))
    if op == "contrast":
        return contrast(x, jax.random.uniform(key, (b,), x.dtype) + 0.5)
    if op == "translation":
        m = int(h * TRANSLATION_RATIO + 0.5)
        return translate(x, jax.random.randint(key, (b, 2), -m, m + 1), m)
    if op == "cutout":
        size = int(h * CUTOUT_RATIO + 0.5)
        # The paper's code draws the centre in [0, side + (1 - size % 2)).
        high = jnp.array([h + 1 - size % 2, w + 1 - size % 2])
        return cutout(x, jax.random.randint(key, (b, 2), 0, high), size)
    raise ValueError(f"unknown augmentation {op!r}")


def augment(key: Array, x: Array, ops: tuple[str, ...], p: float | Array = 1.0) -> Array:
    """``x`` (B, H, W, C) with each operation of ``ops`` applied to each sample with
    probability ``p`` (a Python number, or a traced scalar such as ADA's p); pure in ``key``."""
    for i, op in enumerate(ops):
        key_op, key_on = jax.random.split(jax.random.fold_in(key, i))
        transformed = _random_op(op, key_op, x)
        on = jax.random.bernoulli(key_on, p, (x.shape[0],))
        x = jnp.where(on[:, None, None, None], transformed, x)
    return x


# --------------------------------------------------------------------------------------------
# ADA's controller.


@dataclasses.dataclass(frozen=True)
class ADA:
    """ADA's rule (Karras et al. 2020, section 3): adjust p every ``interval`` critic updates
    from the sign of the critic's outputs on the (augmented) real images."""

    target: float = 0.6
    interval: int = 4
    kimg: float = 500.0

    def step_size(self, batch_size: int) -> float:
        """How far p moves per adjustment: B * N / (kimg * 1000)."""
        return batch_size * self.interval / (self.kimg * 1000.0)


def ada_update(
    p: Array, signs: Array, count: Array, real_out: Array, ada: ADA
) -> tuple[Array, Array, Array, Array]:
    """One critic update of ADA's controller.

    ``signs`` is the running sum of E[sign D(x_real)] over the ``count`` updates of the current
    interval; this update adds ``real_out``'s. When the interval is full, r_t = signs / N and
    p <- clip(p + sign(r_t - target) * B * N / (kimg * 1000), 0, 1), and the sums restart.

    Returns:
      (p, signs, count, r_t of this batch) after the update.
    """
    batch_rt = jnp.mean(jnp.sign(real_out.astype(jnp.float32)))
    signs, count = signs + batch_rt, count + 1
    full = count >= ada.interval
    rt = signs / jnp.maximum(count, 1).astype(signs.dtype)
    step = jnp.sign(rt - ada.target) * ada.step_size(real_out.shape[0])
    p = jnp.where(full, jnp.clip(p + step, 0.0, 1.0), p)
    signs = jnp.where(full, jnp.zeros_like(signs), signs)
    count = jnp.where(full, jnp.zeros_like(count), count)
    return p, signs, count, batch_rt
