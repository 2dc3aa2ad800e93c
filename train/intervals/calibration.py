"""A run's calibrated intervals: made once on the cache's calibration split (`train calibrate`), stored with the run
keyed by the models and views they are for, applied by `predict` and `submit --intervals` with no cache.

The calibration split trained nothing and chose nothing: the validation split picks the best epoch and stops
training, so intervals calibrated on it would cover less than they promise.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.lock import shared
from train.config import PREDICT_BATCH
from train.fitting.dataset import ShardDataset
from train.intervals.conformal import (
    AUTO,
    COVERAGE,
    ESTIMATES,
    LEVELS,
    VOLUNTEERS,
    Calibration,
    binomial_spread,
    calibrate,
    conditional,
    confidence,
    reach,
    reached,
)
from train.intervals.files import IntervalTable
from train.prediction.inference import load_models, with_views
from train.runs import Run, RunError
from train.scores import rmse

RIDGE = 1.0  # the error head's ridge penalty, on inputs that all lie in [0, 1]


@dataclass(frozen=True)
class Spread:
    """Predictions of a set of galaxies with what says how sure they are: (n, 37) each."""

    values: np.ndarray  # averaged over the runs and views
    views: np.ndarray  # the views' standard deviation (root mean square over the runs)
    members: np.ndarray | None  # the runs' standard deviation, with two runs or more

    @classmethod
    def concatenate(cls, parts: list["Spread"]) -> "Spread":
        members = None if parts[0].members is None else np.concatenate([p.members for p in parts])
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("values", "views")), members)


def spread_models(models: list[keras.Model], tta: int) -> list[keras.Model]:
    return [with_views(model, tta, spread=True) for model in models]


def predict_spread(viewing: list[keras.Model], images: np.ndarray) -> Spread:
    """The Spread of a batch of uint8 images, one call per model (models from `spread_models`)."""
    means, stds = zip(*(model.predict_on_batch(images) for model in viewing))
    means, stds = np.stack(means).astype(np.float64), np.stack(stds).astype(np.float64)
    members = means.std(axis=0) if len(means) > 1 else None
    return Spread(means.mean(axis=0), np.sqrt((stds**2).mean(axis=0)), members)


def predict_split_spread(
    viewing: list[keras.Model], cache: Cache, split: str, batch: int
) -> tuple[np.ndarray, Spread, np.ndarray | None]:
    """The IDs and Spread of every galaxy of a split, and its labels (None for the test split)."""
    dataset = ShardDataset(cache, split, batch_size=batch, shuffle=False)
    parts, labels = [], []
    for i in tqdm(range(len(dataset)), desc=f"predicting {split}", unit="batch"):
        images, batch_labels = dataset[i] if dataset.labelled else (dataset[i], None)
        parts.append(predict_spread(viewing, images))
        labels += [] if batch_labels is None else [batch_labels]
    return dataset.ids, Spread.concatenate(parts), np.concatenate(labels).astype(np.float64) if labels else None


def head_inputs(spread: Spread) -> np.ndarray:
    values = spread.values
    return np.concatenate([values, spread.views, binomial_spread(values), np.ones((len(values), 1))], axis=1)


def fit_error_head(spread: Spread, labels: np.ndarray) -> np.ndarray:
    """Ridge weights (inputs, 37) predicting each cell's absolute error."""
    x = head_inputs(spread)
    return np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ np.abs(labels - spread.values))


def difficulty(estimate: str, spread: Spread, head: np.ndarray | None) -> np.ndarray:
    """(n, 37): each cell's difficulty by `estimate` (one of ESTIMATES)."""
    if estimate == "views":
        return spread.views
    if estimate == "ensemble":
        return spread.members
    if estimate == "binomial":
        return binomial_spread(spread.values)
    return np.clip(head_inputs(spread) @ head, 0, None)


def conditional_difficulty(values: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """A conditional fraction's difficulty: the cell's, over the share its question reached (at least one vote)."""
    return cell / np.maximum(reach(values), 1 / VOLUNTEERS)


def candidates(runs: int) -> list[str]:
    return [name for name in ESTIMATES if name != "ensemble" or runs > 1]


def cross_check(spread: Spread, labels: np.ndarray, head: np.ndarray | None, runs: int) -> dict[str, dict]:
    """Each estimate judged on one half of the calibration galaxies, calibrated on the other, both ways round: the
    mean width of its intervals at COVERAGE over the reached cells, and how well the confidence it gives ranks the
    galaxies (the RMSE of the most confident half over that of all). How `auto` chooses, without a test set."""
    halves = np.arange(len(labels)) % 2 == 0
    checks = {}
    for name in candidates(runs):
        cells = difficulty(name, spread, head)
        widths, ranking = [], []
        for part in (halves, ~halves):
            calibration = calibrate(spread.values[part], labels[part], cells[part], name)
            low, high = calibration.intervals(spread.values[~part], cells[~part], COVERAGE)
            widths.append((high - low)[reached(labels[~part])])
            values, truth = spread.values[~part], labels[~part]
            sure = np.argsort(-confidence(low, high), kind="stable")[: len(truth) // 2]
            ranking.append(rmse(values[sure], truth[sure]) / rmse(values, truth))
        checks[name] = {"width": float(np.concatenate(widths).mean()), "ranking": float(np.mean(ranking))}
    return checks


def model_digest(run: Path) -> str:
    return hashlib.sha256(Run(run).model.read_bytes()).hexdigest()[:16]


def calibration_key(runs: list[Path], tta: int) -> str:
    """Which models (their files' hashes, in order) and how many views a calibration is for."""
    return "+".join(model_digest(run) for run in runs) + f"@{tta}"


def require_calibration_split(cache: Cache) -> None:
    if not cache.count("calibrate"):
        raise RunError(
            f"{cache.folder} has no calibration split: make the cache with `preprocess run --calibrate N` (e.g. 1000 "
            "galaxies; with --valid and --seed as before, only N training galaxies move) and train the run on it"
        )


def calibrate_runs(runs: list[Path], cache: Cache, tta: int, estimate: str = AUTO, batch: int = PREDICT_BATCH) -> dict:
    """Calibrate the runs' intervals at `tta` views on the cache's calibration split; store them in the first run."""
    require_calibration_split(cache)
    if estimate == "ensemble" and len(runs) < 2:
        raise RunError("--estimate ensemble needs two runs or more")
    with shared(cache.folder, "python -m train calibrate"):
        viewing = spread_models(load_models(runs, cache), tta)
        _, spread, labels = predict_split_spread(viewing, cache, "calibrate", batch)
        head = fit_error_head(*predict_split_spread(viewing, cache, "valid", batch)[1:])
    checks = cross_check(spread, labels, head, len(runs))
    chosen = min(checks, key=lambda name: checks[name]["width"]) if estimate == AUTO else estimate
    ranks = min(checks, key=lambda name: checks[name]["ranking"]) if estimate == AUTO else estimate
    cells = difficulty(chosen, spread, head)
    intervals = Intervals(
        chosen,
        head if "error-head" in (chosen, ranks) else None,
        calibrate(spread.values, labels, cells, chosen),
        calibrate(
            conditional(spread.values),
            conditional(labels),
            conditional_difficulty(spread.values, cells),
            chosen,
            reached(labels),
        ),
        calibrate(spread.values, labels, difficulty(ranks, spread, head), ranks),
    )
    entry = {"runs": [str(run) for run in runs], "tta": tta, "cross_check": checks, **intervals.as_dict()}
    store = Run(runs[0]).calibration
    entries = json.loads(store.read_text()) if store.exists() else {}
    write_json(store, {**entries, calibration_key(runs, tta): entry})
    return entry


@dataclass(frozen=True)
class Intervals:
    """A stored calibration, applied to new predictions."""

    estimate: str
    head: np.ndarray | None
    fractions: Calibration
    conditional: Calibration
    ranking: Calibration  # intervals by the estimate whose widths rank galaxies best: their mean gives confidence

    def difficulty(self, spread: Spread) -> np.ndarray:
        return difficulty(self.estimate, spread, self.head)

    def as_dict(self) -> dict:
        """The calibration file's entry (beside what made it: the runs, views and cross-check)."""
        return {
            "estimate": self.estimate,
            "confidence_estimate": self.ranking.estimate,
            "error_head": None if self.head is None else self.head.tolist(),
            "fractions": self.fractions.as_dict(),
            "conditional": self.conditional.as_dict(),
            "confidence": self.ranking.as_dict(),
        }

    @classmethod
    def from_dict(cls, entry: dict) -> "Intervals":
        head = None if entry["error_head"] is None else np.asarray(entry["error_head"])
        parts = (Calibration.from_dict(entry[name]) for name in ("fractions", "conditional", "confidence"))
        return cls(entry["estimate"], head, *parts)

    def confidence(self, spread: Spread, coverage: float) -> np.ndarray:
        """1 minus the mean width of the galaxy's intervals by the estimate that ranks galaxies best (`ranking`)."""
        cells = difficulty(self.ranking.estimate, spread, self.head)
        return confidence(*self.ranking.intervals(spread.values, cells, coverage))

    def apply(self, spread: Spread, coverage: float, given: bool = False) -> dict[str, np.ndarray]:
        """low and high (n, 37) at `coverage`, the galaxies' confidence, and with `given` the conditional fractions
        with their own low and high."""
        cells = self.difficulty(spread)
        low, high = self.fractions.intervals(spread.values, cells, coverage)
        out = {"low": low, "high": high, "difficulty": cells, "confidence": self.confidence(spread, coverage)}
        if given:
            values = conditional(spread.values)
            given_cells = conditional_difficulty(spread.values, cells)
            out["given"] = values
            out["given_low"], out["given_high"] = self.conditional.intervals(values, given_cells, coverage)
        return out


def interval_table(calibrated: Intervals, ids: np.ndarray, spread: Spread) -> IntervalTable:
    """The intervals of every level of LEVELS, for an intervals file."""
    cells = calibrated.difficulty(spread)
    bounds = {level: calibrated.fractions.intervals(spread.values, cells, level) for level in LEVELS}
    low, high = ({level: bound[side] for level, bound in bounds.items()} for side in (0, 1))
    return IntervalTable(ids, low, high, cells, calibrated.confidence(spread, COVERAGE))


def load_intervals(runs: list[Path], tta: int) -> Intervals | None:
    """The calibration stored for these runs at `tta` views, or None."""
    store = Run(runs[0]).calibration
    if not store.exists():
        return None
    entry = json.loads(store.read_text()).get(calibration_key(runs, tta))
    return None if entry is None else Intervals.from_dict(entry)


TASK = "task"  # a finetuned run's entries in its calibration file: "task@VIEWS"
LEGACY_TASK_VIEWS = 16  # runs finetuned before the views were recorded kept theirs under "task", made at 16 views


def store_task_calibration(run: Path, report: dict, tta: int) -> None:
    """A finetuned run's calibration (train.finetuning.calibration) of its predictions at `tta` views."""
    write_json(Run(run).calibration, {f"{TASK}@{tta}": report})


def task_calibrations(run: Path) -> dict[int, dict]:
    """A finetuned run's calibrations by the views they were made at (none for a run without)."""
    store = Run(run).calibration
    entries = json.loads(store.read_text()) if store.exists() else {}
    found = {LEGACY_TASK_VIEWS: entries[TASK]} if TASK in entries else {}
    return {**found, **{int(key.split("@")[1]): entry for key, entry in entries.items() if key.startswith(f"{TASK}@")}}


def load_task_calibration(run: Path, tta: int) -> dict | None:
    """A finetuned run's calibration at `tta` views, or None."""
    return task_calibrations(run).get(tta)
