"""StarGAN (gan_jax/games/stargan.py): its losses on constructed inputs (known networks ->
known values), the measures of the true transforms, the checks, and a tiny run end to end."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_config

from gan_jax import data, runs, train, validation
from gan_jax.errors import ConfigError
from gan_jax.games import stargan
from gan_jax.models.translation import PerDomainCritics, ResnetGenerator


class StubContext:
    """steps.Context's API over fixed functions standing in for the networks."""

    def __init__(self, nets):
        self.nets = nets

    def __call__(self, name, *inputs, train):
        return self.nets[name](*inputs)

    def randint(self, key, shape, high):
        return jax.random.randint(key, shape, 0, high)


K = 1 / 8  # D_src(x) = K * sum(x) on every patch: grad norm K * sqrt(256) = 2 on 16x16x1


def critic(x, logits=None):
    score = K * jnp.sum(x, axis=(1, 2, 3))
    src = jnp.broadcast_to(score[:, None, None, None], (x.shape[0], 4, 4, 1))
    cls = (
        jnp.zeros((x.shape[0], 4)) if logits is None else jnp.broadcast_to(logits, (x.shape[0], 4))
    )
    return src, cls


def shift_generator(xd):  # G(x, c) = x + 0.5, whatever c: G(G(x, c), c') = x + 1
    return xd[..., :1] + 0.5


def test_with_domain_tiles_the_one_hot_target():
    x = jnp.zeros((2, 3, 3, 1))
    out = stargan.with_domain(x, jnp.asarray([2, 0]), 4)
    assert out.shape == (2, 3, 3, 5)
    np.testing.assert_array_equal(out[0, 1, 2], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(out[1, 0, 0], [0, 1, 0, 0, 0])


def test_generator_reads_its_target_domain():
    """G(x, c) must depend on c. With CycleGAN's reflection padding the tiled code's constant
    planes stay constant through the stem, and instance norm subtracts them: G is blind to c
    (to float rounding). StarGAN's zero-padded G (the paper's) keeps the code."""
    x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 1), minval=-1, maxval=1)
    run = runs.build_run(load_config("stargan", **{"game.g_width": 4, "game.g_blocks": 1}))
    state = run.init_state(jax.random.key(0))
    outs = [stargan.translate(state, x, jnp.full((4,), c, jnp.int32), 4) for c in range(4)]
    assert min(float(jnp.max(jnp.abs(outs[0] - o))) for o in outs[1:]) > 0.05
    blind = ResnetGenerator(4, 1, "instance", out_channels=1, padding="reflect")
    variables = blind.init(jax.random.key(1), stargan.with_domain(x, jnp.zeros(4, jnp.int32), 4))
    reflect = [
        blind.apply(variables, stargan.with_domain(x, jnp.full((4,), c, jnp.int32), 4))
        for c in range(4)
    ]
    assert max(float(jnp.max(jnp.abs(reflect[0] - o))) for o in reflect[1:]) < 1e-3


def test_domain_cross_entropy_closed_form():
    assert float(stargan.domain_cross_entropy(jnp.zeros((3, 4)), jnp.asarray([0, 1, 3]))) == (
        pytest.approx(np.log(4))
    )
    logits = jnp.asarray([[np.log(3.0), 0.0]])  # p(0) = 3/4
    assert float(stargan.domain_cross_entropy(logits, jnp.asarray([0]))) == pytest.approx(
        -np.log(0.75)
    )


def test_critic_loss_closed_form():
    x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 1), minval=-1, maxval=1)
    batch = {"x": x, "domain": jnp.asarray([0, 1, 2, 3])}
    ctx = StubContext({"g": shift_generator, "d": critic})
    loss, terms = stargan.critic_loss(
        ctx, batch, jax.random.key(1), num_domains=4, cls_weight=1.0, gp_weight=10.0
    )
    # E[D(fake)] - E[D(x)] = K * 0.5 * 256 = 16; the gradient norm is 2 everywhere: GP 10 (2-1)^2.
    assert float(terms["real"] + terms["fake"]) == pytest.approx(K * 0.5 * 256, rel=1e-5)
    assert float(terms["interp_grad_norm"]) == pytest.approx(2.0, rel=1e-5)
    assert float(terms["penalty"]) == pytest.approx(10.0, rel=1e-5)
    assert float(terms["cls_real"]) == pytest.approx(np.log(4))
    assert float(loss) == pytest.approx(16.0 + 10.0 + np.log(4), rel=1e-5)


def test_least_squares_arm_closed_form():
    """game.adversarial='least_squares': 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G)^2] for the critic,
    1/2 E[(D(G) - 1)^2] for G, on every patch score, no gradient penalty."""
    x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 1), minval=-1, maxval=1)
    batch = {"x": x, "domain": jnp.asarray([0, 1, 2, 3])}
    ctx = StubContext({"g": shift_generator, "d": critic})
    loss, terms = stargan.critic_loss(
        ctx, batch, jax.random.key(1), num_domains=4, cls_weight=1.0, gp_weight=10.0,
        adversarial="least_squares",
    )  # fmt: skip
    real = K * x.sum((1, 2, 3))
    fake = K * (x + 0.5).sum((1, 2, 3))
    expected = 0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake**2)
    assert "penalty" not in terms
    assert float(loss) == pytest.approx(float(expected) + np.log(4), rel=1e-5)
    g_loss, g_terms = stargan.generator_loss(
        ctx, batch, jax.random.key(1), num_domains=4, cls_weight=0.0, rec_weight=0.0,
        adversarial="least_squares",
    )  # fmt: skip
    assert float(g_loss) == pytest.approx(float(0.5 * np.mean((fake - 1) ** 2)), rel=1e-5)
    assert float(g_terms["rec"]) == pytest.approx(1.0, rel=1e-5)  # G(G(x)) = x + 1


def test_generator_loss_closed_form_classifies_fakes_as_their_targets():
    x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 1), minval=-1, maxval=1)
    batch = {"x": x, "domain": jnp.zeros((4,), jnp.int32)}
    key = jax.random.key(3)
    target = stargan.draw_targets(StubContext({}), key, batch["domain"], 4)

    # G writes its target into the image's first pixel, D_cls reads it back with confidence.
    def generator(xd):
        code = jnp.argmax(xd[:, 0, 0, 1:], axis=-1).astype(jnp.float32)
        return xd[..., :1].at[:, 0, 0, 0].set(code)

    def d(y):
        src, _ = critic(y)
        return src, 50.0 * jax.nn.one_hot(jnp.round(y[:, 0, 0, 0]).astype(jnp.int32), 4)

    ctx = StubContext({"g": generator, "d": d})
    loss, terms = stargan.generator_loss(
        ctx, batch, key, num_domains=4, cls_weight=1.0, rec_weight=10.0
    )
    assert float(terms["cls_fake"]) < 1e-6  # the fakes carry their targets
    fake = generator(stargan.with_domain(x, target, 4))
    rec = float(jnp.mean(jnp.abs(fake.at[:, 0, 0, 0].set(0.0) - x)))  # back to domain 0
    assert float(terms["rec"]) == pytest.approx(rec, rel=1e-5)
    assert float(terms["fake"]) == pytest.approx(
        -float(jnp.mean(K * fake.sum((1, 2, 3)))), rel=1e-5
    )
    assert float(loss) == pytest.approx(float(terms["fake"]) + 10 * rec, rel=1e-4, abs=1e-5)


def test_targets_other_never_draws_the_source_and_reaches_every_other_domain():
    source = jnp.tile(jnp.arange(3, dtype=jnp.int32), 400)
    ctx, key = StubContext({}), jax.random.key(5)
    other = np.asarray(stargan.draw_targets(ctx, key, source, 3, "other"))
    assert not np.any(other == np.asarray(source))
    for s in range(3):  # each of the two others about half the time
        counts = np.bincount(other[np.asarray(source) == s], minlength=3)
        assert counts[s] == 0 and min(np.delete(counts, s)) > 160
    anyd = np.asarray(stargan.draw_targets(ctx, key, source, 3, "any"))
    assert 300 < np.sum(anyd == np.asarray(source)) < 500  # 'any': a third are the source


def test_translation_metrics_of_the_true_transforms_are_the_classifier_accuracy(
    digits_classifier,
):
    names = ("identity", "invert", "rot90")
    parts = data.digits_domains_arrays(16, ",".join(names))

    def exact(x, i, j):
        undo = data.domain_transform(names[i])[1]
        return data.domain_transform(names[j])[0](undo(x)), x

    m = stargan.translation_metrics(exact, parts, names, digits_classifier)
    for i in names:
        for j in names:
            if i != j:
                assert m[f"class_preservation_{i}_{j}"] == m[f"classifier_accuracy_{i}"] > 0.97
    assert m["rec_l1"] == 0.0
    # A wrong map (the identity) breaks the rotations' classes and puts FD up.
    wrong = stargan.translation_metrics(lambda x, i, j: (x, None), parts, names, digits_classifier)
    assert wrong["class_preservation_identity_rot90"] < 0.3 < m["class_preservation_identity_rot90"]
    assert wrong["fd_identity_rot90"] > 10 * m["fd_identity_rot90"]


def per_domain_critic(x):
    """Two critics: domain d's score K (d + 1) sum(x) on every patch; no D_cls."""
    score = K * jnp.sum(x, axis=(1, 2, 3))
    maps = jnp.stack([score, 2 * score], axis=-1)[:, None, None, :]
    return jnp.broadcast_to(maps, (x.shape[0], 4, 4, 2)), None


def test_per_domain_critics_score_reals_by_source_and_fakes_by_target():
    """game.critic='per_domain': the least-squares losses read, per image, the critic of its
    domain (the source's for a real image, the target's for a translation), with no D_cls."""
    x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 1), minval=-1, maxval=1)
    source = jnp.asarray([0, 1, 0, 1])
    batch = {"x": x, "domain": source}
    ctx = StubContext({"g": shift_generator, "d": per_domain_critic})
    kwargs = dict(num_domains=2, adversarial="least_squares", targets="other")
    loss, terms = stargan.critic_loss(
        ctx, batch, jax.random.key(1), cls_weight=0.0, gp_weight=10.0, **kwargs
    )
    target = 1 - np.asarray(source)  # 'other' at N = 2
    real = K * np.asarray(x.sum((1, 2, 3))) * (np.asarray(source) + 1)
    fake = K * np.asarray((x + 0.5).sum((1, 2, 3))) * (target + 1)
    assert "cls_real" not in terms
    expected = 0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake**2)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    g_loss, g_terms = stargan.generator_loss(
        ctx, batch, jax.random.key(1), cls_weight=0.0, rec_weight=0.0, **kwargs
    )
    assert "cls_fake" not in g_terms
    assert float(g_loss) == pytest.approx(float(0.5 * np.mean((fake - 1) ** 2)), rel=1e-5)


def test_per_domain_critics_module_has_one_independent_critic_per_domain():
    critics = PerDomainCritics(width=4, num_layers=2, num_domains=3)
    x = jax.random.normal(jax.random.key(0), (2, 16, 16, 1))
    params = critics.init(jax.random.key(1), x)
    maps, cls = critics.apply(params, x)
    assert maps.shape == (2, 4, 4, 3) and cls is None
    assert set(params["params"]) == {"critic0", "critic1", "critic2"}
    # Different initial weights: the three maps differ.
    assert float(jnp.abs(maps[..., 0] - maps[..., 1]).max()) > 1e-4


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("data.name", "digits_unpaired", "data.name"),
        ("game.g_width", 0, "game.g_width"),
        ("game.rec_weight", -1.0, "game.rec_weight"),
        ("game.norm", "batch", "game.norm"),
        ("game.adversarial", "hinge", "game.adversarial"),
        ("game.targets", "same", "game.targets"),
        ("game.critic", "patch", "game.critic"),
        ("train.batch_size", 30, "train.batch_size"),
    ],
)
def test_check_refuses_what_stargan_cannot_train(key, value, match):
    cfg = load_config("stargan", **{key: value})
    with pytest.raises(ConfigError, match=match):
        validation.validate(cfg)


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"game.adversarial": "least_squares"}, "game.cls_weight"),  # D_cls has no head there
        ({"game.cls_weight": 0.0}, "game.adversarial"),  # WGAN-GP across two critics: no
    ],
)
def test_check_refuses_per_domain_critics_outside_their_loss(overrides, match):
    cfg = load_config("stargan", **{"game.critic": "per_domain", **overrides})
    with pytest.raises(ConfigError, match=match):
        validation.validate(cfg)


@pytest.mark.slow
def test_end_to_end_train_and_headline(tmp_path, digits_classifier):
    cfg = load_config(
        "stargan",
        **{
            "game.g_width": 4,
            "game.g_blocks": 1,
            "game.d_width": 4,
            "data.domains": "identity,invert",
        },
    )
    cfg.train.batch_size, cfg.train.steps, cfg.train.d_steps = 8, 2, 2
    cfg.train.log_every, cfg.train.sample_every, cfg.checkpoint.every_steps = 1, 2, 2
    cfg.eval.every_steps, cfg.eval.at_start = 2, False
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 2 and int(state.nets["d"].step) == 4
    final = json.loads((tmp_path / "eval.json").read_text())
    assert 0 <= final["headline/class_preservation"] <= 1 and final["headline/fd"] > 0
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    # Same seed, same numbers.
    again = runs.build_run(cfg)
    s0 = again.init_state(jax.random.key(cfg.seed))
    s1 = runs.build_run(cfg).init_state(jax.random.key(cfg.seed))
    for a, b in zip(jax.tree.leaves(s0.nets), jax.tree.leaves(s1.nets), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
