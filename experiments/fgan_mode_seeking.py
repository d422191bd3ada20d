"""f-GAN's mode-covering vs mode-seeking picture: one Gaussian fitted to a 1D mixture.

    python experiments/fgan_mode_seeking.py [--steps=2000] [--seeds=3]

Nowozin et al. 2016 (arXiv 1606.00709, section 4) fit a single Gaussian Q = N(mu,
sigma^2) to a mixture of Gaussians P with each f-divergence and compare the f-GAN fit with the
Gaussian that minimises the divergence directly. KL(P || Q) is minimised by moment matching
(mu = E_P[x], sigma^2 = Var_P[x]: Q spreads over both modes, mode covering); reverse KL(Q || P)
by a Gaussian on one mode (mode seeking); the others fall in between.

Here P = 0.35 N(-2, 0.5^2) + 0.65 N(2, 0.5^2). The generator is G(z) = mu + exp(log_sigma) z
with z ~ N(0, 1), from mu = 0, sigma = 1; the critic an MLP (2 x 64 tanh) whose raw output V
goes through the divergence's output activation (gan_jax.losses.get_objective with
objective.name = 'f_gan'). Each train step takes ``D_STEPS`` critic updates on fresh batches
and one generator update, Adam for both. The generator loss is the bound itself
(``f_g_loss = 'saturating'``: G then follows the gradient of the divergence estimate, so its
fixed points are the divergence's minimisers) and, as a second column, the paper's section 3.2
``alternative`` -E_Q[g_f(V)] (which has no such guarantee away from the GAN divergence).

The direct minimisers come from gan_jax.theory.f_divergence on the densities tabulated on a
grid (float64), minimised over (mu, log sigma): the global one from the best point of a coarse
grid, and the one that descending the exact divergence from the generator's start (0, 1)
reaches, which for several divergences is a local minimum covering both modes; for KL the
closed form (the mixture's mean and std) is printed beside it. ``--reuse`` recomputes these and
the table but takes the f-GAN fits from the saved JSON. Every divergence, every seed
(mean +- s.e.) and both generator losses go to experiments/results/fgan_mode_seeking.{json,md};
experiments/results/fgan_mode_seeking.png draws KL and reverse KL (seed 0).
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import platform
import sys
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gan_jax import losses, theory  # noqa: E402

RESULTS = REPO / "experiments" / "results"
WEIGHTS, MEANS, STD = (0.35, 0.65), (-2.0, 2.0), 0.5
BATCH, D_STEPS, LR_D, LR_G = 256, 5, 3e-3, 1e-2
GRID = np.linspace(-8.0, 8.0, 4001)
FORMS = ("saturating", "alternative")


def normal_pdf(x, mu, s):
    return jnp.exp(-0.5 * ((x - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def mixture_moments() -> tuple[float, float]:
    """Mean and std of P: the closed-form KL(P || Q) minimiser over Gaussians Q."""
    w, m = np.asarray(WEIGHTS), np.asarray(MEANS)
    mean = float(np.sum(w * m))
    var = float(np.sum(w * (STD**2 + m**2)) - mean**2)
    return mean, math.sqrt(var)


def sample_data(key, n):
    key_c, key_n = jax.random.split(key)
    comp = jax.random.choice(key_c, len(WEIGHTS), (n,), p=jnp.asarray(WEIGHTS))
    return jnp.asarray(MEANS)[comp] + STD * jax.random.normal(key_n, (n,))


# --------------------------------------------------------------------------------------------
# The direct minimisers, on tabulated densities.


def minimisers(name: str) -> dict[str, tuple[float, float, float]]:
    """(mu, sigma, D_f) of two Gaussians minimising D_f(P || N(mu, sigma^2)) on the grid.

    ``global``: descent (Adam) from the best point of a coarse (mu, sigma) grid, the global
    minimiser; ``from_start``: the same descent from the generator's start (mu = 0, sigma = 1),
    the local minimiser that following the divergence's exact gradient reaches.
    """
    with jax.enable_x64(True):
        x = jnp.asarray(GRID, jnp.float64)
        dx = float(GRID[1] - GRID[0])
        p = sum(w * normal_pdf(x, m, STD) for w, m in zip(WEIGHTS, MEANS)) * dx

        def divergence(theta):
            q = normal_pdf(x, theta[0], jnp.exp(theta[1])) * dx
            # The grid's far tails: keeps p / q and Neyman's (1 - p / q)^2 finite in float64.
            q = jnp.maximum(q, 1e-150)
            return theory.f_divergence(p, q, name)

        opt = optax.adam(1e-2)
        step = jax.jit(lambda t, s: opt.update(jax.grad(divergence)(t), s))

        def descend(theta):
            theta = jnp.asarray(theta, jnp.float64)
            state = opt.init(theta)
            for _ in range(3000):
                updates, state = step(theta, state)
                theta = optax.apply_updates(theta, updates)
            return float(theta[0]), float(jnp.exp(theta[1])), float(divergence(theta))

        mus, log_sigmas = np.linspace(-3, 3, 61), np.log(np.linspace(0.3, 3.0, 55))
        table = jax.vmap(lambda m: jax.vmap(lambda s: divergence(jnp.stack([m, s])))(log_sigmas))(
            jnp.asarray(mus)
        )
        i, j = np.unravel_index(int(jnp.nanargmin(table)), table.shape)
        return {"global": descend([mus[i], log_sigmas[j]]), "from_start": descend([0.0, 0.0])}


# --------------------------------------------------------------------------------------------
# The f-GAN fit.


class Critic(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = x[:, None] / 4.0
        for width in (64, 64):
            h = nn.tanh(nn.Dense(width)(h))
        return nn.Dense(1)(h)[:, 0]


def train(name: str, form: str, seeds: list[int], steps: int) -> list[dict]:
    """f-GAN with divergence ``name`` and generator loss ``form``, one run per seed (vmapped in
    one program); returns each run's fit and trajectory."""
    objective = losses.get_objective({"name": "f_gan", "divergence": name, "f_g_loss": form})
    critic = Critic()
    tx_d, tx_g = optax.adam(LR_D, b1=0.5), optax.adam(LR_G, b1=0.5)

    def generate(g, z):
        return g["mu"] + jnp.exp(g["log_sigma"]) * z

    def d_update(carry, key):
        d, d_state, g = carry
        key_x, key_z = jax.random.split(key)
        real = sample_data(key_x, BATCH)
        fake = generate(g, jax.random.normal(key_z, (BATCH,)))
        loss_fn = lambda d: objective.d_loss(critic.apply(d, real), critic.apply(d, fake))[0]  # noqa: E731
        loss, grads = jax.value_and_grad(loss_fn)(d)
        updates, d_state = tx_d.update(grads, d_state)
        return (optax.apply_updates(d, updates), d_state, g), loss

    def train_step(carry, key):
        d, d_state, g, g_state = carry
        keys = jax.random.split(key, D_STEPS + 1)
        (d, d_state, _), d_losses = jax.lax.scan(d_update, (d, d_state, g), keys[:-1])
        z = jax.random.normal(keys[-1], (BATCH,))

        def g_loss(g):
            fake_out = critic.apply(d, generate(g, z))
            return objective.g_loss(jnp.zeros_like(fake_out), fake_out)[0]

        updates, g_state = tx_g.update(jax.grad(g_loss)(g), g_state)
        g = optax.apply_updates(g, updates)
        record = {"mu": g["mu"], "sigma": jnp.exp(g["log_sigma"]), "bound": -d_losses[-1]}
        return (d, d_state, g, g_state), record

    def one_seed(seed):
        key_init, key_run = jax.random.split(jax.random.key(seed))
        d = critic.init(key_init, jnp.zeros((2,)))
        g = {"mu": jnp.zeros(()), "log_sigma": jnp.zeros(())}  # mu = 0, sigma = 1
        carry = (d, tx_d.init(d), g, tx_g.init(g))
        return jax.lax.scan(train_step, carry, jax.random.split(key_run, steps))[1]

    traces = jax.jit(jax.vmap(one_seed))(jnp.asarray(seeds, jnp.uint32))
    runs = []
    for i in range(len(seeds)):
        trace = {k: np.asarray(v[i]) for k, v in traces.items()}
        # The fit: the generator's parameters averaged over the last 10% of the steps.
        tail = slice(int(0.9 * steps), None)
        fit = {k: float(np.mean(v[tail])) for k, v in trace.items()}
        finite = bool(all(np.all(np.isfinite(v)) for v in trace.values()))
        runs.append({"fit": fit, "finite": finite, "trace": trace})
    return runs


def mean_se(values) -> tuple[float, float]:
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


def plot(fits: dict, direct: dict, path: pathlib.Path) -> None:
    """KL and reverse KL: P, the direct minimiser and seed 0's fits (``fits[name][form]``: the
    per-seed fits)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = GRID
    pdf = lambda mu, s: np.asarray(normal_pdf(x, mu, s))  # noqa: E731
    p = sum(w * pdf(m, STD) for w, m in zip(WEIGHTS, MEANS))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, name in zip(axes, ("kl", "reverse_kl")):
        ax.fill_between(x, p, color="0.85", label="P (data)")
        mu, sigma, _ = direct[name]["global"]
        ax.plot(x, pdf(mu, sigma), "k--", lw=1.2, label="direct minimiser")
        fit = fits[name]["saturating"][0]
        ax.plot(x, pdf(fit["mu"], fit["sigma"]), "C0-", lw=2, label="f-GAN fit (seed 0)")
        fit = fits[name]["alternative"][0]
        ax.plot(x, pdf(fit["mu"], fit["sigma"]), "C1:", lw=2, label="f-GAN, alt. G loss")
        ax.set_xlim(-5, 5)
        ax.set_title(
            {"kl": "KL(P||Q): mode covering", "reverse_kl": "KL(Q||P): mode seeking"}[name]
        )
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def markdown(report: dict) -> str:
    kl_mu, kl_sigma = report["kl_closed_form"]
    lines = [
        "## f-GAN: one Gaussian fitted to a 1D mixture (mode covering vs mode seeking)",
        "",
        f"Command: `python experiments/fgan_mode_seeking.py --steps={report['steps']} "
        f"--seeds={len(report['seeds'])}`. P = 0.35 N(-2, 0.5²) + 0.65 N(2, 0.5²); Q = N(mu, "
        f"sigma²) from mu = 0, sigma = 1; critic MLP 2x64 tanh; batch {BATCH}, {D_STEPS} critic "
        f"updates per G update, Adam (b1 0.5) lr {LR_D:g} (critic) / {LR_G:g} (G), "
        f"{report['steps']} G updates; fit = G's (mu, sigma) averaged over the last 10% of the "
        f"steps; mean +- s.e. over seeds {report['seeds']}. Global minimiser: argmin over (mu, "
        "sigma) of `theory.f_divergence` on the tabulated densities (float64); from G's start: "
        "the minimiser that descending the exact divergence from (0, 1) reaches (a local one "
        "where it differs). "
        f"KL's closed form (P's mean and std): mu = {kl_mu:.3f}, sigma = {kl_sigma:.3f}. "
        f"{report['wall_s']:.0f} s wall on {report['machine']}.",
        "",
        "| divergence | global minimiser (mu, sigma; D_f) | from G's start (mu, sigma; D_f) | "
        "f-GAN mu (saturating G) | f-GAN sigma | f-GAN mu (alternative G) | f-GAN sigma |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in report["rows"].items():
        cells = [name]
        for which in ("global", "from_start"):
            mu, sigma, value = row["direct"][which]
            cells.append(f"{mu:.3f}, {sigma:.3f}; {value:.4f}")
        for form in FORMS:
            r = row[form]
            cells += [f"{r['mu'][0]:.3f} +- {r['mu'][1]:.3f}"]
            cells += [f"{r['sigma'][0]:.3f} +- {r['sigma'][1]:.3f}"]
            if not r["finite"]:
                cells[-1] += " (non-finite)"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--divergences", default=",".join(losses.F_DIVERGENCES))
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument(
        "--reuse", action="store_true", help="Take the f-GAN fits from the saved JSON."
    )
    args = parser.parse_args()
    names = [n for n in args.divergences.split(",") if n]
    seeds = list(range(args.seeds))
    t0 = time.perf_counter()
    previous, previous_wall = {}, 0.0
    if args.reuse:
        record = json.loads((pathlib.Path(args.results) / "fgan_mode_seeking.json").read_text())
        if record["steps"] != args.steps or record["seeds"] != seeds:
            raise SystemExit("--reuse: the saved fits have other --steps or --seeds")
        previous, previous_wall = record["rows"], record["wall_s"]
    direct, fits, rows = {}, {}, {}
    for name in names:
        direct[name] = minimisers(name)
        rows[name] = {"direct": direct[name]}
        for form in FORMS:
            if name in previous:
                rows[name][form] = previous[name][form]
                continue
            runs = train(name, form, seeds, args.steps)
            rows[name][form] = {
                "mu": mean_se([r["fit"]["mu"] for r in runs]),
                "sigma": mean_se([r["fit"]["sigma"] for r in runs]),
                "per_seed": [r["fit"] for r in runs],
                "finite": all(r["finite"] for r in runs),
            }
        fits[name] = {form: rows[name][form]["per_seed"] for form in FORMS}
        g, s = direct[name]["global"], direct[name]["from_start"]
        print(
            f"{name:>18}: global mu {g[0]:+.3f} sigma {g[1]:.3f} | from start mu {s[0]:+.3f} "
            f"sigma {s[1]:.3f} | "
            + " | ".join(
                f"{form} mu {rows[name][form]['mu'][0]:+.3f} sigma "
                f"{rows[name][form]['sigma'][0]:.3f}"
                for form in FORMS
            ),
            flush=True,
        )
    report = {
        "steps": args.steps,
        "seeds": seeds,
        "kl_closed_form": mixture_moments(),
        "rows": rows,
        "wall_s": time.perf_counter() - t0 + previous_wall,
        "machine": f"{platform.machine()}, jax {jax.__version__} on {jax.default_backend()}",
    }
    out = pathlib.Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fgan_mode_seeking.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "fgan_mode_seeking.md").write_text(markdown(report))
    if {"kl", "reverse_kl"} <= set(names):
        plot(fits, direct, out / "fgan_mode_seeking.png")
    print(markdown(report))


if __name__ == "__main__":
    main()
