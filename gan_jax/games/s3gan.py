"""S3GAN (Lucic et al. 2019, arXiv 1903.02271): a conditional GAN from a few labels.

Only ``game.label_fraction`` of the training images keep their label: a fixed subset, the same
fraction of every class (``labelled_subset``: drawn once with the seed ``LABEL_SUBSET_SEED``, the
same for every run seed); the labels of all other images are never read. The critic is SSGAN's
(gan_jax/games/ssgan.py) with a class head and a projection term (``SSGANCritic`` with
``num_classes = K``), and the generator is class-conditional (the DCGAN generator with the
one-hot class concatenated to z, ``model.num_classes = K``). Per train step, as in the paper's
S3GAN (its section 3: S2GAN's semi-supervised classifier on the critic's features plus SSGAN's
rotation loss):

- critic: the adversarial loss of the projection critic, with the real images (the data stream,
  every image treated as unlabelled) projected on the labels its own class head infers for them
  (argmax, gradients stopped) and the fakes on the classes they were drawn for; plus
  ``game.d_rotation_weight`` (beta) times the rotation loss on the reals; plus
  ``game.class_weight`` times the class head's cross-entropy on a batch drawn (with
  replacement, from the update's key) from the labelled subset with its true labels;
- generator: the adversarial loss of class-conditional fakes plus ``game.g_rotation_weight``
  (alpha) times the rotation loss on them.

Where the labelled fraction lives: the ``game`` block (``game.label_fraction``), because the
game draws its labelled batch itself from the embedded dataset's arrays (digits, mnist5k); the
data stream and its batch format are unchanged.

Headline: ``inferred_label_accuracy``, the class head's accuracy on the real images outside the
labelled subset (inference mode); on the digits also the AC-GAN measures of the conditional
samples (``acgan.class_measures``: class agreement and per-class diversity).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import data, schema, steps
from gan_jax.data import Dataset
from gan_jax.errors import ConfigError
from gan_jax.games import acgan, classic, ssgan
from gan_jax.losses import get_objective
from gan_jax.steps import Game

# The fixed labelled subset: one for every run seed, as the paper fixes its labelled split.
LABEL_SUBSET_SEED = 0
# Folded into an update's key for the labelled batch.
LABELLED_STREAM = 5
# The label the critic reads as "infer it" (SSGANCritic).
INFER = -1

KEYS: schema.Spec = {
    "label_fraction": schema.Key(
        0.1,
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1,
        "a number in (0, 1]",
        "fraction of the training images (of every class) whose labels are used",
    ),
    "class_weight": schema.non_negative(
        1.0, "weight of the class head's cross-entropy on the labelled batch"
    ),
    **ssgan.ROTATION_KEYS,
    "headline_samples": acgan.KEYS["headline_samples"],
}
DEFAULTS: dict = {name: key.default for name, key in KEYS.items()}
DATA_KINDS = ("images",)
PAPER = "S3GAN, Lucic et al. 2019, arXiv 1903.02271"
RECIPE = "s3gan"


def check(config) -> None:
    """Raise ConfigError on a bad game.* value, a dataset without embedded labels or an
    unconditional model."""
    schema.check_block("game", config.game, KEYS)
    ssgan.check_model(config, "s3gan")
    if config.data.name not in data.EMBEDDED_IMAGES:
        raise ConfigError(
            "data.name",
            config.data.name,
            f"one of {sorted(data.EMBEDDED_IMAGES)} with game.name='s3gan' (the labelled "
            "subset is drawn from an embedded dataset)",
        )
    if config.model.num_classes < 2:
        raise ConfigError(
            "model.num_classes",
            config.model.num_classes,
            "the dataset's number of classes with game.name='s3gan' (G is class-conditional)",
        )


def labelled_subset(
    labels: np.ndarray, fraction: float, seed: int = LABEL_SUBSET_SEED
) -> np.ndarray:
    """Sorted indices of a fixed subset holding ``fraction`` of every class (rounded, at least
    one image per class), drawn by ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = max(1, int(round(fraction * len(members))))
        chosen.append(rng.permutation(members)[:n])
    return np.sort(np.concatenate(chosen))


def inferred_label_accuracy(run, state: steps.State) -> dict[str, float]:
    """The class head's accuracy on the real images whose labels the run never read."""
    images, labels = data.EMBEDDED_IMAGES[run.dataset.name](run.dataset.shape[0])
    fraction = schema.value(run.config.game, KEYS, "label_fraction")
    unlabelled = np.setdiff1d(np.arange(len(labels)), labelled_subset(labels, fraction))
    if not len(unlabelled):  # every label used: the accuracy on the labelled images
        unlabelled = np.arange(len(labels))
    logits = ssgan.critic_heads(state, images[unlabelled])["class"]
    return {"inferred_label_accuracy": float(np.mean(np.argmax(logits, -1) == labels[unlabelled]))}


def headline(run, state: steps.State) -> dict[str, float]:
    out = inferred_label_accuracy(run, state)
    if run.dataset.name == "digits":
        out.update(acgan.class_measures(run, state))
    return out


def build(config, dataset: Dataset) -> Game:
    gc = ml_collections.ConfigDict({name: schema.value(config.game, KEYS, name) for name in KEYS})
    objective = get_objective(config.objective)
    k = int(config.model.num_classes)
    latent = classic.Latent(config.model.z_dim, k)
    images_np, labels_np = data.EMBEDDED_IMAGES[dataset.name](dataset.shape[0])
    subset = labelled_subset(labels_np, float(gc.label_fraction))
    # NumPy constants, made jax values inside the traced loss (see data.mixture).
    labelled_x, labelled_y = images_np[subset], labels_np[subset]
    d_weight, g_weight = float(gc.d_rotation_weight), float(gc.g_rotation_weight)
    examples = int(gc.rotation_examples)
    class_weight = float(gc.class_weight)

    def unlabelled(batch):
        return {**batch, "label": jnp.full_like(batch["label"], INFER)}

    def class_loss(ctx, key, n):
        idx = ctx.randint(jax.random.fold_in(key, LABELLED_STREAM), (n,), len(subset))
        x, y = jnp.asarray(labelled_x)[idx], jnp.asarray(labelled_y)[idx]
        _, heads = ctx("d", x, None, train=True)
        loss, terms = acgan.class_terms(heads["class"], y, None, None, class_weight=class_weight)
        return loss, {
            "class": terms["class"],
            "class_labelled": terms["class_fake"],
            "class_acc_labelled": terms["class_acc_fake"],
        }

    def critic(ctx, batch, key):
        loss, terms = classic.critic_loss(
            ctx, unlabelled(batch), key, objective=objective, latent=latent
        )
        rot, rot_terms = ssgan.rotation_loss(ctx, batch["x"], d_weight, examples)
        cls, cls_terms = class_loss(ctx, key, batch["x"].shape[0])
        return loss + rot + cls, {**terms, **rot_terms, **cls_terms}

    def generator(ctx, batch, key):
        def extra_terms(ctx, fake_out, extra):
            del fake_out
            return ssgan.rotation_loss(ctx, extra["fake"], g_weight, examples)

        return classic.generator_loss(
            ctx, unlabelled(batch), key, objective=objective, latent=latent, extra_terms=extra_terms
        )

    def generate(state, inputs):
        return steps.apply(state, "g", inputs["z"], inputs["label"])

    def eval_inputs(key, n):
        return {
            "z": jax.random.normal(key, (n, latent.z_dim)),
            "label": jnp.arange(n, dtype=jnp.int32) % k,
        }

    critic_module = ssgan.make_critic(config, dataset, k)
    return Game(
        name="s3gan",
        networks=classic.networks(
            config, dataset, (jnp.zeros((2, latent.z_dim)),), d_module=critic_module
        ),
        players=classic.players(config, objective, critic, generator),
        generate=generate,
        eval_inputs=eval_inputs,
        ema_decay=float(config.model.g_ema_decay),
        headline=headline,
    )
