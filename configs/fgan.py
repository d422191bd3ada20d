"""python -m gan_jax.main --config=configs/fgan.py

f-GAN (Nowozin et al. 2016, arXiv 1606.00709): the critic's raw output V goes through the
divergence's output activation T = g_f(V) and the critic maximises the variational bound
E_P[T(x)] - E_Q[f*(T(G(z)))] on D_f(P || Q) (Table 2; gan_jax/losses.py, F_DIVERGENCES); G
minimises -E_Q[g_f(V(G(z)))], the paper's section 3.2 alternative (`objective.f_g_loss =
'saturating'` takes the bound itself). DCGAN optimiser (Adam 2e-4, beta1 0.5). The config string
names the divergence and/or the dataset preset, comma-separated: `:kl` (default), `:reverse_kl`,
`:pearson`, `:neyman`, `:squared_hellinger`, `:jensen_shannon`, `:gan`, `:total_variation`, and
`:digits` (default), `:mnist5k`, `:ring8`, `:grid25` (configs/default.py), e.g.
`--config=configs/fgan.py:reverse_kl,grid25`. experiments/fgan_mode_seeking.py fits a Gaussian
to a 1D mixture with each divergence (KL covers both modes, reverse KL picks one).
"""

from configs import default
from gan_jax.losses import F_DIVERGENCES


def get_config(arg=None):
    divergence, preset = "kl", None
    for part in (arg or "").split(","):
        if part in F_DIVERGENCES:
            divergence = part
        elif part in default.PRESETS:
            preset = part
        elif part:
            allowed = sorted(F_DIVERGENCES) + list(default.PRESETS)
            raise ValueError(f"config preset {part!r} is not known; allowed: {allowed}")
    c = default.get_config(preset)
    c.objective.name = "f_gan"
    c.objective.divergence = divergence
    c.objective.f_g_loss = "alternative"
    return c
