"""Scores: Kaggle's RMSE overall and per question, the three reference baselines, and the report."""

from pathlib import Path

import h5py
import numpy as np

from preprocess.labels import LabelError, read_solutions
from preprocess.schema import N_COLUMNS, SLICES, hierarchy_errors
from preprocess.shards import read_manifest, split_entries

BASELINES = ("zeros", "means", "central-pixel")
CENTRE = slice(51, 55)  # the central 4x4 pixels of a 106x106 image
COLOUR_LEVELS = 8


def rmse(predictions: np.ndarray, truth: np.ndarray) -> float:
    """Kaggle's score: the root of the mean squared error over every (galaxy, column) pair."""
    return float(np.sqrt(np.mean((np.asarray(predictions, np.float64) - truth) ** 2)))


def per_question_rmse(predictions: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {f"Q{q}": rmse(predictions[:, sl], truth[:, sl]) for q, sl in SLICES.items()}


def scores(predictions: np.ndarray, truth: np.ndarray) -> dict:
    return {"rmse": rmse(predictions, truth), "questions": per_question_rmse(predictions, truth)}


def read_split(cache: Path, split: str, with_colour: bool = False) -> dict[str, np.ndarray]:
    """IDs, labels (if any) and, with_colour, the mean colour of the central pixels; shard by shard, in order."""
    parts: dict[str, list] = {"ids": [], "labels": [], "colour": []}
    for entry in split_entries(read_manifest(cache), split):
        with h5py.File(cache / entry["name"], "r") as f:
            parts["ids"].append(f["ids"][()])
            if "labels" in f:
                parts["labels"].append(f["labels"][()])
            if with_colour:
                parts["colour"].append(f["images"][:, CENTRE, CENTRE, :].mean(axis=(1, 2)))
    return {k: np.concatenate(v) for k, v in parts.items() if v}


class CentralPixel:
    """Kaggle's 'central pixel' benchmark: the mean labels of training galaxies of the same centre colour."""

    def __init__(self, colours: np.ndarray, labels: np.ndarray, min_count: int = 5):
        self.means = labels.mean(axis=0)
        bins = self._bins(colours)
        sums = np.zeros((COLOUR_LEVELS**3, N_COLUMNS))
        np.add.at(sums, bins, labels)
        counts = np.bincount(bins, minlength=COLOUR_LEVELS**3)[:, None]
        self.table = np.where(counts >= min_count, sums / np.maximum(counts, 1), self.means)

    @staticmethod
    def _bins(colours: np.ndarray) -> np.ndarray:
        levels = np.clip((colours / 256.0 * COLOUR_LEVELS).astype(int), 0, COLOUR_LEVELS - 1)
        return (levels[:, 0] * COLOUR_LEVELS + levels[:, 1]) * COLOUR_LEVELS + levels[:, 2]

    def predict(self, colours: np.ndarray) -> np.ndarray:
        return self.table[self._bins(colours)]


def baseline_predictions(cache: Path, split: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """IDs of `split` and each baseline's predictions for them, fitted on the train split."""
    train = read_split(cache, "train", with_colour=True)
    target = read_split(cache, split, with_colour=True)
    n = len(target["ids"])
    predictions = {
        "zeros": np.zeros((n, N_COLUMNS)),
        "means": np.tile(train["labels"].mean(axis=0), (n, 1)),
        "central-pixel": CentralPixel(train["colour"], train["labels"]).predict(target["colour"]),
    }
    return target["ids"], predictions


def evaluate(cache: Path, predictions: np.ndarray, ids: np.ndarray) -> dict:
    """The model's and the baselines' scores on the valid split, and the model's worst tree violation."""
    valid = read_split(cache, "valid")
    if not np.array_equal(ids, valid["ids"]):
        raise ValueError("predictions are not in the valid split's order")
    baseline_ids, baselines = baseline_predictions(cache, "valid")
    report = {"galaxies": len(ids), "model": scores(predictions, valid["labels"])}
    report["model"]["tree_violation"] = float(hierarchy_errors(predictions).max())
    report["baselines"] = {name: scores(p, valid["labels"]) for name, p in baselines.items()}
    return report


def score_submission(submission: Path, solutions: Path) -> dict:
    """Score a Kaggle-form CSV against the truth; LabelError naming the problem if it cannot be scored."""
    sub_ids, sub_values = read_solutions(submission)
    true_ids, true_values = read_solutions(solutions)
    missing = np.setdiff1d(true_ids, sub_ids)
    extra = np.setdiff1d(sub_ids, true_ids)
    if len(missing):
        raise LabelError(
            f"{submission}: {len(missing)} GalaxyID(s) of the solutions are missing, e.g. {missing[:5].tolist()}"
        )
    if len(extra):
        raise LabelError(f"{submission}: {len(extra)} GalaxyID(s) are not in the solutions, e.g. {extra[:5].tolist()}")
    order = np.argsort(sub_ids)
    truth_order = np.argsort(true_ids)
    return scores(sub_values[order], true_values[truth_order])
