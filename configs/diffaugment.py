"""python -m gan_jax.main --config=configs/diffaugment.py

Data-efficient GAN training on a tenth of the digits: DiffAugment (Zhao et al. 2020, arXiv
2006.10738): colour, translation and cutout applied to the real and the generated images before
the critic, in both players' losses (gan_jax/augment.py, gan_jax/regularizers.py). The
non-saturating DCGAN of configs/nsgan.py at 16x16, trained on a fixed subset of 180 of the 1797
digits (``data.num_examples``); the Frechet distance is measured against all 1797.
Presets, comma-separated in the config string (``configs/diffaugment.py:ada,mnist5k``):

- the variant: ``diffaugment`` (the default: policy color,translation,cutout, p = 1), ``ada``
  (the same policy with ADA's adaptive p, Karras et al. 2020: from 0, target r_t 0.6, p can
  cross [0, 1] in 20k images, 4 critic updates between adjustments), ``lecam`` (DiffAugment +
  LeCam, Tseng et al. 2021: lambda 0.3, EMA decay 0.99), ``bcr`` (bCR alone, Zhao et al. 2020:
  lambda_real = lambda_fake = 10, T = translation), ``none`` (no augmentation or regulariser:
  the baseline at the same budget);
- the data: ``digits`` (the default; 180 of 1797 images) or ``mnist5k`` (500 of the 5000 MNIST
  digits, 32x32).

experiments/data_efficient.py trains the variants over seeds and compares their FD
(experiments/README.md).
"""

from configs import default

VARIANTS = ("diffaugment", "ada", "lecam", "bcr", "none")
DATA = ("digits", "mnist5k")
DIFFAUGMENT_POLICY = "color,translation,cutout"


def get_config(arg=None):
    names = [a.strip() for a in (arg or "").split(",") if a.strip()]
    unknown = [a for a in names if a not in VARIANTS + DATA]
    variants = [a for a in names if a in VARIANTS] or ["diffaugment"]
    datasets = [a for a in names if a in DATA] or ["digits"]
    if unknown or len(variants) > 1 or len(datasets) > 1:
        raise ValueError(
            f"configs/diffaugment.py: preset {arg!r}: one of {list(VARIANTS)} and one of "
            f"{list(DATA)}, comma-separated"
        )
    variant, dataset = variants[0], datasets[0]
    c = default.get_config(dataset)
    c.objective.name = "non_saturating"
    c.data.num_examples = 180 if dataset == "digits" else 500  # a tenth of the images
    if dataset == "digits":
        c.train.steps = 3000
        c.eval.every_steps = 1000
        c.checkpoint.every_steps = 1000
    if variant in ("diffaugment", "ada", "lecam"):
        c.augment.policy = DIFFAUGMENT_POLICY
    if variant == "ada":
        c.augment.ada = True
        c.augment.p = 0.0
        c.augment.ada_kimg = 20
    if variant == "lecam":
        c.regularizer.lecam_weight = 0.3
    if variant == "bcr":
        c.regularizer.bcr_real = c.regularizer.bcr_fake = 10.0
    return c
