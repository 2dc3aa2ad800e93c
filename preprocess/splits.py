"""Which split and which shard each GalaxyID goes to: fixed by a hash of the ID (and the seed), so that one added
or removed galaxy moves at most one other galaxy per split and changes one shard."""

import numpy as np


def id_hash(ids: np.ndarray, seed: int) -> np.ndarray:
    """A well-mixed 64-bit hash of each GalaxyID (splitmix64), the same for an ID whatever else is in the set."""
    with np.errstate(over="ignore"):
        z = np.asarray(ids, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def held_out_ids(train_ids: np.ndarray, n_valid: int, n_calibrate: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The n_valid labelled IDs of smallest hash (validation), then the next n_calibrate (calibration): fixed by
    the seed, and one added or removed CSV row changes the membership of at most one other galaxy per split."""
    order = np.asarray(train_ids)[np.argsort(id_hash(train_ids, seed + 1), kind="stable")]
    return np.sort(order[:n_valid]), np.sort(order[n_valid : n_valid + n_calibrate])


def assign_shards(ids: list[int], shard_size: int) -> list[np.ndarray]:
    """About shard_size IDs per shard, each ID's shard fixed by its hash: adding or removing an image
    changes one shard only (unless the number of shards changes). IDs are sorted within a shard."""
    ids = np.array(sorted(ids), dtype=np.int64)
    n_shards = -(-len(ids) // shard_size)
    shard_of = id_hash(ids, 0) % np.uint64(max(n_shards, 1))
    return [ids[shard_of == k] for k in range(n_shards)]
