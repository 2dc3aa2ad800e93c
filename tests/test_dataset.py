import numpy as np
import pytest

from preprocess.shards import CacheError
from tests.helpers import shard_contents
from train.dataset import ShardDataset, dihedral


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
    assert rows[:16] != sorted(rows[:16]), "rows inside a block must be shuffled too"
    assert len(ds) == -(-len(train_ids) // 16)
    assert len(ds[len(ds) - 1][0]) == len(train_ids) - 16 * (len(ds) - 1)  # the last partial batch is kept


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


def test_augmentation_only_applies_the_eight_dihedral_maps(small_cache):
    plain = ShardDataset(small_cache, "train", batch_size=32, seed=4, augment=False)
    augmented = ShardDataset(small_cache, "train", batch_size=32, seed=4, augment=True)
    images, labels = plain[0]
    turned, turned_labels = augmented[0]
    np.testing.assert_array_equal(labels, turned_labels)
    used = set()
    for original, seen in zip(images, turned):
        matches = [k for k in range(8) if np.array_equal(dihedral(original[None], np.array([k]))[0], seen)]
        assert matches, "an augmented image is not a flip/rotation of its original"
        used.add(matches[0])
    assert len(used) >= 4


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
