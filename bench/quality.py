"""`make quality`: candidate recipes trained for the same wall-clock budget, scored against the floor.

One synthetic set (QUALITY_TRAIN training and QUALITY_TEST test galaxies, seed QUALITY_SEED: by default the
README's quality set, 6,000 and 1,000 of seed 71, 500 of them validating); each
candidate trains for QUALITY_MINUTES (seed 1, as the README's other runs of the default), submits with the
default test-time augmentation and is scored: RMSE, RMSE per question, and the share of the gap between the
column means and the floor that it closes. A candidate already trained with the same settings on the same cache
is reused, so a stopped run resumes with the next candidate. Prints a table, saves bench/quality.json and
docs/quality.png (validation RMSE against minutes).
"""

import os
import re
from pathlib import Path

from bench.data import preprocessed
from bench.measure import cpu_model, setting
from bench.runs import submitted
from preprocess import kaggle
from preprocess.atomic import write_json
from preprocess.cache import Cache
from synth.dataset import write_dataset
from train.config import configure
from train.plots import plot_budget_curves
from train.prediction.tta import DEFAULT_TTA
from train.runs import Run
from train.scores import score_submissions

ROOT = Path(__file__).parent
WORK, RESULTS, FIGURE = ROOT / "work" / "quality", ROOT / "quality.json", ROOT.parent / "docs" / "quality.png"
CANDIDATES = {  # name -> recipe and overrides
    "default": {"recipe": "default"},
    "default, zoom 1.3": {"recipe": "default", "zoom": 1.3},
    "winner": {"recipe": "winner"},
    "centre + divisive": {"recipe": "default", "model": "centre", "head": "divisive"},  # on mse (configure)
    "compact + tree": {"recipe": "default", "model": "compact"},
}


def data_set(n_train: int, n_test: int, seed: int) -> tuple[Path, Cache]:
    """The synthetic set and its cache, made once and reused by later runs."""
    data, cache = WORK / f"data-{n_train}-{n_test}-{seed}", WORK / f"cache-{n_train}-{n_test}-{seed}"
    if not (data / kaggle.TEST_EXPECTED).exists():
        write_dataset(data, n_train, n_test, seed=seed, jobs=os.cpu_count() or 1)
    return data, preprocessed(data, cache, max(500, n_train // 20))


def main() -> None:
    minutes = setting("QUALITY_MINUTES", 20)
    n_train, n_test = int(setting("QUALITY_TRAIN", 6_000)), int(setting("QUALITY_TEST", 1_000))
    data, cache = data_set(n_train, n_test, int(setting("QUALITY_SEED", 71)))
    submissions, histories = {}, {}
    for name, overrides in CANDIDATES.items():
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
