"""python -m gan_jax.main --config=configs/ada.py

ADA (Karras et al. 2020, arXiv 2006.06676) on a tenth of the digits: the DiffAugment policy
(colour, translation, cutout) applied with a probability p that starts at 0 and follows ADA's
overfitting heuristic r_t = E[sign D(x_real)] (target 0.6, adjusted every 4 critic updates, p can
cross [0, 1] in 20k images). The same recipe as ``configs/diffaugment.py:ada``; a preset here
(``:mnist5k``) picks the data as there.
"""

from configs import diffaugment


def get_config(arg=None):
    return diffaugment.get_config("ada" + (f",{arg}" if arg else ""))
