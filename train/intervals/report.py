"""How well a submission's intervals keep their promise (`score --intervals`): coverage per question and level,
by decile of the difficulty estimate, selective prediction by confidence, width against the best constant-width
intervals, and on synthetic data coverage of the true expected fractions. No TensorFlow here."""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from preprocess.labels import read_solutions
from preprocess.schema import COLUMNS, SLICES
from train.intervals.conformal import COVERAGE, LEVELS, reached
from train.intervals.files import IntervalTable, read_interval_file
from train.scores import read_aligned, rmse

SHARES = (0.1, 0.25, 0.5)  # the most confident shares of galaxies whose RMSE selective prediction reports
DECILES = 10
BARS = COLUMNS.index("Class3.1")  # Walmsley et al. 2020 report the bar question's calibration
WALMSLEY_DEVIATION = 0.2


@dataclass(frozen=True)
class CalibrationReport:
    questions: dict[str, dict[float, float]]  # question -> level -> coverage of its reached cells
    overall: dict[float, float]  # level -> coverage of every reached cell
    unreached: dict[float, float]  # level -> coverage of the cells no volunteer reached (their fraction is 0)
    deciles: dict[str, list[float]]  # question -> coverage at COVERAGE in each decile of the difficulty estimate
    selective: dict[str, float]  # "all", "most confident 10%", ..., "half by predicted Class1.1" -> RMSE
    widths: dict[str, float]  # mean width at COVERAGE of the reached cells: "intervals", "constant", "ratio"
    expected: dict[float, float] | None  # level -> coverage of the expected fractions (synthetic data)
    walmsley: float | None  # coverage error on bars, measured like Walmsley et al. 2020 (see walmsley_error)


def covered(table: IntervalTable, level: float, truth: np.ndarray) -> np.ndarray:
    return (table.low[level] <= truth + 1e-6) & (truth - 1e-6 <= table.high[level])


def share(hits: np.ndarray, cells: np.ndarray) -> float:
    return float(hits[cells].mean()) if cells.any() else math.nan


def coverage_by_decile(hits: np.ndarray, difficulty: np.ndarray, cells: np.ndarray) -> list[float]:
    """Coverage in each tenth of the cells ranked by difficulty (ties split by rank, not merged)."""
    order = np.argsort(difficulty[cells], kind="stable")
    return [float(hits[cells][part].mean()) for part in np.array_split(order, DECILES) if len(part)]


def constant_width(predictions: np.ndarray, truth: np.ndarray, cells: np.ndarray, target: np.ndarray) -> float:
    """The mean width (within [0, 1]) of the narrowest constant-width interval per column that reaches, on these
    very cells, the coverage `target[column]`: the best a constant width could do, chosen on the test set."""
    widths = []
    for j in range(truth.shape[1]):
        keep = cells[:, j]
        if not keep.any():
            continue
        errors = np.sort(np.abs(truth[keep, j] - predictions[keep, j]))
        half = errors[max(0, math.ceil(target[j] * len(errors)) - 1)]
        y = np.clip(predictions[keep, j], 0, 1)
        widths.append(np.clip(y + half, 0, 1) - np.clip(y - half, 0, 1))
    return float(np.concatenate(widths).mean())


def selective(predictions: np.ndarray, truth: np.ndarray, confidence: np.ndarray) -> dict[str, float]:
    """RMSE of all galaxies, of the most confident shares, and of the half with the highest predicted Class1.1
    (smooth galaxies are easy: the ranking to beat)."""
    by_confidence = np.argsort(-confidence, kind="stable")
    rows = {"all": rmse(predictions, truth)}
    for part in SHARES:
        top = by_confidence[: max(1, round(part * len(truth)))]
        rows[f"most confident {part:.0%}"] = rmse(predictions[top], truth[top])
    smooth = np.argsort(-predictions[:, 0], kind="stable")[: max(1, len(truth) // 2)]
    rows["half by predicted Class1.1"] = rmse(predictions[smooth], truth[smooth])
    return rows


def walmsley_error(table: IntervalTable, expected: np.ndarray, cells: np.ndarray) -> float:
    """Walmsley et al. 2020's bar figure, measured their way as closely as intervals allow: over the bar
    question's intervals no wider than +-0.2 in vote fraction, the mean |observed - nominal| coverage over LEVELS."""
    errors = []
    for level in LEVELS:
        narrow = cells[:, BARS] & (table.high[level][:, BARS] - table.low[level][:, BARS] <= 2 * WALMSLEY_DEVIATION)
        if narrow.any():
            hits = covered(table, level, expected)[:, BARS]
            errors.append(abs(float(hits[narrow].mean()) - level))
    return float(np.mean(errors)) if errors else math.nan


def calibration_report(
    submission: Path, solutions: Path, intervals: Path, expected_file: Path | None = None
) -> CalibrationReport:
    """The report of `intervals` (written by `submit --intervals` with `submission`) against the solutions and,
    when given, the expected fractions."""
    ids, truth = read_solutions(solutions)
    predictions = read_aligned(submission, ids)
    table = read_interval_file(intervals, ids)
    cells = reached(truth)
    hits = {level: covered(table, level, truth) for level in LEVELS}
    questions = {
        f"Q{q}": {level: share(hits[level][:, sl], cells[:, sl]) for level in LEVELS} for q, sl in SLICES.items()
    }
    deciles = {
        f"Q{q}": coverage_by_decile(hits[COVERAGE][:, sl], table.difficulty[:, sl], cells[:, sl])
        for q, sl in SLICES.items()
    }
    per_column = np.array([share(hits[COVERAGE][:, j], cells[:, j]) for j in range(len(COLUMNS))])
    ours = float((table.high[COVERAGE] - table.low[COVERAGE])[cells].mean())
    constant = constant_width(predictions, truth, cells, np.nan_to_num(per_column, nan=COVERAGE))
    expected = walmsley = None
    if expected_file is not None:
        truth_expected = read_aligned(expected_file, ids)
        expected = {level: share(covered(table, level, truth_expected), cells) for level in LEVELS}
        walmsley = walmsley_error(table, truth_expected, cells)
    return CalibrationReport(
        questions,
        {level: share(hits[level], cells) for level in LEVELS},
        {level: share(hits[level], ~cells) for level in LEVELS},
        deciles,
        selective(predictions, truth, table.confidence),
        {"intervals": ours, "constant": constant, "ratio": ours / constant},
        expected,
        walmsley,
    )
