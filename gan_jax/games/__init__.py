"""Games: a plain dict from ``game.name`` to the module that defines the game.

Each game is one module (``gan_jax.steps`` says what a game declares) with

- ``DATA_KINDS``: the dataset kinds it trains on ('points', 'images', 'domains', 'paired',
  'multidomain');
- ``DEFAULTS``: its keys of the ``game`` config block and their defaults (a recipe starts from
  ``games.defaults(name)``);
- ``check(config)``: raises ``ConfigError`` (key, value, what is allowed) on a bad value of its
  keys or a combination it cannot train; called before anything is built;
- ``build(config, dataset) -> steps.Game``: its networks, players and sampler.
- optionally ``OWN_LOSS``: a few words naming its losses when they are its own (it does not
  read ``objective.*``); the trainer's banner, curves and sweep records show them in place
  of ``objective.name`` (``loss_name``).

Adding a GAN variant is its module, its recipe in configs/ and a line here.

- ``bigan``: BiGAN (Donahue et al. 2016) and ALI (Dumoulin et al. 2016): an encoder E, a critic
  on (x, z) pairs; headline: a linear probe of E(x) and the class preservation of G(E(x)).
- ``classic``: one G, one D, any objective and penalty of ``gan_jax.losses`` (the default).
- ``acgan``: AC-GAN (Odena et al. 2017): a class-conditional G and a critic with an auxiliary
  classifier, the class log-likelihood in both losses; headline ``class_agreement`` and
  per-class diversity.
- ``cogan``: CoGAN (Liu & Tuzel 2016): two GANs sharing G's first and D's last layers learn a
  joint distribution of two domains without pairs; headline: same-digit, transform pairs.
- ``cyclegan``: unpaired image-to-image translation, two generators and two PatchGAN critics
  (Zhu et al. 2017).
- ``pix2pix``: paired image-to-image translation (Isola et al. 2017): a U-Net G, a conditional
  PatchGAN critic of (input, output) pairs, L1 + cGAN; headline: error against the true target,
  class preservation, FD in the target domain.
- ``srgan``: SRGAN (Ledig et al. 2017): 4x super-resolution, a residual G with sub-pixel
  upsampling, content loss in the embedded classifier's features + 1e-3 adversarial; headline
  PSNR, SSIM and FD of the super-resolved images (SRResNet: ``game.adv_weight`` 0, MSE).
- ``stargan``: StarGAN (Choi et al. 2018): one generator conditioned on the target domain, a
  critic with a domain classifier, reconstruction loss, WGAN-GP; N domains in one model
  (``digits_domains``); headline: class preservation and FD of every translation.
- ``combogan``: ComboGAN (Anoosheh et al. 2018): an encoder, a decoder and a critic per
  domain, any-to-any translation dec_j(enc_i(x)) with cycle losses; parameters linear in N.
- ``xgan``: XGAN (Royer et al. 2017): two domain autoencoders with a shared embedding, a
  domain-adversarial classifier on it, the semantic-consistency loss; headline: class
  preservation and the embedding gap of the translations.
- ``ssgan``: SSGAN (Chen et al. 2019): a rotation-prediction head on the critic, its loss on
  rotated reals (critic) and fakes (G); headline ``rotation_accuracy``.
- ``s3gan``: S3GAN (Lucic et al. 2019): SSGAN's critic with a class head trained on a labelled
  fraction (``game.label_fraction``) and a projection on the labels it infers for the other
  reals; headline ``inferred_label_accuracy`` and AC-GAN's class measures.
- ``infogan``: InfoGAN (Chen et al. 2016): a categorical and continuous codes in G's input, a Q
  head on the critic, the mutual-information bound in both losses; headline ``code_accuracy``.
- ``ebgan``: EBGAN (Zhao et al. 2016): an autoencoder critic whose reconstruction error is the
  energy, the margin loss, the pulling-away term in G's loss; headline energies and f_PT.
- ``began``: BEGAN (Berthelot et al. 2017): an autoencoder critic, L(x) - k_t L(G(z)) with the
  equilibrium control k_t in the state; headline ``k`` and ``m_global``.
- ``semisupervised``: the semi-supervised GAN of Salimans et al. 2016: a K-class critic with the
  fake class's logit fixed at 0, G trained by feature matching; headline ``test_error``.
- ``triplegan``: Triple-GAN (Li et al. 2017): G, a classifier C and a discriminator of (x, y)
  pairs; headline ``test_error`` of C.
- ``improved``: "ImprovedDCGAN" (Salimans et al. 2016): feature matching in G's loss and
  historical averaging of both players' parameters, on the DCGAN critic's features.
- ``stylegan``: StyleGAN / StyleGAN2 (Karras et al. 2019, 2020): the classic game on the style
  families with style mixing regularisation and lazy path-length regularisation (its target a in
  ``State.aux``).
- ``pggan``: progressive growing (Karras et al. 2018): the ``pggan`` networks trained at
  resolutions doubling every ``game.stage_steps`` steps, each new one faded in over
  ``game.fade_steps`` (alpha in the state), one compiled step per stage, the drift term.
- ``vaegan``: VAE-GAN (Larsen et al. 2016): a Gaussian encoder, the generator as its decoder, the
  reconstruction error in the critic's feature space; headline: the reconstructions' classes.
- ``lapgan``: LAPGAN (Denton et al. 2015): a base GAN and conditional GANs of the Laplacian
  residuals at every finer level, sampled coarse to fine.
- ``stackgan``: StackGAN++ (Zhang et al. 2017): a class-conditional generator tree with
  conditioning augmentation, one joint (un)conditional critic per scale and the colour-
  consistency term; ``game.stages`` sets how many scales (1: a single-stage baseline).
- ``stackgan_v1``: StackGAN (Zhang et al. 2017, arXiv 1612.03242): a class-conditional Stage-I
  GAN at half resolution, then a Stage-II GAN conditioned on its image, trained one after the
  other (two stages of one run, Stage-I fixed in the second); headline: Stage-I against
  Stage-II FD.
"""

from __future__ import annotations

from types import ModuleType

import ml_collections

from gan_jax.games import (
    acgan,
    began,
    bigan,
    biggan,
    classic,
    cogan,
    combogan,
    cyclegan,
    ebgan,
    improved,
    infogan,
    lapgan,
    pggan,
    pix2pix,
    s3gan,
    semisupervised,
    srgan,
    ssgan,
    stackgan,
    stackgan_v1,
    stargan,
    stylegan,
    triplegan,
    vaegan,
    xgan,
)

GAMES: dict[str, ModuleType] = {
    "classic": classic,
    "infogan": infogan,
    "cyclegan": cyclegan,
    "pix2pix": pix2pix,
    "srgan": srgan,
    "stargan": stargan,
    "combogan": combogan,
    "xgan": xgan,
    "acgan": acgan,
    "ssgan": ssgan,
    "s3gan": s3gan,
    "semisupervised": semisupervised,
    "triplegan": triplegan,
    "bigan": bigan,
    "biggan": biggan,
    "vaegan": vaegan,
    "cogan": cogan,
    "ebgan": ebgan,
    "began": began,
    "improved": improved,
    "stylegan": stylegan,
    "pggan": pggan,
    "lapgan": lapgan,
    "stackgan": stackgan,
    "stackgan_v1": stackgan_v1,
}


def defaults(name: str) -> ml_collections.ConfigDict:
    """The ``game`` config block of game ``name`` with its defaults."""
    return ml_collections.ConfigDict({"name": name, **GAMES[name].DEFAULTS})


def loss_name(config: ml_collections.ConfigDict) -> str:
    """What a run trains with, for people: the game's ``OWN_LOSS``, else ``objective.name``."""
    return getattr(GAMES[config.game.name], "OWN_LOSS", None) or config.objective.name
