"""ComboGAN (Anoosheh et al. 2018, arXiv 1712.06909): one encoder/decoder pair per domain.

Networks, for each domain d of ``data.domains`` (named by its index): an encoder ``enc_d`` and
a decoder ``dec_d`` (the two halves of CycleGAN's ResNet generator, ``models.translation``:
``game.enc_blocks`` residual blocks end the encoder, ``game.dec_blocks`` start the decoder),
trained by ``optim.g``, and a PatchGAN critic ``d_d`` trained by ``optim.d``. Translating domain
i into domain j is dec_j(enc_i(x)), so N domains need N encoders, N decoders and N critics:
parameters linear in N, where one CycleGAN per pair would need N (N - 1) / 2 models (section 3).
Data: ``data.name='digits_domains'`` (B / N images of each domain per batch, in domain order).

Players, every train step:

- ``g`` (role ``ROLE_G``; every encoder and decoder) minimises, over the N (N - 1) directed
  pairs (i, j) of the batch's domains, the CycleGAN generator loss of each pair: the least-squares
  adversarial loss E[(D_j(dec_j(enc_i(x_i))) - 1)^2] plus ``game.cycle_weight`` (lambda = 10)
  times the cycle loss E|dec_i(enc_j(dec_j(enc_i(x_i)))) - x_i|_1. The paper trains one random
  pair per iteration; here every pair is in every step (B / N images each), averaged over the
  pairs and doubled, so that N = 2 is CycleGAN's loss of two directions.
- ``d`` (role ``ROLE_D``; every critic) minimises, for each domain j, the least-squares critic
  loss 1/2 E[(D_j(x_j) - 1)^2] + 1/2 E[D_j(fake)^2] on its real images and the translations into
  j from all other domains (frozen generators), summed over the domains times 2 / N. No image
  history (CycleGAN's pool): one would be needed per domain.

Evaluation: ``generate`` translates a fixed draw of domain-0 images into domain 1;
``headline`` translates every image of every domain into every other and measures class
preservation, FD in the target domain and the cycle error with ``stargan.translation_metrics``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from gan_jax import classifier, schema, steps
from gan_jax.data import Dataset, digits_domains_arrays, domain_names
from gan_jax.errors import ConfigError
from gan_jax.games.cyclegan import l1, ls_generator
from gan_jax.games.stargan import translation_metrics
from gan_jax.losses import least_squares_d_loss
from gan_jax.models.translation import NORMS, PatchDiscriminator, ResnetDecoder, ResnetEncoder
from gan_jax.steps import Batch, Context, Game, Network, Player

# The dataset kinds it trains on (data.DatasetEntry.kind).
DATA_KINDS = ("multidomain",)
# What the banner names in place of the objective, which this game does not read.
OWN_LOSS = "ComboGAN's least squares + cycle losses (its own)"
PAPER = "ComboGAN, Anoosheh et al. 2018, arXiv 1712.06909"
RECIPE = "combogan"
DEFAULTS: dict = {
    "cycle_weight": 10.0,  # lambda of the cycle loss (the paper's, as CycleGAN's)
    "g_width": 16,  # channels of the encoders' first layer (paper: 64)
    "enc_blocks": 2,  # residual blocks ending each encoder (paper: half of 9)
    "dec_blocks": 1,  # residual blocks starting each decoder
    "d_width": 16,  # channels of D's first layer (paper: 64)
    "d_layers": 2,  # stride-2 layers of D
    "norm": "instance",  # 'instance' (paper) or 'none'
}
DATASET = "digits_domains"


def check(config) -> None:
    """game.* values, and the data keys ComboGAN needs."""
    game = config.game
    schema.check_number("game.cycle_weight", game.cycle_weight)
    for key in ("g_width", "d_width", "d_layers"):
        schema.check_number(f"game.{key}", game[key], int, 1)
    for key in ("enc_blocks", "dec_blocks"):
        schema.check_number(f"game.{key}", game[key], int, 0)
    if game.norm not in NORMS:
        raise ConfigError("game.norm", game.norm, str(list(NORMS)))
    if config.data.name != DATASET:
        raise ConfigError("data.name", config.data.name, f"{DATASET!r} with game.name='combogan'")
    if config.data.resolution % 2**game.d_layers or config.data.resolution % 4:
        raise ConfigError(
            "data.resolution",
            config.data.resolution,
            f"a multiple of 4 and of 2^game.d_layers={2**game.d_layers}",
        )
    if config.train.d_steps != 1:
        raise ConfigError("train.d_steps", config.train.d_steps, "1 with ComboGAN")


# ---------------------------------------------------------------------------------------------
# Losses.


def blocks(x: jax.Array, n: int) -> list[jax.Array]:
    """The batch's N domain blocks (``digits_domains`` orders a batch by domain)."""
    per = x.shape[0] // n
    return [x[d * per : (d + 1) * per] for d in range(n)]


def generator_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, num_domains: int, cycle_weight: float
) -> steps.LossOut:
    """The ``g`` player's loss: adversarial + cycle over every directed pair (module docstring)."""
    del key
    xs = blocks(batch["x"], num_domains)
    adv, cycle = [], []
    for i, x in enumerate(xs):
        code = ctx(f"enc_{i}", x, train=True)
        for j in range(num_domains):
            if i == j:
                continue
            fake = ctx(f"dec_{j}", code, train=True)
            adv.append(ls_generator(ctx(f"d_{j}", fake, train=True)))
            rec = ctx(f"dec_{i}", ctx(f"enc_{j}", fake, train=True), train=True)
            cycle.append(l1(rec, x))
    adv_loss, cycle_loss = 2 * jnp.mean(jnp.stack(adv)), 2 * jnp.mean(jnp.stack(cycle))
    return adv_loss + cycle_weight * cycle_loss, {"adv": adv_loss, "cycle": cycle_loss}


def discriminator_loss(
    ctx: Context, batch: Batch, key: jax.Array, *, num_domains: int
) -> steps.LossOut:
    """The ``d`` player's loss: least squares on each domain's reals vs translations into it."""
    del key
    xs = blocks(batch["x"], num_domains)
    codes = [jax.lax.stop_gradient(ctx(f"enc_{i}", x, train=True)) for i, x in enumerate(xs)]
    losses, terms = [], {}
    for j, x in enumerate(xs):
        fakes = [
            jax.lax.stop_gradient(ctx(f"dec_{j}", codes[i], train=True))
            for i in range(num_domains)
            if i != j
        ]
        loss, t = least_squares_d_loss(
            ctx(f"d_{j}", x, train=True), ctx(f"d_{j}", jnp.concatenate(fakes), train=True)
        )
        losses.append(loss)
        terms.update({f"{j}_{k}": v for k, v in t.items()})
    return 2 * jnp.sum(jnp.stack(losses)) / num_domains, terms


# ---------------------------------------------------------------------------------------------
# Evaluation.


@functools.partial(jax.jit, static_argnums=(2, 3))
def translate(state: steps.State, x: jax.Array, i: int, j: int):
    """dec_j(enc_i(x)) and its cycle back dec_i(enc_j(.)), inference mode."""
    fake = steps.apply(state, f"dec_{j}", steps.apply(state, f"enc_{i}", x))
    return fake, steps.apply(state, f"dec_{i}", steps.apply(state, f"enc_{j}", fake))


def state_translator(state: steps.State):
    """``translate_fn`` of ``stargan.translation_metrics`` for a ComboGAN state."""
    return lambda x, i, j: jax.device_get(translate(state, jnp.asarray(x), i, j))


# ---------------------------------------------------------------------------------------------
# The game.


def build(config, dataset: Dataset) -> Game:
    game = config.game
    names = domain_names(config.data.domains)
    n = len(names)
    parts = digits_domains_arrays(config.data.resolution, config.data.domains)
    example = jnp.zeros((2, *dataset.shape))
    enc = ResnetEncoder(game.g_width, game.enc_blocks, game.norm)
    dec = ResnetDecoder(game.g_width, game.dec_blocks, game.norm, dataset.shape[-1])
    code = jax.eval_shape(lambda x: enc.init_with_output(jax.random.key(0), x)[0], example)
    critic = PatchDiscriminator(game.d_width, game.d_layers, game.norm)
    networks = {}
    for d in range(n):
        networks[f"enc_{d}"] = Network(enc, (example,), optim="g")
        networks[f"dec_{d}"] = Network(dec, (jnp.zeros(code.shape, code.dtype),), optim="g")
    for d in range(n):
        networks[f"d_{d}"] = Network(critic, (example,), optim="d")
    g_loss = functools.partial(generator_loss, num_domains=n, cycle_weight=float(game.cycle_weight))
    d_loss = functools.partial(discriminator_loss, num_domains=n)

    def generate(state: steps.State, inputs: dict) -> jax.Array:
        return steps.apply(state, "dec_1", steps.apply(state, "enc_0", inputs["x"]))

    def eval_inputs(key: jax.Array, count: int) -> dict:
        images = jnp.asarray(parts[0][0])
        idx = jax.random.choice(key, images.shape[0], (count,), replace=count > images.shape[0])
        return {"x": images[idx]}

    def headline(run, state: steps.State) -> dict[str, float]:
        clf = classifier.digits_classifier(
            config.data.resolution, run.config.eval.get("cache_dir") or None
        )
        return translation_metrics(state_translator(state), parts, names, clf)

    generators = tuple(name for name in networks if not name.startswith("d_"))
    critics = tuple(name for name in networks if name.startswith("d_"))
    return Game(
        name="combogan",
        networks=networks,
        players=(
            Player("g", steps.ROLE_G, generators, g_loss),
            Player("d", steps.ROLE_D, critics, d_loss),
        ),
        generate=generate,
        eval_inputs=eval_inputs,
        headline=headline,
    )
