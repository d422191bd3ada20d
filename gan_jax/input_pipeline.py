"""Host input pipelines: TFDS datasets and image folders read through grain, sharded per process.

``data.name = 'tfds:<name>[/<config>]'`` reads a prepared TFDS dataset with
``tfds.data_source`` (ArrayRecord files, random access, no TensorFlow at training time) from
``data.tfds_data_dir`` (default: TFDS's own, ``$TFDS_DATA_DIR`` or ~/tensorflow_datasets).
``data.name = 'folder:<path>'`` reads every PNG/JPEG under ``path`` (recursively) with PIL; the
first-level subfolders are the classes (sorted names -> labels 0, 1, ...), images directly in
``path`` form a class of their own. Each record becomes ``{'x': float32 (R, R, C) in [-1, 1],
'label': int32}``: the central square of the image, resized to ``data.resolution`` (bilinear,
antialiased when shrinking, as PIL does), scaled from [0, 255] to [-1, 1].

One global order, whatever the number of processes. The records are shuffled with the run's seed
(grain's index shuffle, reshuffled every epoch) into one endless stream of examples; generator
update ``u`` reads the ``d_steps * B`` examples ``[u * d_steps * B, (u + 1) * d_steps * B)`` of
that stream, critic step ``s`` the ``s``-th ``B`` of them, exactly as the embedded datasets draw
``(d_steps, B)`` per update. Process ``p`` of ``P`` reads only rows ``[p * B/P, (p + 1) * B/P)``
of each ``B`` (the rows its devices hold, ``sharding.global_batch``), so the processes read
disjoint examples, every epoch is read once in total, and the batches, hence the numbers, do not
depend on how many processes share the work.

The position is checkpointable: ``HostInput.state()`` is JSON (grain's iterator state plus the
number of examples consumed), saved as the checkpoint's ``data`` item; ``HostInput.restore``
puts a fresh iterator where the saved one was, so a resumed run reads exactly the batches the
uninterrupted run would have read. If the batch layout changed in between (``train.batch_size``,
``train.d_steps`` or the process count), the stream restarts at the example it had reached.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import grain
import numpy as np
from PIL import Image

from gan_jax.errors import ConfigError, DataError

TFDS_PREFIX, FOLDER_PREFIX = "tfds:", "folder:"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
STATE_FORMAT = 1


def is_host_dataset(name: str) -> bool:
    """Whether ``data.name`` names a host pipeline (``tfds:...`` or ``folder:...``)."""
    return isinstance(name, str) and name.startswith((TFDS_PREFIX, FOLDER_PREFIX))


def center_square_resize(image: np.ndarray, resolution: int) -> np.ndarray:
    """(H, W, C) uint8 -> (R, R, C) float32 in [-1, 1]: central square, resized, scaled.

    The central min(H, W) square (CelebA's 218x178 -> 178x178, the crop of the usual DCGAN
    CelebA-64 recipe), resized with PIL's antialiased bilinear filter.
    """
    if image.ndim == 2:
        image = image[..., None]
    h, w, c = image.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top : top + side, left : left + side]
    if side != resolution:
        pil = Image.fromarray(square[..., 0] if c == 1 else square)
        pil = pil.resize((resolution, resolution), Image.Resampling.BILINEAR)
        square = np.asarray(pil).reshape(resolution, resolution, c)
    return square.astype(np.float32) / 127.5 - 1.0


@dataclasses.dataclass(frozen=True)
class HostSource:
    """A random-access dataset on the host: its preprocessed records and what they hold.

    Attributes:
      records: ``() -> grain.MapDataset`` of ``{'x', 'label'}`` records in storage order; opening
        the files is deferred to the first call, so a config naming data that is not on this
        machine can still build models (e.g. to sample from a checkpoint).
      shape: one record's image shape (R, R, C).
      num_classes: the number of labels (1 for unlabelled data).
    """

    records: Callable[[], grain.MapDataset]
    shape: tuple[int, int, int]
    num_classes: int


# ---------------------------------------------------------------------------------------------
# TFDS


def _unprepared(name: str, data_dir: str | None, cause: Exception) -> DataError:
    """The error for a TFDS dataset ``tfds.data_source`` cannot open: where, why, what to run."""
    import tensorflow_datasets as tfds

    builder_name = name.split("/")[0]
    dir_flag = f" --data_dir={data_dir}" if data_dir else ""
    build = f"tfds build {builder_name}{dir_flag} --file_format=array_record"
    try:
        builder = tfds.builder(name, data_dir=data_dir)
        searched, prepared = str(builder.data_dir), builder.is_prepared()
        file_format = str(getattr(builder.info, "file_format", "") or "").split(".")[-1]
    except Exception:  # the builder itself may be what failed; name the root instead
        searched = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
        prepared, file_format = False, ""
    if not prepared:
        problem = f"is not prepared in {searched}"
    elif file_format.lower() != "array_record":
        problem = (
            f"is prepared in {searched} as {file_format or 'a format'} without random access; "
            "gan_jax reads ArrayRecord"
        )
    else:
        problem = f"cannot be read from {searched} ({type(cause).__name__}: {cause})"
    return DataError(
        f"data.name='tfds:{name}': the TFDS dataset {name!r} {problem} "
        f"(data.tfds_data_dir={data_dir or ''!r}). Prepare it once, on a machine with network "
        "access (preparing needs TensorFlow; training does not):\n"
        "  pip install tensorflow-cpu\n"
        f"  {build}\n"
        "and point data.tfds_data_dir at that data dir if it is not TFDS's default."
    )


def tfds_source(spec: str, resolution: int, data_dir: str = "", split: str = "train") -> HostSource:
    """``spec`` = '<name>[/<config>]' of a TFDS image dataset (an 'image' feature)."""
    import tensorflow_datasets as tfds

    data_dir = data_dir or None
    key = "data.name"
    try:
        builder = tfds.builder(spec, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise ConfigError(key, TFDS_PREFIX + spec, "a TFDS dataset name ('tfds list')") from e
    except ValueError as e:  # e.g. an unknown builder config
        raise ConfigError(key, TFDS_PREFIX + spec, str(e).splitlines()[0][:200]) from e
    features = builder.info.features
    if "image" not in features:
        raise ConfigError(key, TFDS_PREFIX + spec, "a TFDS dataset with an 'image' feature")
    channels = features["image"].shape[-1]
    label = features["label"] if "label" in features else None
    num_classes = getattr(label, "num_classes", None) or 1

    def records() -> grain.MapDataset:
        try:
            source = tfds.data_source(spec, split=split, data_dir=data_dir, download=False)
            len(source)
        except Exception as e:  # tfds raises several kinds here; every one means "not prepared"
            raise _unprepared(spec, data_dir, e) from e

        def preprocess(example: Mapping[str, Any]) -> dict[str, np.ndarray]:
            y = example["label"] if num_classes > 1 else 0
            return {
                "x": center_square_resize(np.asarray(example["image"]), resolution),
                "label": np.int32(y),
            }

        return grain.MapDataset.source(source).map(preprocess)

    return HostSource(functools.cache(records), (resolution, resolution, channels), num_classes)


# ---------------------------------------------------------------------------------------------
# Image folders


def list_images(root: pathlib.Path) -> tuple[list[tuple[str, int]], list[str]]:
    """Every PNG/JPEG under ``root`` as sorted (path, label), and the class names.

    The class of a file is its first-level subfolder ('' for files directly in ``root``).
    """
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    classes = sorted({p.relative_to(root).parts[0] if p.parent != root else "" for p in files})
    index = {c: i for i, c in enumerate(classes)}
    return [
        (str(p), index[p.relative_to(root).parts[0] if p.parent != root else ""]) for p in files
    ], classes


GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def folder_source(path: str, resolution: int) -> HostSource:
    """Every PNG/JPEG under ``path``; grayscale if the first image is, else RGB (all converted)."""
    root = pathlib.Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"data.name='folder:{path}': {root} is not a directory")
    files, classes = list_images(root)
    if not files:
        raise DataError(
            f"data.name='folder:{path}': no images ({', '.join(IMAGE_SUFFIXES)}) under {root}"
        )
    with Image.open(files[0][0]) as first:
        mode = "L" if first.mode in GRAY_MODES else "RGB"
    channels = 1 if mode == "L" else 3

    def load(item: tuple[str, int]) -> dict[str, np.ndarray]:
        file, label = item
        with Image.open(file) as image:
            pixels = np.asarray(image.convert(mode))
        return {"x": center_square_resize(pixels, resolution), "label": np.int32(label)}

    return HostSource(
        functools.cache(lambda: grain.MapDataset.source(files).map(load)),
        (resolution, resolution, channels),
        len(classes),
    )


def host_source(cfg: Mapping[str, Any]) -> HostSource:
    """The source named by the ``data`` config block's ``name`` ('tfds:...' or 'folder:...')."""
    name, resolution = cfg["name"], cfg["resolution"]
    if name.startswith(TFDS_PREFIX):
        spec = name[len(TFDS_PREFIX) :]
        data_dir, split = cfg["tfds_data_dir"], cfg["split"]
        return tfds_source(spec, resolution, data_dir, split)
    return folder_source(name[len(FOLDER_PREFIX) :], resolution)


# ---------------------------------------------------------------------------------------------
# The per-process iterator


@dataclasses.dataclass(frozen=True)
class Layout:
    """How the example stream is cut: global batch, critic steps per update, processes."""

    batch_size: int
    d_steps: int
    process_count: int

    @property
    def process_batch(self) -> int:
        """Rows per process: ``sharding.process_batch_size`` when hosts have equal devices."""
        return self.batch_size // self.process_count


def process_stream(
    records: grain.MapDataset, seed: int, layout: Layout, process_index: int, start: int = 0
) -> grain.MapDataset:
    """Process ``process_index``'s part of the stream from example ``start``: a MapDataset whose
    element ``i`` is update ``i``'s batches, leaves of shape (d_steps, B / P, ...).

    The endless stream is ``records`` shuffled with ``seed`` (each epoch differently); its
    ``B / P``-example chunks go round the processes, chunk ``j`` to process ``j mod P``.
    """
    n, count = layout.process_batch, layout.process_count
    stream = records.shuffle(seed=seed % 2**32).repeat()[start:]
    return stream.batch(n)[process_index::count].batch(layout.d_steps)


class HostInput:
    """This process's endless iterator of generator-update batches, with checkpointable state.

    ``next(k)`` returns numpy leaves of shape (k, d_steps, B / P, ...): the batches of the next
    ``k`` generator updates, this process's rows only. Batches are prepared by
    ``data.num_threads`` grain threads, ``data.prefetch`` updates ahead.
    """

    def __init__(
        self,
        source: HostSource,
        *,
        seed: int,
        layout: Layout,
        process_index: int,
        num_threads: int = 4,
        prefetch: int = 8,
    ):
        self._records = source.records()
        self._seed, self._layout, self._process = seed, layout, process_index
        self._read = grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=prefetch)
        self._start, self._updates, self._opened = 0, 0, None

    def _open(self, start: int) -> grain.DatasetIterator:
        self._start, self._updates = start, 0
        stream = process_stream(self._records, self._seed, self._layout, self._process, start)
        self._opened = iter(stream.to_iter_dataset(self._read))
        return self._opened

    @property
    def _iterator(self) -> grain.DatasetIterator:
        # Opened on first use, so that a restore does not start threads for a discarded one.
        return self._opened if self._opened is not None else self._open(self._start)

    def next(self, k: int = 1) -> dict[str, np.ndarray]:
        iterator = self._iterator
        batches = [next(iterator) for _ in range(k)]
        self._updates += k
        return {key: np.stack([b[key] for b in batches]) for key in batches[0]}

    @property
    def examples(self) -> int:
        """Examples of the global stream consumed (all processes together)."""
        per_update = self._layout.batch_size * self._layout.d_steps
        return self._start + self._updates * per_update

    def state(self) -> dict[str, Any]:
        """The position as JSON; the same on every process (they move in lockstep)."""
        return {
            "format": STATE_FORMAT,
            "start": self._start,
            "examples": self.examples,
            "layout": dataclasses.asdict(self._layout),
            "iterator": self._iterator.get_state(),
        }

    def restore(self, saved: Mapping[str, Any]) -> str:
        """Continue from ``saved`` (a ``state()``); returns a line saying how."""
        if saved.get("format") != STATE_FORMAT:
            raise DataError(f"the checkpoint's input state has an unknown format: {saved!r}")
        if Layout(**saved["layout"]) == self._layout:
            self._open(start=saved["start"]).set_state(saved["iterator"])
            per_update = self._layout.batch_size * self._layout.d_steps
            self._updates = (saved["examples"] - saved["start"]) // per_update
            return f"input: restored the iterator at example {saved['examples']}"
        self._open(start=saved["examples"])
        return (
            f"input: the batch layout changed ({saved['layout']} -> "
            f"{dataclasses.asdict(self._layout)}); the stream continues at example "
            f"{saved['examples']}"
        )
