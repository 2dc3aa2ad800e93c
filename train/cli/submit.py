"""`python -m train submit`: a Kaggle submission of the test split, from runs or a baseline."""

from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, reported
from preprocess.schema import KAGGLE
from train.backend import load_keras
from train.cli.options import BATCH, CACHE, calibrate_hint, model_runs_option, not_written, open_cache, tta_option
from train.intervals.conformal import LEVELS
from train.prediction.baselines import BASELINES
from train.runs import RunError


@click.command("submit", epilog=EXIT_STATUSES)
@CACHE
@model_runs_option(help="Run folder holding a trained model; repeat to average several runs (an ensemble).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Submission CSV to write (.csv or .csv.gz).",
)
@tta_option(
    help="Views averaged per galaxy: N/2 turns evenly spread over the circle, each also mirrored (1: as it is)."
)
@BATCH
@click.option(
    "--baseline",
    type=click.Choice(list(BASELINES)),
    help="Write a reference baseline's predictions instead of a model's (no --run).",
)
@click.option(
    "--sample",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Kaggle's sample submission to check the IDs against (default: the one in the data folder the cache was "
    "made from).",
)
@click.option(
    "--intervals",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the calibrated intervals of every prediction to this CSV, at coverages "
    f"{', '.join(f'{level:g}' for level in LEVELS)}, for `train score --intervals` (runs calibrated by `train "
    "calibrate` at --tta views).",
)
def submit_command(
    cache: Path,
    runs: list[Path],
    out: Path,
    tta: str,
    batch: int,
    baseline: str | None,
    sample: Path | None,
    intervals: Path | None,
) -> None:
    """Predict every test galaxy of CACHE and write a Kaggle submission to OUT (atomically)."""
    if not out.name.endswith((".csv", ".csv.gz")):
        raise click.BadParameter("must end in .csv or .csv.gz", param_hint="--out")
    if baseline is None and not runs:
        raise click.BadParameter("needs a trained run folder (or a --baseline)", param_hint="--run")
    if baseline is not None and runs:
        raise click.BadParameter("give either --run or --baseline, not both", param_hint="--baseline")
    if intervals is not None and baseline is not None:
        raise click.BadParameter("a baseline has no intervals; give --run", param_hint="--intervals")
    opened = open_cache(cache)
    if opened.settings.campaign != KAGGLE.name:
        raise click.BadParameter(
            f"is a cache of campaign {opened.settings.campaign}: a Kaggle submission needs Kaggle's; `train predict "
            "--run RUN IMAGES` writes a catalog of the campaign's columns",
            param_hint="--cache",
        )
    if not opened.count("test"):
        raise click.BadParameter("has no test galaxies (images_test_rev1/ was empty or missing)", param_hint="--cache")
    load_keras()
    from train.prediction.submit import SubmissionError, submit_baseline, submit_models

    if intervals is not None:
        from train.intervals.calibration import load_intervals

        with reported(bad_input=(RunError,)):
            if load_intervals(runs, int(tta)) is None:
                raise RunError(
                    f"the runs are not calibrated at {tta} view(s): {calibrate_hint(runs, tta, cache)} calibrates them"
                )
    outputs = (out, *([intervals] if intervals else []))
    with reported(outputs, not_written(out), bad_input=(RunError,), failed=(SubmissionError,)):
        if baseline:
            written = submit_baseline(baseline, opened, out, sample)
        else:
            written = submit_models(runs, opened, out, int(tta), batch, sample, intervals)
    for warning in written.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {written.path}" + (f" and {intervals}" if intervals else ""))
