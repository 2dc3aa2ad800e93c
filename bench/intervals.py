"""`make intervals-bench`: how well the calibrated intervals keep their promise, by difficulty estimate.

The quality set (6,000 training galaxies of seed 71, 1,000 test) preprocessed with 500 validation and 1,000
calibration galaxies; the default recipe trained `--minutes` (20) with seed 1 (and seeds 2, ... for the ensemble
estimate with `--runs 2` or more); each estimate calibrated on the calibration split at 16 views, its intervals
written by `submit --intervals` and scored by `score`'s report against the votes and the expected fractions.
`auto`'s choice (made on halves of the calibration split, never on the test set) is stored with the run last.
Trained runs are reused, so a stopped benchmark resumes. Prints a table, saves bench/intervals.json,
docs/intervals.png (coverage against nominal) and docs/intervals_gallery.png (one question's narrowest and
widest intervals).
"""

import json
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np

from bench.cpu import cpu_flags
from bench.data import QUALITY_WORK, quality_set
from bench.measure import cpu_model
from bench.runs import finished_with
from preprocess import kaggle
from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.schema import COLUMNS
from synth import GENERATOR
from train.backend import load_keras
from train.config import configure
from train.intervals.conformal import AUTO, COVERAGE, LEVELS

ROOT = Path(__file__).parent
WORK, RESULTS = QUALITY_WORK, ROOT / "intervals.json"
FIGURES = ROOT.parent / "docs"
CALIBRATE = 1_000  # galaxies of the quality set held back to calibrate
GALLERY_COLUMN, GALLERY_EACH = "Class1.1", 5


def trained(cache: Cache, seed: int, minutes: float) -> Path:
    from train.fitting.fit import fit

    folder = WORK / "runs-intervals" / f"default-seed-{seed}"
    config = configure("default", minutes=minutes, seed=seed)
    if not finished_with(folder, config, cache):
        fit(cache, folder, config, overwrite=True, verbose=2)
    return folder


def measured(runs: list[Path], cache: Cache, data: Path, estimate: str) -> dict:
    """Calibrate by `estimate`, write the test split's submission and intervals, and report them."""
    from train.intervals.calibration import calibrate_runs
    from train.intervals.report import calibration_report
    from train.prediction.submit import submit_models

    entry = calibrate_runs(runs, cache, 16, estimate)
    submission = WORK / "runs-intervals" / f"submission-{estimate}.csv"
    intervals = submission.with_name(f"intervals-{estimate}.csv")
    submit_models(runs, cache, submission, intervals=intervals)
    report = calibration_report(submission, data / kaggle.TEST_SOLUTIONS, intervals, data / kaggle.TEST_EXPECTED)
    checks = {"estimate": entry["estimate"], "confidence_estimate": entry["confidence_estimate"]}
    return {**checks, "cross_check": entry["cross_check"], **asdict(report)}


def gallery(cache: Cache, intervals: Path, submission: Path, data: Path) -> Path:
    """GALLERY_COLUMN's narrowest and widest 90% intervals among the test galaxies, side by side."""
    from preprocess.labels import read_solutions
    from train.intervals.files import read_interval_file
    from train.plots import plot_gallery
    from train.scores import read_aligned

    ids, votes = read_solutions(data / kaggle.TEST_SOLUTIONS)
    table = read_interval_file(intervals, ids)
    predicted = read_aligned(submission, ids)
    j = COLUMNS.index(GALLERY_COLUMN)
    width = table.high[COVERAGE][:, j] - table.low[COVERAGE][:, j]
    order = np.argsort(width, kind="stable")
    test = cache.read("test", ("ids", "images"))
    image_of = dict(zip(test["ids"].tolist(), test["images"]))
    rows = {}
    for name, picks in (("narrowest", order[:GALLERY_EACH]), ("widest", order[::-1][:GALLERY_EACH])):
        rows[f"{GALLERY_COLUMN}: {name} {COVERAGE:.0%} intervals"] = [
            (
                float(width[i]),
                str(ids[i]),
                f"{predicted[i, j]:.2f} in [{table.low[COVERAGE][i, j]:.2f}, {table.high[COVERAGE][i, j]:.2f}]; "
                f"votes {votes[i, j]:.2f}",
            )
            for i in picks
        ]
    images = {str(i): image_of[int(i)] for items in rows.values() for _, i, _ in items}
    return plot_gallery(rows, images, FIGURES / "intervals_gallery.png")


@click.command(help=__doc__)
@click.option("--minutes", default=20.0, show_default=True, help="Minutes of training per run.")
@click.option(
    "--runs", "n_runs", default=1, show_default=True, help="Runs (seeds 1, 2, ...): 2 or more add the ensemble."
)
def main(minutes: float, n_runs: int) -> None:
    load_keras()
    from train.intervals.conformal import ESTIMATES
    from train.intervals.report import CalibrationReport
    from train.plots import plot_coverage

    data, cache = quality_set(calibrate=CALIBRATE)
    runs = [trained(cache, seed, minutes) for seed in range(1, n_runs + 1)]
    results = {"cpu": cpu_model(), "cpu_flags": cpu_flags(), "generator": GENERATOR, "minutes": minutes}
    results.update({"runs": len(runs), "estimates": {}})
    for estimate in [name for name in ESTIMATES if name != "ensemble" or len(runs) > 1]:
        members = runs if estimate == "ensemble" else runs[:1]
        results["estimates"][estimate] = measured(members, cache, data, estimate)
    chosen = measured(runs[:1], cache, data, AUTO)
    results["auto"] = chosen
    write_json(RESULTS, results, default=str)
    fields = {k: v for k, v in chosen.items() if k not in ("estimate", "confidence_estimate", "cross_check")}
    report = CalibrationReport(**fields)
    plot_coverage(report, FIGURES / "intervals.png")
    auto_files = WORK / "runs-intervals" / f"intervals-{AUTO}.csv", WORK / "runs-intervals" / f"submission-{AUTO}.csv"
    gallery(cache, *auto_files, data)
    print(table(json.loads(RESULTS.read_text())))


def table(results: dict) -> str:
    """The estimates' coverage at each level, their worst question and decile at 90%, width and selectivity (the
    results as saved: the levels are keys, as text)."""
    levels = [str(level) for level in LEVELS]
    lines = [
        f"{'estimate':<12}" + "".join(f"{level:>7.0%}" for level in LEVELS) + "  worst Q  worst decile  width  "
        "vs const  top half  half by Class1.1  expected 90%"
    ]
    for name, row in results["estimates"].items():
        overall, selective = row["overall"], row["selective"]
        worst_question = min(q[str(COVERAGE)] for q in row["questions"].values())
        worst_decile = min(min(d) for d in row["deciles"].values())
        lines.append(
            f"{name:<12}"
            + "".join(f"{overall[level]:>7.1%}" for level in levels)
            + f"  {worst_question:>7.1%}  {worst_decile:>12.1%}  {row['widths']['intervals']:.4f}"
            + f"  {row['widths']['ratio']:>8.2f}  {selective['most confident 50%'] / selective['all']:>8.2f}"
            + f"  {selective['most confident 50%'] / selective['half by predicted Class1.1']:>16.2f}"
            + f"  {row['expected'][str(COVERAGE)]:>12.1%}"
        )
    auto = results["auto"]
    selective = auto["selective"]
    lines.append(
        f"auto: intervals by {auto['estimate']}, confidence by {auto['confidence_estimate']}: most confident half "
        f"{selective['most confident 50%'] / selective['all']:.2f}x all, "
        f"{selective['most confident 50%'] / selective['half by predicted Class1.1']:.2f}x the half by Class1.1"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
