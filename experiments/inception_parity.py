"""gan_jax's Inception-v3 against pytorch-fid's on the same random weights and the same images.

    python3 -m pip install -e ".[parity]"   # torch, torchvision, pytorch-fid, clean-fid (setup.cfg)
    python3 experiments/inception_parity.py [--num_images=6] [--sizes=32,320] [--json=FILE]

pytorch-fid fetches its weights with ``load_state_dict_from_url``; this script replaces that
function with one returning a random state dict, so both networks are built offline from the same
numbers. The state dict is generated from gan_jax's own parameter names and shapes (plus the
``num_batches_tracked`` counters torch keeps), and pytorch-fid loads it with ``strict=True``: the
load itself checks that the two networks have the same parameters under the same names. Conv
kernels are He-scaled and every BatchNorm gets random scale, offset, running mean and running
variance, so a BatchNorm or pooling that differed would show in the output.

The images are uniform noise in [0, 1] at each of ``--sizes`` (32: upsampling to 299 as for GAN
samples; 320: downsampling). pytorch-fid's ``InceptionV3([3])`` resizes them (bilinear,
``align_corners=False``), scales them to [-1, 1] and returns the 2048-d pool features; its
``fid_inception_v3()`` applied to the same resized, scaled input gives the 1008-way ``fc``
logits. gan_jax's ``InceptionExtractor(resize='bilinear')`` takes the images in [-1, 1] and does
its own resize. The script prints the largest absolute difference of the features and of the
logits (and relative to the largest magnitude), and the Frechet distance between two image sets
(the images and a noisy copy) on each network's features, both computed by
``gan_jax.metrics.frechet_distance`` (pytorch-fid's ``calculate_frechet_distance`` stops with
"Imaginary component" on the singular covariances of a few 2048-d features; the two Frechet
distance implementations are compared in tests/test_metrics.py). When clean-fid is installed it
also compares ``resize='clean'`` with clean-fid's ``build_resizer('clean')`` on random 8-bit
images (the resize only: clean-fid's own network is a download). Measured results:
experiments/README.md.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
from collections.abc import Mapping

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def gan_jax_shapes() -> dict[str, tuple[int, ...]]:
    """The state-dict names and shapes of gan_jax's InceptionV3 (pytorch-fid's naming)."""
    import jax
    import jax.numpy as jnp

    from gan_jax import inception

    shapes = jax.eval_shape(
        inception.InceptionV3().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3))
    )
    names = {}
    for collection in ("params", "batch_stats"):
        for path, leaf in inception.flax_flatten(shapes[collection]).items():
            shape = tuple(leaf.shape)
            if path[-1] == "kernel":  # HWIO -> OIHW, (in, out) -> (out, in)
                shape = (shape[3], shape[2], shape[0], shape[1]) if len(shape) == 4 else shape[::-1]
            names[inception._torch_key(collection, path)] = shape
    return names


def random_state_dict(
    shapes: Mapping[str, tuple[int, ...]], seed: int = 0
) -> dict[str, np.ndarray]:
    """A random pytorch-fid state dict: He-scaled kernels, random BatchNorm parameters/statistics.

    Adds each BatchNorm's ``num_batches_tracked`` (an int64 counter, unused in inference) so that
    torch's strict ``load_state_dict`` accepts it.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in sorted(shapes.items()):
        if name.endswith("conv.weight") or name == "fc.weight":
            fan_in = int(np.prod(shape[1:]))
            value = rng.normal(size=shape) * np.sqrt(2.0 / fan_in)
        elif name.endswith(("bn.weight", "running_var")):
            value = rng.uniform(0.5, 2.0, shape)
        else:  # bn.bias, running_mean, fc.bias
            value = rng.normal(size=shape) * 0.1
        out[name] = value.astype(np.float32)
        if name.endswith("bn.running_var"):
            out[name.replace("running_var", "num_batches_tracked")] = np.array(0, np.int64)
    return out


def gan_jax_outputs(
    state_dict: Mapping[str, np.ndarray], images01: np.ndarray, resize: str = "bilinear"
) -> tuple[np.ndarray, np.ndarray]:
    """gan_jax's (pool features, fc logits with bias) of NHWC images in [0, 1]."""
    from gan_jax import inception

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "weights.npz"
        np.savez(path, **state_dict)
        extractor = inception.InceptionExtractor(path, resize=resize)
    features, unbiased = extractor.features_and_logits(images01 * 2.0 - 1.0, batch=len(images01))
    return features, unbiased + state_dict["fc.bias"].astype(np.float64)


def torch_outputs(
    state_dict: Mapping[str, np.ndarray], images01: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """pytorch-fid's (pool features, fc logits) of NHWC images in [0, 1], its weights replaced."""
    import torch
    import torch.nn.functional as F
    from pytorch_fid import inception as fid

    tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in state_dict.items()}
    fid.load_state_dict_from_url = lambda *args, **kwargs: dict(tensors)
    x = torch.from_numpy(np.ascontiguousarray(images01.transpose(0, 3, 1, 2)))
    with torch.no_grad():
        wrapper = fid.InceptionV3([fid.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
        features = wrapper(x)[0][:, :, 0, 0]
        # The wrapper drops the classifier; the full network gives the logits of the same input.
        full = fid.fid_inception_v3().eval()
        scaled = 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
        logits = full(scaled)
    return features.double().numpy(), logits.double().numpy()


def control_differences(
    state_dict: Mapping[str, np.ndarray], images01: np.ndarray, reference: np.ndarray
) -> dict[str, float]:
    """Relative max feature difference to ``reference`` with each checked convention flipped.

    Shows that the comparison would see each quirk: the FID blocks' average pools counting the
    padding (torchvision's own blocks), Mixed_7c average- instead of max-pooling (FIDInceptionE_2),
    clean-fid's bicubic resize instead of bilinear, and images fed in [0, 1] instead of [-1, 1].
    """
    import flax.linen as nn

    from gan_jax import inception

    def rel(features):
        return float(np.abs(features - reference).max() / np.abs(reference).max())

    out = {}
    avg_pool, max_pool = inception._avg_pool, inception._max_pool
    try:
        inception._avg_pool = lambda x: nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), True)
        out["avg_pool_counts_padding"] = rel(gan_jax_outputs(state_dict, images01)[0])
        inception._avg_pool = avg_pool
        inception._max_pool = lambda x, stride=2, pad=0: (
            avg_pool(x) if stride == 1 else max_pool(x, stride, pad)
        )
        out["mixed_7c_average_pool"] = rel(gan_jax_outputs(state_dict, images01)[0])
    finally:
        inception._avg_pool, inception._max_pool = avg_pool, max_pool
    out["clean_resize"] = rel(gan_jax_outputs(state_dict, images01, resize="clean")[0])
    out["inputs_in_0_1"] = rel(gan_jax_outputs(state_dict, (images01 + 1.0) / 2.0)[0])
    return out


def clean_resize_difference(sizes: tuple[int, ...], seed: int = 0) -> dict[str, float] | None:
    """Max |gan_jax resize='clean' - clean-fid's build_resizer('clean')| on random 8-bit images.

    On clean-fid's 0..255 scale, per input size; None when clean-fid is not installed.
    """
    try:
        from cleanfid.resize import build_resizer
    except ImportError:
        return None
    from gan_jax import inception

    rng = np.random.default_rng(seed + 2)
    resizer = build_resizer("clean")
    out = {}
    for size in sizes:
        images = rng.integers(0, 256, (3, size, size, 3)).astype(np.uint8)
        theirs = np.stack([resizer(image) for image in images])
        ours = (inception.resize(images / 127.5 - 1.0, "clean") + 1.0) * 127.5
        out[str(size)] = float(np.abs(ours - theirs).max())
    return out


def compare(
    num_images: int = 6, sizes: tuple[int, ...] = (32, 320), seed: int = 0, controls: bool = True
) -> dict:
    """Run both networks on random images of each size; the differences, per size."""
    import torch

    from gan_jax import metrics

    torch.manual_seed(seed)
    state_dict = random_state_dict(gan_jax_shapes(), seed)
    rng = np.random.default_rng(seed + 1)
    rows = {}
    for size in sizes:
        a = rng.uniform(0, 1, (num_images, size, size, 3)).astype(np.float32)
        b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
        jf_a, jl_a = gan_jax_outputs(state_dict, a)
        tf_a, tl_a = torch_outputs(state_dict, a)
        jf_b, _ = gan_jax_outputs(state_dict, b)
        tf_b, _ = torch_outputs(state_dict, b)
        fd_torch = metrics.frechet_distance_features(tf_a, tf_b)
        fd_jax = metrics.frechet_distance_features(jf_a, jf_b)
        rows[size] = {
            "features_max_abs_diff": float(np.abs(jf_a - tf_a).max()),
            "features_max_abs": float(np.abs(tf_a).max()),
            "features_max_rel_diff": float(np.abs(jf_a - tf_a).max() / np.abs(tf_a).max()),
            "logits_max_abs_diff": float(np.abs(jl_a - tl_a).max()),
            "logits_max_abs": float(np.abs(tl_a).max()),
            "logits_max_rel_diff": float(np.abs(jl_a - tl_a).max() / np.abs(tl_a).max()),
            "fd_of_pytorch_fid_features": float(fd_torch),
            "fd_of_gan_jax_features": float(fd_jax),
        }
        if controls:
            rows[size]["controls_features_max_rel_diff"] = control_differences(state_dict, a, tf_a)
    return {
        "num_images": num_images,
        "seed": seed,
        "by_input_size": rows,
        "clean_resize_vs_clean_fid_max_abs_diff_0_255": clean_resize_difference(sizes, seed),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_images", type=int, default=6)
    parser.add_argument("--sizes", default="32,320", help="input sizes, comma separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the result here")
    parser.add_argument(
        "--no_controls", action="store_true", help="skip the runs with each convention flipped"
    )
    args = parser.parse_args(argv)
    try:
        import pytorch_fid
        import torch
        import torchvision
    except ImportError as e:
        sys.exit(f"inception_parity: {e}; install the extra: pip install -e '.[parity]'")

    sizes = tuple(int(s) for s in args.sizes.split(","))
    result = compare(args.num_images, sizes, args.seed, controls=not args.no_controls)
    result["versions"] = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "pytorch_fid": pytorch_fid.__version__,
    }
    if result["clean_resize_vs_clean_fid_max_abs_diff_0_255"] is not None:
        from importlib.metadata import version

        result["versions"]["clean_fid"] = version("clean-fid")
    for size, row in result["by_input_size"].items():
        print(
            f"{size}x{size} -> 299, {args.num_images} images: features max |diff| "
            f"{row['features_max_abs_diff']:.3g} (max |feature| {row['features_max_abs']:.3g}, "
            f"rel {row['features_max_rel_diff']:.2g}); logits max |diff| "
            f"{row['logits_max_abs_diff']:.3g} (rel {row['logits_max_rel_diff']:.2g}); "
            f"FD on pytorch-fid's features {row['fd_of_pytorch_fid_features']:.6g}, on gan_jax's "
            f"{row['fd_of_gan_jax_features']:.6g}"
        )
        for name, value in row.get("controls_features_max_rel_diff", {}).items():
            print(f"  control, {name}: features max rel diff {value:.2g}")
    clean = result["clean_resize_vs_clean_fid_max_abs_diff_0_255"]
    if clean is None:
        print("clean-fid not installed: resize='clean' not compared")
    for size, value in (clean or {}).items():
        print(
            f"resize='clean' vs clean-fid build_resizer('clean'), {size}x{size}: max |diff| "
            f"{value:.2g} on the 0..255 scale"
        )
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
