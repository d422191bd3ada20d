"""Host datasets: TFDS (under tfds.testing.mock_data, no network) and image folders via grain.

Training runs use the real entry points: gan_jax.main in a subprocess (tests/mock_tfds_main.py
wraps it in mock_data) and train.train_and_evaluate in process.
"""

import dataclasses
import json
import os
import socket
import subprocess
import sys

import grain
import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from conftest import REPO
from PIL import Image

from configs import default
from gan_jax import checkpointing, data, dispatch, divergence, input_pipeline, runs, train
from gan_jax.errors import ConfigError, DataError
from gan_jax.input_pipeline import HostInput, HostSource, Layout

MOCK_EXAMPLES = 40


@pytest.fixture(scope="module", autouse=True)
def compile_once(tmp_path_factory):
    """Identical tiny models here compile once: the RGB 16x16 folder run and the cifar10 CLI
    run (in a subprocess, through the environment), the two mnist runs of the resume test.

    Test-only: JAX's persistent compilation cache in a temp dir, so later runs of the same
    program load it instead of compiling (each run builds new jit-ted functions, which the
    in-memory cache cannot match). Switched off again for the other modules.
    """
    from jax._src import compilation_cache

    keys = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    saved = {k: getattr(jax.config, k) for k in keys}
    cache_dir = str(tmp_path_factory.mktemp("xla_cache"))
    jax.config.update(keys[0], cache_dir)
    jax.config.update(keys[1], 0.0)
    compilation_cache.reset_cache()
    # The same settings for subprocesses, as environment variables.
    env = {"JAX_COMPILATION_CACHE_DIR": cache_dir}
    yield {**env, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    for k, v in saved.items():
        jax.config.update(k, v)
    compilation_cache.reset_cache()


def tiny_preset(preset, **overrides):
    config = default.get_config(preset)
    config.update_from_flattened_dict(
        {
            "data.resolution": 16,  # 16 compiles fastest; the presets' 32/64 are checked below
            "model.width": 8,
            "model.z_dim": 16,
            "train.batch_size": 8,
            "train.steps": 4,
            "train.log_every": 2,
            "train.sample_every": 0,
            "checkpoint.every_steps": 2,
            "data.num_threads": 2,
            **overrides,
        }
    )
    return config


def index_source(n, shape=(2, 2, 1)):
    """n records whose pixels and label are their index: batches say which records they hold."""
    records = grain.MapDataset.range(n).map(
        lambda i: {"x": np.full(shape, i, np.float32), "label": np.int32(i)}
    )
    return HostSource(lambda: records, shape, n)


def record_ids(batch):
    return batch["label"]


# ------------------------------------------------------------------ preprocessing and sources


def test_center_square_resize_crops_the_middle_and_scales_to_minus_one_one():
    image = np.zeros((4, 8, 1), np.uint8)
    image[:, 2:6] = 255  # the central 4x4 square is white, the sides black
    out = input_pipeline.center_square_resize(image, 4)
    assert out.shape == (4, 4, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out, 1.0)
    rgb = np.zeros((218, 178, 3), np.uint8)  # CelebA's shape
    out = input_pipeline.center_square_resize(rgb, 64)
    assert out.shape == (64, 64, 3)
    np.testing.assert_array_equal(out, -1.0)


@pytest.mark.parametrize(
    "preset,shape,classes",
    [
        ("mnist", (32, 32, 1), 10),
        ("fashion_mnist", (32, 32, 1), 10),
        ("cifar10", (32, 32, 3), 10),
        ("celeba64", (64, 64, 3), 1),
    ],
)
def test_presets_read_their_tfds_dataset_at_their_resolution(preset, shape, classes):
    config = default.get_config(preset)
    assert config.data.name.startswith("tfds:") and config.model.name == "dcgan"
    with tfds.testing.mock_data(num_examples=6):
        run = runs.build_run(config)
        batch = run.dataset.sample(jax.random.key(0), 3)
    assert run.dataset.shape == shape and run.dataset.num_classes == classes
    assert batch["x"].shape == (3, *shape) and batch["x"].dtype == np.float32
    assert -1.0 <= batch["x"].min() and batch["x"].max() <= 1.0
    assert batch["label"].dtype == np.int32 and batch["label"].max() < classes


def write_pngs(root, classes=("cats", "dogs"), per_class=6, size=(20, 24)):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c / "nested").mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            sub = root / c / ("nested" if i % 2 else "")
            Image.fromarray(pixels).save(sub / f"{i}.png")
    (root / "notes.txt").write_text("not an image")


def test_folder_lists_images_recursively_with_class_subfolders_as_labels(tmp_path):
    write_pngs(tmp_path)
    ds = data.get_dataset({"name": f"folder:{tmp_path}", "resolution": 16})
    assert ds.on_host and ds.shape == (16, 16, 3) and ds.num_classes == 2
    records = ds.host.records()
    assert len(records) == 12
    labels = [int(records[i]["label"]) for i in range(12)]
    assert labels == [0] * 6 + [1] * 6  # sorted paths: cats/... then dogs/...
    first = sorted((tmp_path / "cats").rglob("*.png"))[0]
    expected = input_pipeline.center_square_resize(np.asarray(Image.open(first)), 16)
    np.testing.assert_array_equal(records[0]["x"], expected)


def test_folder_of_generated_pngs_trains(tmp_path):
    write_pngs(tmp_path / "images")
    # Two updates per dispatch: the unrolled fed path (and the cifar10 CLI test's program).
    overrides = {"data.name": f"folder:{tmp_path / 'images'}", "train.steps_per_dispatch": 2}
    state = train.train_and_evaluate(tiny_preset("digits", **overrides), tmp_path / "run")
    assert int(state.step) == 4
    records = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in records] == [2, 4]
    assert (tmp_path / "run" / "checkpoints" / "4" / "data").is_dir()


@pytest.mark.parametrize(
    "name,error,needle",
    [
        ("folder:/no/such/dir", DataError, "is not a directory"),
        ("tfds:no_such_dataset_xyz", ConfigError, "a TFDS dataset name"),
        ("tfds:", ConfigError, "followed by a dataset name"),
    ],
)
def test_bad_dataset_names_are_one_clear_error(name, error, needle):
    config = tiny_preset("digits", **{"data.name": name})
    with pytest.raises(error, match=needle):
        runs.build_run(config)


def test_a_tfds_run_builds_without_its_data_and_fails_clearly_when_reading(tmp_path):
    # Building models (e.g. to sample from a checkpoint) needs only TFDS's metadata.
    config = default.get_config("cifar10")
    config.data.tfds_data_dir = str(tmp_path)
    run = runs.build_run(config)
    assert run.dataset.shape == (32, 32, 3)
    with pytest.raises(DataError, match="tfds build cifar10"):
        run.dataset.host.records()


def test_empty_folder_is_one_clear_error(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(DataError, match="no images"):
        data.get_dataset({"name": f"folder:{tmp_path}", "resolution": 16})


def test_unprepared_tfds_dataset_names_the_dir_and_how_to_prepare_it(tmp_path):
    # No mock_data: an empty data dir holds no prepared mnist. Through the real CLI, which must
    # print the message without a traceback and leave no workdir behind.
    workdir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "gan_jax.main",
            "--config=configs/default.py:mnist",
            f"--config.data.tfds_data_dir={tmp_path / 'tfds'}",
            f"--workdir={workdir}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    text = res.stderr[res.stderr.index("gan_jax: ") :]
    assert text.startswith("gan_jax: data.name='tfds:mnist': the TFDS dataset 'mnist' is not")
    assert f"is not prepared in {tmp_path / 'tfds' / 'mnist'}" in text  # the directory searched
    assert "pip install tensorflow-cpu" in text
    assert "tfds build mnist" in text and "--file_format=array_record" in text
    assert not workdir.exists()


# ------------------------------------------------------------------ order, sharding, state


def take(host_input, n):
    return [host_input.next(1) for _ in range(n)]


def test_processes_read_disjoint_rows_that_make_up_the_one_process_batch():
    # 10 records, 2 critic steps of batch 4 per update: updates straddle epoch boundaries.
    source = index_source(10)
    kwargs = dict(seed=3, num_threads=0, prefetch=0)
    one = HostInput(source, layout=Layout(4, 2, 1), process_index=0, **kwargs)
    two = [HostInput(source, layout=Layout(4, 2, 2), process_index=p, **kwargs) for p in (0, 1)]
    read = {0: set(), 1: set()}  # (epoch, record) pairs each process read
    stream = []
    for u in range(5):
        whole = record_ids(one.next(1))[0]  # (d_steps, B)
        parts = [record_ids(h.next(1))[0] for h in two]
        assert parts[0].shape == parts[1].shape == (2, 2)
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
        stream.extend(whole.ravel().tolist())
        for p, part in enumerate(parts):
            for s in range(2):
                for r in range(2):
                    position = (u * 2 + s) * 4 + p * 2 + r  # in the global example stream
                    read[p].add((position // 10, int(part[s, r])))
    assert not read[0] & read[1]  # within an epoch no record is read by both processes
    # Each epoch (10 consecutive examples of the stream) holds every record once, reshuffled.
    epochs = [stream[i : i + 10] for i in range(0, 40, 10)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert epochs[0] != epochs[1]


def test_tfds_processes_read_disjoint_examples():
    with tfds.testing.mock_data(num_examples=16):
        source = data.get_dataset({"name": "tfds:cifar10", "resolution": 16}).host
        kwargs = dict(seed=0, num_threads=0, prefetch=0)
        parts = [
            HostInput(source, layout=Layout(8, 1, 2), process_index=p, **kwargs).next(2)["x"]
            for p in (0, 1)
        ]
        whole = HostInput(source, layout=Layout(8, 1, 1), process_index=0, **kwargs).next(2)["x"]
    assert parts[0].shape == (2, 1, 4, 16, 16, 3)
    np.testing.assert_array_equal(np.concatenate(parts, axis=2), whole)
    rows = whole.reshape(16, -1)
    assert len({r.tobytes() for r in rows}) == 16  # one epoch of 16 distinct mock images


def test_state_round_trip_and_layout_change():
    source = index_source(7)
    kwargs = dict(seed=1, num_threads=2, prefetch=4)
    straight = HostInput(source, layout=Layout(2, 3, 1), process_index=0, **kwargs)
    expected = [record_ids(b) for b in take(straight, 6)]
    first = HostInput(source, layout=Layout(2, 3, 1), process_index=0, **kwargs)
    got = [record_ids(b) for b in take(first, 2)]
    saved = json.loads(json.dumps(first.state()))  # JSON, as the checkpoint stores it
    assert saved["examples"] == 2 * 2 * 3
    resumed = HostInput(source, layout=Layout(2, 3, 1), process_index=0, **kwargs)
    assert "restored the iterator" in resumed.restore(saved)
    got += [record_ids(b) for b in take(resumed, 4)]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    # A new batch size continues the same example stream where it stopped.
    stream = np.concatenate([e.ravel() for e in expected])
    other = HostInput(source, layout=Layout(3, 1, 1), process_index=0, **kwargs)
    assert "layout changed" in other.restore(saved)
    np.testing.assert_array_equal(record_ids(other.next(2)).ravel(), stream[12:18])


def recording(monkeypatch):
    """Record every batch the trainer takes from a HostInput."""
    taken = []
    original = HostInput.next

    def next_batches(self, k=1):
        batches = original(self, k)
        taken.extend(np.array(b) for b in batches["x"])
        return batches

    monkeypatch.setattr(HostInput, "next", next_batches)
    return taken


def test_mnist_trains_and_resumes_reading_the_uninterrupted_runs_batches(
    tmp_path, monkeypatch, capsys
):
    taken = recording(monkeypatch)
    with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
        # The batches an uninterrupted run reads: the first 4 updates of a fresh iterator.
        config = tiny_preset("mnist")
        layout = Layout(8, 1, 1)
        source = data.get_dataset(config.data).host
        fresh = HostInput(source, seed=0, layout=layout, process_index=0)
        uninterrupted = list(fresh.next(4)["x"])
        taken.clear()
        # 2 steps, a checkpoint, then the same command with train.steps=4 resumes from it.
        train.train_and_evaluate(tiny_preset("mnist", **{"train.steps": 2}), tmp_path)
        capsys.readouterr()
        state = train.train_and_evaluate(config, tmp_path)
    assert "input: restored the iterator at example 16" in capsys.readouterr().out
    assert int(state.step) == 4
    assert len(taken) == 4 and taken[0].shape == (1, 8, 16, 16, 1)  # (d_steps, B, R, R, C)
    for a, b in zip(uninterrupted, taken):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(taken[2], taken[0])  # the resumed run did not start over
    mgr = checkpointing.manager(tmp_path, create=False)
    try:
        saved = checkpointing.restore_data(mgr, 4)
    finally:
        mgr.close()
    assert saved["examples"] == 4 * 8 and saved["layout"]["batch_size"] == 8


def test_cifar10_trains_through_the_cli_with_two_updates_per_dispatch(tmp_path, compile_once):
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu", **compile_once}
    workdir = tmp_path / "run"
    flags = [
        "--config=configs/nsgan.py:cifar10",
        f"--workdir={workdir}",
        "--config.data.resolution=16",
        "--config.model.width=8",
        "--config.model.z_dim=16",
        "--config.train.batch_size=8",
        "--config.train.steps=4",
        "--config.train.log_every=2",
        "--config.train.sample_every=0",
        "--config.train.steps_per_dispatch=2",
        "--config.data.num_threads=2",
    ]
    res = subprocess.run(
        [sys.executable, "tests/mock_tfds_main.py", f"--num_examples={MOCK_EXAMPLES}", *flags],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "on tfds:cifar10 with dcgan" in res.stdout and "step      4/4" in res.stdout
    records = [json.loads(r) for r in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert all(np.isfinite(r["d/loss"]) for r in records)
    saved = json.loads((workdir / "checkpoints" / "4" / "data" / "metadata").read_text())
    assert saved["examples"] == 4 * 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_feed_disjoint_shards_through_the_cli(tmp_path):
    # Two JAX processes (one CPU device each, gloo on 127.0.0.1) train tfds:mnist together.
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    port, dump = free_port(), tmp_path / "dump"
    dump.mkdir()
    flags = [
        "--config=configs/nsgan.py:mnist",
        f"--workdir={tmp_path / 'run'}",
        "--config.data.resolution=16",
        "--config.model.width=8",
        "--config.model.z_dim=16",
        "--config.train.batch_size=8",
        "--config.train.steps=3",
        "--config.train.log_every=1",
        "--config.train.sample_every=0",
        "--config.data.num_threads=1",
        f"--coordinator_address=127.0.0.1:{port}",
        "--num_processes=2",
    ]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "tests/mock_tfds_main.py",
                f"--num_examples={MOCK_EXAMPLES}",
                f"--dump_batches={dump}",
                *flags,
                f"--process_id={i}",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        errors = [p.communicate(timeout=400)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, err in zip(procs, errors):
        assert p.returncode == 0, err[-3000:]
    parts = [np.load(dump / f"process_{i}.npy") for i in range(2)]
    assert parts[0].shape == (3, 1, 4, 16, 16, 1)  # 3 updates of this process's 4 rows
    rows = [{r.tobytes() for r in part.reshape(-1, 16 * 16)} for part in parts]
    assert len(rows[0]) == len(rows[1]) == 12 and not rows[0] & rows[1]
    with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
        config = tiny_preset("mnist")
        source = data.get_dataset(config.data).host
        whole = HostInput(source, seed=0, layout=Layout(8, 1, 1), process_index=0).next(3)["x"]
    np.testing.assert_array_equal(np.concatenate(parts, axis=2), whole)
    saved = json.loads((tmp_path / "run" / "checkpoints" / "3" / "data" / "metadata").read_text())
    assert saved["examples"] == 3 * 8 and saved["layout"]["process_count"] == 2


def point_run():
    """An MLP run on a host source of 2D points (its k-update dispatch is a rolled scan)."""
    records = grain.MapDataset.range(64).map(
        lambda i: {"x": np.array([np.cos(i), np.sin(i)], np.float32), "label": np.int32(0)}
    )
    source = HostSource(lambda: records, (2,), 1)
    config = default.get_config("ring8")
    config.model.g_hidden = config.model.d_hidden = (16, 16)
    config.train.batch_size, config.train.d_steps = 8, 2
    base = runs.build_run(config)
    dataset = data.Dataset("points", (2,), None, 1, host=source)
    return dataclasses.replace(base, dataset=dataset)


@pytest.mark.parametrize(
    "make_run",
    [
        point_run,  # rolled lax.scan over the fed batches
        pytest.param("folder", marks=pytest.mark.slow),  # DCGAN: unrolled, ~50 s to compile
    ],
)
def test_fed_dispatch_of_k_updates_equals_k_dispatches_of_one(tmp_path, make_run):
    if make_run == "folder":
        write_pngs(tmp_path)
        config = tiny_preset("digits", **{"data.name": f"folder:{tmp_path}", "train.d_steps": 2})
        run = runs.build_run(config)
    else:
        run = make_run()
    host_input = HostInput(run.dataset.host, seed=0, layout=Layout(8, 2, 1), process_index=0)
    batches = jax.tree.map(jax.numpy.asarray, host_input.next(2))  # (2, d_steps, B, ...)
    state = jax.jit(run.init_state)(jax.random.key(0))
    guard = divergence.init_guard()
    two, _, _ = dispatch.make_dispatch(run, 2)(
        jax.tree.map(lambda a: a.copy(), state), guard, batches
    )
    one = dispatch.make_dispatch(run, 1)
    for i in range(2):
        state, guard, _ = one(state, guard, jax.tree.map(lambda a, i=i: a[i : i + 1], batches))
    assert int(two.step) == int(state.step) == 2
    for a, b in zip(
        jax.tree.leaves((two.nets["g"], two.nets["d"])),
        jax.tree.leaves((state.nets["g"], state.nets["d"])),
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
