# %% [markdown]
# # The optimal discriminator, measured
#
# Goodfellow et al. 2014 (arXiv 1406.2661), Proposition 1 and Theorem 1: for a *fixed* generator
# G the discriminator that maximises
#
#     V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))]
#
# is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and there V(D*, G) = 2 JS(p_data || p_g) - log 4.
#
# Here G is fixed (G(z) = mu + s z, z ~ N(0, 1), so p_g = N(mu, s^2)) and p_data is a mixture of
# two Gaussians in 1D. A small MLP discriminator is trained to convergence on fresh samples of
# both with gan_jax's public discriminator loss `losses.bce_d_loss` (minimising it maximises V),
# one D per generator, all trained together with `jax.vmap`. We then compare, on a fine grid,
# sigmoid(D's logit) with `theory.optimal_discriminator` and V(D, G) (computed from the tabulated
# densities with `theory.value_function_from_logits`) with `2 * theory.js_divergence - log 4`.
#
# Runs as a notebook (jupytext percent format) or as a plain script:
#
#     python experiments/optimal_discriminator.py
#
# which prints the comparison and writes experiments/results/optimal_discriminator.png.

# %%
from __future__ import annotations

import math
import pathlib
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import losses, theory

# p_data: 1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2). The fixed generators: p_g = N(mu, s^2).
DATA_MEANS, DATA_STD = (-2.0, 2.0), 0.5
GENERATORS = ((0.0, 1.0), (2.0, 0.5), (3.0, 1.5), (6.0, 1.0))  # (mu, s)
STEPS, BATCH, LR = 4000, 2048, 1e-3
RESULTS = pathlib.Path(__file__).resolve().parent / "results"

# %% [markdown]
# Densities on a grid, normalised to probability masses: the theory helpers work on tabulated
# distributions, and sums over a fine grid stand in for the integrals.

# %%
GRID = jnp.linspace(-8.0, 8.0, 3201)


def normal_pdf(x, mu, s):
    return jnp.exp(-0.5 * ((x - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def p_data_density(x):
    return sum(0.5 * normal_pdf(x, m, DATA_STD) for m in DATA_MEANS)


def masses(density):
    return density / jnp.sum(density)


def sample_data(key, n):
    key_c, key_n = jax.random.split(key)
    means = jnp.asarray(DATA_MEANS)[jax.random.randint(key_c, (n,), 0, len(DATA_MEANS))]
    return means + DATA_STD * jax.random.normal(key_n, (n,))


def generator(z, mu, s):
    """The fixed generator G(z) = mu + s z: p_g = N(mu, s^2)."""
    return mu + s * z


# %% [markdown]
# The discriminator: an MLP from x to a logit l(x), D(x) = sigmoid(l(x)). Each step draws a fresh
# batch of real samples and a fresh batch of G(z) and takes an Adam step on
# `losses.bce_d_loss(l(real), l(fake))` = -E[log D(x)] - E[log(1 - D(G(z)))], i.e. on -V.


# %%
class Discriminator(nn.Module):
    hidden: tuple[int, ...] = (64, 64)

    @nn.compact
    def __call__(self, x):
        h = x[:, None] / 4.0  # inputs of order 1
        for width in self.hidden:
            h = nn.tanh(nn.Dense(width)(h))
        return nn.Dense(1)(h)[:, 0]


def train_discriminators(steps=STEPS, batch=BATCH, lr=LR, hidden=(64, 64), seed=0, record=50):
    assert steps % record == 0, (steps, record)
    """Train one D per fixed generator (vmapped); returns params and V(D_t, G) every ``record``."""
    model = Discriminator(hidden)
    tx = optax.adam(lr)
    mus, ss = (jnp.asarray(v) for v in zip(*GENERATORS))
    p = masses(p_data_density(GRID))
    qs = jax.vmap(lambda mu, s: masses(normal_pdf(GRID, mu, s)))(mus, ss)

    def init(key):
        params = model.init(key, jnp.zeros((2,)))
        return params, tx.init(params)

    def value(params, q):
        return theory.value_function_from_logits(model.apply(params, GRID), p, q)

    def step(carry, key, mu, s):
        params, opt_state = carry
        key_x, key_z = jax.random.split(key)
        real, fake = sample_data(key_x, batch), generator(jax.random.normal(key_z, (batch,)), mu, s)

        def loss_fn(params):
            return losses.bce_d_loss(model.apply(params, real), model.apply(params, fake))[0]

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state)
        return (optax.apply_updates(params, updates), opt_state), loss

    def train_one(key, mu, s, q):
        key_init, key_steps = jax.random.split(key)
        carry = init(key_init)

        def block(carry, keys):
            carry, _ = jax.lax.scan(lambda c, k: step(c, k, mu, s), carry, keys)
            return carry, value(carry[0], q)

        keys = jax.random.split(key_steps, steps).reshape(steps // record, record)
        (params, _), values = jax.lax.scan(block, carry, keys)
        return params, values

    keys = jax.random.split(jax.random.key(seed), len(GENERATORS))
    params, values = jax.jit(jax.vmap(train_one))(keys, mus, ss, qs)
    return model, params, values, p, qs


# %% [markdown]
# D* in float32 rounds to exactly 0 or 1 in the tails, where one density is 1e-8 of the other,
# and log(1 - D*) then reads -inf although p_g > 0 there. Its logit, log p_data - log p_g, does
# not round, so V(D*, G) is evaluated from logits (clipped to +-100, which changes nothing a
# float32 sum can see: log_sigmoid(-100) ~ -4e-44).


# %%
def optimal_logits(p, q):
    """logit D*(x) = log p_data(x) - log p_g(x), clipped to [-100, 100]; 0 where both vanish."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logits = jnp.clip(jnp.log(p) - jnp.log(q), -100.0, 100.0)
    return jnp.where((p > 0) | (q > 0), logits, 0.0)


# %% [markdown]
# Compare with the theory. The largest |D - D*| is taken where (p_data + p_g) / 2 carries
# probability (density above 1e-2): elsewhere no sample ever lands and D is unconstrained.


# %%
def compare(model, params, values, p, qs, record=50):
    rows = []
    for i, (mu, s) in enumerate(GENERATORS):
        q = qs[i]
        params_i = jax.tree.map(lambda a, i=i: a[i], params)
        logits = model.apply(params_i, GRID)
        d_star = theory.optimal_discriminator(p, q)
        bound = float(2 * theory.js_divergence(p, q) - math.log(4))
        dx = float(GRID[1] - GRID[0])
        support = (p + q) / 2 / dx > 1e-2
        err = float(jnp.max(jnp.abs(jax.nn.sigmoid(logits) - d_star)[support]))
        v_star = float(theory.value_function_from_logits(optimal_logits(p, q), p, q))
        rows.append(
            {
                "mu": mu,
                "s": s,
                "js": float(theory.js_divergence(p, q)),
                "two_js_minus_log4": bound,
                "v_at_d_star": v_star,
                "v_trained": float(values[i, -1]),
                "v_gap": bound - float(values[i, -1]),
                "max_abs_d_error": err,
                "values": np.asarray(values[i]),
                "d": np.asarray(jax.nn.sigmoid(logits)),
                "d_star": np.asarray(d_star),
                "q": np.asarray(q),
            }
        )
    return rows


def plot(rows, p, path, record=50):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, dx = np.asarray(GRID), float(GRID[1] - GRID[0])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    ax = axes[0]
    r = rows[0]
    ax.plot(x, np.asarray(p) / dx, "k-", lw=1, label="p_data")
    ax.plot(x, r["q"] / dx, "k--", lw=1, label=f"p_g = N({r['mu']:g}, {r['s']:g}²)")
    ax.plot(x, r["d_star"], "C1-", lw=2.5, alpha=0.6, label="D* = p_data/(p_data+p_g)")
    ax.plot(x, r["d"], "C0-", lw=1, label="trained D")
    ax.set_xlim(-5, 5)
    ax.set_ylim(-0.02, 1.3)
    ax.set_title("D approaches D*", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax = axes[1]
    for i, r in enumerate(rows):
        steps = record * (1 + np.arange(len(r["values"])))
        ax.plot(steps, r["values"], f"C{i}-", lw=1, label=f"N({r['mu']:g}, {r['s']:g}²)")
        ax.axhline(r["two_js_minus_log4"], color=f"C{i}", ls=":", lw=1)
    ax.set_xlabel("D steps")
    ax.set_ylabel("V(D, G)")
    ax.set_title("V(D_t, G) -> 2 JS - log 4 (dotted)", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[2]
    bounds = [r["two_js_minus_log4"] for r in rows]
    ax.plot(bounds, [r["v_trained"] for r in rows], "o")
    lims = [min(bounds) - 0.05, max(bounds) + 0.05]
    ax.plot(lims, lims, "k-", lw=0.8)
    ax.set_xlabel("2 JS(p_data || p_g) - log 4")
    ax.set_ylabel("V(trained D, G)")
    ax.set_title("one point per fixed G", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(
    steps=STEPS, batch=BATCH, lr=LR, hidden=(64, 64), out=RESULTS / "optimal_discriminator.png"
):
    t0 = time.perf_counter()
    model, params, values, p, qs = train_discriminators(steps, batch, lr, hidden)
    rows = compare(model, params, values, p, qs)
    plot(rows, p, pathlib.Path(out))
    print(f"{steps} D steps of batch {batch} per G, {time.perf_counter() - t0:.1f}s; plot: {out}")
    print("p_g            2JS-log4   V(D*,G)   V(D,G)    gap       max|D-D*|")
    for r in rows:
        print(
            f"N({r['mu']:g}, {r['s']:g}^2)".ljust(14)
            + f" {r['two_js_minus_log4']:+.5f}  {r['v_at_d_star']:+.5f}  {r['v_trained']:+.5f}"
            + f"  {r['v_gap']:.5f}   {r['max_abs_d_error']:.4f}"
        )
    return rows


# %%
if __name__ == "__main__":
    main()
