"""SSGAN (Chen et al. 2019, arXiv 1811.11212): rotation prediction as the critic's auxiliary task.

Every image x is turned by r in {0, 90, 180, 270} degrees (``rotate``: jnp.rot90 in the image
plane), and a 4-way head Q_D on the critic's last feature map predicts r. The paper's losses
(its equation 1, V the adversarial value):

    L_G = -V(G, D) - alpha E_{x ~ P_G} E_r[log Q_D(R = r | x^r)],
    L_D =  V(G, D) - beta  E_{x ~ P_data} E_r[log Q_D(R = r | x^r)],

with alpha = 0.2 and beta = 1 (the paper's choice; ``game.g_rotation_weight``,
``game.d_rotation_weight``). The expectation over r is exact: the first
``game.rotation_examples`` images of each batch (0: all B) are seen in all four rotations (one
extra critic pass over 4 x that many images per player; the critic's BatchNorm statistics
advance over it in its own update, as over the real and fake passes). The adversarial part is
the classic game's, for any objective of ``losses.py`` (non-saturating in the recipe, as the
unconditional baseline configs/nsgan.py); G is unconditional.

The critic (``SSGANCritic``) is the DCGAN discriminator's body with the rotation head (one dense
layer on its flattened features, as the paper's linear head on the penultimate layer). With
``num_classes > 0`` it is also S3GAN's critic (gan_jax/games/s3gan.py): a class head on the same
features and a projection term <embed(y), h(x)> added to the logit (Miyato & Koyama 2018), where
y = -1 asks the critic to use its own class head's prediction (the inferred labels).

Headline (digits): ``rotation_accuracy``, the rotation head's accuracy on all real digits in
all four rotations (inference mode); the paper's claim itself, a lower FD than the unconditional
GAN at the same budget, is measured by experiments/aux_critics_digits.py.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import data, schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import classic
from gan_jax.losses import get_objective
from gan_jax.models.dcgan import HeadedCritic
from gan_jax.steps import Context, Game

NUM_ROTATIONS = 4

# The rotation weights, shared with S3GAN.
ROTATION_KEYS: schema.Spec = {
    "d_rotation_weight": schema.non_negative(
        1.0, "beta: weight of the rotation loss on real images in the critic's loss"
    ),
    "g_rotation_weight": schema.non_negative(
        0.2, "alpha: weight of the rotation loss on generated images in G's loss"
    ),
    "rotation_examples": schema.non_negative_int(
        0,
        "images of each batch rotated (the first N), in all four rotations",
        allowed="a non-negative integer (0: the whole batch)",
    ),
}
KEYS: schema.Spec = dict(ROTATION_KEYS)
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "SSGAN, Chen et al. 2019, arXiv 1811.11212"
RECIPE = "ssgan"


def check_model(config, game: str) -> None:
    """The model an SSGAN critic is built on: the DCGAN family with square images."""
    if config.model.name != "dcgan":
        raise ConfigError("model.name", config.model.name, f"'dcgan' with game.name={game!r}")


def check(config) -> None:
    """Raise ConfigError on a bad game.* value or a model SSGAN cannot be built on."""
    schema.check_block("game", config.game, KEYS)
    check_model(config, "ssgan")
    if config.model.num_classes != 0:
        raise ConfigError(
            "model.num_classes",
            config.model.num_classes,
            "0 with game.name='ssgan' (unconditional; game.name='s3gan' uses labels)",
        )


def rotate(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """All four rotations of a NHWC batch: (4B, H, W, C) images, rotation r of image i at row
    r * B + i (r quarter turns counterclockwise, np.rot90), and their (4B,) int32 labels r."""
    rotated = jnp.concatenate([jnp.rot90(x, r, axes=(1, 2)) for r in range(NUM_ROTATIONS)])
    labels = jnp.repeat(jnp.arange(NUM_ROTATIONS, dtype=jnp.int32), x.shape[0])
    return rotated, labels


def rotation_terms(
    logits: jax.Array, labels: jax.Array, *, weight: float
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``weight * -E_r[log Q_D(R = r | x^r)]`` (softmax cross-entropy, mean over the 4B rows)
    and its terms ``rotation`` (weighted), ``rotation_ce`` and ``rotation_acc``."""
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    acc = jnp.mean(jnp.argmax(logits, -1) == labels)
    return weight * ce, {"rotation": weight * ce, "rotation_ce": ce, "rotation_acc": acc}


def rotation_loss(
    ctx: Context, x: jax.Array, weight: float, examples: int = 0
) -> tuple[jax.Array, dict]:
    """The rotation term of images ``x`` (the first ``examples`` of them; 0: all): the critic
    (train mode, no labels) on their four rotations."""
    rotated, labels = rotate(x[:examples] if examples else x)
    _, heads = ctx("d", rotated, None, train=True)
    return rotation_terms(heads["rotation"], labels, weight=weight)


class SSGANCritic(HeadedCritic):
    """The DCGAN discriminator's body with a rotation head: ``(logit (B,), heads)``.

    ``heads['rotation']``: (B, 4) logits of the rotation. With ``num_classes = K > 0`` (S3GAN)
    also ``heads['class']`` (B, K) logits of the class, and the logit gains the projection
    <embed(y), h> of the flattened features h when labels y are given (y = -1: the class head's
    argmax, gradients stopped). Labels None: the unconditional logit.
    """

    num_classes: int = 0

    @nn.compact
    def __call__(
        self, x: jax.Array, labels: jax.Array | None = None, train: bool = True
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        out, h = self.features(x, train)
        h = h.reshape(h.shape[0], -1)
        dense = functools.partial(nn.Dense, dtype=self.dtype)
        heads = {"rotation": dense(NUM_ROTATIONS, name="rotation_out")(h).astype(jnp.float32)}
        if not self.num_classes:
            return out, heads
        class_logits = dense(self.num_classes, name="class_out")(h).astype(jnp.float32)
        heads["class"] = class_logits
        embed = nn.Embed(self.num_classes, h.shape[-1], name="embed", dtype=self.dtype)
        if labels is None:
            embed(jnp.zeros((1,), jnp.int32))  # the table exists for every call
            return out, heads
        inferred = jnp.argmax(jax.lax.stop_gradient(class_logits), -1).astype(jnp.int32)
        y = jnp.where(labels < 0, inferred, labels)
        projection = jnp.sum(embed(y) * h, axis=-1).astype(jnp.float32)
        return out + projection, heads


def make_critic(config, dataset: Dataset, num_classes: int) -> SSGANCritic:
    return SSGANCritic.from_config(
        config,
        dataset.shape[0],
        num_classes=num_classes,
    )


def critic_heads(
    state: steps.State, images: np.ndarray, batch: int = 1000
) -> dict[str, np.ndarray]:
    """The critic's heads on ``images`` (inference mode), as NumPy arrays."""
    fn = jax.jit(lambda s, x: steps.apply(s, "d", x, None)[1])
    outs = [fn(state, jnp.asarray(images[i : i + batch])) for i in range(0, len(images), batch)]
    return {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}


def rotation_accuracy(run, state: steps.State) -> dict[str, float]:
    """The headline: the rotation head's accuracy on every real digit in all four rotations."""
    images, _ = data.digits_arrays(run.dataset.shape[0])
    rotated, labels = jax.device_get(rotate(jnp.asarray(images)))
    logits = critic_heads(state, rotated)["rotation"]
    return {"rotation_accuracy": float(np.mean(np.argmax(logits, -1) == labels))}


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    latent = classic.Latent(config.model.z_dim, 0)
    d_weight, g_weight = float(gc.d_rotation_weight), float(gc.g_rotation_weight)
    examples = int(gc.rotation_examples)

    def critic(ctx, batch, key):
        loss, terms = classic.critic_loss(ctx, batch, key, objective=objective, latent=latent)
        rot, rot_terms = rotation_loss(ctx, batch["x"], d_weight, examples)
        return loss + rot, {**terms, **rot_terms}

    def generator(ctx, batch, key):
        # The rotation term rotates the very fakes the adversarial term judged.
        def extra_terms(ctx, fake_out, extra):
            del fake_out
            return rotation_loss(ctx, extra["fake"], g_weight, examples)

        return classic.generator_loss(
            ctx, batch, key, objective=objective, latent=latent, extra_terms=extra_terms
        )

    def generate(state, inputs):
        return steps.apply(state, "g", inputs["z"], None)

    def eval_inputs(key, n):
        return {"z": jax.random.normal(key, (n, latent.z_dim))}

    return Game(
        name="ssgan",
        networks=classic.networks(
            config,
            dataset,
            (jnp.zeros((2, latent.z_dim)),),
            d_module=make_critic(config, dataset, 0),
        ),
        players=classic.players(config, objective, critic, generator),
        generate=generate,
        eval_inputs=eval_inputs,
        ema_decay=float(config.model.g_ema_decay),
        headline=rotation_accuracy if dataset.name == "digits" else None,
    )
