"""`python -m train predict`: a morphology catalog (and a gallery) of any galaxy images."""

from fractions import Fraction
from pathlib import Path

import click

from preprocess.cache import Settings
from preprocess.cli_support import EXIT_STATUSES, rejected, reported
from preprocess.kaggle import FRAME
from train.backend import load_keras
from train.cli.options import (
    BATCH,
    JOBS,
    calibrate_hint,
    gallery_option,
    image_paths,
    model_runs_option,
    not_written,
    tta_option,
)
from train.intervals.conformal import COVERAGE, CoverageError
from train.prediction.catalog_files import CATALOG_SUFFIXES
from train.runs import Run, RunError

SHOWN_REJECTS = 10


@click.command("predict", epilog=EXIT_STATUSES)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_runs_option(
    required=True, help="Run folder holding a trained model; repeat to average several runs (and see spread)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help=f"The catalog: {' or '.join(CATALOG_SUFFIXES)} (HDF5 for big catalogs). Written when complete.",
)
@gallery_option("Also draw a gallery PNG here.")
@click.option(
    "--crop-fraction",
    type=click.FloatRange(min=0, max=1, min_open=True),
    help="Side of the central square kept, as a fraction of the shorter side. Default: the run's training crop "
    f"({float(Fraction(Settings().crop, FRAME)):g}, Kaggle's framing, for the default cache); 1.0 for cutouts already "
    "cropped to the galaxy.",
)
@tta_option()
@BATCH
@JOBS
@click.option(
    "--coverage",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    help=f"Probability that each interval COLUMN_low..COLUMN_high holds the volunteers' vote fraction, for "
    f"calibrated runs (`train calibrate`). Default: {COVERAGE}.",
)
@click.option(
    "--given",
    is_flag=True,
    help="Also write each answer's share of the volunteers its question reached (COLUMN_given, e.g. barred given "
    "featured and not edge-on) with its interval, for calibrated runs.",
)
@click.option(
    "--volunteers",
    type=click.IntRange(min=1),
    help="For a run of a campaign's vote counts trained with --loss dirichlet: each COLUMN_low..COLUMN_high holds, "
    "with probability --coverage, the share of this many volunteers answering the question who would give the "
    "answer (from the predicted Dirichlet-multinomial).",
)
@click.option("--skip-bad", is_flag=True, help="Exit 0 even when some files could not be read (else 3).")
def predict_command(
    paths: tuple[Path, ...],
    runs: list[Path],
    out: Path,
    gallery: Path | None,
    crop_fraction: float | None,
    tta: str,
    batch: int,
    jobs: int,
    coverage: float | None,
    given: bool,
    volunteers: int | None,
    skip_bad: bool,
) -> None:
    """Predict the 37 Galaxy Zoo columns and a plain-English morphology for every image in PATHS; for a run
    trained on a campaign's vote counts, the campaign's `{answer}_fraction` columns (each answer's expected share
    of its question's votes, as GZ DECaLS catalogs give them), its galaxies named in its ID column.

    A PATH is an image (.jpg, .jpeg, .png), a folder (searched recursively) or a text file listing paths (one
    per line, relative to the list's folder). Any size, square or not, grey or colour, 8 or 16 bit. The
    GalaxyID is the file name without its extension. Files that cannot be read are skipped and named in
    OUT's .rejects.csv; the exit status is then 3 (0 with --skip-bad).

    Runs calibrated at these views (`train calibrate`) add an interval to every column, COLUMN_low and COLUMN_high,
    holding the volunteers' vote fraction with probability --coverage for galaxies like the calibration split,
    and `confidence`: 1 minus the mean width of the galaxy's intervals. A cut on k columns at once holds for all k
    with probability at least 1 - k(1 - coverage): ask for coverage 1 - a/k to keep 1 - a.
    """
    if out.suffix not in CATALOG_SUFFIXES:
        raise click.BadParameter(f"must end in {' or '.join(CATALOG_SUFFIXES)}", param_hint="--out")
    fraction = None if crop_fraction is None else Fraction(str(crop_fraction))
    images = image_paths(list(paths))
    load_keras()
    from train.finetuning.calibration import check_coverage
    from train.intervals.calibration import load_intervals, task_calibrations
    from train.plots import plot_gallery
    from train.prediction.catalog import InputError, predict_catalog

    with reported(bad_input=(RunError,)):
        calibrated = load_intervals(runs, int(tta))
        task = Run(runs[0]).task()
        kaggle = task.kind == "kaggle"  # a finetuned run is calibrated by `finetune` itself
        tuned_at = {} if kaggle or len(runs) > 1 else task_calibrations(runs[0])  # a finetuned run, alone
        tuned = tuned_at.get(int(tta))
    try:
        if calibrated is not None and coverage is not None:
            for calibration in (calibrated.fractions, *([calibrated.conditional] if given else [])):
                calibration.check(coverage)
        if tuned is not None:
            check_coverage(task, tuned, COVERAGE if coverage is None else coverage)
    except CoverageError as error:
        if coverage is not None:
            raise click.BadParameter(str(error), param_hint="--coverage") from None
        click.echo(f"intervals unbounded at the default coverage: {error}", err=True)
    if tuned_at and tuned is None:
        views = sorted(tuned_at)
        click.echo(
            f"no intervals: {runs[0]} is calibrated at {', '.join(map(str, views))} view(s), not {tta}; "
            f"--tta {views[-1]} gives them",
            err=True,
        )
    if calibrated is None and kaggle:
        click.echo(
            f"no intervals: these runs are not calibrated at {tta} view(s); {calibrate_hint(runs, tta)} calibrates "
            "them (a cache made with --calibrate)",
            err=True,
        )
    with reported((out, *([gallery] if gallery else [])), not_written(out), bad_input=(InputError, RunError)):
        coverage = COVERAGE if coverage is None else coverage
        result = predict_catalog(runs, images, out, fraction, int(tta), batch, jobs, True, coverage, given, volunteers)
        if gallery is not None and result.rows:
            plot_gallery(result.best, result.gallery_images(), gallery)
    intervals = f", with {coverage:g} intervals" if result.intervals else ""
    intervals += f" for {volunteers} volunteers" if volunteers else ""
    click.echo(f"wrote {out}: {result.rows} galaxies from {len(runs)} run(s), {tta} view(s) each{intervals}")
    if gallery is not None and result.rows:
        click.echo(f"wrote {gallery}")
    if result.rejects:
        for path, reason in result.rejects[:SHOWN_REJECTS]:
            click.echo(f"skipped {path}: {reason}", err=True)
        more = len(result.rejects) - SHOWN_REJECTS
        message = (
            f"{len(result.rejects)} file(s) could not be read{f' ({more} more not shown)' if more > 0 else ''}; "
            f"all are named in {result.rejects_path}"
        )
        if not skip_bad:
            raise rejected(message)
        click.echo(message, err=True)
