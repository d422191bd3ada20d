"""f-GAN (Nowozin et al. 2016): Table 2 against f itself, the bound at the optimal critic against
each divergence's closed form, the losses against the bound, the GAN row against the original
game, the config keys and the recipe."""

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import REPO, load_config

from gan_jax import losses, theory, validation
from gan_jax.errors import ConfigError

NAMES = sorted(losses.F_DIVERGENCES)


def densities(seed, n=40):
    k1, k2 = jax.random.split(jax.random.key(seed))
    p = jax.random.uniform(k1, (n,), minval=0.05) ** 2
    q = jax.random.uniform(k2, (n,), minval=0.05) ** 2
    return p / p.sum(), q / q.sum()


def closed_form(name, p, q):
    """Each divergence written out on its own (float64 numpy), not through f."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    m = 0.5 * (p + q)
    js = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    return {
        "kl": np.sum(p * np.log(p / q)),
        "reverse_kl": np.sum(q * np.log(q / p)),
        "pearson": np.sum((p - q) ** 2 / q),
        "neyman": np.sum((q - p) ** 2 / p),
        "squared_hellinger": np.sum((np.sqrt(p) - np.sqrt(q)) ** 2),
        "jensen_shannon": 2 * js,
        "gan": 2 * js - math.log(4),
        "total_variation": 0.5 * np.sum(np.abs(p - q)),
    }[name]


def test_the_eight_divergences_of_table_2():
    assert set(NAMES) == {
        "kl",
        "reverse_kl",
        "pearson",
        "neyman",
        "squared_hellinger",
        "jensen_shannon",
        "gan",
        "total_variation",
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_f_divergence_on_tabulated_densities_is_its_closed_form(name, seed):
    p, q = densities(seed)
    np.testing.assert_allclose(
        theory.f_divergence(p, q, name), closed_form(name, p, q), rtol=1e-5, atol=2e-6
    )


def test_f_divergences_vanish_for_equal_distributions_but_gan():
    p, _ = densities(2)
    for name in NAMES:
        expected = -math.log(4) if name == "gan" else 0.0
        np.testing.assert_allclose(theory.f_divergence(p, p, name), expected, atol=1e-6)


# Critic values t inside dom f*, as f'(u) at ratios u = p / q that a fine grid of u resolves.
RATIOS = jnp.array([0.2, 0.7, 1.5, 4.0])


@pytest.mark.parametrize("name", NAMES)
def test_table_2_conjugate_is_the_fenchel_conjugate_of_f(name):
    """f*(t) = sup_u (u t - f(u)), the supremum taken numerically on a grid of u > 0."""
    fd = losses.F_DIVERGENCES[name]
    u = jnp.logspace(-4, 3, 400001, dtype=jnp.float32)
    ts = jnp.array([-0.3, 0.1, 0.4]) if name == "total_variation" else fd.f_prime(RATIOS)
    for t in ts:
        numeric = jnp.max(u * t - fd.f(u))
        np.testing.assert_allclose(fd.conjugate(t), numeric, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_f_prime_is_the_derivative_of_f(name):
    fd = losses.F_DIVERGENCES[name]
    u = jnp.array([0.3, 0.8, 1.7, 5.0])
    np.testing.assert_allclose(fd.f_prime(u), jax.vmap(jax.grad(fd.f))(u), rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_activation_lands_in_the_conjugate_domain_and_the_stable_form_agrees(name):
    fd = losses.F_DIVERGENCES[name]
    v = jnp.linspace(-6.0, 6.0, 121)
    t = fd.activation(v)
    upper = {"reverse_kl": 0.0, "neyman": 1.0, "squared_hellinger": 1.0}
    upper |= {"jensen_shannon": math.log(2), "gan": 0.0, "total_variation": 0.5}
    if name in upper:
        assert np.all(np.asarray(t) < upper[name])
    if name == "total_variation":
        assert np.all(np.asarray(t) > -0.5)
    np.testing.assert_allclose(fd.conjugate_of_activation(v), fd.conjugate(t), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 3])
def test_bound_at_the_optimal_critic_equals_the_divergence(name, seed):
    """E_P[T*] - E_Q[f*(T*)] = D_f(P || Q) at T* = f'(p / q) (Nowozin et al. 2016, section 2.2),
    as V(D*, G) = 2 JS - log 4 for the original game; any other critic gives less."""
    p, q = densities(seed)
    t_star = theory.optimal_f_critic(p, q, name)
    bound = theory.f_variational_bound(t_star, p, q, name)
    np.testing.assert_allclose(bound, closed_form(name, p, q), rtol=1e-5, atol=2e-6)
    if name == "total_variation":  # T* = +-1/2 sits on the domain's boundary
        other = 0.9 * t_star
    else:
        # Moved down, so it stays inside every domain (they are bounded above if at all).
        other = t_star - 0.05 * jnp.abs(jax.random.normal(jax.random.key(seed), t_star.shape))
    assert theory.f_variational_bound(other, p, q, name) < bound


@pytest.mark.parametrize("name", NAMES)
def test_critic_loss_is_minus_the_bound_of_the_samples_distributions(name):
    """Real and fake batches drawn from tabulated p and q by counts: the batch means are the
    expectations, so d_loss = -bound(g_f(V)) exactly."""
    counts_p, counts_q = np.array([1, 2, 3, 4]), np.array([4, 1, 1, 4])
    v = jnp.array([0.7, -1.2, 0.3, 2.0])
    real, fake = jnp.repeat(v, counts_p), jnp.repeat(v, counts_q)
    loss, terms = losses.f_gan_d_loss(real, fake, divergence=name)
    p, q = counts_p / counts_p.sum(), counts_q / counts_q.sum()
    bound = theory.f_variational_bound_from_outputs(v, jnp.asarray(p), jnp.asarray(q), name)
    np.testing.assert_allclose(-loss, bound, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, terms["real"] + terms["fake"], rtol=1e-6)
    fd = losses.F_DIVERGENCES[name]
    np.testing.assert_allclose(terms["real"], -np.sum(p * fd.activation(v)), rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_minimising_the_critic_loss_reaches_the_divergence(name):
    """A free critic output per grid cell, trained on the expected f-GAN critic loss, makes the
    bound tight: -loss -> D_f(P || Q) through each output activation."""
    p, q = jnp.array([0.1, 0.2, 0.3, 0.4]), jnp.array([0.3, 0.3, 0.3, 0.1])
    loss = lambda v: -theory.f_variational_bound_from_outputs(v, p, q, name)  # noqa: E731
    opt = optax.adam(0.05)

    def step(carry, _):
        v, s = carry
        updates, s = opt.update(jax.grad(loss)(v), s)
        return (optax.apply_updates(v, updates), s), None

    v0 = jnp.zeros(4)
    (v, _), _ = jax.lax.scan(step, (v0, opt.init(v0)), length=3000)
    tol = 2e-3 if name == "total_variation" else 1e-4  # tanh never reaches +-1/2
    np.testing.assert_allclose(-loss(v), closed_form(name, p, q), atol=tol)


def test_the_gan_row_is_the_original_game():
    """g_f(v) = -softplus(-v), f*(g_f(v)) = softplus(v): the BCE critic loss; the saturating and
    alternative generator losses are the minimax and non-saturating ones."""
    real, fake = jnp.array([2.0, -1.0, 0.5, 3.0]), jnp.array([-2.0, 0.3, 1.5, -0.7])
    np.testing.assert_allclose(
        losses.f_gan_d_loss(real, fake, divergence="gan")[0], losses.bce_d_loss(real, fake)[0]
    )
    sat = losses.f_gan_g_loss(fake, divergence="gan", form="saturating")[0]
    alt = losses.f_gan_g_loss(fake, divergence="gan", form="alternative")[0]
    np.testing.assert_allclose(sat, losses.minimax_g_loss(fake)[0], rtol=1e-6)
    np.testing.assert_allclose(alt, losses.non_saturating_g_loss(fake)[0], rtol=1e-6)


def test_kl_losses_hand_computed():
    real, fake = jnp.array([0.0, 1.0]), jnp.array([1.0, 3.0])
    d, terms = losses.f_gan_d_loss(real, fake, divergence="kl")
    np.testing.assert_allclose(terms["real"], -0.5, rtol=1e-6)
    np.testing.assert_allclose(terms["fake"], 0.5 * (1 + math.exp(2)), rtol=1e-6)
    g_sat = losses.f_gan_g_loss(fake, divergence="kl", form="saturating")[0]
    np.testing.assert_allclose(g_sat, -0.5 * (1 + math.exp(2)), rtol=1e-6)
    np.testing.assert_allclose(losses.f_gan_g_loss(fake, divergence="kl")[0], -2.0, rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("v", [40.0, -40.0])
def test_finite_losses_and_gradients_at_large_outputs(name, v):
    x = jnp.full((4,), v)
    d, d_grads = jax.value_and_grad(
        lambda r, f: losses.f_gan_d_loss(r, f, divergence=name)[0], argnums=(0, 1)
    )(x, x)
    for form in losses.F_GAN_G_LOSSES:
        g, g_grad = jax.value_and_grad(
            lambda f, form=form: losses.f_gan_g_loss(f, divergence=name, form=form)[0]
        )(x)
        assert np.isfinite(g) and np.all(np.isfinite(g_grad)), (name, form)
    assert np.isfinite(d) and all(np.all(np.isfinite(g)) for g in d_grads), name


def test_get_objective_binds_the_divergence_and_the_generator_loss():
    real, fake = jnp.array([0.5, -0.2]), jnp.array([1.0, 0.1])
    obj = losses.get_objective({"name": "f_gan", "divergence": "pearson", "f_g_loss": "saturating"})
    np.testing.assert_allclose(
        obj.d_loss(real, fake)[0], losses.f_gan_d_loss(real, fake, divergence="pearson")[0]
    )
    expected = -np.mean(0.25 * np.asarray(fake) ** 2 + np.asarray(fake))
    np.testing.assert_allclose(obj.g_loss(real, fake)[0], expected, rtol=1e-6)
    default = losses.get_objective({"name": "f_gan"})
    np.testing.assert_allclose(default.g_loss(real, fake)[0], -np.mean(fake), rtol=1e-6)


def test_bad_f_gan_keys_raise_one_line():
    with pytest.raises(ConfigError, match="objective.divergence='chi2'.*allowed.*pearson"):
        losses.get_objective({"name": "f_gan", "divergence": "chi2"})
    with pytest.raises(ConfigError, match="objective.f_g_loss='minimax'.*allowed"):
        losses.get_objective({"name": "f_gan", "f_g_loss": "minimax"})
    # A divergence set for another objective would do nothing: refused.
    with pytest.raises(ConfigError, match="objective.divergence='reverse_kl'.*name='f_gan'"):
        losses.get_objective({"name": "hinge", "divergence": "reverse_kl"})
    cfg = load_config("nsgan")
    cfg.objective.f_g_loss = "saturating"
    with pytest.raises(ConfigError, match="objective.f_g_loss='saturating'"):
        validation.validate(cfg)


def test_recipe_presets_name_divergence_and_dataset():
    cfg = load_config("fgan", "reverse_kl,grid25")
    assert (cfg.objective.name, cfg.objective.divergence, cfg.data.name) == (
        "f_gan",
        "reverse_kl",
        "grid25",
    )
    validation.validate(cfg)
    assert load_config("fgan").objective.divergence == "kl"
    with pytest.raises(ValueError, match="'chi2' is not known"):
        load_config("fgan", "chi2")


@pytest.mark.slow
def test_mode_seeking_experiment_direct_kl_minimiser_is_moment_matching():
    """experiments/fgan_mode_seeking.py: its numeric minimiser of KL(P || N(mu, sigma^2)) on the
    tabulated densities lands on the closed form (P's mean and std), and a short f-GAN run
    trains (finite, sigma moving)."""
    sys.path.insert(0, str(REPO / "experiments"))
    import fgan_mode_seeking as ms

    mu, sigma, _ = ms.minimisers("kl")["global"]
    np.testing.assert_allclose((mu, sigma), ms.mixture_moments(), atol=2e-3)
    (run,) = ms.train("kl", "saturating", [0], 20)
    assert run["finite"] and run["trace"]["sigma"][-1] != 1.0
