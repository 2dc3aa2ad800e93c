"""A catalog's files: CSV or HDF5, written batch by batch under a temporary name, and its rejects beside it.

No TensorFlow here: the command line and the decoding processes import this module.
"""

import csv
from contextlib import contextmanager
from pathlib import Path

import h5py

from preprocess.atomic import replacing, write_csv

CATALOG_SUFFIXES = (".csv", ".h5")


class CsvCatalog:
    """GalaxyID, path, the values' columns, the text column (if any) and, with several runs, spread."""

    def __init__(self, path: Path, columns: list[str], text: str | None, spread: bool):
        self.file = open(path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.text = text is not None
        self.writer.writerow(["GalaxyID", "path", *columns, *([text] if text else []), *(["spread"] if spread else [])])

    def append(self, ids, paths, predictions, texts, spread) -> None:
        for i, row in enumerate(predictions):
            extra = ([texts[i]] if self.text else []) + ([f"{spread[i]:.6f}"] if spread is not None else [])
            self.writer.writerow([ids[i], paths[i], *(f"{v:.6f}" for v in row), *extra])

    def close(self) -> None:
        self.file.close()


class H5Catalog:
    """Datasets GalaxyID, path, predictions (n, columns; attribute `columns`), the text column (if any) and, with
    several runs, spread."""

    def __init__(self, path: Path, columns: list[str], text: str | None, spread: bool):
        self.file = h5py.File(path, "w")
        self.text = text
        names = ["GalaxyID", "path", *([text] if text else []), *(["spread"] if spread else [])]
        for name in names:
            dtype = "f4" if name == "spread" else h5py.string_dtype()
            self.file.create_dataset(name, (0,), maxshape=(None,), dtype=dtype)
        self.file.create_dataset("predictions", (0, len(columns)), maxshape=(None, len(columns)), dtype="f4")
        self.file["predictions"].attrs["columns"] = columns

    def append(self, ids, paths, predictions, texts, spread) -> None:
        values = {"GalaxyID": ids, "path": paths, "predictions": predictions}
        if self.text:
            values[self.text] = texts
        if spread is not None:
            values["spread"] = spread
        for name, data in values.items():
            dataset = self.file[name]
            start = dataset.shape[0]
            dataset.resize(start + len(data), axis=0)
            dataset[start:] = data if name in ("predictions", "spread") else [str(v) for v in data]

    def close(self) -> None:
        self.file.close()


@contextmanager
def catalog_writer(out: Path, columns: list[str], text: str | None, spread: bool):
    """A CSV or HDF5 catalog (by `out`'s suffix) that appears at `out` only once complete."""
    kind = {".csv": CsvCatalog, ".h5": H5Catalog}[out.suffix]
    with replacing(out, suffix=out.suffix) as tmp:
        catalog = kind(tmp, columns, text, spread)
        try:
            yield catalog
        finally:
            catalog.close()


def rejects_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.rejects.csv")


def write_rejects(out: Path, rejects: list[tuple[str, str]]) -> Path:
    """(path, reason) of every file that could not be read, beside the catalog `out`."""
    return write_csv(rejects_path(out), ["path", "reason"], rejects)
