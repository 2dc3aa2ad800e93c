"""Reading a shard's rows a few at a time (for train.fitting.dataset): the format is described in preprocess.cache."""

import errno
import os

import h5py
import numpy as np


class CacheError(RuntimeError):
    """A cache that is missing, damaged or inconsistent; the message says what and where."""


class ShardReader:
    """Rows of one shard file, for a reader that asks for a few rows at a time.

    An uncompressed dataset is contiguous bytes in the file (HDF5's contiguous layout, which the writer
    uses without compression): its rows are read with one `os.preadv` straight into the caller's array,
    about 7x cheaper than an h5py slice, whose selection machinery costs more than copying 16 images
    (bench: loader rows). Compressed datasets go through h5py, which decompresses their chunks.

    The layout (offsets, dtypes, row shapes) is read once; the files are opened at the first read and
    closed by `close()`, after which a read opens them again. So a reader of thousands of shards can keep
    only a few open (train.fitting.dataset.ShardDataset does).
    """

    def __init__(self, path: os.PathLike):
        self.path = path
        self.file: h5py.File | None = None
        self.raw = None  # the file for raw reads (closed with it when the reader is dropped)
        with open_hdf5(path) as f:
            datasets = {name: f[name] for name in f}
            self.rows = len(datasets["ids"])
            self.dtypes = {name: d.dtype for name, d in datasets.items()}
            self.row_shape = {name: d.shape[1:] for name, d in datasets.items()}
            # None where h5py must read: chunked (compressed) storage, bytes not in this machine's order, no preadv
            raw = hasattr(os, "preadv")
            self.offsets = {
                name: d.id.get_offset() if raw and d.dtype.isnative and d.chunks is None else None
                for name, d in datasets.items()
            }

    @property
    def is_open(self) -> bool:
        return self.file is not None or self.raw is not None

    def read(self, name: str, start: int, out: np.ndarray) -> None:
        """Rows start .. start + len(out) of dataset `name` into `out`, a C-contiguous array of its dtype and
        row shape."""
        if name not in self.dtypes:
            raise KeyError(f"{self.path} has no dataset {name!r}")
        if out.dtype != self.dtypes[name] or out.shape[1:] != self.row_shape[name] or not out.flags.c_contiguous:
            raise ValueError(
                f"rows of {name} are {self.dtypes[name]}{self.row_shape[name]}; got a {out.dtype}{out.shape[1:]} "
                f"array{'' if out.flags.c_contiguous else ' that is not C-contiguous'}"
            )
        if not 0 <= start <= start + len(out) <= self.rows:
            raise IndexError(f"{self.path}: rows {start}..{start + len(out)} of {name} outside 0..{self.rows}")
        offset = self.offsets[name]
        if offset is None:
            if self.file is None:
                self.file = open_hdf5(self.path)
            out[...] = self.file[name][start : start + len(out)]
            return
        if self.raw is None:
            self.raw = open(self.path, "rb", buffering=0)
        row_bytes = out.nbytes // max(len(out), 1)
        got = os.preadv(self.raw.fileno(), [memoryview(out).cast("B")], offset + start * row_bytes)
        if got != out.nbytes:
            raise CacheError(f"{self.path}: truncated ({name} rows {start}..{start + len(out)} missing)")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.raw is not None:
            self.raw.close()
            self.raw = None


def open_hdf5(path: os.PathLike) -> h5py.File:
    """A shard opened for reading; running out of file descriptors is an OSError that says so (h5py's does not)."""
    try:
        return h5py.File(path, "r")
    except OSError as error:
        if "Too many open files" in str(error):
            raise OSError(errno.EMFILE, "Too many open files", str(path)) from None
        raise
