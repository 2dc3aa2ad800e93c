"""Figures: a run's learning curves and evaluation report, and a catalog's gallery (matplotlib, no display)."""

import textwrap
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from preprocess.atomic import replacing  # noqa: E402
from train.runs import history_rows  # noqa: E402


def save_figure(figure, path: Path) -> Path:
    with replacing(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_curves(history_csv: Path, out: Path, metric: str = "rmse") -> Path | None:
    """Train and validation `metric` per epoch (RMSE over the 37 columns for `fit`), and the learning rate, from
    history.csv."""
    rows = history_rows(history_csv)
    if not rows:
        return None
    epochs = [int(r["epoch"]) + 1 for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
        if key in rows[0]:
            left.plot(epochs, [float(r[key]) for r in rows], marker="o", ms=3, label=label)
    left.set(xlabel="epoch", ylabel=metric, title="learning curves")
    left.grid(alpha=0.3)
    left.legend()
    if "learning_rate" in rows[0]:
        right.semilogy(epochs, [float(r["learning_rate"]) for r in rows], marker="o", ms=3, color="tab:green")
    right.set(xlabel="epoch", ylabel="learning rate", title="learning rate")
    right.grid(alpha=0.3)
    return save_figure(figure, out)


def plot_report(report, truth, predictions, columns: dict[str, int], out: Path) -> Path:
    """Per-question RMSE of the model and the baselines (an evaluate.Report), and predicted-vs-true scatter for a
    few columns."""
    widths = {"width_ratios": [2.2] + [1] * len(columns)}
    figure, axes = plt.subplots(1, 1 + len(columns), figsize=(8 + 3.2 * len(columns), 3.6), gridspec_kw=widths)
    questions = list(report.model.questions)
    entries = {"model": report.model, **report.baselines}
    width = 0.8 / len(entries)
    for i, (name, entry) in enumerate(entries.items()):
        values = [entry.questions[q] for q in questions]
        axes[0].bar(np.arange(len(questions)) + i * width, values, width, label=f"{name} ({entry.rmse:.4f})")
    named = any(len(q) > 3 for q in questions)  # a campaign's question names, not Kaggle's Q1..Q11
    axes[0].set_xticks(
        np.arange(len(questions)) + 0.4 - width / 2,
        questions,
        rotation=40 if named else 0,
        ha="right" if named else "center",
    )
    axes[0].set(ylabel="RMSE", title="RMSE per question (valid split)")
    axes[0].legend(fontsize=7)
    for ax, (name, index) in zip(axes[1:], columns.items()):
        ax.scatter(truth[:, index], predictions[:, index], s=4, alpha=0.4)
        ax.plot([0, 1], [0, 1], color="grey", lw=1)
        ax.set(xlabel=f"true {name}", ylabel=f"predicted {name}", xlim=(0, 1), ylim=(0, 1), title=name)
    return save_figure(figure, out)


def plot_gallery(best: dict[str, list[tuple[float, str, str]]], images: dict[str, np.ndarray], out: Path) -> Path:
    """One row per morphology class: the galaxies the model is most sure of, captioned with their description
    and their share of the votes for the class."""
    columns = max((len(items) for items in best.values()), default=1) or 1
    figure, axes = plt.subplots(len(best), columns, figsize=(2.6 * columns, 2.9 * len(best)), squeeze=False)
    for row, (name, items) in zip(axes, best.items()):
        row[0].set_title(name, loc="left", fontsize=11, fontweight="bold", pad=18)
        for axis in row:
            axis.axis("off")
        for axis, (score, path, text) in zip(row, items):
            axis.imshow(images[path])
            caption = "\n".join(textwrap.wrap(text, 30))
            label = f"{Path(path).stem} ({score:.2f})\n{caption}"
            axis.text(0.5, -0.03, label, transform=axis.transAxes, ha="center", va="top", fontsize=6.5)
    figure.subplots_adjust(hspace=0.75, wspace=0.05)
    return save_figure(figure, out)


def plot_coverage(report, out: Path) -> Path:
    """Coverage against nominal, per question (reached cells), with the expected fractions' where known."""
    figure, axis = plt.subplots(figsize=(5, 5))
    levels = sorted(report.overall)
    axis.plot([0.4, 1], [0.4, 1], color="grey", linestyle=":", label="nominal")
    for by_level in report.questions.values():
        axis.plot(levels, [by_level[level] for level in levels], color="tab:blue", alpha=0.35, linewidth=1)
    axis.plot(levels, [report.overall[level] for level in levels], "o-", color="tab:blue", label="votes, all questions")
    if report.expected:
        axis.plot(levels, [report.expected[level] for level in levels], "s--", color="tab:orange", label="expected")
    axis.set(xlabel="nominal coverage", ylabel="observed coverage", title="Intervals' coverage (thin: each question)")
    axis.legend(loc="upper left")
    return save_figure(figure, out)


def plot_reliability(calibration: dict, out: Path) -> Path:
    """A classifier's reliability diagram: accuracy against the top class's mean probability per bin, before and
    after temperature scaling, with the bins' counts."""
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for key, name, style in (("reliability", "as trained", "o-"), ("reliability_scaled", "temperature", "s--")):
        rows = calibration[key]
        axis.plot([r["probability"] for r in rows], [r["accuracy"] for r in rows], style, label=name)
        if key == "reliability":
            for r in rows:
                axis.annotate(
                    str(r["count"]),
                    (r["probability"], r["accuracy"]),
                    fontsize=7,
                    xytext=(3, -10),
                    textcoords="offset points",
                )
    axis.set(
        xlabel="probability of the predicted class",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"Reliability (ECE {calibration['ece']:.3f}, T = {calibration['temperature']:.2f})",
    )
    axis.legend(loc="upper left")
    return save_figure(figure, out)
