"""`make quality`: candidate recipes trained for the same wall-clock budget, scored against the floor.

One synthetic set (by default the quality set of bench.data: 6,000 training galaxies, 500 of them validating,
and 1,000 test, of seed 71; `--train`, `--test`, `--seed` for another); each candidate trains for `--minutes`
(seed 1, as the other benchmarks' runs of the default), submits with the
default test-time augmentation and is scored: RMSE, RMSE per question, and the share of the gap between the
column means and the floor that it closes. A candidate already trained with the same settings on the same cache
is reused, so a stopped run resumes with the next candidate; candidates trained alone (`--candidate`) join the
table of the same settings. Prints a table with each candidate's epochs and seconds per epoch, saves
bench/quality.json and, once the table holds every candidate, docs/quality.png (validation RMSE against minutes).
"""

import json
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
    "default, training seed 2": {"recipe": "default", "seed": 2},  # every other candidate trains with seed 1
}


def run_name(candidate: str) -> str:
    return re.sub(r"[^a-z]+", "-", candidate.lower()).strip("-")


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
        folder = WORK / "runs" / run_name(name)
        settings = {"recipe": "default", "seed": 1, **overrides}
        config = configure(settings.pop("recipe"), minutes=minutes, **settings)
        print(f"{name}, {minutes:g} minutes ...", flush=True)
        submissions[name] = submitted(cache, folder, config)
        histories[name] = Run(folder).history
    settings = {"minutes": minutes, "train": n_train, "test": n_test, "seed": seed}
    write_results(submissions, histories, data / kaggle.TEST_SOLUTIONS, settings)


def earlier_scores(settings: dict) -> dict:
    """The candidates of the results file when it was measured with the same settings on this CPU and generator, so
    that training some candidates alone (`--candidate`) adds to the table instead of replacing it."""
    if not RESULTS.exists():
        return {}
    earlier = json.loads(RESULTS.read_text())
    wanted = {**settings, "cpu": cpu_model(), "generator": GENERATOR}
    return earlier["scores"] if all(earlier.get(key) == value for key, value in wanted.items()) else {}


def write_results(submissions: dict[str, Path], histories: dict[str, Path], solutions: Path, settings: dict) -> None:
    """Score each candidate's submission (they share a file name, so one at a time), save, plot, print."""
    scores = {name: s for name, s in earlier_scores(settings).items() if name in CANDIDATES}
    for name, path in submissions.items():
        score = score_submissions([path], solutions)[path.name]
        seconds = [float(row["seconds"]) for row in history_rows(histories[name])]
        scores[name] = {
            "rmse": score.rmse,
            "gap_closed": score.gap_closed,
            **score.questions,
            "epochs": len(seconds),
            "seconds_per_epoch": float(np.median(seconds)),
        }
    scores = {name: scores[name] for name in CANDIDATES if name in scores}
    references = score_submissions([], solutions)
    for name in ("column means", "floor"):
        reference = references[name]
        scores[name] = {"rmse": reference.rmse, "gap_closed": reference.gap_closed, **reference.questions}
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "generator": GENERATOR}
    results = {**machine, **settings, "tta": DEFAULT_TTA, "scores": scores}
    write_json(RESULTS, results)
    every = all(name in scores for name in CANDIDATES)  # a figure of some candidates would replace the full one
    if every:
        plot_budget_curves({name: Run(WORK / "runs" / run_name(name)).history for name in CANDIDATES}, FIGURE)
    print(table(results))
    print(f"saved {RESULTS}" + (f" and {FIGURE}" if every else ""))


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
        f"{'':<24} {'epochs':>6} {'s/epoch':>7} {'RMSE':>7} {'gap':>6}  "
        + " ".join(f"{f'Q{q}':>6}" for q in range(1, 12)),
    ]
    for name, s in results["scores"].items():
        questions = " ".join(f"{s[f'Q{q}']:>6.4f}" for q in range(1, 12))
        pace = f"{s['epochs']:>6} {s['seconds_per_epoch']:>7.1f}" if "epochs" in s else f"{'':>6} {'':>7}"
        lines.append(f"{name:<24} {pace} {s['rmse']:>7.5f} {s['gap_closed']:>6.1%}  {questions}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
