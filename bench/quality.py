"""`make quality`: candidate recipes trained for the same wall-clock budget, scored against the floor.

One synthetic set (by default the quality set of bench.data: 6,000 training galaxies, 500 of them validating,
and 1,000 test, of seed 71; `--train`, `--test`, `--seed` for another); each candidate trains for `--minutes`
(seed 1, as the other benchmarks' runs of the default), submits with the
default test-time augmentation and is scored: RMSE, RMSE per question, and the share of the gap between the
column means and the floor that it closes. A candidate already trained with the same settings on the same cache
is reused, so a stopped run resumes with the next candidate. Prints a table, saves bench/quality.json and
docs/quality.png (validation RMSE against minutes).
"""

import os
import re
from pathlib import Path

import click
import matplotlib.pyplot as plt
import numpy as np

from bench.data import QUALITY_SEED, QUALITY_TEST, QUALITY_TRAIN, QUALITY_WORK, quality_set
from bench.measure import cpu_model
from bench.runs import submitted
from preprocess import kaggle
from preprocess.atomic import write_json
from synth import GENERATOR
from train.config import configure
from train.plots import save_figure
from train.prediction.tta import DEFAULT_TTA
from train.runs import Run, history_rows
from train.scores import score_submissions

ROOT = Path(__file__).parent
WORK, RESULTS, FIGURE = QUALITY_WORK, ROOT / "quality.json", ROOT.parent / "docs" / "quality.png"
CANDIDATES = {  # name -> recipe and overrides
    "default": {"recipe": "default"},
    "default, zoom 1.3": {"recipe": "default", "zoom": 1.3},
    "winner": {"recipe": "winner"},
    "centre + divisive": {"recipe": "default", "model": "centre", "head": "divisive"},  # on mse (configure)
    "compact + tree": {"recipe": "default", "model": "compact"},
}


@click.command(help=__doc__)
@click.option("--minutes", default=20.0, show_default=True, help="Minutes of training per candidate.")
@click.option("--train", "n_train", default=QUALITY_TRAIN, show_default=True, help="Training galaxies.")
@click.option("--test", "n_test", default=QUALITY_TEST, show_default=True, help="Test galaxies.")
@click.option("--seed", default=QUALITY_SEED, show_default=True, help="The synthetic set's seed.")
@click.option(
    "--candidate",
    "chosen",
    multiple=True,
    type=click.Choice(list(CANDIDATES)),
    help="A candidate to train (again for more; default: all).",
)
def main(minutes: float, n_train: int, n_test: int, seed: int, chosen: tuple[str, ...]) -> None:
    data, cache = quality_set(n_train, n_test, seed)
    submissions, histories = {}, {}
    for name, overrides in CANDIDATES.items():
        if chosen and name not in chosen:
            continue
        folder = WORK / "runs" / re.sub(r"[^a-z]+", "-", name.lower()).strip("-")
        recipe = overrides.get("recipe", "default")
        config = configure(recipe, minutes=minutes, seed=1, **{k: v for k, v in overrides.items() if k != "recipe"})
        print(f"{name}, {minutes:g} minutes ...", flush=True)
        submissions[name] = submitted(cache, folder, config)
        histories[name] = Run(folder).history
    write_results(submissions, histories, data / kaggle.TEST_SOLUTIONS, minutes, n_train, n_test)


def write_results(
    submissions: dict[str, Path], histories: dict[str, Path], solutions: Path, minutes: float, n_train: int, n_test: int
) -> None:
    """Score each candidate's submission (they share a file name, so one at a time), save, plot, print."""
    rows = {name: score_submissions([path], solutions)[path.name] for name, path in submissions.items()}
    references = score_submissions([], solutions)
    rows.update({"column means": references["column means"], "floor": references["floor"]})
    results = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "generator": GENERATOR,
        "minutes": minutes,
        "train": n_train,
        "test": n_test,
        "tta": DEFAULT_TTA,
        "scores": {name: {"rmse": s.rmse, "gap_closed": s.gap_closed, **s.questions} for name, s in rows.items()},
    }
    write_json(RESULTS, results)
    plot_budget_curves(histories, FIGURE)
    print(table(results))
    print(f"saved {RESULTS} and {FIGURE}")


def plot_budget_curves(histories: dict[str, Path], out: Path) -> Path:
    """Validation RMSE against minutes of training (cumulative epoch seconds), one line per run."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, history_csv in histories.items():
        rows = history_rows(history_csv)
        minutes = np.cumsum([float(r["seconds"]) for r in rows]) / 60.0
        axis.plot(minutes, [float(r["val_rmse"]) for r in rows], marker="o", ms=2, label=name)
    axis.set(xlabel="minutes of training", ylabel="validation RMSE", title="validation RMSE at equal wall time")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, out)


def table(results: dict) -> str:
    lines = [
        f"{results['cpu']}, {results['cores']} cores; {results['train']} training and {results['test']} test "
        f"galaxies; {results['minutes']:g} minutes of training each; test RMSE with {results['tta']}-view TTA",
        "",
        f"{'':<40} {'RMSE':>7} {'gap':>6}  " + " ".join(f"{f'Q{q}':>6}" for q in range(1, 12)),
    ]
    for name, s in results["scores"].items():
        questions = " ".join(f"{s[f'Q{q}']:>6.4f}" for q in range(1, 12))
        lines.append(f"{name:<40} {s['rmse']:>7.5f} {s['gap_closed']:>6.1%}  {questions}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
