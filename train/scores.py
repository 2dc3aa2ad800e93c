"""Kaggle's metric: RMSE overall and per question, of predictions or of submission files, with the column means
and the floor. (A finetuned task's scores are scikit-learn's, in train.finetuning.held_out.)

No TensorFlow here: `python -m train score` only reads CSVs.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from preprocess import kaggle
from preprocess.labels import LabelError, aligned, id_mismatch, read_solutions
from preprocess.schema import SLICES


@dataclass(frozen=True)
class Scores:
    rmse: float
    questions: dict[str, float]  # "Q1" .. "Q11"
    gap_closed: float | None = None  # share of the gap between the column means and the floor closed


def column_means(labels: np.ndarray, n: int) -> np.ndarray:
    """The prediction that needs no image: each column's mean over `labels` (the training galaxies), for n galaxies."""
    return np.tile(np.asarray(labels, np.float64).mean(axis=0), (n, 1))


def rmse(predictions: np.ndarray, truth: np.ndarray) -> float:
    """Kaggle's score: the root of the mean squared error over every (galaxy, column) pair."""
    return float(np.sqrt(np.mean((np.asarray(predictions, np.float64) - truth) ** 2)))


def scores(predictions: np.ndarray, truth: np.ndarray) -> Scores:
    per_question = {f"Q{q}": rmse(predictions[:, sl], truth[:, sl]) for q, sl in SLICES.items()}
    return Scores(rmse(predictions, truth), per_question)


def read_aligned(path: Path, true_ids: np.ndarray) -> np.ndarray:
    """A Kaggle-form CSV's values in the order of `true_ids`; LabelError when it has other IDs."""
    ids, values = read_solutions(path)
    mismatch = id_mismatch(ids, true_ids)
    if mismatch:
        raise LabelError(f"{path}: its GalaxyIDs differ from the solutions': {mismatch}")
    return aligned(values, ids, true_ids)


def score_submissions(submissions: list[Path], solutions: Path) -> dict[str, Scores]:
    """Each submission's scores against the solutions (Kaggle's metric).

    Where the synthetic generator's test_expected.csv and the training CSV sit beside the solutions,
    two reference rows are added, the training column means and the floor (the expected fractions, the
    best possible prediction), and every row gets the share of the gap between them that it closes.
    """
    true_ids, truth = read_solutions(solutions)
    rows = {path.name: scores(read_aligned(path, true_ids), truth) for path in submissions}
    expected, training = solutions.parent / kaggle.TEST_EXPECTED, solutions.parent / kaggle.SOLUTIONS
    if not (expected.exists() and training.exists()):
        return rows
    rows["column means"] = scores(column_means(read_solutions(training)[1], len(true_ids)), truth)
    rows["floor"] = scores(read_aligned(expected, true_ids), truth)
    gap = rows["column means"].rmse - rows["floor"].rmse
    return {name: replace(row, gap_closed=(rows["column means"].rmse - row.rmse) / gap) for name, row in rows.items()}
