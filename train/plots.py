"""Figures of a run: learning curves and the evaluation report (matplotlib, no display needed)."""

import csv
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from preprocess.shards import temporary_path  # noqa: E402


def save_figure(figure, path: Path) -> Path:
    tmp = temporary_path(path).with_suffix(".png")
    figure.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(figure)
    os.replace(tmp, path)
    return path


def plot_curves(history_csv: Path, out: Path) -> Path | None:
    """Train and validation RMSE per epoch, and the learning rate, from history.csv."""
    if not history_csv.exists():
        return None
    with open(history_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    epochs = [int(r["epoch"]) + 1 for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, label in (("rmse", "train"), ("val_rmse", "validation")):
        if key in rows[0]:
            left.plot(epochs, [float(r[key]) for r in rows], marker="o", ms=3, label=label)
    left.set(xlabel="epoch", ylabel="RMSE (37 columns)", title="learning curves")
    left.grid(alpha=0.3)
    left.legend()
    if "learning_rate" in rows[0]:
        right.semilogy(epochs, [float(r["learning_rate"]) for r in rows], marker="o", ms=3, color="tab:green")
    right.set(xlabel="epoch", ylabel="learning rate", title="learning rate")
    right.grid(alpha=0.3)
    return save_figure(figure, out)
