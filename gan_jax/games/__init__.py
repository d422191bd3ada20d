"""Games: a plain dict from ``game.name`` to a builder ``(config, dataset) -> steps.Game``.

Each game is one module: its networks, players, losses and sampler (``gan_jax.steps`` says what
a game declares). Adding a GAN variant is its module, its recipe in configs/ and a line here.

- ``classic``: one G, one D, any objective and penalty of ``gan_jax.losses`` (the default).
"""

from __future__ import annotations

from collections.abc import Callable

from gan_jax.games import classic

GAMES: dict[str, Callable] = {
    "classic": classic.build,
}
