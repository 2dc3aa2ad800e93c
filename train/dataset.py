"""Stream the cache's HDF5 shards to Keras: a PyDataset that reads contiguous blocks only.

h5py fancy indexing of scattered rows is hundreds of times slower than a slice, so an epoch is
planned as a sequence of blocks (contiguous row ranges of a shard): shuffling permutes the
blocks and, in memory, the rows inside each block. A few recently read blocks are kept, so
memory stays bounded whatever the size of the cache.
"""

import os
import threading
from collections import OrderedDict
from pathlib import Path

import h5py
import keras
import numpy as np

from preprocess.shards import LABELLED, CacheError, read_manifest, split_entries

BLOCK_ROWS = 512  # rows read at once: ~17 MB of 106x106x3 images
CACHED_BLOCKS = 4


def dihedral(images: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Apply the k-th of the 8 flips/90-degree rotations (k in 0..7) to each RGB image (b, h, w, 3).

    Pixels are moved as 3-byte units (a 'V3' view), twice as fast as moving bytes along a channel axis.
    """
    pixels = np.ascontiguousarray(images).view("V3")[..., 0]
    out = np.empty_like(pixels)
    for transform in range(8):
        rows = np.flatnonzero(k == transform)
        if len(rows):
            turned = np.rot90(pixels[rows], transform % 4, axes=(1, 2))
            out[rows] = turned[:, :, ::-1] if transform >= 4 else turned
    return out.view(np.uint8).reshape(images.shape)


def random_shift(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Move each image by (dy, dx) pixels; what leaves one edge enters the other (sky either way)."""
    out = np.empty_like(images)
    for i, (dy, dx) in enumerate(shifts):
        out[i] = np.roll(images[i], (int(dy), int(dx)), axis=(0, 1))
    return out


class ShardDataset(keras.utils.PyDataset):
    """Batches `(images uint8 (b,106,106,3), labels float32 (b,37))` of one split; images only for test.

    Deterministic for a given seed and epoch; `ids` gives the GalaxyIDs in the order served when
    shuffle is off. Keras's `workers`, `use_multiprocessing` and `max_queue_size` pass through.
    """

    def __init__(self, cache, split: str, batch_size: int = 64, shuffle: bool = True, augment: bool = False,
                 seed: int = 0, shift: int = 0, shards: list[str] | None = None, **pydataset_kwargs):  # fmt: skip
        super().__init__(**pydataset_kwargs)
        self.cache, self.split = Path(cache), split
        manifest = read_manifest(self.cache)
        if not manifest.get("complete"):
            raise CacheError(f"{self.cache} is incomplete (an interrupted run): rerun `make preprocess` first")
        entries = [e for e in split_entries(manifest, split) if shards is None or e["name"] in shards]
        entries = [e for e in entries if e["count"] > 0]
        if not entries:
            raise CacheError(f"{self.cache} has no {split} galaxies: run `make preprocess` first")
        self.shard_names = [e["name"] for e in entries]
        self.labelled = split in LABELLED
        self.batch_size, self.shuffle, self.augment, self.seed, self.shift = batch_size, shuffle, augment, seed, shift
        self.blocks = [
            (s, start, min(start + BLOCK_ROWS, e["count"]))
            for s, e in enumerate(entries)
            for start in range(0, e["count"], BLOCK_ROWS)
        ]
        self.size = sum(e["count"] for e in entries)
        self._files: dict[tuple[int, int], h5py.File] = {}
        self._recent: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Plan the block order and in-block permutations of one epoch."""
        self.epoch = epoch
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.blocks)) if self.shuffle else np.arange(len(self.blocks))
        self.plan = [self.blocks[i] for i in order]
        self.permutations = [rng.permutation(b[2] - b[1]) if self.shuffle else None for b in self.plan]
        self.starts = np.cumsum([0] + [b[2] - b[1] for b in self.plan])

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)

    def __len__(self) -> int:
        return -(-self.size // self.batch_size)

    def _rows(self, position: int, lo: int, hi: int) -> np.ndarray | slice:
        """Rows lo:hi of the position-th block in this epoch's order (its in-block permutation)."""
        permutation = self.permutations[position]
        return slice(lo, hi) if permutation is None else permutation[lo:hi]

    @property
    def ids(self) -> np.ndarray:
        """GalaxyIDs in the order this epoch serves them."""
        return np.concatenate([self._read_block(i)[1][self._rows(i, 0, self.starts[i + 1] - self.starts[i])]
                               for i in range(len(self.plan))])  # fmt: skip

    def _file(self, shard: int) -> h5py.File:
        key = (os.getpid(), shard)  # an h5py handle must not cross a fork
        if key not in self._files:
            self._files[key] = h5py.File(self.cache / self.shard_names[shard], "r")
        return self._files[key]

    def _read_block(self, position: int):
        """(images, ids, labels) of the position-th block of this epoch's plan, in file order."""
        key = (self.epoch, position)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
            shard, start, stop = self.plan[position]
            f = self._file(shard)
            block = [f["images"][start:stop], f["ids"][start:stop]]
            block.append(f["labels"][start:stop] if self.labelled else None)
            self._recent[key] = block
            while len(self._recent) > CACHED_BLOCKS:
                self._recent.popitem(last=False)
            return block

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range 0..{len(self) - 1}")
        first, last = index * self.batch_size, min((index + 1) * self.batch_size, self.size)
        parts = []
        for position in range(np.searchsorted(self.starts, first, side="right") - 1, len(self.plan)):
            lo, hi = max(first, self.starts[position]), min(last, self.starts[position + 1])
            if lo >= hi:
                break
            images, _, labels = self._read_block(position)
            rows = self._rows(position, lo - self.starts[position], hi - self.starts[position])
            parts.append((images[rows], None if labels is None else labels[rows]))
        images = np.concatenate([p[0] for p in parts])
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            images = dihedral(images, rng.integers(0, 8, len(images)))
            if self.shift:
                images = random_shift(images, rng.integers(-self.shift, self.shift + 1, (len(images), 2)))
        if not self.labelled:
            return images
        return images, np.concatenate([p[1] for p in parts])
