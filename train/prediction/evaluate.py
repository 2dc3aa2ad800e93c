"""A run's evaluation report: its model and the reference baselines scored on the valid split."""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.lock import shared
from preprocess.schema import COLUMNS, hierarchy_errors
from train.config import PREDICT_BATCH
from train.plots import plot_report
from train.prediction.baselines import BASELINES
from train.prediction.inference import load_models, predict_split
from train.runs import Run
from train.scores import Scores, scores

SCATTER_COLUMNS = ("Class1.1", "Class1.2", "Class4.1")


@dataclass(frozen=True)
class Report:
    runs: list[str]  # the models averaged
    tta: int  # views averaged per galaxy
    galaxies: int
    model: Scores
    tree_violation: float  # the model's largest |sum of a question's answers - its parent|
    baselines: dict[str, Scores]


def evaluate_runs(runs: list[Path], cache: Cache, tta: int = 1, batch: int = PREDICT_BATCH) -> Report:
    """Score the runs' models (averaged when several) and the baselines on the valid split.

    The report (JSON and a plot) goes to the first run's folder (train.runs.Run.report), an ensemble's under
    names of its own.
    """
    with shared(cache.folder, "python -m train evaluate"):
        valid = cache.read("valid", ("ids", "labels"))
        ids, predictions = predict_split(load_models(runs, cache), cache, "valid", tta, batch)
        baselines = {name: scores(baseline(cache, "valid"), valid["labels"]) for name, baseline in BASELINES.items()}
    if not np.array_equal(ids, valid["ids"]):
        raise RuntimeError("predictions are not in the valid split's order")
    tree_violation = float(hierarchy_errors(predictions).max())
    names = [str(run) for run in runs]
    report = Report(names, tta, len(ids), scores(predictions, valid["labels"]), tree_violation, baselines)
    report_json, report_plot = Run(runs[0]).report(ensemble=len(runs) > 1)
    write_json(report_json, asdict(report))
    key_columns = {name: COLUMNS.index(name) for name in SCATTER_COLUMNS}
    plot_report(report, valid["labels"], predictions, key_columns, report_plot)
    return report
