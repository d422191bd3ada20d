"""Regularisers of the classic game's critic for limited data, and the hook the game calls.

Three families, each a config block or keys of one, composable with each other and with every
objective and penalty of ``losses.py`` (within the rules of ``check``):

- **Augmentation** (``augment.*``, gan_jax/augment.py): DiffAugment (Zhao et al. 2020, arXiv
  2006.10738) transforms the real and the generated images with the same random,
  differentiable policy before the critic sees them, in the critic's loss and in the
  generator's (so G's gradient passes through T); a gradient penalty is taken at the
  transformed images, the inputs the critic is trained on. ADA (Karras et al. 2020, arXiv
  2006.06676) applies the policy with a probability p that it adapts from r_t = E[sign D(x)],
  kept in ``State.aux['augment_p']`` (with the interval's running sum of signs, so a resumed run
  continues the same interval).
- **LeCam** (Tseng et al. 2021, arXiv 2104.03310, eq. 3), ``regularizer.lecam_weight`` lambda:
  R_LC = E_x[(D(x) - alpha_F)^2] + E_z[(D(G(z)) - alpha_R)^2], alpha_R and alpha_F the
  exponential moving averages (``regularizer.lecam_decay``) of the critic's mean outputs on real
  and generated images, kept in ``State.aux`` and updated before the term is taken (the first
  update sets them to the batch means), as in the paper's code. D is the raw output (logit or
  score) on the images the critic sees (augmented when a policy is set: DiffAugment + LeCam is
  the paper's strongest setting). The paper's code has a one-sided variant (relu of the
  differences); this is the equation of the paper.
- **bCR**, balanced consistency regularisation (Zhao et al. 2020, arXiv 2002.04724, Algorithm
  1), ``regularizer.bcr_real`` / ``bcr_fake`` (lambda_real, lambda_fake; the paper uses 10):
  lambda_real E[(D(x) - D(T(x)))^2] + lambda_fake E[(D(G(z)) - D(T(G(z))))^2], T the
  ``regularizer.bcr_policy`` augmentations (always applied), gradients through both outputs.

Metrics (the critic's terms): ``d/augment_p`` and ``d/ada_rt`` (the batch's E[sign D(x)]) with
ADA, ``d/lecam`` (R_LC, unweighted) with ``d/lecam_real`` / ``d/lecam_fake`` (the EMAs), and
``d/bcr_real`` / ``d/bcr_fake`` (unweighted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gan_jax import augment, data, losses, schema
from gan_jax.errors import ConfigError

Array = jax.Array
Scores = Callable[[Array, Array | None], Array]

# Folded into an update's key for the augmentations; distinct from the games' other streams
# (classic.LABEL_STREAM = 1, InfoGAN's 2 and 3), and the z / penalty split stays as it is.
REAL_STREAM, FAKE_STREAM, BCR_REAL_STREAM, BCR_FAKE_STREAM = 16, 17, 18, 19

# The zoo's rows (experiments/zoo.py): the regularisers with a recipe in configs/, by name.
RECIPES: dict[str, tuple[str, str]] = {
    "diffaugment": ("DiffAugment, Zhao et al. 2020, arXiv 2006.10738", "diffaugment"),
    "ada": ("StyleGAN2-ADA, Karras et al. 2020, arXiv 2006.06676", "ada"),
}

# The `regularizer` config block.
KEYS: schema.Spec = {
    "lecam_weight": schema.non_negative(0.0, "LeCam: lambda (0: off; the paper: 0.3 to 0.01)"),
    "lecam_decay": schema.unit_interval(0.99, "LeCam: decay of the EMAs of D's mean outputs"),
    "bcr_real": schema.non_negative(0.0, "bCR: lambda_real (0: off; the paper: 10)"),
    "bcr_fake": schema.non_negative(0.0, "bCR: lambda_fake (0: off; the paper: 10)"),
    "bcr_policy": augment.policy_key(
        "translation", "bCR: the transformation T (its augmentations always applied)"
    ),
}


def default_block():
    return schema.defaults(KEYS)


def lecam_penalty(real_score: Array, fake_score: Array, ema_real: Array, ema_fake: Array) -> Array:
    """R_LC = E[(D(x) - alpha_F)^2] + E[(D(G(z)) - alpha_R)^2] (Tseng et al. 2021, eq. 3)."""
    ema_real, ema_fake = jax.lax.stop_gradient(ema_real), jax.lax.stop_gradient(ema_fake)
    return jnp.mean(jnp.square(real_score - ema_fake)) + jnp.mean(jnp.square(fake_score - ema_real))


def consistency(score: Array, score_t: Array) -> Array:
    """E[(D(x) - D(T(x)))^2], one of bCR's two terms (Zhao et al. 2020, Algorithm 1)."""
    return jnp.mean(jnp.square(score - score_t))


@dataclasses.dataclass(frozen=True)
class Regularizer:
    """What ``classic.critic_loss`` and ``generator_loss`` add: the augmentation of the critic's
    inputs (``augmented``), ADA's, LeCam's and bCR's terms (``critic_terms``), and the arrays they
    keep in ``State.aux`` (``init_aux``)."""

    ops: tuple[str, ...] = ()
    p: float = 1.0
    ada: augment.ADA | None = None
    lecam_weight: float = 0.0
    lecam_decay: float = 0.99
    bcr_real: float = 0.0
    bcr_fake: float = 0.0
    bcr_ops: tuple[str, ...] = ("translation",)

    def init_aux(self) -> dict[str, Array]:
        aux = {}
        if self.ada is not None:
            aux["augment_p"] = jnp.asarray(self.p, jnp.float32)
            aux["ada_signs"] = jnp.zeros((), jnp.float32)
            aux["ada_count"] = jnp.zeros((), jnp.int32)
        if self.lecam_weight:
            aux["lecam_real"] = jnp.zeros((), jnp.float32)
            aux["lecam_fake"] = jnp.zeros((), jnp.float32)
        return aux

    def augmented(self, ctx, key: Array, x: Array, *, real: bool) -> Array:
        """Real (``real``) or generated images as the critic sees them: augmented, or as they
        are. Real and generated images draw their transformations independently."""
        if not self.ops:
            return x
        p = ctx.aux["augment_p"] if self.ada is not None else self.p
        key = jax.random.fold_in(key, REAL_STREAM if real else FAKE_STREAM)
        return augment.augment(key, x, self.ops, p)

    def critic_terms(
        self,
        ctx,
        key: Array,
        critic: Scores,
        real: tuple[Array, Array | None],
        fake: tuple[Array, Array | None],
        real_score: Array,
        fake_score: Array,
    ) -> tuple[Array, dict[str, Array]]:
        """The critic's extra loss and terms; sets ADA's and LeCam's arrays through ctx.

        ``critic(x, labels)`` is the critic's score in train mode; ``real`` and ``fake`` are
        (images, labels) as the critic saw them and ``*_score`` its outputs on them.
        """
        loss, terms = jnp.zeros((), jnp.float32), {}
        if self.ada is not None:
            p, signs, count, rt = augment.ada_update(
                ctx.aux["augment_p"],
                ctx.aux["ada_signs"],
                ctx.aux["ada_count"],
                real_score,
                self.ada,
            )
            ctx.set_aux("augment_p", p)
            ctx.set_aux("ada_signs", signs)
            ctx.set_aux("ada_count", count)
            terms.update(augment_p=ctx.aux["augment_p"], ada_rt=rt)
        if self.lecam_weight:
            decay = jnp.where(ctx.step == 0, 0.0, self.lecam_decay)
            emas = {}
            for name, score in (("lecam_real", real_score), ("lecam_fake", fake_score)):
                mean = jax.lax.stop_gradient(jnp.mean(score.astype(jnp.float32)))
                emas[name] = decay * ctx.aux[name] + (1.0 - decay) * mean
                ctx.set_aux(name, emas[name])
            lecam = lecam_penalty(real_score, fake_score, emas["lecam_real"], emas["lecam_fake"])
            loss = loss + self.lecam_weight * lecam
            terms.update(lecam=lecam, **emas)
        if self.bcr_real or self.bcr_fake:
            for name, weight, stream, (x, labels), score in (
                ("bcr_real", self.bcr_real, BCR_REAL_STREAM, real, real_score),
                ("bcr_fake", self.bcr_fake, BCR_FAKE_STREAM, fake, fake_score),
            ):
                if weight:
                    x_t = augment.augment(jax.random.fold_in(key, stream), x, self.bcr_ops)
                    term = consistency(score, critic(x_t, labels))
                    loss, terms[name] = loss + weight * term, term
        return loss, terms


def from_config(config) -> Regularizer | None:
    """The regulariser of ``config.augment`` and ``config.regularizer``, None when nothing is on
    (a config written before the blocks existed reads their defaults)."""
    aug = config.get("augment") or {}
    reg = config.get("regularizer") or {}
    a = {name: schema.value(aug, augment.KEYS, name) for name in augment.KEYS}
    r = {name: schema.value(reg, KEYS, name) for name in KEYS}
    ops = augment.parse_policy(a["policy"])
    if not ops and not r["lecam_weight"] and not r["bcr_real"] and not r["bcr_fake"]:
        return None
    ada = None
    if a["ada"]:
        ada = augment.ADA(float(a["ada_target"]), int(a["ada_interval"]), float(a["ada_kimg"]))
    return Regularizer(
        ops=ops,
        p=float(a["p"]),
        ada=ada,
        lecam_weight=float(r["lecam_weight"]),
        lecam_decay=float(r["lecam_decay"]),
        bcr_real=float(r["bcr_real"]),
        bcr_fake=float(r["bcr_fake"]),
        bcr_ops=augment.parse_policy(r["bcr_policy"]),
    )


def check(config) -> None:
    """ConfigError on a bad ``augment.*`` / ``regularizer.*`` value or a combination that makes
    no sense: a game that does not read them, image operations on non-image data, ADA without a
    policy or with a critic whose sign means nothing, a policy that never applies, bCR with no
    transformation."""
    aug = config.get("augment") or {}
    reg = config.get("regularizer") or {}
    schema.check_block("augment", aug, augment.KEYS)
    schema.check_block("regularizer", reg, KEYS)
    a = {name: schema.value(aug, augment.KEYS, name) for name in augment.KEYS}
    r = {name: schema.value(reg, KEYS, name) for name in KEYS}
    if a["ada"] and not a["policy"]:
        raise ConfigError("augment.ada", True, "False with augment.policy='' (ADA adapts a policy)")
    active = [
        (key, value)
        for key, value in (
            ("augment.policy", a["policy"]),
            ("regularizer.lecam_weight", r["lecam_weight"]),
            ("regularizer.bcr_real", r["bcr_real"]),
            ("regularizer.bcr_fake", r["bcr_fake"]),
        )
        if value
    ]
    if not active:
        return
    game = config.game.name
    if game != "classic":
        key, value = active[0]
        raise ConfigError(
            key, value, f"its off value with game.name={game!r} (the classic game reads it)"
        )
    kind = data.entry(config.data.name).kind
    images = [(key, value) for key, value in active if key != "regularizer.lecam_weight"]
    if images and kind != "images":
        key, value = images[0]
        raise ConfigError(
            key, value, f"its off value with data.name={config.data.name!r} (image operations)"
        )
    if a["policy"] and not a["ada"] and a["p"] == 0:
        raise ConfigError("augment.p", a["p"], "> 0 with augment.ada=False (p = 0 never augments)")
    if a["ada"] and losses.OBJECTIVES[config.objective.name].shift_invariant:
        raise ConfigError(
            "augment.ada",
            True,
            f"False with objective.name={config.objective.name!r} (ADA's r_t = E[sign D(x)] "
            "needs a critic whose sign tells real from fake)",
        )
    if (r["bcr_real"] or r["bcr_fake"]) and not r["bcr_policy"]:
        raise ConfigError(
            "regularizer.bcr_policy", "", "a non-empty policy with bcr_real or bcr_fake > 0"
        )
