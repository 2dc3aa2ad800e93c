import os
import shutil
import subprocess
import sys
from dataclasses import replace

import h5py
import numpy as np
import pytest

from preprocess.cache import Cache, CacheError
from preprocess.cache_reader import ShardReader
from preprocess.pipeline import run
from tests.conftest import SMALL
from tests.helpers import shard_contents
from train.fitting.dataset import BatchBuffers, ShardDataset


def served_rows(ds, contents):
    """(id, labels) of every served row, by looking images up in the shards' contents."""
    lookup = {}
    for shard in contents.values():
        if "labels" in shard:
            for image, galaxy_id, label in zip(shard["images"], shard["ids"], shard["labels"]):
                lookup[image.tobytes()] = (int(galaxy_id), label)
    rows = []
    for i in range(len(ds)):
        images, labels = ds[i]
        for image, label in zip(images, labels):
            galaxy_id, expected = lookup[image.tobytes()]
            np.testing.assert_array_equal(label, expected)
            rows.append(galaxy_id)
    return rows


def test_one_epoch_serves_every_id_once_with_its_labels(small_cache):
    ds = ShardDataset(small_cache, "train", batch_size=16, shuffle=True, seed=1)
    contents = shard_contents(small_cache)
    train_ids = np.concatenate([c["ids"] for n, c in contents.items() if n.startswith("train")])
    rows = served_rows(ds, contents)
    assert sorted(rows) == sorted(train_ids.tolist())
    assert rows == ds.ids.tolist(), "ids must list the galaxies in the order they are served"
    shards = [n for n in contents if n.startswith("train")]
    sizes = [len(ds[i][0]) for i in range(len(ds))]
    assert max(sizes) == 16 and sum(size < 16 for size in sizes) <= len(shards)  # short: a shard's last rows


def test_compressed_shards_serve_the_same_rows_as_uncompressed(small_cache, kaggle_dir, tmp_path):
    """Uncompressed rows are read as raw bytes, compressed ones through h5py: the same galaxies either way."""
    run(kaggle_dir, tmp_path / "lzf", replace(SMALL, compression="lzf"), progress=False)
    raw, lzf = (ShardDataset(cache, "train", batch_size=16, seed=2) for cache in (small_cache, tmp_path / "lzf"))
    for epoch in range(3):  # new offsets each epoch: some runs wrap past a shard's end
        raw.set_epoch(epoch)
        served = served_rows(raw, shard_contents(small_cache))
        assert sorted(served) == sorted(served_rows(lzf, shard_contents(tmp_path / "lzf")))
    assert any(start + count > raw.shards[shard].count for runs in raw.plan for shard, start, count in runs)


def test_a_truncated_shard_is_named(small_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    ds = ShardDataset(cache, "train", batch_size=16, shuffle=False)
    shard = cache / ds.shards[0].name
    ds.reader(0)  # opened while whole, as during an epoch; then the file loses its end
    os.truncate(shard, shard.stat().st_size - 70_000)
    with pytest.raises(CacheError, match=f"{shard.name}: truncated"):
        [ds[i] for i in range(len(ds))]


def test_orders_differ_between_epochs_and_repeat_with_the_seed(small_cache):
    a = ShardDataset(small_cache, "train", batch_size=16, seed=1)
    first = a.ids.copy()
    a.on_epoch_end()
    second = a.ids.copy()
    b = ShardDataset(small_cache, "train", batch_size=16, seed=1)
    assert not np.array_equal(first, second)
    assert np.array_equal(first, b.ids)
    b.set_epoch(1)
    assert np.array_equal(second, b.ids)


def test_test_split_serves_images_and_ids_in_order(small_cache):
    ds = ShardDataset(small_cache, "test", batch_size=16, shuffle=False)
    batch = ds[0]
    assert isinstance(batch, np.ndarray) and batch.shape[1:] == (106, 106, 3) and batch.dtype == np.uint8
    contents = shard_contents(small_cache)
    expected = np.concatenate([contents[n]["ids"] for n in sorted(contents) if n.startswith("test")])
    assert np.array_equal(ds.ids, expected)
    assert sum(len(ds[i]) for i in range(len(ds))) == len(expected)


def test_missing_cache_says_run_preprocess(tmp_path):
    with pytest.raises(CacheError, match="make preprocess"):
        ShardDataset(tmp_path / "none", "train")


def batch_mates(ds: ShardDataset) -> dict[int, frozenset]:
    """Each galaxy -> the galaxies served in the same batch."""
    mates = {}
    for index in range(len(ds)):
        batch = frozenset(ds.read(index, "ids").tolist())
        mates.update({galaxy_id: batch for galaxy_id in batch})
    return mates


def test_batches_mix_differently_from_epoch_to_epoch(small_cache):
    ds = ShardDataset(small_cache, "train", batch_size=32, seed=2)
    first = batch_mates(ds)
    ds.on_epoch_end()
    second = batch_mates(ds)
    assert first.keys() == second.keys()
    assert sum(first[g] != second[g] for g in first) > 0.8 * len(first)


class CountingReads(ShardDataset):
    """Counts, per shard, how often each row is read."""

    reads: dict = {}

    def read_rows(self, out, shard, start, name):
        if name == "images" and self.split == "train":
            rows = self.reads.setdefault(self.shards[shard].name, np.zeros(self.shards[shard].count, int))
            rows[(start + np.arange(len(out))) % len(rows)] += 1
        super().read_rows(out, shard, start, name)


def test_model_fit_reads_every_row_of_every_shard_once_per_epoch(small_cache):
    """Through model.fit, in the order Keras asks for batches (its own shuffle), not by indexing."""
    import keras

    class PerEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.before = {name: rows.copy() for name, rows in CountingReads.reads.items()}

        def on_epoch_end(self, epoch, logs=None):
            epochs.append({name: rows - self.before.get(name, 0) for name, rows in CountingReads.reads.items()})

    CountingReads.reads, epochs = {}, []
    model = keras.Sequential(
        [keras.Input((106, 106, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(37)]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(CountingReads(small_cache, "train", batch_size=8, seed=3), epochs=3, verbose=0, callbacks=[PerEpoch()])
    assert len(epochs) == 3
    for reads in epochs:
        assert sorted(reads) == sorted(s.name for s in Cache.open(small_cache).split("train"))
        assert all((rows == 1).all() for rows in reads.values())


def test_each_chunk_of_a_compressed_shard_is_read_once_per_epoch(kaggle_dir, tmp_path, monkeypatch):
    """A compressed shard is read a whole HDF5 chunk at a time, so no chunk is decompressed twice in an epoch."""
    run(kaggle_dir, tmp_path / "gzip", replace(SMALL, compression="gzip"), progress=False)
    reads, read = [], ShardReader.read

    def counted(self, name, start, out):
        if name == "images":
            reads.append((str(self.path), start, len(out)))
        read(self, name, start, out)

    monkeypatch.setattr(ShardReader, "read", counted)
    ds = ShardDataset(tmp_path / "gzip", "train", batch_size=32, seed=4)
    chunks = {}
    for shard in ds.shards:
        with h5py.File(tmp_path / "gzip" / shard.name) as f:
            rows = f["images"].chunks[0]
        chunks[str(tmp_path / "gzip" / shard.name)] = [
            (s, min(rows, shard.count - s)) for s in range(0, shard.count, rows)
        ]
    for epoch in range(3):
        ds.set_epoch(epoch)
        reads.clear()
        for i in range(len(ds)):
            ds[i]
        for path, expected in chunks.items():
            assert sorted((start, n) for p, start, n in reads if p == path) == expected


def test_batch_arrays_are_reused_only_once_nobody_holds_them(small_cache):
    ds = ShardDataset(small_cache, "train", batch_size=16, shuffle=False)
    first = ds[0][0]
    assert first.ctypes.data % 64 == 0, "TensorFlow takes a 64-byte aligned batch without copying it"
    expected = first.copy()
    part = first[2:5]
    del first
    second = ds[1][0]
    assert not np.shares_memory(part, second), "a view of a batch still holds its memory"
    np.testing.assert_array_equal(part, expected[2:5])
    del part, second
    pool = next(iter(ds._buffers.pool.values()))
    third = ds[2][0]
    assert len(pool) == 2 and any(np.shares_memory(third, pooled) for pooled in pool), "a free array is reused"
    del third
    held = [ds[i % len(ds)][0] for i in range(BatchBuffers(16).limit + 4)]  # more batches out than the pool keeps
    assert all(len(arrays) <= BatchBuffers(16).limit for arrays in ds._buffers.pool.values())
    assert not any(np.shares_memory(a, b) for i, a in enumerate(held) for b in held[i + 1 :])


def test_a_batch_that_tensorflow_holds_is_never_overwritten(small_cache):
    """Keras feeds a PyDataset through tf.data.Dataset.from_generator, which keeps an aligned batch's memory
    instead of copying it: while TensorFlow holds that tensor, the pool must not hand the memory out again."""
    import tensorflow as tf

    ds = ShardDataset(small_cache, "train", batch_size=16, shuffle=False)
    expected = [images.copy() for images, _ in ShardDataset(small_cache, "train", batch_size=16, shuffle=False)]
    signature = (tf.TensorSpec((None, 106, 106, 3), tf.uint8), tf.TensorSpec((None, 37), tf.float32))
    stream = tf.data.Dataset.from_generator(lambda: (ds[i] for i in range(len(ds))), output_signature=signature)
    held = [images for images, _ in stream]  # tensors over the batches' memory, all held at once
    for i in range(len(ds)):  # as many batches again through the same pool
        ds[i]
    for tensor, images in zip(held, expected, strict=True):
        np.testing.assert_array_equal(tensor.numpy(), images)


def test_open_files_stay_bounded_whatever_the_number_of_shards(kaggle_dir, tmp_path):
    """Caches of 90 one-galaxy shards (about 60 hold a galaxy), raw and compressed, read to the end twice under
    an open-files limit that reading every shard at once would pass."""
    for compression in (None, "lzf"):
        run(kaggle_dir, tmp_path / str(compression), replace(SMALL, shard_size=1, compression=compression))
    code = f"""
import os, resource
from train.fitting.dataset import OPEN_SHARDS, ShardDataset
for cache, files in (({str(tmp_path / "None")!r}, 1), ({str(tmp_path / "lzf")!r}, 2)):  # fds per open shard
    ds = ShardDataset(cache, "train", batch_size=16, seed=1)
    assert len(ds.shards) > OPEN_SHARDS + 24, len(ds.shards)
    limit = len(os.listdir("/proc/self/fd")) + files * OPEN_SHARDS + 16
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    for epoch in range(2):
        ds.set_epoch(epoch)
        print(sum(len(ds[i][0]) for i in range(len(ds))))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["90"] * 4


def test_raw_reads_check_bounds_dtype_and_row_shape(small_cache):
    cache = Cache.open(small_cache)
    reader = cache.reader(cache.split("train")[0])
    images = np.empty((4, 106, 106, 3), np.uint8)
    reader.read("images", reader.rows - 4, images)  # the last rows: fine
    with pytest.raises(IndexError, match="outside"):
        reader.read("images", reader.rows - 3, images)
    with pytest.raises(IndexError, match="outside"):
        reader.read("images", -1, images)
    with pytest.raises(ValueError, match="uint8"):
        reader.read("images", 0, np.empty((4, 106, 106, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        reader.read("images", 0, np.empty((4, 106, 106, 4), np.uint8))
    with pytest.raises(ValueError, match="not C-contiguous"):
        reader.read("images", 0, np.empty((8, 106, 106, 3), np.uint8)[::2])
    reader.close()
    assert not reader.is_open
    reader.read("ids", 0, np.empty(3, np.int64))  # a closed reader opens its file again
