"""Stream the cache's HDF5 shards to Keras: a PyDataset whose batches are a few contiguous reads.

h5py reads a slice of rows at disk speed but scattered rows hundreds of times slower, and
`model.fit` asks for a PyDataset's batches in a random order of its own. So the unit of reading
is a run: RUN_ROWS consecutive rows of one shard (for a compressed shard, one HDF5 chunk). Each
epoch, every shard is cut into runs (at a new random offset, wrapping around its end, where the
shard is not compressed), all runs of the split are shuffled together, and consecutive runs make a
batch. So a batch costs batch / RUN_ROWS reads whatever order it is asked for in (batch sizes that are not a
multiple of RUN_ROWS use shorter runs), every galaxy is
served once per epoch, and batches mix differently every epoch: a galaxy's batch-mates are its own
run plus runs drawn from anywhere in the split. Rows of a shard are galaxies in GalaxyID order and
IDs go to shards by a hash, so a run is itself a random sample.

A run costs little to read: an uncompressed shard's rows are plain bytes at a known place in the file,
read with one system call straight into the batch (ShardReader), and batch arrays are used again once
TensorFlow has let go of them (BatchBuffers), so feeding a batch costs neither a copy nor fresh memory.
The pool keeps at most BatchBuffers.limit arrays per row shape, whatever the size of the cache.
"""

import math
import os
import sys
import threading
from collections import OrderedDict

import keras
import numpy as np

from preprocess.cache import CHUNK_ROWS, LABELLED, Cache, CacheError
from preprocess.cache_reader import ShardReader

RUN_ROWS = CHUNK_ROWS  # rows read at once: ~0.5 MB of 106x106x3 images; a compressed shard's chunk
# shards a process keeps open at once, whatever their number (ulimit -n is often 1024): a file descriptor each, two
# for compressed shards (h5py)
OPEN_SHARDS = 32


class ShardDataset(keras.utils.PyDataset):
    """Batches `(images uint8 (b, size, size, 3), labels float32 (b, 37))` of one split; images only for test.

    Deterministic for a given seed and epoch; without shuffle the runs come in the cache's order and
    `ids` lists the GalaxyIDs as served. Keras's `workers`, `use_multiprocessing` and `max_queue_size`
    pass through.
    """

    def __init__(
        self,
        cache: Cache | str | os.PathLike,
        split: str,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        shards: list[str] | None = None,
        **pydataset_kwargs,
    ):
        super().__init__(**pydataset_kwargs)
        self.cache = Cache.of(cache)
        self.split = split
        self.shards = [s for s in self.cache.split(split) if shards is None or s.name in shards]
        if not self.shards:
            raise CacheError(f"{self.cache.folder} has no {split} galaxies: run `make preprocess` first")
        self.labelled = split in LABELLED
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.size = sum(shard.count for shard in self.shards)
        # runs that tile a batch exactly: 16 rows for batches of 16, 32, 64, ...; fewer for other sizes
        self.run_rows = math.gcd(batch_size, RUN_ROWS)
        self.runs_per_batch = batch_size // self.run_rows
        self._readers: dict[tuple[int, int], ShardReader] = {}
        self._open: OrderedDict[tuple[int, int], ShardReader] = OrderedDict()  # least recently read first
        self._lock = threading.Lock()  # Keras's worker threads may read at once; a file is not closed mid-read
        self._buffers = BatchBuffers(batch_size)
        self.compressed = self.cache.settings.compression is not None
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Plan one epoch: the runs (shard, first row, rows) of every batch, in the order served."""
        self.epoch = epoch
        rng = np.random.default_rng([self.seed, epoch])
        runs = []
        for i, shard in enumerate(self.shards):
            # A compressed shard's runs stay on its chunks, so no chunk is decompressed twice.
            offset = int(rng.integers(self.run_rows)) if self.shuffle and not self.compressed else 0
            starts = range(0, shard.count, self.run_rows)
            runs += [(i, (offset + start) % shard.count, min(self.run_rows, shard.count - start)) for start in starts]
        if self.shuffle:
            runs = [runs[k] for k in rng.permutation(len(runs))]
        k = self.runs_per_batch
        self.plan = [runs[start : start + k] for start in range(0, len(runs), k)]

    def __getstate__(self) -> dict:
        """For worker processes: open files stay behind (each process opens its own)."""
        state = {**self.__dict__, "_readers": {}, "_open": OrderedDict(), "_buffers": BatchBuffers(self.batch_size)}
        return {key: value for key, value in state.items() if key != "_lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)

    def __len__(self) -> int:
        runs = sum(-(-shard.count // self.run_rows) for shard in self.shards)
        return -(-runs // self.runs_per_batch)

    def reader(self, shard: int) -> ShardReader:
        """The reader of shard number `shard` (made once per process), with at most OPEN_SHARDS readers
        holding open files: the least recently read is closed first."""
        key = (os.getpid(), shard)  # file handles must not cross a fork
        if key not in self._readers:
            self._readers[key] = self.cache.reader(self.shards[shard])
        self._open[key] = self._open.pop(key, self._readers[key])
        while len(self._open) > OPEN_SHARDS:
            self._open.popitem(last=False)[1].close()
        return self._readers[key]

    def read_rows(self, out: np.ndarray, shard: int, start: int, name: str) -> None:
        """Fill `out` with rows of a dataset from `start`, wrapping past the shard's end: one or two reads."""
        with self._lock:
            reader, count = self.reader(shard), len(out)
            first = min(count, reader.rows - start)
            reader.read(name, start, out[:first])
            if first < count:
                reader.read(name, 0, out[first:])

    def close(self) -> None:
        """Close every file this process holds open (reading again reopens them)."""
        with self._lock:
            while self._open:
                self._open.popitem()[1].close()

    def read(self, index: int, name: str) -> np.ndarray:
        runs = self.plan[index]
        with self._lock:
            first = self.reader(runs[0][0])
        out = self._buffers.take(sum(count for _, _, count in runs), first.row_shape[name], first.dtypes[name])
        done = 0
        for shard, start, count in runs:
            self.read_rows(out[done : done + count], shard, start, name)
            done += count
        return out

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range 0..{len(self) - 1}")
        images = self.read(index, "images")
        return (images, self.read(index, "labels")) if self.labelled else images

    @property
    def ids(self) -> np.ndarray:
        """GalaxyIDs in the order this epoch serves them."""
        return np.concatenate([self.read(index, "ids") for index in range(len(self))])


class BatchBuffers:
    """Batch arrays handed out again once nobody holds them: at most `limit` of `rows` rows per row shape.

    Writing a batch into fresh memory costs more than reading it from the page cache (the kernel faults
    every new page in), and TensorFlow keeps an array that starts on a 64-byte boundary without copying
    it (`tf.data.Dataset.from_generator`, through which Keras feeds a PyDataset) and lets go of it once
    the step has used it. So batches that are aligned and reused are fed with no copy and no page fault
    (bench: model.fit rows). A batch is a view of the first rows of a pooled array; the array is free
    again when nothing but the pool refers to its memory: whoever keeps a batch (TensorFlow, a caller)
    keeps it from being reused.
    """

    ALIGNMENT = 64

    def __init__(self, rows: int, limit: int = 16):
        self.rows, self.limit = rows, limit
        self.pool: dict[tuple, list[np.ndarray]] = {}
        self.lock = threading.Lock()  # Keras's worker threads may ask at once

    def take(self, rows: int, row_shape: tuple, dtype: np.dtype) -> np.ndarray:
        with self.lock:
            arrays = self.pool.setdefault((row_shape, np.dtype(dtype).str), [])
            for array in arrays:
                # the memory's references: `array` and getrefcount's argument, so no batch is out
                if sys.getrefcount(array.base) == 2:
                    return array[:rows]
            array = self.aligned_empty((self.rows, *row_shape), dtype)
            if len(arrays) < self.limit:  # beyond it, batches are plain new arrays
                arrays.append(array)
            return array[:rows]

    @classmethod
    def aligned_empty(cls, shape: tuple, dtype: np.dtype) -> np.ndarray:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        memory = np.empty(nbytes + cls.ALIGNMENT, np.uint8)
        skip = -memory.ctypes.data % cls.ALIGNMENT
        return memory[skip : skip + nbytes].view(dtype).reshape(shape)
