"""BEGAN (Berthelot et al. 2017, arXiv 1703.10717): equilibrium of autoencoder losses.

The critic D is an autoencoder (``gan_jax.models.autoencoder``, ELU, no normalisation in the
recipe, as the paper's networks) and L(v) = |v - D(v)|^eta its reconstruction loss, a mean
over the pixels (eta = ``game.eta``, 1 in the paper: the L1 loss; ``ebgan.energy``). BEGAN
matches the distributions of the losses of real and generated images through a lower bound of
the Wasserstein distance between them (section 3.1), which gives the objective (section 3.4):

    L_D = L(x) - k_t L(G(z_D))                          (critic ``d``, role 0)
    L_G = L(G(z_G))                                     (generator ``g``, role 1)
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)

gamma = E[L(G(z))] / E[L(x)] (``game.gamma``, 0.5 in most of the paper's runs) is the
diversity ratio the proportional control of k_t holds: lower gamma, less diversity and more
quality (section 3.2); lambda_k = ``game.lambda_k`` (0.001), k_0 = ``game.k_init`` (0). The
convergence measure (section 3.4.1)

    M_global = L(x) + |gamma L(x) - L(G(z_G))|

decreases as training converges and tracks image quality.

State: ``aux['k']`` is k_t and ``aux['real_loss']`` the L(x) of the critic's last update;
both are checkpointed and resume exactly. The critic's update reads k_t and writes L(x); the
generator's update computes L(G(z_G)) through the frozen, just-updated critic, then k_{t+1}
from that L(x) and writes it (the paper's and reference code's order: both losses of one step,
then k). Metrics: ``d/real``, ``d/fake``, ``d/k`` (the k_t it used), ``g/fake``, ``g/k`` (k_{t+1}),
``g/m_global`` and ``g/balance`` (gamma L(x) - L(G(z_G))).

G (``game.generator``): 'decoder', the default, is the paper's (section 3.3: "the same
architecture (though not the same weights) as the discriminator decoder"): the autoencoder's
decoder (``models.autoencoder.DecoderGenerator``: dense to 4x4, transposed convolutions, the
critic's activation and normalisation, linear output) with z in place of the code; 'dcgan' is
``model.*``'s DCGAN generator (BatchNorm, ReLU, tanh). Deviation from the paper: the decoder
upsamples by 4x4 stride-2 transposed convolutions (the DCGAN shape of our autoencoder critic)
where the paper's uses nearest-neighbour doubling and 3x3 convolutions.

Headline (embedded datasets): the final ``k`` (aux), and ``m_global``, ``real_loss``,
``fake_loss`` and ``ratio`` (= E[L(G(z))] / E[L(x)], which the control drives to gamma)
measured on ``game.headline_samples`` real images (fixed key) and as many samples of the run's
fixed evaluation inputs, the critic in inference mode.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.games import classic, ebgan
from gan_jax.models.autoencoder import ACTIVATIONS, DecoderGenerator
from gan_jax.steps import Batch, Context, Game, Player


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


KEYS: schema.Spec = {
    "gamma": schema.Key(
        0.5,
        lambda v: _number(v) and 0 < v <= 1,
        "a number in (0, 1]",
        "the diversity ratio E[L(G(z))] / E[L(x)] that k_t's control holds",
    ),
    "lambda_k": schema.non_negative(0.001, "the proportional gain of k_t's update"),
    "k_init": schema.Key(0.0, lambda v: _number(v) and 0 <= v <= 1, "a number in [0, 1]", "k_0"),
    "eta": schema.choice(1, (1, 2), "L(v) = mean |v - D(v)|^eta (1: the paper's L1 loss)"),
    "code_dim": schema.positive_int(64, "N_h: the autoencoder's embedding"),
    "activation": schema.choice("elu", ACTIVATIONS, "the autoencoder's activation"),
    "generator": schema.choice(
        "decoder",
        ("decoder", "dcgan"),
        "G: the critic's decoder shape (the paper's) or model.*'s DCGAN generator",
    ),
    "headline_samples": schema.positive_int(1000, "real images and samples of the headline"),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
# What the banner names in place of the objective, which this game does not read.
OWN_LOSS = "BEGAN's autoencoder energies (its own losses)"
PAPER = "BEGAN, Berthelot et al. 2017, arXiv 1703.10717"
RECIPE = "began"


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a block BEGAN cannot use."""
    ebgan.check_autoencoder_game(config, KEYS)


def k_update(
    k: jax.Array, real_loss: jax.Array, fake_loss: jax.Array, *, gamma: float, lambda_k: float
) -> jax.Array:
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1) (section 3.4)."""
    return jnp.clip(k + lambda_k * (gamma * real_loss - fake_loss), 0.0, 1.0)


def m_global(real_loss: jax.Array, fake_loss: jax.Array, gamma: float) -> jax.Array:
    """The convergence measure L(x) + |gamma L(x) - L(G(z_G))| (section 3.4.1)."""
    return real_loss + jnp.abs(gamma * real_loss - fake_loss)


def critic_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, latent: classic.Latent, eta: int
) -> steps.LossOut:
    """L_D = L(x) - k_t L(G(z_D)); writes L(x) to ``aux['real_loss']`` for k's update."""
    real = batch["x"]
    fake = jax.lax.stop_gradient(ebgan.fakes(ctx, key, latent, real.shape[0]))
    real_loss = ebgan.energy(real, ctx("d", real, None, train=True)[0], eta).mean()
    fake_loss = ebgan.energy(fake, ctx("d", fake, None, train=True)[0], eta).mean()
    k = ctx.aux["k"]
    ctx.set_aux("real_loss", real_loss)
    return real_loss - k * fake_loss, {"real": real_loss, "fake": fake_loss, "k": k}


def generator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    latent: classic.Latent,
    eta: int,
    gamma: float,
    lambda_k: float,
) -> steps.LossOut:
    """L_G = L(G(z_G)); writes k_{t+1} to ``aux['k']`` and reports M_global."""
    fake = ebgan.fakes(ctx, key, latent, batch["x"].shape[0])
    fake_loss = ebgan.energy(fake, ctx("d", fake, None, train=True)[0], eta).mean()
    real_loss, fake_sg = ctx.aux["real_loss"], jax.lax.stop_gradient(fake_loss)
    k = k_update(ctx.aux["k"], real_loss, fake_sg, gamma=gamma, lambda_k=lambda_k)
    ctx.set_aux("k", k)
    terms = {
        "fake": fake_loss,
        "k": k,
        "m_global": m_global(real_loss, fake_sg, gamma),
        "balance": gamma * real_loss - fake_sg,
    }
    return fake_loss, terms


def headline(run, state: steps.State) -> dict[str, float]:
    """k_t, and M_global, L(x), L(G(z)) and their ratio over fixed real images and samples."""
    gc = ebgan.game_block(run.config, KEYS)
    real, fake, _ = ebgan.critic_on(run, state, int(gc.headline_samples), power=int(gc.eta))
    real_loss, fake_loss = float(real.mean()), float(fake.mean())
    return {
        "k": float(state.aux["k"]),
        "m_global": float(m_global(real_loss, fake_loss, float(gc.gamma))),
        "real_loss": real_loss,
        "fake_loss": fake_loss,
        "ratio": fake_loss / real_loss,
    }


def networks(config, dataset: Dataset, gc) -> dict[str, steps.Network]:
    """The autoencoder critic, and G: with ``game.generator='decoder'`` the shape of the
    critic's decoder (section 3.3), z in place of the code, its own weights."""
    nets = ebgan.networks(config, dataset, gc)
    if gc.generator == "decoder":
        g = DecoderGenerator(
            resolution=dataset.shape[0],
            width=config.model.width,
            channels=dataset.shape[-1],
            norm=config.model.d_norm,
            activation=gc.activation,
            upsample=config.model.upsample,
        )
        nets["g"] = dataclasses.replace(nets["g"], module=g)
    return nets


def build(config, dataset: Dataset) -> Game:
    gc = ebgan.game_block(config, KEYS)
    latent = classic.Latent(config.model.z_dim, 0)
    generate, eval_inputs = ebgan.sampler(latent)
    eta = int(gc.eta)
    critic = functools.partial(critic_loss, latent=latent, eta=eta)
    gen = functools.partial(
        generator_loss,
        latent=latent,
        eta=eta,
        gamma=float(gc.gamma),
        lambda_k=float(gc.lambda_k),
    )
    k_init = float(gc.k_init)

    def init_aux():
        return {"k": jnp.asarray(k_init, jnp.float32), "real_loss": jnp.zeros((), jnp.float32)}

    return Game(
        name="began",
        networks=networks(config, dataset, gc),
        players=(
            Player("d", steps.ROLE_D, ("d",), critic, steps=config.train.d_steps),
            Player("g", steps.ROLE_G, ("g",), gen),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        init_aux=init_aux,
        ema_decay=float(config.model.g_ema_decay),
        headline=None if dataset.on_host else headline,
    )
