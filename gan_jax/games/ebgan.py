"""EBGAN (Zhao et al. 2016, arXiv 1609.03126): an autoencoder critic that assigns energies.

The critic D is an autoencoder (``gan_jax.models.autoencoder``) and its output is an energy, the
reconstruction error (section 2.3): here the mean squared error per pixel,

    D(x) = mean_pixels (Dec(Enc(x)) - x)^2.

Players, every train step: the critic ``d`` (``train.d_steps`` updates, role 0) minimises the
margin loss (eq. 1) on a real batch and fakes of the frozen G (its gradient stopped),

    L_D = E[D(x)] + E[[m - D(G(z))]^+],     [.]^+ = max(0, .), m = ``game.margin``,

pulling real energies down and fake energies up to the margin; then the generator ``g`` (one
update, role 1) minimises the fakes' energy (eq. 2) plus the pulling-away term (section 2.4,
eq. 4) on the encoder's embeddings S of its batch of N fakes,

    L_G = E[D(G(z))] + lambda_PT f_PT(S),
    f_PT(S) = 1 / (N (N - 1)) sum_i sum_{j != i} (S_i . S_j / (|S_i| |S_j|))^2,

lambda_PT = ``game.pt_weight`` (0.1 in the paper; 0 is EBGAN without it). f_PT is the mean
squared cosine similarity of distinct pairs: 0 for orthogonal embeddings, 1 for collinear ones,
so it pushes the batch's codes apart (against mode collapse). z ~ N(0, I) from the update's key,
as in the classic game; G is the DCGAN generator of ``model.*``, the critic reads
``model.width``, ``model.d_norm``, ``model.downsample`` / ``model.upsample`` and its own
``game.code_dim`` and ``game.activation``.

Headline (embedded datasets): ``real_energy`` (mean D over ``game.headline_samples`` real images
drawn with a fixed key), ``fake_energy`` (over as many samples of the run's fixed evaluation
inputs) and ``pulling_away`` (f_PT of the critic's embeddings of those samples, in chunks of
100: lower is more diverse).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.models import compute_dtype
from gan_jax.models.autoencoder import ACTIVATIONS, AutoencoderCritic
from gan_jax.steps import Batch, Context, Game, Network, Player

KEYS: schema.Spec = {
    "margin": schema.positive(1.0, "m: the critic pushes fake energies up to m (eq. 1)"),
    "pt_weight": schema.non_negative(
        0.1, "lambda_PT: the pulling-away term's weight in G's loss (0: EBGAN without it)"
    ),
    "code_dim": schema.positive_int(64, "the autoencoder's embedding (S of the pulling-away term)"),
    "activation": schema.choice("leaky_relu", ACTIVATIONS, "the autoencoder's activation"),
    "headline_samples": schema.positive_int(1000, "real images and samples of the headline"),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
# What the banner names in place of the objective, which this game does not read.
OWN_LOSS = "EBGAN's energies (its own losses)"
PAPER = "EBGAN, Zhao et al. 2016, arXiv 1609.03126"
RECIPE = "ebgan"
# The key the headline draws its real images with (any fixed key: the same images every time).
HEADLINE_SEED = 0
PT_CHUNK = 100


def check_autoencoder_game(config, keys: schema.Spec) -> None:
    """game.* against ``keys``, and the model and objective blocks an autoencoder game reads."""
    schema.check_block("game", config.game, keys)
    name = config.game.name
    if config.model.name != "dcgan":
        raise ConfigError("model.name", config.model.name, f"'dcgan' with game.name={name!r}")
    if config.model.num_classes != 0:
        raise ConfigError(
            "model.num_classes", config.model.num_classes, f"0 with game.name={name!r}"
        )
    if config.model.d_spectral_norm:
        raise ConfigError(
            "model.d_spectral_norm", True, f"False with game.name={name!r} (autoencoder critic)"
        )
    if config.model.dtype != "float32":
        raise ConfigError("model.dtype", config.model.dtype, f"'float32' with game.name={name!r}")
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError(
            "objective.penalty",
            config.objective.penalty,
            f"'none' with game.name={name!r} (its losses are its own; objective.* is not read)",
        )


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a block EBGAN cannot use."""
    check_autoencoder_game(config, KEYS)


def game_block(config, keys: schema.Spec) -> ml_collections.ConfigDict:
    """The game block, each key the config lacks at its default."""
    return ml_collections.ConfigDict({name: schema.value(config.game, keys, name) for name in keys})


def energy(x: jax.Array, recon: jax.Array, power: int = 2) -> jax.Array:
    """Per-sample reconstruction energy mean_pixels |recon - x|^power, shape (B,).

    power 2: EBGAN's mean squared error; power 1: BEGAN's L1 loss (eta = 1).
    """
    diff = jnp.abs(recon - x)
    per_pixel = diff if power == 1 else diff**power
    return per_pixel.reshape(x.shape[0], -1).mean(axis=1)


def margin_d_loss(real_energy: jax.Array, fake_energy: jax.Array, margin: float) -> steps.LossOut:
    """EBGAN's critic loss (eq. 1): E[D(x)] + E[max(0, m - D(G(z)))]."""
    hinge = jnp.maximum(margin - fake_energy, 0.0)
    loss = real_energy.mean() + hinge.mean()
    terms = {"real": real_energy.mean(), "fake": fake_energy.mean(), "hinge": hinge.mean()}
    return loss, terms


def pulling_away(codes: jax.Array, eps: float = 1e-8) -> jax.Array:
    """f_PT (eq. 4): the mean squared cosine similarity of the N (N - 1) ordered distinct pairs."""
    n = codes.shape[0]
    unit = codes / (jnp.linalg.norm(codes, axis=1, keepdims=True) + eps)
    cos2 = jnp.square(unit @ unit.T)
    return (cos2.sum() - jnp.trace(cos2)) / (n * (n - 1))


def autoencoder(config, dataset: Dataset, gc) -> AutoencoderCritic:
    """The game's critic from ``model.*`` and its ``game.code_dim`` / ``game.activation``."""
    return AutoencoderCritic(
        resolution=dataset.shape[0],
        width=config.model.width,
        code_dim=gc.code_dim,
        norm=config.model.d_norm,
        activation=gc.activation,
        downsample=config.model.downsample,
        upsample=config.model.upsample,
        dtype=compute_dtype(config.model),
    )


def networks(config, dataset: Dataset, gc) -> dict[str, Network]:
    z = jnp.zeros((2, config.model.z_dim))
    return classic.networks(config, dataset, (z,), d_module=autoencoder(config, dataset, gc))


def fakes(ctx: Context, key: jax.Array, latent: classic.Latent, n: int) -> jax.Array:
    g_inputs, _, _ = latent.draw(ctx, key, n)
    return ctx("g", *g_inputs, train=True)


def critic_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, latent: classic.Latent, margin: float
) -> steps.LossOut:
    real = batch["x"]
    fake = jax.lax.stop_gradient(fakes(ctx, key, latent, real.shape[0]))
    real_recon, _ = ctx("d", real, None, train=True)
    fake_recon, _ = ctx("d", fake, None, train=True)
    return margin_d_loss(energy(real, real_recon), energy(fake, fake_recon), margin)


def generator_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, latent: classic.Latent, pt_weight: float
) -> steps.LossOut:
    fake = fakes(ctx, key, latent, batch["x"].shape[0])
    recon, code = ctx("d", fake, None, train=True)
    fake_energy = energy(fake, recon).mean()
    pt = pulling_away(code)
    return fake_energy + pt_weight * pt, {"fake": fake_energy, "pt": pt}


@functools.partial(jax.jit, static_argnames="power")
def _energies_and_codes(state: steps.State, x: jax.Array, power: int):
    recon, code = steps.apply(state, "d", x, None)
    return energy(x, recon, power), code


def critic_on(run, state: steps.State, n: int, power: int = 2, chunk: int = 500):
    """(real energies, fake energies, fake codes) of ``n`` real images (fixed key) and ``n``
    samples of the run's fixed evaluation inputs, critic in inference mode."""
    from gan_jax.runs import sample_images  # gan_jax.runs imports the games

    real = np.asarray(run.dataset.sample(jax.random.key(HEADLINE_SEED), n)["x"])
    fake = sample_images(run, state, n)
    out = {"real": [], "fake": [], "code": []}
    for i in range(0, n, chunk):
        e_real, _ = _energies_and_codes(state, jnp.asarray(real[i : i + chunk]), power)
        e_fake, code = _energies_and_codes(state, jnp.asarray(fake[i : i + chunk]), power)
        out["real"].append(np.asarray(e_real))
        out["fake"].append(np.asarray(e_fake))
        out["code"].append(np.asarray(code))
    return tuple(np.concatenate(out[k]) for k in ("real", "fake", "code"))


def headline(run, state: steps.State) -> dict[str, float]:
    """Mean real and fake energies and f_PT of the fakes' embeddings (chunks of 100)."""
    real, fake, codes = critic_on(run, state, int(run.config.game.headline_samples))
    pts = [
        float(pulling_away(jnp.asarray(codes[i : i + PT_CHUNK])))
        for i in range(0, len(codes) - 1, PT_CHUNK)
        if len(codes[i : i + PT_CHUNK]) > 1
    ]
    return {
        "real_energy": float(real.mean()),
        "fake_energy": float(fake.mean()),
        "pulling_away": float(np.mean(pts)),
    }


def sampler(latent: classic.Latent):
    """``generate`` and ``eval_inputs`` of an unconditional G of z ~ N(0, I)."""

    def generate(state, inputs):
        return steps.apply(state, "g", inputs["z"], None)

    def eval_inputs(key, n):
        return {"z": jax.random.normal(key, (n, latent.z_dim))}

    return generate, eval_inputs


def build(config, dataset: Dataset) -> Game:
    gc = game_block(config, KEYS)
    latent = classic.Latent(config.model.z_dim, 0)
    generate, eval_inputs = sampler(latent)
    critic = functools.partial(critic_loss, latent=latent, margin=float(gc.margin))
    gen = functools.partial(generator_loss, latent=latent, pt_weight=float(gc.pt_weight))
    return Game(
        name="ebgan",
        networks=networks(config, dataset, gc),
        players=(
            Player("d", steps.ROLE_D, ("d",), critic, steps=config.train.d_steps),
            Player("g", steps.ROLE_G, ("g",), gen),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        ema_decay=float(config.model.g_ema_decay),
        headline=None if dataset.on_host else headline,
    )
