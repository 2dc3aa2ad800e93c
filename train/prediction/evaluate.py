"""A run's evaluation report: its model and the reference baselines scored on the valid split."""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.lock import shared
from preprocess.schema import KAGGLE, campaign
from train.config import PREDICT_BATCH
from train.plots import plot_report
from train.prediction.baselines import BASELINES, split_fractions
from train.prediction.inference import load_models, predict_split
from train.runs import Run
from train.scores import Scores, scores

KAGGLE_SCATTER = ("Class1.1", "Class1.2", "Class4.1")  # smooth, features or disk, spiral arms


def scatter_columns(tree) -> list[str]:
    """The columns the report plots: Kaggle's three, or the first answer of a campaign's first three questions."""
    return list(KAGGLE_SCATTER) if tree == KAGGLE else [q.columns[0] for q in tree.questions[:3]]


@dataclass(frozen=True)
class Report:
    runs: list[str]  # the models averaged
    tta: int  # views averaged per galaxy
    galaxies: int
    model: Scores
    tree_violation: float  # the model's largest |sum of a question's answers - its parent|
    baselines: dict[str, Scores]


def evaluate_runs(runs: list[Path], cache: Cache, tta: int = 1, batch: int = PREDICT_BATCH) -> Report:
    """Score the runs' models (averaged when several) and the baselines on the valid split, as vote fractions of
    the cache's campaign (a campaign's runs and counts as the fractions down its tree).

    The report (JSON and a plot) goes to the first run's folder (train.runs.Run.report), an ensemble's under
    names of its own.
    """
    with shared(cache.folder, "python -m train evaluate"):
        tree = campaign(cache.settings.campaign)
        truth = split_fractions(cache, "valid")
        ids, raw = predict_split(load_models(runs, cache), cache, "valid", tta, batch)
        predictions = tree.fractions(raw)
        baselines = {name: scores(baseline(cache, "valid"), truth, tree) for name, baseline in BASELINES.items()}
    if not np.array_equal(ids, cache.split_ids("valid")):
        raise RuntimeError("predictions are not in the valid split's order")
    tree_violation = float(tree.hierarchy_errors(predictions).max())
    names = [str(run) for run in runs]
    report = Report(names, tta, len(ids), scores(predictions, truth, tree), tree_violation, baselines)
    report_json, report_plot = Run(runs[0]).report(ensemble=len(runs) > 1)
    write_json(report_json, asdict(report))
    key_columns = {name: tree.columns.index(name) for name in scatter_columns(tree)}
    plot_report(report, truth, predictions, key_columns, report_plot)
    return report
