"""`make learning-curves`: where the rest of the gap is: in minutes of training, or in galaxies to train on.

One synthetic set of 24,000 training galaxies and the quality set's 1,000 test (its seed, 71; 500 validating); the
smaller training sets are subsets of its training rows, with the same validation and test galaxies (a subset keeps
the 500 validation rows, which have the smallest hashes of all rows, so they validate it too). The default recipe
trained for 2.5, 5, 10, 20 and 40 minutes on 6,000 galaxies, and for 20 minutes on 1,500, 6,000 and 24,000; each
submitted with 16 views and scored against the floor. Saves bench/curves.json and docs/learning_curves.png, prints
a table.
"""

import os
import re
from pathlib import Path

import numpy as np

from bench.data import QUALITY_SEED, QUALITY_TEST, QUALITY_TRAIN, QUALITY_VALID, preprocessed, synthetic
from bench.measure import cpu_model
from bench.runs import submitted
from preprocess import kaggle
from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.labels import read_solutions, write_solutions
from preprocess.splits import held_out_ids
from synth import GENERATOR
from synth.dataset import LABEL_DECIMALS

ROOT = Path(__file__).parent
WORK, RESULTS, FIGURE = ROOT / "work" / "curves", ROOT / "curves.json", ROOT.parent / "docs" / "learning_curves.png"
TRAIN = 24_000  # of the quality set's seed; its test and validation galaxies
MINUTES = (2.5, 5, 10, 20, 40)  # at the quality set's 6,000 galaxies
GALAXIES = (1_500, QUALITY_TRAIN, TRAIN)  # at 20 minutes


def subset(full: Path, n: int) -> Path:
    """A data folder of the first n training rows of `full` (its validation rows among them) and all of its test
    galaxies, by hard links."""
    if n == TRAIN:
        return full
    out = WORK / f"data-{n}"
    if (out / kaggle.SOLUTIONS).exists():
        return out
    ids, labels = read_solutions(full / kaggle.SOLUTIONS)
    valid = set(held_out_ids(ids, QUALITY_VALID, 0, 0)[0].tolist())
    keep = np.isin(ids, list(valid)) | (np.cumsum(~np.isin(ids, list(valid))) <= n - QUALITY_VALID)
    for folder in (kaggle.TRAIN_IMAGES, kaggle.TEST_IMAGES):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for galaxy_id in ids[keep]:
        os.link(
            kaggle.image_path(full, kaggle.TRAIN_IMAGES, galaxy_id),
            kaggle.image_path(out, kaggle.TRAIN_IMAGES, galaxy_id),
        )
    for path in (full / kaggle.TEST_IMAGES).iterdir():
        os.link(path, out / kaggle.TEST_IMAGES / path.name)
    for name in (kaggle.TEST_SOLUTIONS, kaggle.TEST_EXPECTED, kaggle.ZEROS):
        os.link(full / name, out / name)
    write_solutions(out / kaggle.SOLUTIONS, ids[keep], labels[keep], decimals=LABEL_DECIMALS)
    return out


def cache_of(data: Path) -> Cache:
    return preprocessed(data, WORK / f"cache-{data.name}", QUALITY_VALID)


def measured(data: Path, cache: Cache, minutes: float) -> dict:
    """The default recipe trained for `minutes`, submitted with 16 views and scored (made once)."""
    from train.config import configure
    from train.runs import Run
    from train.scores import score_submissions

    folder = WORK / "runs" / re.sub(r"[^0-9a-z.]+", "-", f"{data.name}-{minutes:g}min")
    submission = submitted(cache, folder, configure("default", minutes=minutes))
    scores = score_submissions([submission], data / kaggle.TEST_SOLUTIONS)
    history = Run(folder).history_rows()
    return {
        "galaxies": len(read_solutions(data / kaggle.SOLUTIONS)[0]),
        "minutes": minutes,
        "epochs": len(history),
        "seconds_per_epoch": float(np.mean([float(r["seconds"]) for r in history])),
        "rmse": scores[submission.name].rmse,
        "gap_closed": scores[submission.name].gap_closed,
        "floor": scores["floor"].rmse,
        "means": scores["column means"].rmse,
    }


def main() -> None:
    full = synthetic(WORK / "data-24000", TRAIN, QUALITY_TEST, QUALITY_SEED)
    results = {"cpu": cpu_model(), "cores": os.cpu_count(), "generator": GENERATOR, "minutes": [], "galaxies": []}
    six = subset(full, QUALITY_TRAIN)
    for minutes in MINUTES:
        results["minutes"].append(measured(six, cache_of(six), minutes))
        write_json(RESULTS, results)
    for n in GALAXIES:
        data = subset(full, n)
        results["galaxies"].append(measured(data, cache_of(data), 20))
        write_json(RESULTS, results)
    plot(results, FIGURE)
    print(table(results))
    print(f"saved {RESULTS} and {FIGURE}")


def table(results: dict) -> str:
    lines = [f"{results['cpu']}, {results['cores']} cores; the default recipe, 16-view submissions", ""]
    lines.append(f"{'galaxies':>9} {'minutes':>8} {'epochs':>7} {'s/epoch':>8} {'RMSE':>8} {'gap':>7}")
    for row in results["minutes"] + results["galaxies"]:
        lines.append(
            f"{row['galaxies']:>9,} {row['minutes']:>8g} {row['epochs']:>7} {row['seconds_per_epoch']:>8.1f} "
            f"{row['rmse']:>8.5f} {row['gap_closed']:>7.1%}"
        )
    return "\n".join(lines)


def plot(results: dict, out: Path) -> None:
    from train.plots import plt, save_figure

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for axis, key, label in (
        (left, "minutes", "minutes of training (6,000 galaxies)"),
        (right, "galaxies", "training galaxies (20 minutes)"),
    ):
        rows = results[key]
        axis.plot([r[key] for r in rows], [100 * r["gap_closed"] for r in rows], marker="o")
        axis.set(xscale="log", xlabel=label)
        axis.set_xticks([r[key] for r in rows], [f"{r[key]:,g}" for r in rows])
        axis.minorticks_off()
        axis.grid(alpha=0.3)
    left.set_ylabel("gap closed (%)")
    figure.suptitle("the default recipe: share of the gap between column means and floor closed", y=1.02)
    save_figure(figure, out)


if __name__ == "__main__":
    main()
