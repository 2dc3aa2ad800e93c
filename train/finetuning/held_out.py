"""A finetuned run's scores on held-out labels, and what needs no image to compare them with (scikit-learn's
metrics, a second to load: imported here rather than by tasks.py, which `train score` and every command's --help
read without TensorFlow; Keras loads scikit-learn itself where it is installed)."""

import numpy as np
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score

from train.finetuning.tasks import Task
from train.scores import rmse


def held_out_scores(task: Task, truth: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Scores of predictions `values` (the catalog's) against the held-out targets `truth` (as `targets` gives)."""
    if task.kind == "binary":
        positive = truth[:, 0] > 0.5
        return {
            "accuracy": float(((values[:, 1] > 0.5) == positive).mean()),
            "roc_auc": float(roc_auc_score(positive, values[:, 1])),
            "average_precision": float(average_precision_score(positive, values[:, 1])),
        }
    if task.kind == "multiclass":
        return {"accuracy": float((np.argmax(values, axis=1) == truth).mean())}
    if task.kind == "regression":
        truth = truth * np.array(task.std) + np.array(task.mean)
    # R^2 over every column pooled: 1 - (squared error) / (squared deviation from the mean), which is what
    # scikit-learn calls variance-weighted
    return {"rmse": rmse(values, truth), "r2": float(r2_score(truth, values, multioutput="variance_weighted"))}


def reference_values(task: Task, train_targets: np.ndarray, n: int) -> np.ndarray:
    """What needs no image: the majority class (or the mean) of the training part, for n galaxies."""
    if task.kind == "binary":
        p = float(train_targets.mean() > 0.5)
        return np.tile([1.0 - p, p], (n, 1))
    if task.kind == "multiclass":
        majority = np.bincount(train_targets, minlength=len(task.classes)).argmax()
        return np.eye(len(task.classes))[np.full(n, majority)]
    return task.values(np.tile(train_targets.mean(axis=0), (n, 1)))
