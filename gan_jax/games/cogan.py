"""CoGAN (Liu & Tuzel 2016, arXiv 1606.07536): two GANs, one per domain, that share weights, so
they learn the *joint* distribution of the two domains from samples of each alone (no pairs).

G_A and G_B read the same z and share their first layers (the high-level content), then each has
its own last layer (the domain's rendering); the critics D_A and D_B have their own first layer
and share the rest (the paper's section 3 and its digits networks: G shares all layers but the
last, D all but the first). The game (eq. 4, here for any objective without a penalty):

    min_{G_A, G_B} max_{D_A, D_B}  V(D_A, G_A) + V(D_B, G_B),

each V the objective's two-player value on its domain: the critic player ``d`` (role ROLE_D)
minimises ``objective.d_loss(D_A(a), D_A(G_A(z))) + objective.d_loss(D_B(b), D_B(G_B(z)))``,
the generator player ``g`` (ROLE_G) the two ``g_loss`` terms, with one z per pair. Data:
``digits_unpaired`` (A: digits, B: ``data.domain_b`` of *other* digits, the paper's digits vs
negative digits for 'invert'), batches ``{'a', 'b', ...}`` drawn independently.

How the weights are shared: each pair is one Flax module. ``CoupledGenerator`` applies one trunk
(``trunk``: DCGAN's projection and every upsampling layer but the last, with their BatchNorms) to
z and two heads (``head_a``, ``head_b``: the last 4x4 stride-2 transposed conv, tanh);
``CoupledCritic`` applies its own first conv (``stem_a``, ``stem_b``) to each domain and one tail
(``tail``: the other convs and the logit) to both, one call per domain, so the tail's BatchNorm
normalises each domain's batch by its own statistics. ``game.share=False`` builds the same
networks with two trunks and two tails: two independent GANs, the ablation that shows what the
sharing does. Sizes come from ``model.*`` (dcgan: width, z_dim, norms, up/downsampling).

``generate`` draws the pair side by side, (B, H, 2W, C): G_A(z) left, G_B(z) right.

Headline (``pair_metrics``): for ``game.headline_samples`` pairs of the run's fixed evaluation
noise, ``same_digit`` is the fraction of pairs the digits classifier (``gan_jax.classifier``)
assigns one class, G_B(z) with B's transform undone; ``transform_l1`` the mean |G_B(z) -
T(G_A(z))| (pixels in [-1, 1]; for 'invert' T(x) = -x, so this is ||G_B - (1 - G_A)|| on [0, 1]
pixels, doubled); ``pair_fraction`` the fraction that are both the same digit and within
``game.pair_l1`` of each other's transform. ``*_unpaired`` are the same measures on the pairs
(G_A(z_i), G_B(z_{i+1})): what unrelated samples score.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import classifier, schema, steps
from gan_jax.data import DOMAIN_TRANSFORMS, Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import get_objective
from gan_jax.models import compute_dtype
from gan_jax.models.dcgan import num_upsamplings
from gan_jax.models.layers import downsample_layer, norm_layer, upsample_layer
from gan_jax.steps import Batch, Context, Game, Network, Player

KEYS: schema.Spec = {
    "share": schema.boolean(True, "share G's first layers and D's last; False: two GANs"),
    "headline_samples": schema.positive_int(1000, "pairs (G_A(z), G_B(z)) the headline measures"),
    "pair_l1": schema.positive(
        0.25, "a pair is each other's transform when mean |G_B - T(G_A)| is below this"
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("domains",)
PAPER = "CoGAN, Liu & Tuzel 2016, arXiv 1606.07536"
RECIPE = "cogan"
DATASET = "digits_unpaired"


def check(config) -> None:
    """game.* values, and the data, model and objective CoGAN needs."""
    schema.check_block("game", config.game, KEYS)
    if config.data.name != DATASET:
        raise ConfigError("data.name", config.data.name, f"{DATASET!r} with game.name='cogan'")
    if config.model.name != "dcgan":
        raise ConfigError("model.name", config.model.name, "'dcgan' with game.name='cogan'")
    if config.model.num_classes != 0:
        raise ConfigError("model.num_classes", config.model.num_classes, "0 with cogan")
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with cogan")
    if config.objective.name == "wasserstein_gp":
        raise ConfigError("objective.name", "wasserstein_gp", "an objective without a penalty")


# ---------------------------------------------------------------------------------------------
# Networks.


class _Trunk(nn.Module):
    """DCGAN's generator up to (not including) its last upsampling layer."""

    resolution: int
    width: int
    norm: str
    upsample: str
    dtype: Any = None

    @nn.compact
    def __call__(self, z: jax.Array, train: bool) -> jax.Array:
        n = num_upsamplings(self.resolution)
        feats, bias, dtype = self.width * 2 ** (n - 1), self.norm != "batch", self.dtype
        x = nn.Dense(4 * 4 * feats, use_bias=bias, name="project", dtype=dtype)(z)
        x = x.reshape(z.shape[0], 4, 4, feats)
        x = nn.relu(norm_layer(self.norm, train, name="norm0", dtype=dtype)(x))
        for i in range(1, n):
            feats //= 2
            x = upsample_layer(self.upsample, feats, use_bias=bias, name=f"up{i}", dtype=dtype)(x)
            x = nn.relu(norm_layer(self.norm, train, name=f"norm{i}", dtype=dtype)(x))
        return x


class CoupledGenerator(nn.Module):
    """(G_A(z), G_B(z)): a shared trunk (two when not ``share``) and one head per domain."""

    resolution: int = 16
    width: int = 32
    channels: int = 1
    norm: str = "batch"
    upsample: str = "adjoint"
    share: bool = True
    dtype: Any = None

    @nn.compact
    def __call__(self, z: jax.Array, labels=None, train: bool = True):
        del labels  # unconditional
        trunk = functools.partial(
            _Trunk, self.resolution, self.width, self.norm, self.upsample, self.dtype
        )
        if self.share:
            shared = trunk(name="trunk")(z, train)
            h_a = h_b = shared
        else:
            h_a, h_b = trunk(name="trunk_a")(z, train), trunk(name="trunk_b")(z, train)
        out = []
        for name, h in (("head_a", h_a), ("head_b", h_b)):
            x = upsample_layer(self.upsample, self.channels, name=name, dtype=self.dtype)(h)
            out.append(jnp.tanh(x).astype(jnp.float32))
        return tuple(out)


class _Tail(nn.Module):
    """DCGAN's critic after its first conv: the other convs (norm, LeakyReLU) and the logit."""

    resolution: int
    width: int
    norm: str
    downsample: str
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        feats, dtype = self.width * 2, self.dtype
        for i in range(1, num_upsamplings(self.resolution)):
            conv = downsample_layer(
                self.downsample, feats, use_bias=self.norm != "batch", name=f"conv{i}", dtype=dtype
            )
            x = norm_layer(self.norm, train, name=f"norm{i}", dtype=dtype)(conv(x))
            x = nn.leaky_relu(x, 0.2)
            feats *= 2
        out = nn.Conv(1, (4, 4), padding="VALID", name="logit", dtype=dtype)(x)
        return out.reshape(out.shape[0]).astype(jnp.float32)


class CoupledCritic(nn.Module):
    """(D_A(a), D_B(b)): one first conv per domain, a shared tail (two when not ``share``)."""

    resolution: int = 16
    width: int = 32
    norm: str = "batch"
    downsample: str = "adjoint"
    share: bool = True
    dtype: Any = None

    @nn.compact
    def __call__(self, a: jax.Array, b: jax.Array, train: bool = True):
        tail = functools.partial(
            _Tail, self.resolution, self.width, self.norm, self.downsample, self.dtype
        )
        tails = (
            (tail(name="tail"),) * 2 if self.share else (tail(name="tail_a"), tail(name="tail_b"))
        )
        out = []
        for name, x, t in (("stem_a", a, tails[0]), ("stem_b", b, tails[1])):
            x = downsample_layer(self.downsample, self.width, name=name, dtype=self.dtype)(x)
            out.append(t(nn.leaky_relu(x, 0.2), train))
        return tuple(out)


# ---------------------------------------------------------------------------------------------
# Losses.


def critic_loss(ctx: Context, batch: Batch, key: jax.Array, *, objective, z_dim: int):
    """Both domains' critic losses on real images against the coupled fakes of one z."""
    a, b = batch["a"], batch["b"]
    z = ctx.normal(key, (a.shape[0], z_dim))
    fake_a, fake_b = jax.lax.stop_gradient(ctx("g", z, None, train=True))
    real_a, real_b = ctx("d", a, b, train=True)
    out_a, out_b = ctx("d", fake_a, fake_b, train=True)
    loss_a, terms_a = objective.d_loss(real_a, out_a)
    loss_b, terms_b = objective.d_loss(real_b, out_b)
    return loss_a + loss_b, {**steps.prefixed("a", terms_a), **steps.prefixed("b", terms_b)}


def generator_loss(ctx: Context, batch: Batch, key: jax.Array, *, objective, z_dim: int):
    """Both domains' generator losses of the coupled fakes of one z."""
    a, b = batch["a"], batch["b"]
    z = ctx.normal(key, (a.shape[0], z_dim))
    real_a, real_b = ctx("d", a, b, train=True)
    out_a, out_b = ctx("d", *ctx("g", z, None, train=True), train=True)
    loss_a, terms_a = objective.g_loss(real_a, out_a)
    loss_b, terms_b = objective.g_loss(real_b, out_b)
    return loss_a + loss_b, {**steps.prefixed("a", terms_a), **steps.prefixed("b", terms_b)}


# ---------------------------------------------------------------------------------------------
# The headline: are (G_A(z), G_B(z)) the same digit, and each other's transform?


def pair_metrics(
    class_a: np.ndarray,
    class_b: np.ndarray,
    pair_l1: np.ndarray,
    threshold: float,
) -> dict[str, float]:
    """``same_digit``, ``transform_l1`` and ``pair_fraction`` of pairs given the classes of
    their two sides (B's transform undone) and each pair's mean |G_B - T(G_A)|."""
    same = np.asarray(class_a) == np.asarray(class_b)
    return {
        "same_digit": float(np.mean(same)),
        "transform_l1": float(np.mean(pair_l1)),
        "pair_fraction": float(np.mean(same & (np.asarray(pair_l1) < threshold))),
    }


def coupled_pair_metrics(
    images_a: np.ndarray, images_b: np.ndarray, clf: classifier.Classifier, domain_b: str, threshold
) -> dict[str, float]:
    """``pair_metrics`` of the pairs (a_i, b_i) and of the unpaired (a_i, b_{i+1})."""
    transform, undo = DOMAIN_TRANSFORMS[domain_b]
    class_a = np.argmax(clf.logits_and_features(images_a)[0], axis=1)
    class_b = np.argmax(clf.logits_and_features(np.asarray(undo(images_b)))[0], axis=1)
    t_a = np.asarray(transform(images_a))
    out = pair_metrics(class_a, class_b, np.mean(np.abs(images_b - t_a), axis=(1, 2, 3)), threshold)
    shifted_b = np.roll(images_b, -1, axis=0)
    unpaired = pair_metrics(
        class_a,
        np.roll(class_b, -1),
        np.mean(np.abs(shifted_b - t_a), axis=(1, 2, 3)),
        threshold,
    )
    counts = np.bincount(class_a, minlength=clf.num_classes) / len(class_a)
    return {
        **out,
        **{f"{k}_unpaired": v for k, v in unpaired.items()},
        "classes_a": int(np.sum(counts >= 0.03)),
    }


@jax.jit
def draw_pairs(state: steps.State, z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(G_A(z), G_B(z)), inference mode."""
    return steps.apply(state, "g", z, None)


@functools.lru_cache(maxsize=4)
def _digits_classifier(resolution: int, cache_dir: str | None) -> classifier.Classifier:
    return classifier.digits_classifier(resolution, cache_dir)


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    m, resolution = config.model, dataset.shape[0]
    z_dim = int(m.z_dim)
    dtype = compute_dtype(m)
    generator = CoupledGenerator(
        resolution, m.width, dataset.shape[-1], m.g_norm, m.upsample, gc.share, dtype
    )
    critic = CoupledCritic(resolution, m.width, m.d_norm, m.downsample, gc.share, dtype)
    images = jnp.zeros((2, *dataset.shape))
    networks = {
        "g": Network(generator, (jnp.zeros((2, z_dim)), None), optim="g"),
        "d": Network(critic, (images, images), optim="d"),
    }
    bound = dict(objective=objective, z_dim=z_dim)
    clip = None if objective.weight_clip is None else classic.clip_weights(objective.weight_clip)

    def generate(state, inputs):
        return jnp.concatenate(steps.apply(state, "g", inputs["z"], None), axis=2)

    def eval_inputs(key, n):
        return {"z": jax.random.normal(key, (n, z_dim))}

    def headline(run, state) -> dict[str, float]:
        inputs = run.eval_inputs(gc.headline_samples)
        images_a, images_b = jax.device_get(draw_pairs(state, inputs["z"]))
        clf = _digits_classifier(resolution, run.config.eval.get("cache_dir") or None)
        return coupled_pair_metrics(
            images_a, images_b, clf, config.data.domain_b, float(gc.pair_l1)
        )

    return Game(
        name="cogan",
        networks=networks,
        players=(
            Player(
                "d",
                steps.ROLE_D,
                ("d",),
                functools.partial(critic_loss, **bound),
                steps=config.train.d_steps,
                project=clip,
            ),
            Player("g", steps.ROLE_G, ("g",), functools.partial(generator_loss, **bound)),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        headline=headline,
    )
