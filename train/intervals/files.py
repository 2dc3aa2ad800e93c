"""The intervals side file of a submission (`submit --intervals`), which `score --intervals` checks.

One row per galaxy: GalaxyID, confidence, then for each of the 37 columns its difficulty estimate and, at each
coverage of LEVELS, COLUMN_low90 and COLUMN_high90 (for 0.9). No TensorFlow here.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from preprocess.atomic import replacing
from preprocess.labels import LabelError, aligned, id_mismatch
from preprocess.schema import COLUMNS
from train.intervals.conformal import LEVELS


def level_name(level: float) -> str:
    return f"{round(level * 100):d}"


def header() -> list[str]:
    names = ["GalaxyID", "confidence"]
    for column in COLUMNS:
        names.append(f"{column}_difficulty")
        names += [f"{column}_{side}{level_name(level)}" for level in LEVELS for side in ("low", "high")]
    return names


@dataclass(frozen=True)
class IntervalTable:
    """Intervals of n galaxies: low and high per level, (n, 37) each; difficulty (n, 37); confidence (n,)."""

    ids: np.ndarray
    low: dict[float, np.ndarray]
    high: dict[float, np.ndarray]
    difficulty: np.ndarray
    confidence: np.ndarray

    def subset(self, rows: np.ndarray) -> "IntervalTable":
        pick = {
            side: {level: values[rows] for level, values in getattr(self, side).items()} for side in ("low", "high")
        }
        return IntervalTable(self.ids[rows], pick["low"], pick["high"], self.difficulty[rows], self.confidence[rows])


def write_interval_file(path: Path, table: IntervalTable) -> Path:
    """The table as CSV, sorted by GalaxyID, atomically."""
    blocks = [table.ids[:, None].astype(np.float64), table.confidence[:, None]]
    for j in range(len(COLUMNS)):
        blocks.append(table.difficulty[:, j : j + 1])
        for level in LEVELS:
            blocks += [table.low[level][:, j : j + 1], table.high[level][:, j : j + 1]]
    rows = np.concatenate(blocks, axis=1)[np.argsort(table.ids, kind="stable")]
    with replacing(path, suffix=path.suffix) as tmp:
        with open(tmp, "w") as f:
            f.write(",".join(header()) + "\n")
            for row in rows:
                f.write(f"{int(row[0])}," + ",".join(f"{v:.6f}" for v in row[1:]) + "\n")
    return path


def read_interval_file(path: Path, true_ids: np.ndarray) -> IntervalTable:
    """The file's intervals in the order of `true_ids`; LabelError when its header or IDs differ."""
    with open(path) as f:
        names = f.readline().strip().split(",")
    if names != header():
        raise LabelError(f"{path}: not an intervals file of `train submit --intervals` (its header differs)")
    try:
        rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as error:
        raise LabelError(f"{path}: {error}") from None
    ids = rows[:, 0].astype(np.int64)
    mismatch = id_mismatch(ids, true_ids)
    if mismatch:
        raise LabelError(f"{path}: its GalaxyIDs differ from the solutions': {mismatch}")
    rows = aligned(rows, ids, true_ids)
    column = {name: i for i, name in enumerate(names)}

    def table(suffix: str) -> np.ndarray:
        return rows[:, [column[f"{c}_{suffix}"] for c in COLUMNS]]

    low = {level: table(f"low{level_name(level)}") for level in LEVELS}
    high = {level: table(f"high{level_name(level)}") for level in LEVELS}
    return IntervalTable(np.asarray(true_ids), low, high, table("difficulty"), rows[:, column["confidence"]])
