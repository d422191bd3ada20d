"""Every objective and penalty against its closed form or a hand-computed case, at extreme
logits, and every objective composed with every penalty."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import losses
from gan_jax.errors import ConfigError

REAL = jnp.array([2.0, -1.0, 0.5, 3.0])
FAKE = jnp.array([-2.0, 0.3, 1.5, -0.7])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def test_bce_d_loss_closed_form():
    loss, terms = losses.bce_d_loss(REAL, FAKE)
    expected_real = -np.mean(np.log(sigmoid(REAL)))
    expected_fake = -np.mean(np.log(1 - sigmoid(FAKE)))
    np.testing.assert_allclose(terms["real"], expected_real, rtol=1e-6)
    np.testing.assert_allclose(terms["fake"], expected_fake, rtol=1e-6)
    np.testing.assert_allclose(loss, expected_real + expected_fake, rtol=1e-6)


def test_minimax_g_loss_is_log_one_minus_d():
    loss, terms = losses.minimax_g_loss(FAKE)
    np.testing.assert_allclose(loss, np.mean(np.log(1 - sigmoid(FAKE))), rtol=1e-6)
    assert terms["fake"] == loss


def test_non_saturating_g_loss_is_minus_log_d():
    loss, _ = losses.non_saturating_g_loss(FAKE)
    np.testing.assert_allclose(loss, -np.mean(np.log(sigmoid(FAKE))), rtol=1e-6)


def test_wasserstein_closed_form():
    loss, terms = losses.wasserstein_d_loss(REAL, FAKE)
    np.testing.assert_allclose(loss, np.mean(FAKE) - np.mean(REAL), rtol=1e-6)
    np.testing.assert_allclose(terms["real"], -np.mean(REAL), rtol=1e-6)
    g, _ = losses.wasserstein_g_loss(FAKE)
    np.testing.assert_allclose(g, -np.mean(FAKE), rtol=1e-6)


@pytest.mark.parametrize("a,b,c", [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0)])
def test_least_squares_closed_form(a, b, c):
    obj = losses.get_objective({"name": "least_squares", "ls_a": a, "ls_b": b, "ls_c": c})
    d, terms = obj.d_loss(REAL, FAKE)
    expected_real = 0.5 * np.mean((np.asarray(REAL) - b) ** 2)
    expected_fake = 0.5 * np.mean((np.asarray(FAKE) - a) ** 2)
    np.testing.assert_allclose(d, expected_real + expected_fake, rtol=1e-6)
    np.testing.assert_allclose(terms["real"], expected_real, rtol=1e-6)
    g, _ = obj.g_loss(REAL, FAKE)
    np.testing.assert_allclose(g, 0.5 * np.mean((np.asarray(FAKE) - c) ** 2), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(losses.OBJECTIVES))
@pytest.mark.parametrize("logit", [80.0, -80.0])
def test_finite_values_and_gradients_at_extreme_logits(name, logit):
    obj = losses.OBJECTIVES[name]
    x = jnp.full((4,), logit)
    d_val, d_grads = jax.value_and_grad(lambda r, f: obj.d_loss(r, f)[0], argnums=(0, 1))(x, -x)
    g_val, g_grad = jax.value_and_grad(lambda f: obj.g_loss(-x, f)[0])(x)
    for v in (d_val, g_val, *d_grads, g_grad):
        assert np.all(np.isfinite(np.asarray(v))), (name, logit, v)


def test_bce_stays_accurate_where_probabilities_underflow():
    # sigmoid(-80) underflows to 0 in float32, so log(D) would be -inf; softplus is exact.
    loss, _ = losses.non_saturating_g_loss(jnp.array([-80.0]))
    np.testing.assert_allclose(loss, 80.0, rtol=1e-6)


def test_saturating_gradient_vanishes_where_non_saturating_does_not():
    """Goodfellow et al. 2014: when D rejects fakes confidently, log(1 - D) saturates."""
    confident_reject = jnp.full((8,), -10.0)
    g_mm = jax.grad(lambda f: losses.minimax_g_loss(f)[0])(confident_reject)
    g_ns = jax.grad(lambda f: losses.non_saturating_g_loss(f)[0])(confident_reject)
    # d/dl of -softplus(l) / n = -sigmoid(l) / n ~ -4.5e-5 / 8; of softplus(-l) / n ~ -1 / 8.
    assert np.max(np.abs(g_mm)) < 1e-5
    assert np.min(np.abs(g_ns)) > 0.12
    np.testing.assert_allclose(g_mm, -sigmoid(-10.0) / 8, rtol=1e-4)


def test_gradient_penalty_hand_computed_linear_critic():
    # f(x) = w . x has grad w everywhere: penalty = weight * (||w|| - 1)^2 for any interpolate.
    w = jnp.array([3.0, 4.0])  # ||w|| = 5
    critic = lambda x: x @ w  # noqa: E731
    real = jnp.ones((6, 2))
    fake = jnp.zeros((6, 2))
    pen, terms = losses.gradient_penalty(critic, real, fake, jax.random.key(0), weight=10.0)
    np.testing.assert_allclose(pen, 10.0 * (5.0 - 1.0) ** 2, rtol=1e-6)
    np.testing.assert_allclose(terms["interp_grad_norm"], 5.0, rtol=1e-6)


def test_gradient_penalty_hand_computed_quadratic_critic():
    # f(x) = 1/2 ||x||^2 has grad x^ = e x + (1 - e) y, so the penalty depends on e per sample.
    critic = lambda x: 0.5 * jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=-1)  # noqa: E731
    real = jax.random.normal(jax.random.key(1), (5, 3, 2, 1))
    fake = jax.random.normal(jax.random.key(2), (5, 3, 2, 1))
    key = jax.random.key(3)
    eps = jax.random.uniform(key, (5, 1, 1, 1))
    interp = np.asarray(eps * real + (1 - eps) * fake).reshape(5, -1)
    expected = 2.0 * np.mean((np.linalg.norm(interp, axis=1) - 1.0) ** 2)
    pen, _ = losses.gradient_penalty(critic, real, fake, key, weight=2.0)
    np.testing.assert_allclose(pen, expected, rtol=1e-5)


def test_losses_vmap_and_jit():
    batched = jnp.stack([REAL, FAKE, REAL * 2])
    out = jax.jit(jax.vmap(lambda r: losses.bce_d_loss(r, FAKE)[0]))(batched)
    np.testing.assert_allclose(out[0], losses.bce_d_loss(REAL, FAKE)[0], rtol=1e-6)


def test_registry_names_and_config_binding():
    assert set(losses.OBJECTIVES) == {
        "minimax",
        "non_saturating",
        "wasserstein",
        "wasserstein_gp",
        "least_squares",
        "hinge",
        "relativistic_average",
        "relativistic_average_ls",
        "relativistic_pairing",
        "f_gan",
    }
    assert losses.PENALTY_NAMES == ("none", "gp", "one_sided_gp", "dragan", "r1", "r2", "r1_r2")
    assert losses.get_objective({"name": "wasserstein", "clip": 0.05}).weight_clip == 0.05
    gp = losses.get_objective({"name": "wasserstein_gp", "gp_weight": 3.0})
    critic = lambda x: x @ jnp.array([0.0, 2.0])  # noqa: E731
    pen, _ = gp.penalty(critic, jnp.ones((2, 2)), jnp.zeros((2, 2)), jax.random.key(0))
    assert math.isclose(float(pen), 3.0, rel_tol=1e-6)
    with pytest.raises(ConfigError, match="objective.name='hinge_typo'.*allowed"):
        losses.get_objective({"name": "hinge_typo"})
    with pytest.raises(ConfigError, match="objective.penalty='r3'.*allowed"):
        losses.get_objective({"name": "hinge", "penalty": "r3"})
    with pytest.raises(ConfigError, match="objective.penalty='r1'.*wasserstein_gp"):
        losses.get_objective({"name": "wasserstein_gp", "penalty": "r1"})


def log_sigmoid(x):
    return -np.log1p(np.exp(-np.asarray(x, np.float64)))


def test_hinge_hand_computed():
    # relu(1 - real) = [0, 2, 0.5, 0], relu(1 + fake) = [0, 1.3, 2.5, 0.3].
    loss, terms = losses.hinge_d_loss(REAL, FAKE)
    np.testing.assert_allclose(
        [terms["real"], terms["fake"], loss], [0.625, 1.025, 1.65], rtol=1e-6
    )
    g, _ = losses.OBJECTIVES["hinge"].g_loss(REAL, FAKE)
    np.testing.assert_allclose(g, 0.225, rtol=1e-6)  # -mean(FAKE) = 0.9 / 4


def test_relativistic_average_standard_closed_form():
    """RaSGAN with sigmoid probabilities, in float64, as the paper writes it."""
    r = np.asarray(REAL, np.float64) - np.mean(FAKE)
    f = np.asarray(FAKE, np.float64) - np.mean(REAL)
    d, d_terms = losses.relativistic_average_d_loss(REAL, FAKE)
    np.testing.assert_allclose(d_terms["real"], -np.mean(np.log(sigmoid(r))), rtol=1e-6)
    np.testing.assert_allclose(d_terms["fake"], -np.mean(np.log(1 - sigmoid(f))), rtol=1e-6)
    np.testing.assert_allclose(d, -np.mean(log_sigmoid(r)) - np.mean(log_sigmoid(-f)), rtol=1e-6)
    g, g_terms = losses.OBJECTIVES["relativistic_average"].g_loss(REAL, FAKE)
    expected = -np.mean(np.log(sigmoid(f))) - np.mean(np.log(1 - sigmoid(r)))
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    np.testing.assert_allclose(g_terms["real"], -np.mean(np.log(1 - sigmoid(r))), rtol=1e-6)


def test_relativistic_average_ls_hand_computed():
    # Means: real 2, fake 1, so r = C(x_r) - 1 = [0, 2] and f = C(x_f) - 2 = [-2, 0].
    real, fake = jnp.array([1.0, 3.0]), jnp.array([0.0, 2.0])
    d, terms = losses.relativistic_average_ls_d_loss(real, fake)
    # (r - 1)^2 = [1, 1], (f + 1)^2 = [1, 1].
    np.testing.assert_allclose([terms["real"], terms["fake"], d], [1.0, 1.0, 2.0], rtol=1e-6)
    g, terms = losses.OBJECTIVES["relativistic_average_ls"].g_loss(real, fake)
    # (f - 1)^2 = [9, 1], (r + 1)^2 = [1, 9].
    np.testing.assert_allclose([terms["fake"], terms["real"], g], [5.0, 5.0, 10.0], rtol=1e-6)


@pytest.mark.parametrize("name", ["relativistic_average", "relativistic_average_ls"])
def test_relativistic_generator_loss_is_the_critic_loss_with_roles_swapped(name):
    obj = losses.OBJECTIVES[name]
    np.testing.assert_allclose(obj.g_loss(REAL, FAKE)[0], obj.d_loss(FAKE, REAL)[0], rtol=1e-6)
    # The real term reaches G through E[C(x_f)]: its gradient in the fake logits is not zero.
    grad = jax.grad(lambda f: obj.g_loss(REAL, f)[1]["real"])(FAKE)
    assert np.all(np.abs(np.asarray(grad)) > 1e-3)


def test_non_relativistic_generator_losses_ignore_real_outputs():
    for name in ("minimax", "non_saturating", "wasserstein", "least_squares", "hinge"):
        obj = losses.OBJECTIVES[name]
        assert obj.g_loss(REAL, FAKE)[0] == obj.g_loss(REAL * 7.0, FAKE)[0], name


W = jnp.array([3.0, 4.0])  # ||W|| = 5


def linear_critic(w):
    return lambda x: x.reshape(x.shape[0], -1) @ w


def quadratic_critic(x):
    """f(x) = 1/2 ||x||^2 per sample: grad f(x) = x."""
    return 0.5 * jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=-1)


@pytest.mark.parametrize(
    "name,weight,w,expected",
    [
        ("gp", 10.0, W, 10.0 * (5.0 - 1.0) ** 2),
        ("gp", 10.0, W / 10, 10.0 * (0.5 - 1.0) ** 2),
        ("one_sided_gp", 10.0, W, 10.0 * (5.0 - 1.0) ** 2),
        ("one_sided_gp", 10.0, W / 10, 0.0),  # norm 0.5 <= 1: no penalty
        ("dragan", 2.0, W, 2.0 * (5.0 - 1.0) ** 2),
        ("dragan", 2.0, W / 10, 2.0 * (0.5 - 1.0) ** 2),
        ("r1", 3.0, W, 3.0 / 2 * 25.0),
        ("r2", 3.0, W, 3.0 / 2 * 25.0),
    ],
)
def test_penalties_of_a_linear_critic(name, weight, w, expected):
    """grad (w . x) = w at every point, so each penalty is a function of ||w|| alone."""
    penalty = losses.make_penalty(name, weight)
    real = jax.random.normal(jax.random.key(0), (6, 2))
    fake = jax.random.normal(jax.random.key(1), (6, 2))
    value, terms = penalty(linear_critic(w), real, fake, jax.random.key(2))
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-7)
    assert terms["penalty"] == value
    (norm,) = [v for k, v in terms.items() if k.endswith("grad_norm")]
    np.testing.assert_allclose(norm, np.linalg.norm(w), rtol=1e-6)


def test_r1_and_r2_at_real_and_fake_data():
    # grad f(x) = x: R1 = gamma/2 E||x_real||^2, R2 = gamma/2 E||x_fake||^2.
    real = jax.random.normal(jax.random.key(1), (5, 3, 2, 1))
    fake = 3.0 * jax.random.normal(jax.random.key(2), (5, 3, 2, 1))
    sq = lambda x: np.sum(np.asarray(x).reshape(5, -1) ** 2, axis=1)  # noqa: E731
    r1, _ = losses.r1_penalty(quadratic_critic, real, fake, jax.random.key(0), gamma=4.0)
    r2, _ = losses.r2_penalty(quadratic_critic, real, fake, jax.random.key(0), gamma=4.0)
    np.testing.assert_allclose(r1, 2.0 * np.mean(sq(real)), rtol=1e-5)
    np.testing.assert_allclose(r2, 2.0 * np.mean(sq(fake)), rtol=1e-5)


def test_one_sided_gradient_penalty_quadratic_critic():
    real = jax.random.normal(jax.random.key(1), (64, 3))
    fake = 0.1 * jax.random.normal(jax.random.key(2), (64, 3))
    key = jax.random.key(3)
    eps = np.asarray(jax.random.uniform(key, (64, 1)))
    norms = np.linalg.norm(eps * np.asarray(real) + (1 - eps) * np.asarray(fake), axis=1)
    assert np.any(norms < 1) and np.any(norms > 1)  # both sides of the hinge are exercised
    pen, _ = losses.one_sided_gradient_penalty(quadratic_critic, real, fake, key, weight=2.0)
    np.testing.assert_allclose(pen, 2.0 * np.mean(np.maximum(norms - 1.0, 0.0) ** 2), rtol=1e-5)
    two_sided, _ = losses.gradient_penalty(quadratic_critic, real, fake, key, weight=2.0)
    assert float(pen) < float(two_sided)


def test_dragan_penalty_quadratic_critic_around_perturbed_real_data():
    """x~ = x + a * c * std(x) * u (u ~ U[0, 1) per element, a ~ U[0, 1] per sample)."""
    real = jax.random.normal(jax.random.key(1), (8, 2, 2, 1))
    key = jax.random.key(3)
    key_noise, key_alpha = jax.random.split(key)
    u = np.asarray(jax.random.uniform(key_noise, real.shape))
    a = np.asarray(jax.random.uniform(key_alpha, (8, 1, 1, 1)))
    x = np.asarray(real, np.float64)
    points = x + a * 0.25 * x.std() * u
    expected = 3.0 * np.mean((np.linalg.norm(points.reshape(8, -1), axis=1) - 1.0) ** 2)
    nan_fakes = jnp.full_like(real, jnp.nan)  # DRAGAN never looks at the fakes
    pen, terms = losses.dragan_penalty(quadratic_critic, real, nan_fakes, key, weight=3.0, c=0.25)
    np.testing.assert_allclose(pen, expected, rtol=1e-5)
    # The points lie within c * std(x) of the real data, element-wise.
    assert np.all(points - x <= 0.25 * x.std()) and np.all(points >= x)


def tiny_critic(params, x):
    """A two-layer tanh network, smooth enough for second derivatives."""
    h = jnp.tanh(x.reshape(x.shape[0], -1) @ params["w1"] + params["b1"])
    return h @ params["w2"]


BASE_OBJECTIVES = [n for n in sorted(losses.OBJECTIVES) if n != "wasserstein_gp"]


@pytest.mark.parametrize("penalty", losses.PENALTY_NAMES)
@pytest.mark.parametrize("name", BASE_OBJECTIVES)
def test_every_objective_composes_with_every_penalty(name, penalty):
    """d_loss + penalty and g_loss of the objective bound from config keys, and their gradients."""
    obj = losses.get_objective(
        {"name": name, "penalty": penalty, "penalty_weight": 3.0, "dragan_c": 0.5}
    )
    k = jax.random.split(jax.random.key(0), 5)
    params = {
        "w1": jax.random.normal(k[0], (2, 8)),
        "b1": jnp.zeros(8),
        "w2": jax.random.normal(k[1], (8,)),
    }
    real = jax.random.normal(k[2], (16, 2))
    z = jax.random.normal(k[3], (16, 2))

    def d_total(params, fake):
        critic = lambda x: tiny_critic(params, x)  # noqa: E731
        loss, terms = obj.d_loss(critic(real), critic(fake))
        if obj.penalty is not None:
            pen, pterms = obj.penalty(critic, real, fake, k[4])
            loss, terms = loss + pen, {**terms, **pterms}
        return loss, terms

    fake = 0.5 * z + 1.0
    (loss, terms), grads = jax.value_and_grad(d_total, has_aux=True)(params, fake)
    assert (obj.penalty is None) == (penalty == "none")
    if penalty != "none":
        # The bound penalty is the registry's function at the configured strength.
        strength = {"gamma": 3.0} if penalty in losses.GAMMA_PENALTIES else {"weight": 3.0}
        critic = lambda x: tiny_critic(params, x)  # noqa: E731
        expected = losses.PENALTIES[penalty](critic, real, fake, k[4], **strength)[0]
        np.testing.assert_allclose(terms["penalty"], expected, rtol=1e-5)
        np.testing.assert_allclose(loss, terms["real"] + terms["fake"] + expected, rtol=1e-5)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree.leaves(grads))
    assert any(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(grads))

    def g_total(theta):
        return obj.g_loss(tiny_critic(params, real), tiny_critic(params, theta * z + 1.0))[0]

    g_val, g_grad = jax.value_and_grad(g_total)(0.5)
    assert np.isfinite(g_val) and np.isfinite(g_grad) and g_grad != 0


def test_feature_matching_loss_hand_computed():
    # Batch means (1, 2) and (0, 4): squared distance 1 + 4 = 5; batch sizes may differ.
    real = jnp.asarray([[0.0, 1.0], [2.0, 3.0]])
    fake = jnp.asarray([[0.0, 4.0], [0.0, 2.0], [0.0, 6.0]])
    value, terms = losses.feature_matching_loss(real, fake)
    np.testing.assert_allclose(value, 5.0, rtol=1e-6)
    np.testing.assert_allclose(terms["feature_matching"], 5.0, rtol=1e-6)
    # Matching means give zero whatever the spread; the gradient moves the fake mean to the real.
    assert float(losses.feature_matching_loss(real, real[::-1] * 1.0)[0]) == 0.0
    grad = jax.grad(lambda f: losses.feature_matching_loss(real, f)[0])(fake)
    np.testing.assert_allclose(grad, np.tile(2 * (np.asarray([0.0, 4.0]) - [1.0, 2.0]) / 3, (3, 1)))
