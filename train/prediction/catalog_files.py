"""A catalog's files: CSV or HDF5, written batch by batch under a temporary name, and its rejects beside it.

No TensorFlow here: the command line and the decoding processes import this module.
"""

import csv
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from preprocess.atomic import replacing, write_csv

CATALOG_SUFFIXES = (".csv", ".h5")
# with a calibrated run, per value column: its interval; then one number per galaxy; with `--given`, each column's
# conditional fraction and its interval
INTERVAL_PARTS = ("low", "high")
CONFIDENCE = "confidence"
GIVEN_PARTS = ("given", "given_low", "given_high")


def bound_parts(intervals: bool, confidence: bool, given: bool) -> list[str]:
    """What a catalog holds beside the values, in order: (n, columns) arrays, and the (n,) confidence."""
    return [
        *(INTERVAL_PARTS if intervals else ()),
        *([CONFIDENCE] if confidence else ()),
        *(GIVEN_PARTS if given else ()),
    ]


class CsvCatalog:
    """The ID column (`id_column`: GalaxyID, or a campaign's own), path, the values' columns, the text column (if
    any), with several runs spread, and with intervals COLUMN_low, COLUMN_high for every column and confidence (then
    COLUMN_given, _given_low, _given_high)."""

    def __init__(
        self, path: Path, columns: list[str], text: str | None, spread: bool, parts: list[str], id_column: str
    ):
        self.file = open(path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.text = text is not None
        self.parts = parts
        header = [id_column, "path", *columns, *([text] if text else []), *(["spread"] if spread else [])]
        for part in parts:
            header += [part] if part == CONFIDENCE else [f"{c}_{part}" for c in columns]
        self.writer.writerow(header)

    def append(self, ids, paths, predictions, texts, spread, bounds) -> None:
        for i, row in enumerate(predictions):
            extra = ([texts[i]] if self.text else []) + ([f"{spread[i]:.6f}"] if spread is not None else [])
            for part in self.parts:
                extra += [f"{v:.6f}" for v in np.atleast_1d(bounds[part][i])]
            self.writer.writerow([ids[i], paths[i], *(f"{v:.6f}" for v in row), *extra])

    def close(self) -> None:
        self.file.close()


class H5Catalog:
    """Datasets named by the ID column (`id_column`), path, predictions (n, columns; attribute `columns`), the text
    column (if any), with several runs spread, and with intervals low, high (n, columns) and confidence (then given,
    given_low, given_high)."""

    NUMBERS = ("spread", CONFIDENCE)

    def __init__(
        self, path: Path, columns: list[str], text: str | None, spread: bool, parts: list[str], id_column: str
    ):
        self.file = h5py.File(path, "w")
        self.text, self.id_column = text, id_column
        names = [id_column, "path", *([text] if text else []), *(["spread"] if spread else [])]
        names += [CONFIDENCE] if CONFIDENCE in parts else []
        for name in names:
            dtype = "f4" if name in self.NUMBERS else h5py.string_dtype()
            self.file.create_dataset(name, (0,), maxshape=(None,), dtype=dtype)
        self.parts = list(parts)
        self.tables = ["predictions", *(part for part in parts if part != CONFIDENCE)]
        for name in self.tables:
            self.file.create_dataset(name, (0, len(columns)), maxshape=(None, len(columns)), dtype="f4")
            self.file[name].attrs["columns"] = columns

    def append(self, ids, paths, predictions, texts, spread, bounds) -> None:
        values = {self.id_column: ids, "path": paths, "predictions": predictions}
        if self.text:
            values[self.text] = texts
        if spread is not None:
            values["spread"] = spread
        values.update({name: bounds[name] for name in self.parts})
        for name, data in values.items():
            dataset = self.file[name]
            start = dataset.shape[0]
            dataset.resize(start + len(data), axis=0)
            numbers = name in self.tables or name in self.NUMBERS
            dataset[start:] = data if numbers else [str(v) for v in data]

    def close(self) -> None:
        self.file.close()


@contextmanager
def catalog_writer(
    out: Path, columns: list[str], text: str | None, spread: bool, parts: list[str] = (), id_column: str = "GalaxyID"
):
    """A CSV or HDF5 catalog (by `out`'s suffix) that appears at `out` only once complete; `parts` from
    bound_parts."""
    kind = {".csv": CsvCatalog, ".h5": H5Catalog}[out.suffix]
    with replacing(out, suffix=out.suffix) as tmp:
        catalog = kind(tmp, columns, text, spread, list(parts), id_column)
        try:
            yield catalog
        finally:
            catalog.close()


def rejects_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.rejects.csv")


def write_rejects(out: Path, rejects: list[tuple[str, str]]) -> Path:
    """(path, reason) of every file that could not be read, beside the catalog `out`."""
    return write_csv(rejects_path(out), ["path", "reason"], rejects)
