"""BiGAN (Donahue et al. 2016, arXiv 1605.09782) and ALI (Dumoulin et al. 2016, arXiv 1606.00704).

Both learn an encoder E: x -> z next to the generator G: z -> x. The critic D judges *pairs*: a
real pair (x, E(x)), x ~ p_data, against a fake pair (G(z), z), z ~ N(0, I) (BiGAN eq. 3):

    min_{G, E} max_D  E_x[log D(x, E(x))] + E_z[log(1 - D(G(z), z))].

At the optimum E and G invert each other (BiGAN theorems 2 and 3), so E(x) is a representation
of x learnt without labels. Players, every train step: the critic ``d`` (role ``ROLE_D``) minimises
the objective's critic loss on the two kinds of pairs (fakes with stopped gradients); then ``g``
(role ``ROLE_G``, updating both ``g`` and ``e``) minimises the same loss with the pairs' labels
swapped, ``objective.d_loss(D(G(z), z), D(x, E(x)))``: for the non-saturating objective this is
the BiGAN paper's "inverted labels" loss, -E[log D(G(z), z)] - E[log(1 - D(x, E(x)))]
(section 3.4). Objectives: ``non_saturating`` (the papers) or ``least_squares``; no penalty.

``game.encoder`` chooses the paper: ``'deterministic'`` (BiGAN: E(x) is a point) or
``'gaussian'`` (ALI: E outputs mu(x) and log sigma(x), and the real pair's z is the
reparameterised sample mu + sigma * eps, eps ~ N(0, I), drawn from the update's key;
``configs/bigan.py:ali``). That is the one difference between the two papers' games.

Networks: G is ``model.name='dcgan'``'s generator; E (``Encoder``) the DCGAN critic's
convolutions then a dense layer to z (or to mu and log sigma); D (``JointCritic``) the DCGAN
critic's convolutions on x, a dense layer on z, and two dense layers on their concatenation (the
BiGAN paper's permutation-invariant MNIST critic joins x and z the same way), with dropout
``game.dropout`` on the joined features and the hidden layer in training (masks from the update's
key). E trains with the ``optim.e`` block.

Headline (``Game.headline``, the embedded digits and mnist5k): ``representation_metrics``. On
the dataset classifier's split (``classifier.split_indices``), a linear probe (multinomial
logistic regression, scikit-learn, on standardised features) and the 1-nearest-neighbour
classifier (the BiGAN paper's MNIST measure, its Table 1) are fitted on ``game.probe_labels``
labelled training images a class and scored on the held-out images, averaged over
``game.probe_draws`` draws of the labelled images: ``probe_accuracy`` / ``nn_accuracy`` for E(x),
``*_untrained`` for the same encoder at its initialisation (the run's seed), ``*_random_projection``
and ``*_pca`` for pixel features of E(x)'s dimension (a fixed Gaussian projection; PCA fitted on
the training images) and ``*_pixels`` for the raw pixels. Few labels and low-dimensional
baselines leave the measure room: with every training label, a random conv encoder and the
pixels already classify the 16x16 digits at 0.97. ``class_preservation`` is the fraction of
held-out x whose reconstruction G(E(x)) the dataset classifier assigns x's class, and
``reconstruction_l1`` the mean |G(E(x)) - x| (pixels in [-1, 1]). E(x) is the mean mu(x) for the
Gaussian encoder.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import sklearn.decomposition
import sklearn.linear_model
import sklearn.neighbors
import sklearn.preprocessing

from gan_jax import classifier, data, schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.losses import get_objective
from gan_jax.models import MODELS, compute_dtype
from gan_jax.models.dcgan import num_upsamplings
from gan_jax.models.layers import downsample_layer, norm_layer
from gan_jax.steps import Batch, Context, Game, Network, Player

ENCODERS = ("deterministic", "gaussian")
OBJECTIVES = ("non_saturating", "least_squares")

KEYS: schema.Spec = {
    "encoder": schema.choice(
        "deterministic", ENCODERS, "BiGAN's point encoder, or ALI's Gaussian (reparameterised)"
    ),
    "hidden": schema.positive_int(256, "units of the joint critic's dense layers (x with z)"),
    "dropout": schema.unit_interval(
        0.0, "dropout rate on the joint critic's dense layers in training (BiGAN's D uses 0.2)"
    ),
    "probe_labels": schema.positive_int(
        10, "labelled training images per class of the headline's few-label probes"
    ),
    "probe_draws": schema.positive_int(5, "draws of those labelled images the probes average"),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "BiGAN, Donahue et al. 2016, arXiv 1605.09782; ALI, Dumoulin et al. 2016"
RECIPE = "bigan"


def check_encoder_game(config, game: str) -> None:
    """The model and optimiser a game with an encoder E needs (BiGAN, VAE-GAN)."""
    if config.model.name != "dcgan":
        raise ConfigError("model.name", config.model.name, f"'dcgan' with game.name={game!r}")
    if config.model.num_classes != 0:
        raise ConfigError(
            "model.num_classes", config.model.num_classes, f"0 with game.name={game!r}"
        )
    if "e" not in config.optim:
        raise ConfigError("optim", sorted(config.optim), f"a block 'e' (the encoder's) for {game}")
    if config.train.d_steps != 1:
        raise ConfigError("train.d_steps", config.train.d_steps, f"1 with game.name={game!r}")


def check(config) -> None:
    """game.* values, and the objective, model and optimiser BiGAN / ALI needs."""
    schema.check_block("game", config.game, KEYS)
    check_encoder_game(config, "bigan")
    if config.objective.name not in OBJECTIVES:
        raise ConfigError("objective.name", config.objective.name, f"one of {list(OBJECTIVES)}")
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with bigan")


# ---------------------------------------------------------------------------------------------
# Networks.


def conv_body(x, *, resolution, width, norm, downsample, dtype, train) -> jax.Array:
    """The DCGAN critic's convolutions (4x4 stride 2, norm after all but the first, LeakyReLU
    0.2), flattened: (B, 16 * width * 2^(n-1))."""
    feats = width
    for i in range(num_upsamplings(resolution)):
        bias = i == 0 or norm != "batch"
        x = downsample_layer(downsample, feats, use_bias=bias, name=f"conv{i}", dtype=dtype)(x)
        if i > 0:
            x = norm_layer(norm, train, name=f"norm{i}", dtype=dtype)(x)
        x = nn.leaky_relu(x, 0.2)
        feats *= 2
    return x.reshape(x.shape[0], -1)


class Encoder(nn.Module):
    """E: images -> z (B, z_dim), or ``(mean, log_std)`` when ``gaussian``."""

    resolution: int = 16
    width: int = 32
    z_dim: int = 64
    norm: str = "batch"
    downsample: str = "adjoint"
    gaussian: bool = False
    dtype: Any = None

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = True):
        h = conv_body(
            x,
            resolution=self.resolution,
            width=self.width,
            norm=self.norm,
            downsample=self.downsample,
            dtype=self.dtype,
            train=train,
        )
        out = nn.Dense(self.z_dim * (1 + self.gaussian), name="out", dtype=self.dtype)(h)
        out = out.astype(jnp.float32)
        if self.gaussian:
            return out[:, : self.z_dim], out[:, self.z_dim :]
        return out


class JointCritic(nn.Module):
    """D(x, z): conv features of x and a dense layer of z, joined by two dense layers -> (B,).

    ``dropout`` > 0 drops units of the joined features and of the hidden layer (the BiGAN
    paper's D, section 4) when called in training with a ``key`` (the update's, so a run
    depends on its seed alone); without a key, or in inference, nothing is dropped.
    """

    resolution: int = 16
    width: int = 32
    hidden: int = 256
    norm: str = "batch"
    downsample: str = "adjoint"
    dropout: float = 0.0
    dtype: Any = None

    @nn.compact
    def __call__(
        self, x: jax.Array, z: jax.Array, key: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        drop = self.dropout > 0 and train and key is not None
        keys = jax.random.split(key) if drop else (None, None)

        def dropout(h, k):
            return nn.Dropout(self.dropout, deterministic=False)(h, rng=k) if drop else h

        hx = conv_body(
            x,
            resolution=self.resolution,
            width=self.width,
            norm=self.norm,
            downsample=self.downsample,
            dtype=self.dtype,
            train=train,
        )
        hz = nn.leaky_relu(nn.Dense(self.hidden, name="z_in", dtype=self.dtype)(z), 0.2)
        h = dropout(jnp.concatenate([hx, hz.astype(hx.dtype)], axis=-1), keys[0])
        h = nn.leaky_relu(nn.Dense(self.hidden, name="joint", dtype=self.dtype)(h), 0.2)
        out = nn.Dense(1, name="logit", dtype=self.dtype)(dropout(h, keys[1]))
        return out.reshape(out.shape[0]).astype(jnp.float32)


def encoder_module(config, dataset: Dataset, gaussian: bool) -> Encoder:
    m = config.model
    return Encoder(
        resolution=dataset.shape[0],
        width=m.width,
        z_dim=m.z_dim,
        norm=m.d_norm,
        downsample=m.downsample,
        gaussian=gaussian,
        dtype=compute_dtype(m),
    )


# ---------------------------------------------------------------------------------------------
# Losses.


def reparameterize(mean: jax.Array, log_std: jax.Array, eps: jax.Array) -> jax.Array:
    """z = mu + sigma * eps (Kingma & Welling 2014): a sample of N(mu, sigma^2), differentiable."""
    return mean + jnp.exp(log_std) * eps


def encode(ctx: Context, x: jax.Array, key: jax.Array, *, gaussian: bool) -> jax.Array:
    """E(x) in train mode: the point, or a reparameterised sample of the Gaussian."""
    out = ctx("e", x, train=True)
    if not gaussian:
        return out
    mean, log_std = out
    return reparameterize(mean, log_std, ctx.normal(key, mean.shape))


def pair_scores(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    z_dim: int,
    gaussian: bool,
    stop,
    dropout: bool = False,
):
    """(D(x, E(x)), D(G(z), z)); ``stop`` stops the gradients into E and G (the critic's view);
    ``dropout``: the critic gets a key of the update for its dropout masks."""
    x = batch["x"]
    key_z, key_e = jax.random.split(key)
    key_real, key_fake = jax.random.split(jax.random.fold_in(key, 1))  # the critic's dropout
    z = ctx.normal(key_z, (x.shape[0], z_dim))
    fake_x, enc_z = ctx("g", z, None, train=True), encode(ctx, x, key_e, gaussian=gaussian)
    if stop:
        fake_x, enc_z = jax.lax.stop_gradient(fake_x), jax.lax.stop_gradient(enc_z)
    real_key, fake_key = ((key_real,), (key_fake,)) if dropout else ((), ())
    return ctx("d", x, enc_z, *real_key, train=True), ctx("d", fake_x, z, *fake_key, train=True)


def critic_loss(ctx: Context, batch: Batch, key: jax.Array, *, objective, **kw) -> steps.LossOut:
    """The critic: real pairs (x, E(x)) against fake pairs (G(z), z)."""
    real, fake = pair_scores(ctx, batch, key, stop=True, **kw)
    loss, terms = objective.d_loss(real, fake)
    return loss, {**terms, "real_score": jnp.mean(real), "fake_score": jnp.mean(fake)}


def generator_encoder_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, objective, **kw
) -> steps.LossOut:
    """G and E: the critic's loss with the pairs' labels swapped (BiGAN's inverted labels)."""
    real, fake = pair_scores(ctx, batch, key, stop=False, **kw)
    loss, terms = objective.d_loss(fake, real)
    # d_loss names its parts by the label each side gets: here fakes are labelled real.
    return loss, {"fake_pairs": terms["real"], "real_pairs": terms["fake"]}


# ---------------------------------------------------------------------------------------------
# The headline: the encoder as a representation, G(E(x)) as a reconstruction.


def linear_probe(
    features: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray
) -> float:
    """Held-out accuracy of multinomial logistic regression (L2, C=1, lbfgs) on standardised
    ``features``, fitted on ``train_idx``; deterministic."""
    features = np.asarray(features, np.float64).reshape(len(features), -1)
    scaler = sklearn.preprocessing.StandardScaler().fit(features[train_idx])
    probe = sklearn.linear_model.LogisticRegression(C=1.0, max_iter=3000)
    probe.fit(scaler.transform(features[train_idx]), labels[train_idx])
    return float(probe.score(scaler.transform(features[test_idx]), labels[test_idx]))


def nearest_neighbour(
    features: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray
) -> float:
    """Held-out accuracy of the 1-nearest-neighbour classifier (Euclidean, standardised
    ``features``) with the ``train_idx`` images as its labelled set: the BiGAN paper's MNIST
    measure of E(x) (its Table 1)."""
    features = np.asarray(features, np.float64).reshape(len(features), -1)
    scaler = sklearn.preprocessing.StandardScaler().fit(features[train_idx])
    knn = sklearn.neighbors.KNeighborsClassifier(n_neighbors=1)
    knn.fit(scaler.transform(features[train_idx]), labels[train_idx])
    return float(knn.score(scaler.transform(features[test_idx]), labels[test_idx]))


@jax.jit
def encode_mean(state: steps.State, x: jax.Array) -> jax.Array:
    """E(x) in inference mode; the mean for a Gaussian encoder."""
    out = steps.apply(state, "e", x)
    return out[0] if isinstance(out, tuple) else out


@jax.jit
def reconstruct(state: steps.State, x: jax.Array) -> jax.Array:
    """G(E(x)), inference mode (E's mean for a Gaussian encoder)."""
    return steps.apply(state, "g", encode_mean(state, x), None)


@functools.lru_cache(maxsize=4)
def _classifier(name: str, resolution: int, cache_dir: str | None) -> classifier.Classifier:
    # One instance per process, so its jit-ted apply compiles once across evaluations.
    return classifier.dataset_classifier(name, resolution, cache_dir)


def reconstruction_metrics(run, state: steps.State) -> dict[str, float]:
    """``class_preservation`` and ``reconstruction_l1`` of G(E(x)) on the held-out images."""
    name, resolution = run.dataset.name, run.dataset.shape[0]
    images, labels = data.EMBEDDED_IMAGES[name](resolution)
    _, test_idx = classifier.split_indices(len(images))
    clf = _classifier(name, resolution, run.config.eval.get("cache_dir") or None)
    recon = np.concatenate(
        [
            np.asarray(reconstruct(state, jnp.asarray(images[test_idx[i : i + 500]])))
            for i in range(0, len(test_idx), 500)
        ]
    )
    return {
        "class_preservation": clf.accuracy(recon, labels[test_idx]),
        "reconstruction_l1": float(np.mean(np.abs(recon - images[test_idx]))),
    }


def few_label_indices(
    labels: np.ndarray, train_idx: np.ndarray, per_class: int, seed: int
) -> np.ndarray:
    """``per_class`` indices of each class among ``train_idx``, in a ``seed`` permutation."""
    order = np.random.default_rng(seed).permutation(train_idx)
    return np.concatenate([order[labels[order] == k][:per_class] for k in np.unique(labels)])


def pixel_baselines(images: np.ndarray, train_idx: np.ndarray, dim: int) -> dict[str, np.ndarray]:
    """Features of the pixels with E(x)'s dimension: a Gaussian random projection (seed 0) and
    PCA fitted on the training images (no labels, as the encoder's)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    projection = np.random.default_rng(0).normal(size=(flat.shape[1], dim)) / np.sqrt(dim)
    pca = sklearn.decomposition.PCA(dim, random_state=0).fit(flat[train_idx])
    return {"_random_projection": flat @ projection, "_pca": pca.transform(flat)}


def encode_all(state: steps.State, images: np.ndarray, chunk: int = 500) -> np.ndarray:
    return np.concatenate(
        [
            np.asarray(encode_mean(state, jnp.asarray(images[i : i + chunk])))
            for i in range(0, len(images), chunk)
        ]
    )


def representation_metrics(run, state: steps.State) -> dict[str, float]:
    """The headline: few-label probes of E(x) against the untrained encoder and the pixels,
    and the reconstructions' class preservation (module docstring)."""
    images, labels = data.EMBEDDED_IMAGES[run.dataset.name](run.dataset.shape[0])
    train_idx, test_idx = classifier.split_indices(len(images))
    untrained = run.init_state(jax.random.key(run.config.seed))
    features = {
        "": encode_all(state, images),
        "_untrained": encode_all(untrained, images),
        **pixel_baselines(images, train_idx, int(run.config.model.z_dim)),
        "_pixels": images,
    }
    per_class = int(schema.value(run.config.game, KEYS, "probe_labels"))
    draws = int(schema.value(run.config.game, KEYS, "probe_draws"))
    labelled = [few_label_indices(labels, train_idx, per_class, seed) for seed in range(draws)]
    out = {}
    for suffix, f in features.items():
        out[f"probe_accuracy{suffix}"] = float(
            np.mean([linear_probe(f, labels, idx, test_idx) for idx in labelled])
        )
        out[f"nn_accuracy{suffix}"] = float(
            np.mean([nearest_neighbour(f, labels, idx, test_idx) for idx in labelled])
        )
    return {**out, **reconstruction_metrics(run, state)}


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    gaussian = gc.encoder == "gaussian"
    z_dim, m = int(config.model.z_dim), config.model
    generator, _ = MODELS["dcgan"](m, dataset.shape)
    critic = JointCritic(
        resolution=dataset.shape[0],
        width=m.width,
        hidden=gc.hidden,
        norm=m.d_norm,
        dropout=float(gc.dropout),
        downsample=m.downsample,
        dtype=compute_dtype(m),
    )
    images, z = jnp.zeros((2, *dataset.shape)), jnp.zeros((2, z_dim))
    networks = {
        "g": Network(generator, (z, None), optim="g"),
        "e": Network(encoder_module(config, dataset, gaussian), (images,), optim="e"),
        "d": Network(critic, (images, z), optim="d"),
    }
    bound = dict(objective=objective, z_dim=z_dim, gaussian=gaussian, dropout=gc.dropout > 0)

    def generate(state, inputs):
        return steps.apply(state, "g", inputs["z"], None)

    def eval_inputs(key, n):
        return {"z": jax.random.normal(key, (n, z_dim))}

    return Game(
        name="bigan",
        networks=networks,
        players=(
            Player("d", steps.ROLE_D, ("d",), functools.partial(critic_loss, **bound)),
            Player(
                "g", steps.ROLE_G, ("g", "e"), functools.partial(generator_encoder_loss, **bound)
            ),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        headline=representation_metrics if dataset.name in data.EMBEDDED_SIZES else None,
    )
