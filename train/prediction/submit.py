"""Kaggle submissions of the test split: predicted by runs (train.prediction.inference) or by a baseline, checked
against Kaggle's sample submission, written atomically."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from preprocess import kaggle
from preprocess.cache import Cache
from preprocess.labels import id_mismatch, read_solutions, write_solutions
from preprocess.lock import shared
from train.config import PREDICT_BATCH
from train.intervals.calibration import interval_table, load_intervals, predict_split_spread, spread_models
from train.intervals.files import IntervalTable, write_interval_file
from train.prediction.baselines import BASELINES
from train.prediction.inference import load_models, predict_split
from train.prediction.tta import DEFAULT_TTA
from train.runs import RunError
from train.scores import column_means


class SubmissionError(RuntimeError):
    """Predictions that would make a submission Kaggle refuses or scores wrongly."""


@dataclass(frozen=True)
class Submission:
    path: Path
    warnings: list[str] = field(default_factory=list)  # what the user must hear: rejected galaxies, IDs unchecked


def check_submission(ids: np.ndarray, predictions: np.ndarray, sample: Path) -> list[str]:
    """SubmissionError unless every ID comes once, every value is finite and the IDs are those of Kaggle's sample
    submission `sample`; a warning if there is no such file to check against."""
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise SubmissionError(f"GalaxyIDs predicted more than once: {unique[counts > 1][:10].tolist()}")
    bad = ~np.isfinite(predictions).all(axis=1)
    if bad.any():
        raise SubmissionError(f"{bad.sum()} galaxies have non-finite predictions, e.g. {ids[bad][:10].tolist()}")
    if not sample.is_file():
        return [f"the IDs were not checked against Kaggle's sample submission: {sample} not found; pass --sample"]
    expected = read_solutions(sample)[0]
    mismatch = id_mismatch(ids, expected)
    if mismatch:
        raise SubmissionError(f"the submission's IDs differ from {sample}: {mismatch}")
    return []


def write_submission(
    cache: Cache, out: Path, ids: np.ndarray, predictions: np.ndarray, sample: Path | None = None
) -> Submission:
    """Clip to [0, 1], give rejected test galaxies the training means (with a warning), check against the sample
    submission (by default the one in the data folder the cache was made from), write atomically."""
    warnings = []
    rejected = sorted(r.galaxy_id for r in cache.rejects("test"))
    if rejected:
        means = column_means(cache.read("train", ("labels",))["labels"], len(rejected))
        warnings.append(
            f"{len(rejected)} test galaxies were rejected at preprocessing and get the training "
            f"column means: {rejected[:10]}"
        )
        ids = np.concatenate([ids, rejected])
        predictions = np.concatenate([predictions, means])
    warnings += check_submission(ids, predictions, sample or Path(cache.source) / kaggle.ZEROS)
    return Submission(write_solutions(out, ids, np.clip(predictions, 0.0, 1.0)), warnings)


def submit_models(
    runs: list[Path],
    cache: Cache,
    out: Path,
    tta: int = DEFAULT_TTA,
    batch: int = PREDICT_BATCH,
    sample: Path | None = None,
    intervals: Path | None = None,
) -> Submission:
    """The test split predicted by the runs' models (an ensemble when several), averaged with `tta` views; with
    `intervals`, their calibrated intervals written there too (train.intervals.files)."""
    with shared(cache.folder, "python -m train submit"):
        models = load_models(runs, cache)
        if intervals is None:
            ids, predictions = predict_split(models, cache, "test", tta=tta, batch=batch)
            return write_submission(cache, out, ids, predictions, sample)
        calibrated = load_intervals(runs, tta)
        if calibrated is None:
            raise RunError(f"{', '.join(map(str, runs))}: not calibrated at {tta} view(s); run `train calibrate`")
        ids, spread, _ = predict_split_spread(spread_models(models, tta), cache, "test", batch)
        written = write_submission(cache, out, ids, spread.values, sample)
        table = interval_table(calibrated, ids, spread)
        write_interval_file(intervals, with_unknown(table, sorted(r.galaxy_id for r in cache.rejects("test"))))
        return written


def with_unknown(table: IntervalTable, ids: list[int]) -> IntervalTable:
    """The table and galaxies nothing is known of (rejected at preprocessing): intervals [0, 1], confidence 0."""
    n = len(ids)
    zeros, ones = np.zeros((n, table.difficulty.shape[1])), np.ones((n, table.difficulty.shape[1]))
    return IntervalTable(
        np.concatenate([table.ids, np.asarray(ids, np.int64)]),
        {level: np.concatenate([low, zeros]) for level, low in table.low.items()},
        {level: np.concatenate([high, ones]) for level, high in table.high.items()},
        np.concatenate([table.difficulty, ones]),
        np.concatenate([table.confidence, np.zeros(n)]),
    )


def submit_baseline(name: str, cache: Cache, out: Path, sample: Path | None = None) -> Submission:
    with shared(cache.folder, "python -m train submit"):
        ids = cache.read("test", ("ids",))["ids"]
        return write_submission(cache, out, ids, BASELINES[name](cache, "test"), sample)
