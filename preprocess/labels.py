"""Read the Kaggle solutions CSV and write CSVs in the same form (submissions, synthetic truth)."""

import csv
import gzip
import math
import os
import warnings
from pathlib import Path

import numpy as np

from preprocess.atomic import replacing
from preprocess.schema import COLUMNS, HEADER


class LabelError(ValueError):
    """A solutions or submission CSV that cannot be used; the message names file, line and column."""


def _open_text(path: Path, mode: str):
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", newline="", encoding="utf-8")
    return open(path, mode, newline="", encoding="utf-8")


def check_header(path: Path, header: list[str]) -> None:
    """Raise LabelError naming the first expected column that is missing or misplaced."""
    if header == HEADER:
        return
    for position, expected in enumerate(HEADER):
        if expected not in header:
            raise LabelError(f"{path}: line 1: header is missing column {expected!r}")
        if position >= len(header) or header[position] != expected:
            found = header[position] if position < len(header) else "nothing"
            raise LabelError(
                f"{path}: line 1: column {position + 1} should be {expected!r} but is {found!r} "
                f"(columns must be in Kaggle's order: {','.join(HEADER[:4])},...)"
            )
    extra = [name for name in header if name not in HEADER]
    raise LabelError(f"{path}: line 1: unexpected header column(s) {extra}")


def _parse_row(path: Path, line: int, row: list[str]) -> tuple[int, list[float]]:
    where = f"{path}: line {line}"
    if len(row) != len(HEADER):
        raise LabelError(f"{where}: expected {len(HEADER)} fields, found {len(row)}")
    try:
        galaxy_id = int(row[0])
    except ValueError:
        raise LabelError(f"{where}: GalaxyID {row[0]!r} is not an integer") from None
    where = f"{where} (GalaxyID {galaxy_id})"
    values = []
    for column, text in zip(COLUMNS, row[1:]):
        try:
            value = float(text)
        except ValueError:
            raise LabelError(f"{where}, column {column}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise LabelError(f"{where}, column {column}: {text!r} is not a finite number")
        if not 0.0 <= value <= 1.0:
            raise LabelError(f"{where}, column {column}: {value} is outside [0, 1]")
        values.append(value)
    return galaxy_id, values


def read_solutions(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a solutions (or submission) CSV into ids (int64, n) and labels (float32, n x 37).

    Rows keep the file's order. Any defect raises LabelError naming file, line, GalaxyID, column.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: file not found")
    with _open_text(path, "r") as f:
        header = next(csv.reader(f), None)
        if header is None:
            raise LabelError(f"{path}: file is empty (expected the header {HEADER[0]},{HEADER[1]},...)")
        check_header(path, [name.strip() for name in header])
        parsed = _parse_clean(f)
    return parsed if parsed is not None else _parse_checked(path)


def _parse_clean(f) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows after the header by numpy's C parser (Kaggle's 61,578 rows in a fraction of a second);
    None for anything short of a clean table of unique IDs and fractions, which `_parse_checked` then names."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": handled below
            table = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:  # ragged rows, text in a cell, quoting
        return None
    if table.shape[0] == 0 or table.shape[1] != len(HEADER) or not np.isfinite(table).all():
        return None
    ids, values = table[:, 0], table[:, 1:]
    if not ((values >= 0).all() and (values <= 1).all() and (ids == np.round(ids)).all()):
        return None
    if len(np.unique(ids)) != len(ids):
        return None
    return ids.astype(np.int64), values.astype(np.float32)


def _parse_checked(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse row by row, raising LabelError at the first defect, with its line, GalaxyID and column."""
    with _open_text(path, "r") as f:
        reader = csv.reader(f)
        next(reader)
        rows, lines = [], []
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    if not rows:
        raise LabelError(f"{path}: no data rows after the header")
    parsed = [_parse_row(path, line, row) for line, row in zip(lines, rows)]
    ids = np.array([galaxy_id for galaxy_id, _ in parsed], dtype=np.int64)
    labels = np.array([values for _, values in parsed], dtype=np.float32)
    _check_unique(path, ids, lines)
    return ids, labels


def _check_unique(path: Path, ids: np.ndarray, lines: list[int]) -> None:
    unique, first_index, counts = np.unique(ids, return_index=True, return_counts=True)
    if len(unique) == len(ids):
        return
    first_line = {int(unique[k]): lines[first_index[k]] for k in np.flatnonzero(counts > 1)}
    for line, galaxy_id in zip(lines, ids.tolist()):
        if galaxy_id in first_line and line != first_line[galaxy_id]:
            raise LabelError(
                f"{path}: line {line}: GalaxyID {galaxy_id} appears again (first on line {first_line[galaxy_id]})"
            )


def id_mismatch(ids: np.ndarray, expected: np.ndarray) -> str | None:
    """How a file's GalaxyIDs differ from the `expected` ones (a truth file's, a sample submission's), with
    examples; None when they are the same set."""
    missing, extra = np.setdiff1d(expected, ids), np.setdiff1d(ids, expected)
    if not len(missing) and not len(extra):
        return None
    return f"{len(missing)} missing (e.g. {missing[:5].tolist()}), {len(extra)} not in it (e.g. {extra[:5].tolist()})"


def aligned(rows: np.ndarray, ids: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """`rows` (one per GalaxyID of `ids`) in the order of `expected`, the same set of IDs (id_mismatch None)."""
    return rows[np.argsort(ids)][np.argsort(np.argsort(expected))]


def write_solutions(path: str | os.PathLike, ids: np.ndarray, values: np.ndarray, decimals: int = 6) -> Path:
    """Write a Kaggle-form CSV (header, one row per ID sorted by ID) atomically; gzip if `.gz`."""
    path = Path(path)
    ids = np.asarray(ids, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(ids), len(COLUMNS)):
        raise ValueError(f"values must have shape ({len(ids)}, {len(COLUMNS)}), got {values.shape}")
    order = np.argsort(ids, kind="stable")
    fmt = f"{{:.{decimals}f}}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path, suffix=path.suffix) as tmp, _open_text(tmp, "w") as f:
        f.write(",".join(HEADER) + "\n")
        for i in order:
            f.write(f"{ids[i]}," + ",".join(fmt.format(v) for v in values[i]) + "\n")
    return path
