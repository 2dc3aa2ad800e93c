"""How sure a finetuned run is, from held-out labels its early stopping did not use.

Binary and multiclass tasks: the expected calibration error (ECE: over ten bins of the top class's probability,
the count-weighted mean |accuracy - mean probability|; Guo et al. 2017), its reliability diagram, and
temperature scaling (probabilities p -> softmax(log p / T)) kept only where, fitted on one half of the labels,
it lowers the error on the other half, both ways round. Fractions and regressions: split conformal intervals
of constant width per column, in the labels' units. No TensorFlow here.
"""

import numpy as np
from sklearn.metrics import log_loss

from train.finetuning.tasks import Task
from train.intervals.conformal import COVERAGE, CoverageError, fewest_cells, finite_quantile

ECE_BINS = 10
TEMPERATURES = np.exp(np.linspace(np.log(0.2), np.log(10), 81))  # searched for the lowest log loss


def class_index(task: Task, targets: np.ndarray) -> np.ndarray:
    """Each row's class, as an index into the catalog's probability columns."""
    return (targets[:, 0] > 0.5).astype(int) if task.kind == "binary" else np.asarray(targets, int)


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(probabilities, 1e-12, 1)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def reliability(probabilities: np.ndarray, truth: np.ndarray) -> list[dict]:
    """Per bin of the top class's probability: its count, mean probability and accuracy."""
    top, hit = probabilities.max(axis=1), probabilities.argmax(axis=1) == truth
    which = np.minimum((top * ECE_BINS).astype(int), ECE_BINS - 1)
    return [
        {
            "bin": b,
            "count": int((which == b).sum()),
            "probability": float(top[which == b].mean()),
            "accuracy": float(hit[which == b].mean()),
        }
        for b in range(ECE_BINS)
        if (which == b).any()
    ]


def expected_calibration_error(probabilities: np.ndarray, truth: np.ndarray) -> float:
    rows = reliability(probabilities, truth)
    return sum(r["count"] * abs(r["accuracy"] - r["probability"]) for r in rows) / max(1, len(truth))


def fit_temperature(probabilities: np.ndarray, truth: np.ndarray) -> float:
    classes = np.arange(probabilities.shape[1])  # every class, present in `truth` or not
    return float(min(TEMPERATURES, key=lambda t: log_loss(truth, scaled(probabilities, t), labels=classes)))


def choose_temperature(probabilities: np.ndarray, truth: np.ndarray, seed: int = 0) -> dict:
    """The temperature to keep and the ECE without and with it on labels it was not fitted on (two halves, each
    scored with the temperature fitted on the other): 1 unless scaling lowered that error."""
    halves = np.random.default_rng(seed).permutation(len(truth)) % 2 == 0
    before = after = 0.0
    for fit_on in (halves, ~halves):
        unseen = ~fit_on
        temperature = fit_temperature(probabilities[fit_on], truth[fit_on])
        before += expected_calibration_error(probabilities[unseen], truth[unseen]) * unseen.sum()
        after += expected_calibration_error(scaled(probabilities[unseen], temperature), truth[unseen]) * unseen.sum()
    before, after = before / len(truth), after / len(truth)
    keep = after < before
    return {
        "temperature": fit_temperature(probabilities, truth) if keep else 1.0,
        "ece_unseen": before,
        "ece_unseen_scaled": after,
        "kept": bool(keep),
    }


def calibrate_task(task: Task, values: np.ndarray, targets: np.ndarray, seed: int = 0) -> dict:
    """A finetuned run's calibration from its calibration labels: see the module's docstring."""
    if task.classifies:
        truth = class_index(task, targets)
        chosen = choose_temperature(values, truth, seed)
        scaled_values = scaled(values, chosen["temperature"])
        return {
            **chosen,
            "labels": len(truth),
            "ece": expected_calibration_error(values, truth),
            "reliability": reliability(values, truth),
            "reliability_scaled": reliability(scaled_values, truth),
        }
    truth = targets * np.array(task.std) + np.array(task.mean) if task.kind == "regression" else targets
    errors = np.sort(np.abs(values - truth), axis=0)
    return {"labels": len(truth), "errors": errors.round(6).tolist()}


def task_intervals(
    task: Task, calibration: dict, values: np.ndarray, coverage: float = COVERAGE
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of a fraction's or regression's values: +- the finite-sample quantile of the calibration
    labels' absolute errors, per column (unbounded when too few labels for `coverage`; fractions within [0, 1])."""
    errors = np.asarray(calibration["errors"])
    half = np.array([finite_quantile(errors[:, j], coverage) for j in range(errors.shape[1])])
    low, high = values - half, values + half
    return (np.clip(low, 0, 1), np.clip(high, 0, 1)) if task.kind == "fraction" else (low, high)


def applied(
    task: Task, calibration: dict | None, values: np.ndarray, coverage: float
) -> tuple[np.ndarray, dict | None]:
    """A finetuned run's catalog values and intervals once calibrated: probabilities at the kept temperature;
    low and high for fractions and regressions."""
    if calibration is None:
        return values, None
    if task.classifies:
        return scaled(values, calibration["temperature"]), None
    low, high = task_intervals(task, calibration, values, coverage)
    return values, {"low": low, "high": high}


def check_coverage(task: Task, calibration: dict, coverage: float) -> None:
    """CoverageError when a fraction's or regression's calibration labels are too few for finite intervals at
    `coverage` (a classifier's calibration is a temperature: any coverage will do)."""
    if task.classifies or calibration["labels"] >= fewest_cells(coverage):
        return
    raise CoverageError(
        f"coverage {coverage:g} needs at least {fewest_cells(coverage)} calibration labels, and the run was "
        f"calibrated on {calibration['labels']} (half of its held-out labels): ask for less coverage, or finetune "
        "with a larger --valid"
    )
