"""VAE-GAN (Larsen et al. 2016, arXiv 1512.09300): a VAE whose reconstruction error is measured
in the critic's feature space, trained together with a GAN that shares the VAE's decoder.

Networks: the encoder E (``bigan.Encoder``, Gaussian: mu(x), log sigma(x)), the decoder /
generator G (``model.name='dcgan'``), the critic D (the DCGAN critic, which also returns its
last feature map Dis_l(x), (B, 4, 4, 2^(n-1) width)). With z = mu + sigma * eps ~ q(z | x),
x~ = G(z) and x_p = G(z_p), z_p ~ N(0, I), the paper's losses (section 2, eqs. 8-9 and
Algorithm 1) are

    L_prior = KL(q(z | x) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2),
    L_llike = -E_q[log p(Dis_l(x) | z)] = 1/2 ||Dis_l(x~) - Dis_l(x)||^2   (a unit Gaussian,
              constant dropped; summed over the features, mean over the batch),
    L_GAN   = log D(x) + log(1 - D(x~)) + log(1 - D(x_p)),

and the three networks minimise: E: ``kl_weight`` * L_prior + L_llike; G:
``recon_weight`` (the paper's gamma) * L_llike - L_GAN, in the non-saturating form
softplus(-l(x~)) + softplus(-l(x_p)) (the paper's code, like most GANs, trains G so); D:
-L_GAN = softplus(-l(x)) + softplus(l(x~)) + softplus(l(x_p)), means over the batch. The paper
updates the three from one forward pass; here they are three players in the order d, e, g
(roles ROLE_D, FIRST_FREE_ROLE, ROLE_G), each seeing the others' latest parameters. E's and G's
feature loss runs D on x and x~ in one train-mode call (one BatchNorm batch, so both feature
maps are normalised alike); its statistics are discarded (D is frozen for them).

The VAE baseline (the paper's "VAE" row): ``game.recon_space='pixels'`` measures L_llike on the
pixels, 1/2 ||x~ - x||^2 (a unit Gaussian, as on the features), and ``game.adv_weight`` 0 drops
the GAN term from G's loss; with both the critic is read by no loss and is not trained (no
``d`` player), so E and G train as a plain VAE (configs/vaegan.py:vae). ``adv_weight`` also
weights the GAN term of VAE-GAN's G (1: the paper's).

Headline (digits): ``bigan.reconstruction_metrics``: the fraction of held-out digits x whose
reconstruction G(mu(x)) the digits classifier assigns x's class, and the mean |G(mu(x)) - x|.
The samples G(z_p) are evaluated like every game's (Frechet distance on the digits classifier's
features), so the zoo compares them with the plain GAN's at the same budget.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections

from gan_jax import schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import bigan
from gan_jax.models import MODELS, compute_dtype
from gan_jax.models.dcgan import DCGANDiscriminator
from gan_jax.steps import Batch, Context, Game, Network, Player

KEYS: schema.Spec = {
    "kl_weight": schema.non_negative(
        1.0, "weight of the prior term KL(q(z|x) || p(z)) in E's loss"
    ),
    "recon_weight": schema.non_negative(
        1.0, "gamma: weight of the feature-space reconstruction in G's loss (against the GAN's)"
    ),
    "recon_space": schema.choice(
        "features",
        ("features", "pixels"),
        "where L_llike is measured: the critic's features (VAE-GAN) or the pixels (a VAE)",
    ),
    "adv_weight": schema.non_negative(
        1.0, "weight of the GAN term in G's loss; 0 with recon_space='pixels': the plain VAE"
    ),
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "VAE-GAN, Larsen et al. 2016, arXiv 1512.09300"
RECIPE = "vaegan"
ROLE_E = steps.FIRST_FREE_ROLE


def check(config) -> None:
    """game.* values, and the objective, model and optimiser VAE-GAN needs."""
    schema.check_block("game", config.game, KEYS)
    bigan.check_encoder_game(config, "vaegan")
    if config.objective.name != "non_saturating":
        raise ConfigError("objective.name", config.objective.name, "'non_saturating' (VAE-GAN)")
    if config.objective.get("penalty", "none") != "none":
        raise ConfigError("objective.penalty", config.objective.penalty, "'none' with vaegan")


def kl_to_standard_normal(mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """KL(N(mu, sigma^2) || N(0, I)) summed over the dimensions, mean over the batch."""
    kl = 0.5 * (jnp.square(mean) + jnp.exp(2 * log_std) - 1.0 - 2 * log_std)
    return jnp.mean(jnp.sum(kl, axis=-1))


def feature_nll(fake_features: jax.Array, real_features: jax.Array) -> jax.Array:
    """1/2 ||Dis_l(x~) - Dis_l(x)||^2 summed over the features, mean over the batch: the
    negative log-likelihood of a unit Gaussian on the critic's features, constant dropped."""
    diff = (fake_features - real_features).reshape(fake_features.shape[0], -1)
    return 0.5 * jnp.mean(jnp.sum(jnp.square(diff), axis=-1))


def gan_terms(real_logits, rec_logits, prior_logits) -> tuple[jax.Array, dict]:
    """-L_GAN = softplus(-l(x)) + softplus(l(x~)) + softplus(l(x_p)), means (the critic's loss)."""
    terms = {
        "real": jnp.mean(jax.nn.softplus(-real_logits)),
        "rec": jnp.mean(jax.nn.softplus(rec_logits)),
        "prior": jnp.mean(jax.nn.softplus(prior_logits)),
    }
    return terms["real"] + terms["rec"] + terms["prior"], terms


def generator_gan_terms(rec_logits, prior_logits) -> tuple[jax.Array, dict]:
    """G's non-saturating GAN part: softplus(-l(x~)) + softplus(-l(x_p)), means."""
    terms = {
        "gan_rec": jnp.mean(jax.nn.softplus(-rec_logits)),
        "gan_prior": jnp.mean(jax.nn.softplus(-prior_logits)),
    }
    return terms["gan_rec"] + terms["gan_prior"], terms


def forward(ctx: Context, batch: Batch, key: jax.Array, z_dim: int):
    """(x, mu, log sigma, x~ = G(mu + sigma eps), x_p = G(z_p)), E and G in train mode."""
    x = batch["x"]
    key_eps, key_p = jax.random.split(key)
    mean, log_std = ctx("e", x, train=True)
    z = bigan.reparameterize(mean, log_std, ctx.normal(key_eps, mean.shape))
    rec = ctx("g", z, None, train=True)
    prior = ctx("g", ctx.normal(key_p, (x.shape[0], z_dim)), None, train=True)
    return x, mean, log_std, rec, prior


def feature_loss(ctx: Context, x: jax.Array, rec: jax.Array, space: str = "features") -> jax.Array:
    """L_llike, with x and x~ through the critic in one batch (see the module docstring); with
    ``space='pixels'`` the same unit-Gaussian NLL of the pixels (the VAE baseline's)."""
    if space == "pixels":
        return feature_nll(rec, x)
    _, features = ctx("d", jnp.concatenate([x, rec]), None, train=True)
    real_f, rec_f = jnp.split(features, 2)
    return feature_nll(rec_f, jax.lax.stop_gradient(real_f))


def critic_loss(ctx: Context, batch: Batch, key: jax.Array, *, z_dim: int) -> steps.LossOut:
    x, _, _, rec, prior = forward(ctx, batch, key, z_dim)
    rec, prior = jax.lax.stop_gradient(rec), jax.lax.stop_gradient(prior)
    real_logits, _ = ctx("d", x, None, train=True)
    rec_logits, _ = ctx("d", rec, None, train=True)
    prior_logits, _ = ctx("d", prior, None, train=True)
    return gan_terms(real_logits, rec_logits, prior_logits)


def encoder_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    z_dim: int,
    kl_weight: float,
    space: str = "features",
) -> steps.LossOut:
    x, mean, log_std, rec, _ = forward(ctx, batch, key, z_dim)
    kl, llike = kl_to_standard_normal(mean, log_std), feature_loss(ctx, x, rec, space)
    return kl_weight * kl + llike, {"kl": kl, "llike": llike}


def generator_loss(
    ctx: Context,
    batch: Batch,
    key: jax.Array,
    *,
    z_dim: int,
    recon_weight: float,
    space: str = "features",
    adv_weight: float = 1.0,
) -> steps.LossOut:
    x, _, _, rec, prior = forward(ctx, batch, key, z_dim)
    llike = feature_loss(ctx, x, rec, space)
    if adv_weight == 0:  # the VAE: no critic term (D is not trained either, see build)
        return recon_weight * llike, {"llike": llike}
    rec_logits, _ = ctx("d", rec, None, train=True)
    prior_logits, _ = ctx("d", prior, None, train=True)
    gan, terms = generator_gan_terms(rec_logits, prior_logits)
    return recon_weight * llike + adv_weight * gan, {**terms, "llike": llike}


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    z_dim, m = int(config.model.z_dim), config.model
    generator, _ = MODELS["dcgan"](m, dataset.shape)
    critic = DCGANDiscriminator(
        resolution=dataset.shape[0],
        width=m.width,
        norm=m.d_norm,
        downsample=m.downsample,
        spectral_norm=m.d_spectral_norm,
        dtype=compute_dtype(m),
        return_features=True,
    )
    images, z = jnp.zeros((2, *dataset.shape)), jnp.zeros((2, z_dim))
    networks = {
        "g": Network(generator, (z, None), optim="g"),
        "e": Network(bigan.encoder_module(config, dataset, gaussian=True), (images,), optim="e"),
        "d": Network(critic, (images, None), optim="d"),
    }
    space, adv_weight = str(gc.recon_space), float(gc.adv_weight)
    e_loss = functools.partial(
        encoder_loss, z_dim=z_dim, kl_weight=float(gc.kl_weight), space=space
    )
    g_loss = functools.partial(
        generator_loss,
        z_dim=z_dim,
        recon_weight=float(gc.recon_weight),
        space=space,
        adv_weight=adv_weight,
    )
    critic = Player("d", steps.ROLE_D, ("d",), functools.partial(critic_loss, z_dim=z_dim))
    # The plain VAE (pixel likelihood, no GAN term) never reads D: it is not trained.
    vae = space == "pixels" and adv_weight == 0

    def generate(state, inputs):
        return steps.apply(state, "g", inputs["z"], None)

    def eval_inputs(key, n):
        return {"z": jax.random.normal(key, (n, z_dim))}

    return Game(
        name="vaegan",
        networks=networks,
        players=(
            *(() if vae else (critic,)),
            Player("e", ROLE_E, ("e",), e_loss),
            Player("g", steps.ROLE_G, ("g",), g_loss),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        headline=bigan.reconstruction_metrics if dataset.name == "digits" else None,
    )
