"""Games: a plain dict from ``game.name`` to the module that defines the game.

Each game is one module (``gan_jax.steps`` says what a game declares) with

- ``DATA_KINDS``: the dataset kinds it trains on ('points', 'images', 'domains');
- ``DEFAULTS``: its keys of the ``game`` config block and their defaults (a recipe starts from
  ``games.defaults(name)``);
- ``check(config)``: raises ``ConfigError`` (key, value, what is allowed) on a bad value of its
  keys or a combination it cannot train; called before anything is built;
- ``build(config, dataset) -> steps.Game``: its networks, players and sampler.

Adding a GAN variant is its module, its recipe in configs/ and a line here.

- ``bigan``: BiGAN (Donahue et al. 2016) and ALI (Dumoulin et al. 2016): an encoder E, a critic
  on (x, z) pairs; headline: a linear probe of E(x) and the class preservation of G(E(x)).
- ``classic``: one G, one D, any objective and penalty of ``gan_jax.losses`` (the default).
- ``cogan``: CoGAN (Liu & Tuzel 2016): two GANs sharing G's first and D's last layers learn a
  joint distribution of two domains without pairs; headline: same-digit, transform pairs.
- ``cyclegan``: unpaired image-to-image translation, two generators and two PatchGAN critics
  (Zhu et al. 2017).
- ``infogan``: InfoGAN (Chen et al. 2016): a categorical and continuous codes in G's input, a Q
  head on the critic, the mutual-information bound in both losses; headline ``code_accuracy``.
- ``vaegan``: VAE-GAN (Larsen et al. 2016): a Gaussian encoder, the generator as its decoder, the
  reconstruction error in the critic's feature space; headline: the reconstructions' classes.
"""

from __future__ import annotations

from types import ModuleType

import ml_collections

from gan_jax.games import bigan, classic, cogan, cyclegan, infogan, vaegan

GAMES: dict[str, ModuleType] = {
    "bigan": bigan,
    "classic": classic,
    "cogan": cogan,
    "cyclegan": cyclegan,
    "infogan": infogan,
    "vaegan": vaegan,
}


def defaults(name: str) -> ml_collections.ConfigDict:
    """The ``game`` config block of game ``name`` with its defaults."""
    return ml_collections.ConfigDict({"name": name, **GAMES[name].DEFAULTS})
