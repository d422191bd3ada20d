"""CycleGAN (gan_jax/games/cyclegan.py): its losses in closed form, the history pool against the
reference ImagePool, the unpaired dataset, and the loop (end to end, exact resume, k steps per
dispatch, 1 vs 8 devices)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import override

from configs import cyclegan as recipe
from gan_jax import data, divergence, evaluate, runs, train
from gan_jax.dispatch import make_dispatch
from gan_jax.errors import ConfigError
from gan_jax.games import cyclegan
from gan_jax.losses import least_squares_d_loss

REPO = pathlib.Path(__file__).resolve().parents[1]


def tiny_config(**overrides):
    cfg = recipe.get_config()
    cfg.game.g_width, cfg.game.g_blocks, cfg.game.d_width = 4, 1, 4
    cfg.train.batch_size, cfg.train.steps, cfg.train.log_every = 8, 2, 1
    cfg.train.sample_every, cfg.eval.every_steps, cfg.checkpoint.every_steps = 0, 0, 2
    cfg.game.pool_size = 12  # fills in two steps of 8, then swaps
    cfg.eval.at_start = False
    cfg.game.identity_weight = 5.0  # every term of the loss (the recipe has no identity loss)
    return override(cfg, overrides)


def leaves(state):
    """Every leaf as a NumPy array by its path (PRNG keys as their raw data)."""
    out = {}
    for path, v in jax.tree.leaves_with_path(state):
        if jnp.issubdtype(v.dtype, jax.dtypes.prng_key):
            v = jax.random.key_data(v)
        out[jax.tree_util.keystr(path)] = np.asarray(v)
    return out


def assert_states_equal(a, b, rtol=0.0, atol=0.0):
    la, lb = leaves(a), leaves(b)
    assert la.keys() == lb.keys()
    for k in la:
        if rtol == atol == 0.0:
            np.testing.assert_array_equal(la[k], lb[k], err_msg=k)
        else:
            np.testing.assert_allclose(la[k], lb[k], rtol=rtol, atol=atol, err_msg=k)


# ---------------------------------------------------------------------------------------------
# Losses on constructed inputs.


class StubContext:
    """A loss's view of fixed functions standing in for the networks (steps.Context's API)."""

    def __init__(self, nets, aux=None):
        self.nets, self.aux, self.new_aux = nets, dict(aux or {}), {}

    def __call__(self, name, *inputs, train):
        return self.nets[name](*inputs)

    def set_aux(self, name, value):
        assert name in self.aux
        self.new_aux[name] = value

    def constrain(self, x):
        return x


def test_l1_and_least_squares_patch_losses_closed_form():
    x, y = jnp.zeros((2, 4, 4, 1)), jnp.full((2, 4, 4, 1), -0.5).at[0].set(1.5)
    assert float(cyclegan.l1(x, y)) == pytest.approx((1.5 + 0.5) / 2)
    # A patch map: half the patches score 1 (G's target, no loss), half score 0 (loss 1).
    scores = jnp.zeros((2, 4, 4, 1)).at[:, :2].set(1.0)
    assert float(cyclegan.ls_generator(scores, c=1.0)) == pytest.approx(0.5)
    # D: 1/2 E[(D(real) - 1)^2] + 1/2 E[D(fake)^2], each a mean over batch and patches.
    loss, terms = least_squares_d_loss(scores, scores, a=0.0, b=1.0)
    assert float(terms["real"]) == pytest.approx(0.25)
    assert float(terms["fake"]) == pytest.approx(0.25)


@pytest.mark.parametrize("identity_weight", [0.0, 5.0])
def test_generator_loss_closed_form(identity_weight):
    a = jax.random.uniform(jax.random.key(0), (3, 16, 16, 1), minval=-1, maxval=1)
    b = jax.random.uniform(jax.random.key(1), (3, 16, 16, 1), minval=-1, maxval=1)
    shift = 0.25  # g_ba(g_ab(x)) = x + shift: the cycle error is |shift| per pixel
    nets = {
        "g_ab": lambda x: -x,
        "g_ba": lambda x: -x + shift,
        "d_a": lambda x: jnp.full((x.shape[0], 4, 4, 1), 0.5),  # every patch 0.5
        "d_b": lambda x: jnp.full((x.shape[0], 4, 4, 1), -1.0),
    }
    batch = {"a": a, "b": b}
    loss, terms = cyclegan.generator_loss(
        StubContext(nets),
        batch,
        jax.random.key(2),
        cycle_weight=10.0,
        identity_weight=identity_weight,
    )
    assert float(terms["adv_ab"]) == pytest.approx(4.0)  # (-1 - 1)^2
    assert float(terms["adv_ba"]) == pytest.approx(0.25)  # (0.5 - 1)^2
    assert float(terms["cycle_a"]) == pytest.approx(shift)  # -(-a) + shift - a
    assert float(terms["cycle_b"]) == pytest.approx(shift, rel=1e-5)  # -(-b + shift) ... - b
    expected = 4.25 + 10 * 2 * shift
    if identity_weight:
        idt_a = float(jnp.mean(jnp.abs(-a + shift - a)))
        idt_b = float(jnp.mean(jnp.abs(2 * b)))
        assert float(terms["identity_a"]) == pytest.approx(idt_a, rel=1e-5)
        assert float(terms["identity_b"]) == pytest.approx(idt_b, rel=1e-5)
        expected += identity_weight * (idt_a + idt_b)
    else:
        assert "identity_a" not in terms
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_discriminator_loss_closed_form_and_pool_update():
    n, size = 4, 6
    a, b = jnp.ones((n, 16, 16, 1)), -jnp.ones((n, 16, 16, 1))
    # Critics that score an image by its mean pixel: real a -> 1, real b -> -1.
    critic = lambda x: jnp.broadcast_to(
        jnp.mean(x, axis=(1, 2, 3))[:, None, None, None], (x.shape[0], 4, 4, 1)
    )
    nets = {"g_ab": lambda x: 0.5 * x, "g_ba": lambda x: 0.5 * x, "d_a": critic, "d_b": critic}
    aux = {
        "pool_a": jnp.zeros((size, 16, 16, 1)),
        "pool_b": jnp.zeros((size, 16, 16, 1)),
        "pool_count": jnp.zeros((), jnp.int32),
    }
    ctx = StubContext(nets, aux)
    loss, terms = cyclegan.discriminator_loss(
        ctx, {"a": a, "b": b}, jax.random.key(0), pool_size=size
    )
    # The pool is filling: D sees the fresh fakes g_ba(b) = -0.5 and g_ab(a) = 0.5.
    assert float(terms["a_real"]) == pytest.approx(0.0)  # 1/2 (1 - 1)^2
    assert float(terms["a_fake"]) == pytest.approx(0.125)  # 1/2 (-0.5)^2
    assert float(terms["b_real"]) == pytest.approx(2.0)  # 1/2 (-1 - 1)^2
    assert float(terms["b_fake"]) == pytest.approx(0.125)
    assert float(loss) == pytest.approx(2.25)
    assert int(ctx.new_aux["pool_count"]) == n
    np.testing.assert_array_equal(ctx.new_aux["pool_a"][:n], -0.5 * np.ones((n, 16, 16, 1)))
    np.testing.assert_array_equal(ctx.new_aux["pool_b"][n:], 0.0)
    # Without a pool the loss is the same and nothing is written.
    ctx = StubContext(nets)
    loss0, _ = cyclegan.discriminator_loss(ctx, {"a": a, "b": b}, jax.random.key(0), pool_size=0)
    assert float(loss0) == float(loss) and not ctx.new_aux


# ---------------------------------------------------------------------------------------------
# The history pool.


def reference_query(pool, count, fakes, u, slot):
    """CycleGAN's ImagePool.query (util/image_pool.py), image by image, with given draws."""
    pool, out = np.array(pool), []
    for i, image in enumerate(np.asarray(fakes)):
        if count < len(pool):
            pool[count], count = image, count + 1
            out.append(image)
        elif u[i] > 0.5:
            out.append(pool[slot[i]].copy())
            pool[slot[i]] = image
        else:
            out.append(image)
    return pool, count, np.stack(out)


def test_pool_fills_first_then_returns_a_mix():
    size, n = 50, 30
    pool, count = jnp.zeros((size, 2, 2, 1)), jnp.zeros((), jnp.int32)
    query = jax.jit(cyclegan.pool_query)
    batches = [
        jnp.full((n, 2, 2, 1), float(k + 1)) + jnp.arange(n)[:, None, None, None] / 100
        for k in range(4)
    ]
    # Batch 1: 30 images fill slots 0..29 and come back unchanged.
    pool, count, out = query(pool, count, batches[0], jax.random.key(10))
    np.testing.assert_array_equal(out, batches[0])
    np.testing.assert_array_equal(pool[:n], batches[0])
    assert int(count) == n
    # Batch 2: 20 fill slots 30..49 (returned as they are), the last 10 may swap.
    pool, count, out = query(pool, count, batches[1], jax.random.key(11))
    np.testing.assert_array_equal(out[:20], batches[1][:20])
    # Slots 30..49 hold batch 2's images (its first 20, or a later one that swapped in).
    held = np.asarray(pool[n:]).reshape(20, 1, -1)
    assert np.all(np.any(np.all(held == np.asarray(batches[1]).reshape(1, n, -1), -1), -1))
    kept = np.all(held[:, 0] == np.asarray(batches[1][:20]).reshape(20, -1), axis=-1)
    assert 10 <= np.sum(kept) < 20  # a few of the last 10 swapped into 30..49
    assert int(count) == size
    # Batches 3, 4: the pool is full; D sees a mix of old and new images, about half each.
    old = 0
    for k, key in ((2, 12), (3, 13)):
        pool, count, out = query(pool, count, batches[k], jax.random.key(key))
        fresh = np.all(np.asarray(out) == np.asarray(batches[k]), axis=(1, 2, 3))
        old += int(np.sum(~fresh))
        assert 0 < np.sum(fresh) < n
        assert int(count) == size
    assert 15 <= old <= 45


@pytest.mark.parametrize("size, count", [(4, 0), (4, 2), (4, 4), (50, 45)])
def test_pool_matches_the_reference_image_by_image(size, count):
    # Batches larger than the pool: slots written twice in one batch, reads of slots an earlier
    # image of the same batch wrote.
    n = 16
    key = jax.random.key(size + count)
    pool = jax.random.normal(jax.random.fold_in(key, 0), (size, 3, 3, 1))
    fakes = jax.random.normal(jax.random.fold_in(key, 1), (n, 3, 3, 1))
    for trial in range(5):
        draw_key = jax.random.fold_in(key, 2 + trial)
        u, slot = jax.device_get(cyclegan.pool_draws(draw_key, n, size))
        want_pool, want_count, want_out = reference_query(pool, count, fakes, u, slot)
        got_pool, got_count, got_out = jax.jit(cyclegan.pool_query)(
            pool, jnp.asarray(count, jnp.int32), fakes, draw_key
        )
        np.testing.assert_array_equal(got_out, want_out)
        np.testing.assert_array_equal(got_pool, want_pool)
        assert int(got_count) == want_count


# ---------------------------------------------------------------------------------------------
# The dataset.


@pytest.mark.parametrize("domain_b", ["invert", "rot90"])
def test_digits_unpaired_contract(domain_b):
    ds = data.get_dataset({"name": "digits_unpaired", "resolution": 16, "domain_b": domain_b})
    assert ds.shape == (16, 16, 1) and ds.is_image and not ds.on_host and ds.num_classes == 10
    sample = jax.jit(ds.sample, static_argnums=1)
    batch = sample(jax.random.key(0), 64)
    assert set(batch) == {"a", "label_a", "b", "label_b"}
    for x in ("a", "b"):
        assert batch[x].shape == (64, 16, 16, 1) and batch[x].dtype == jnp.float32
        assert batch[f"label_{x}"].shape == (64,) and batch[f"label_{x}"].dtype == jnp.int32
        assert float(jnp.min(batch[x])) >= -1 and float(jnp.max(batch[x])) <= 1
    assert_states_equal(batch, sample(jax.random.key(0), 64))  # pure
    assert not np.array_equal(batch["a"], sample(jax.random.key(1), 64)["a"])
    # Unpaired: the B images are the transform of the *other* half of the digits.
    a, label_a, b, label_b = data.digits_unpaired_arrays(16, domain_b)
    transform, undo = data.DOMAIN_TRANSFORMS[domain_b]
    np.testing.assert_array_equal(undo(transform(a)), a)
    images, labels = data.digits_arrays(16)
    assert len(a) + len(b) == len(images)
    both = np.concatenate([a, undo(b)]).reshape(len(images), -1)
    np.testing.assert_array_equal(
        np.sort(both, axis=0), np.sort(images.reshape(len(images), -1), axis=0)
    )
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([label_a, label_b])), np.bincount(labels)
    )
    # a and b are drawn independently: the two label sequences are not the same.
    assert not np.array_equal(batch["label_a"], batch["label_b"])


def test_check_rejects_what_cyclegan_cannot_train():
    for key, value, match in [
        ("objective.name", "hinge", "objective.name"),
        ("data.name", "digits", "data.name"),
        ("data.domain_b", "blur", "data.domain_b"),
        ("game.pool_size", -1, "game.pool_size"),
        ("game.norm", "batch", "game.norm"),
        ("train.d_steps", 2, "train.d_steps"),
        ("train.batch_size", 1000, "train.batch_size"),
    ]:
        with pytest.raises(ConfigError, match=match):
            runs.build_run(tiny_config(**{key: value}))


# ---------------------------------------------------------------------------------------------
# The loop.


@pytest.mark.slow
def test_end_to_end_train_sample_and_headline(tmp_path, digits_classifier):
    cfg = tiny_config()
    state = train.train_and_evaluate(cfg, tmp_path)
    assert int(state.step) == 2 and int(state.aux["pool_count"]) == 12
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    logged = {k for r in records for k in r}
    for name in ("g/adv_ab", "g/cycle_a", "g/identity_b", "d/a_real", "d/b_fake", "d/loss"):
        assert name in logged
    assert (tmp_path / "samples" / "step_0000002.png").is_file()
    out = tmp_path / "translations.npy"
    cli = [sys.executable, "-m", "gan_jax.sample", f"--workdir={tmp_path}", "--num=10"]
    result = subprocess.run(cli + [f"--out={out}"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    images = np.load(out)
    assert images.shape == (10, 16, 16, 1) and np.all(np.abs(images) <= 1)
    run, loaded, step = runs.load_run(tmp_path)
    assert step == 2
    assert_states_equal(loaded, state)
    # The headline is the run's evaluation record (no feature extractor fits translations).
    final = json.loads((tmp_path / "eval.json").read_text())
    assert final == {"step": 2, **evaluate.evaluate_checkpoint(tmp_path)}
    headline = {f"headline/{k}": v for k, v in run.game.headline(run, loaded).items()}
    assert final == {"step": 2, "protocol": {"headline": "cyclegan"}, **headline}
    for name in ("class_preservation_ab", "class_preservation_ba"):
        assert 0 <= final[f"headline/{name}"] <= 1
    assert 0 < final["headline/cycle_l1"] < 2 and 0 < final["headline/cycle_l1_b"] < 2
    assert final["headline/classifier_accuracy_a"] > 0.95
    assert final["headline/classifier_accuracy_b"] > 0.95


def test_headline_of_the_true_transform_is_the_classifier_accuracy(digits_classifier):
    # G_AB = the transform, G_BA = its inverse: class preserved whenever the classifier is right.
    domains = a, _, b, _ = data.digits_unpaired_arrays(16, "invert")
    exact = {"fake_b": -a, "rec_a": a, "fake_a": -b, "rec_b": b}
    scores = cyclegan.translation_metrics(exact, digits_classifier, domains, "invert")
    assert scores["class_preservation_ab"] == scores["classifier_accuracy_a"] > 0.97
    assert scores["class_preservation_ba"] == scores["classifier_accuracy_b"] > 0.97
    assert scores["cycle_l1"] == scores["transform_l1_ab"] == 0.0


@pytest.mark.slow
def test_exact_resume_pool_included(tmp_path):
    straight = train.train_and_evaluate(tiny_config(**{"train.steps": 8}), tmp_path / "straight")
    train.train_and_evaluate(tiny_config(**{"train.steps": 4}), tmp_path / "resumed")
    resumed = train.train_and_evaluate(tiny_config(**{"train.steps": 8}), tmp_path / "resumed")
    assert int(resumed.aux["pool_count"]) == 12
    assert_states_equal(resumed, straight)


@pytest.mark.slow
def test_two_steps_per_dispatch_equal_two_dispatches_of_one():
    run = runs.build_run(tiny_config())
    state = jax.jit(run.init_state)(jax.random.key(0))
    one, two = make_dispatch(run, 1), make_dispatch(run, 2)
    guard = divergence.init_guard()
    double, _, double_metrics = two(jax.tree.map(jnp.copy, state), guard)
    for _ in range(2):
        state, guard, metrics = one(state, guard)
    assert int(double.step) == int(state.step) == 2
    assert one._cache_size() == 1  # the pool's count is traced, not a Python int: one program
    assert_states_equal(double, state, rtol=1e-5, atol=1e-6)
    for k in metrics:
        np.testing.assert_allclose(double_metrics[k], metrics[k], rtol=1e-5, atol=1e-6)


WORKER = """
import sys, numpy as np, jax
sys.path.insert(0, {repo!r})
from tests.test_cyclegan import tiny_config, leaves
from gan_jax import divergence, sharding, runs
from gan_jax.dispatch import make_dispatch
run = runs.build_run(tiny_config())
mesh = sharding.make_mesh()
assert mesh.size == 8, mesh
state = jax.device_put(jax.jit(run.init_state)(jax.random.key(0)), sharding.replicated(mesh))
step, guard = make_dispatch(run, 1, mesh), divergence.init_guard()
for _ in range(3):
    state, guard, _ = step(state, guard)
for name in ("pool_a", "pool_b", "pool_count"):
    assert state.aux[name].sharding.is_fully_replicated, name
    replicas = [np.asarray(s.data) for s in state.aux[name].addressable_shards]
    assert len(replicas) == 8 and all(np.array_equal(r, replicas[0]) for r in replicas), name
np.savez({out!r}, **leaves(state))
"""


@pytest.mark.slow
def test_eight_devices_match_one(tmp_path):
    out = tmp_path / "eight.npz"
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"
    result = subprocess.run(
        [sys.executable, "-c", WORKER.format(repo=str(REPO), out=str(out))],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = runs.build_run(tiny_config())
    state, guard = jax.jit(run.init_state)(jax.random.key(0)), divergence.init_guard()
    step = make_dispatch(run, 1)
    for _ in range(3):
        state, guard, _ = step(state, guard)
    eight = dict(np.load(out))
    one = leaves(state)
    assert eight.keys() == one.keys()
    for k in one:
        np.testing.assert_allclose(eight[k], one[k], rtol=2e-4, atol=2e-5, err_msg=k)
