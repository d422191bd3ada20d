"""python -m gan_jax.main --config=configs/began.py

BEGAN on the digits (Berthelot et al. 2017, arXiv 1703.10717; gan_jax/games/began.py): the critic
is a convolutional autoencoder (ELU, no normalisation, a 64-d embedding) with the L1
reconstruction loss L; it minimises L(x) - k_t L(G(z)), G minimises L(G(z)), and k_t (in the
state, k_0 = 0) follows k_t + lambda_k (gamma L(x) - L(G(z))) with gamma = 0.5, lambda_k =
0.001; the convergence measure M_global is logged every step and evaluated as the headline. G
has the shape of the critic's decoder (the paper's; `game.generator='dcgan'` for the DCGAN
generator); Adam 2e-4, beta1 0.5. Presets: `:digits` (default), `:mnist5k`, and `_g<gamma>` for
another diversity ratio (`:digits_g0.3`, `:digits_g0.7`). experiments/began_digits.py measures
M_global against sample quality and the gamma trade-off: at this budget G collapses to one grey
image at gamma 0.3, 0.5 and 0.7 (FD 682-1033, k_t 0 from step 1500; with the DCGAN generator
778-1115), so the recipe does not learn the digits; experiments/README.md has the diagnosis.
"""

from configs import default
from gan_jax import games


def get_config(arg=None):
    preset, _, variant = (arg or "digits").partition("_")
    c = default.get_config(preset)
    if c.model.name != "dcgan":
        raise ValueError(f"configs/began.py trains the DCGAN family on images; got {arg!r}")
    c.game = games.defaults("began")
    c.model.d_norm = "none"
    if variant:
        if not variant.startswith("g"):
            raise ValueError(
                f"configs/began.py: preset {arg!r}; allowed: <data> or <data>_g<gamma>"
            )
        c.game.gamma = float(variant[1:])
    if c.data.name == "digits":
        c.train.steps = 3500  # the non-saturating digits recipe's budget (configs/nsgan.py)
    return c
