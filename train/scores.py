"""Kaggle's metric: RMSE overall and per question, of predictions or of submission files, with the column means
and the floor. (A finetuned task's scores are scikit-learn's, in train.finetuning.held_out.)

No TensorFlow here: `python -m train score` only reads CSVs.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from preprocess import kaggle
from preprocess.catalog import catalog_rows, read_votes, table_header
from preprocess.labels import LabelError, aligned, id_mismatch, read_solutions
from preprocess.schema import CAMPAIGNS, KAGGLE
from preprocess.tree import Campaign


@dataclass(frozen=True)
class Scores:
    rmse: float
    questions: dict[str, float]  # "Q1" .. "Q11", or a campaign's question names
    gap_closed: float | None = None  # share of the gap between the column means and the floor closed


def column_means(labels: np.ndarray, n: int) -> np.ndarray:
    """The prediction that needs no image: each column's mean over `labels` (the training galaxies), for n galaxies."""
    return np.tile(np.asarray(labels, np.float64).mean(axis=0), (n, 1))


def rmse(predictions: np.ndarray, truth: np.ndarray) -> float:
    """Kaggle's score: the root of the mean squared error over every (galaxy, column) pair."""
    return float(np.sqrt(np.mean((np.asarray(predictions, np.float64) - truth) ** 2)))


def scores(predictions: np.ndarray, truth: np.ndarray, tree: Campaign = KAGGLE) -> Scores:
    """RMSE overall and per question of `tree`, of vote fractions (n, columns)."""
    per_question = {
        q.label: rmse(predictions[:, tree.slices[q.key]], truth[:, tree.slices[q.key]]) for q in tree.questions
    }
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
    return with_gap_closed(rows)


def with_gap_closed(rows: dict[str, Scores]) -> dict[str, Scores]:
    """Every row with the share of the gap between rows["column means"] and rows["floor"] that it closes."""
    gap = rows["column means"].rmse - rows["floor"].rmse
    return {name: replace(row, gap_closed=(rows["column means"].rmse - row.rmse) / gap) for name, row in rows.items()}


def counts_campaign(truth: Path) -> Campaign | None:
    """The campaign whose vote-count catalog `truth` is (its ID and count columns all there), or None."""
    header = set(table_header(truth))
    return next((c for c in CAMPAIGNS.values() if c.counts and set(c.header) <= header), None)


def read_shares(path: Path, tree: Campaign) -> tuple[np.ndarray, np.ndarray]:
    """A campaign catalog's IDs and `{answer}_fraction` columns (each answer's share of its question's votes)."""
    columns = [f"{c}_fraction" for c in tree.columns]
    rows = catalog_rows(path, [tree.id_column, *columns], tree)
    values = np.array([[float(row[c] or 0.0) for c in columns] for row in rows])
    return np.array([row[tree.id_column].strip() for row in rows]), values


def read_aligned_shares(path: Path, tree: Campaign, true_ids: np.ndarray) -> np.ndarray:
    ids, shares = read_shares(path, tree)
    mismatch = id_mismatch(ids, true_ids)
    if mismatch:
        raise LabelError(f"{path}: its {tree.id_column}s differ from the volunteers' catalog's: {mismatch}")
    return aligned(shares, ids, true_ids)


def score_campaign(catalogs: list[Path], truth: Path, tree: Campaign, train: Path | None = None) -> dict[str, Scores]:
    """Each catalog's expected shares against the volunteers' votes in `truth` (a counts catalog of `tree`), both
    as fractions down the tree (Kaggle's metric, so a question counts as often as volunteers reach it).

    With `train` (the training catalog) the column means are scored too, and with the synthetic campaign's
    test_expected.csv beside `truth` the floor; with both, every row gets the share of the gap it closes.
    """
    votes, _ = read_votes(truth, tree)
    true_ids, observed = np.array(votes.names), tree.tree_fractions(votes.counts)
    rows = {
        p.name: scores(tree.tree_fractions(read_aligned_shares(p, tree, true_ids)), observed, tree) for p in catalogs
    }
    if train is not None:
        means = column_means(tree.tree_fractions(read_votes(train, tree)[0].counts), len(true_ids))
        rows["column means"] = scores(means, observed, tree)
    expected = truth.parent / kaggle.TEST_EXPECTED
    if expected.exists():
        rows["floor"] = scores(tree.tree_fractions(read_aligned_shares(expected, tree, true_ids)), observed, tree)
    return with_gap_closed(rows) if "floor" in rows and "column means" in rows else rows
