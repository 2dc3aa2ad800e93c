"""`python -m train calibrate`: calibrate a run's intervals on the cache's calibration split."""

from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, reported
from train.backend import load_keras
from train.cli.options import BATCH, CACHE, model_runs_option, open_cache, tta_option
from train.intervals.conformal import AUTO, ESTIMATES
from train.runs import Run, RunError


@click.command("calibrate", epilog=EXIT_STATUSES)
@CACHE
@model_runs_option(required=True, help="Run folder holding a trained model; repeat for an ensemble.")
@tta_option()
@click.option(
    "--estimate",
    type=click.Choice([AUTO, *ESTIMATES]),
    default=AUTO,
    show_default=True,
    help="What sets each interval's width: "
    + "; ".join(f"{name}: {text}" for name, text in ESTIMATES.items())
    + "; auto: each judged on halves of the calibration split, each calibrated on the other: the narrowest "
    "intervals set the intervals, the best ranking of galaxies by their error sets `confidence`. An explicit "
    "estimate sets both.",
)
@BATCH
def calibrate_command(cache: Path, runs: list[Path], tta: str, estimate: str, batch: int) -> None:
    """Calibrate the intervals of RUN (at --tta views) on CACHE's calibration split, for `predict` and `submit
    --intervals`.

    The calibration split (`preprocess run --calibrate N`) neither trained the run nor chose its epoch, so the
    intervals cover what they promise for galaxies like it. The calibration is stored in the first run's folder,
    for these runs and views; `predict` then needs no cache.
    """
    opened = open_cache(cache)
    load_keras()
    from train.intervals.calibration import calibrate_runs

    with reported(bad_input=(RunError,)):
        entry = calibrate_runs(runs, opened, int(tta), estimate, batch)
    click.echo("on halves of the calibration split, each calibrated on the other:")
    click.echo(f"{'estimate':<12}{'mean width at 90%':>20}{'RMSE of the surest half / all':>32}")
    for name, check in entry["cross_check"].items():
        click.echo(f"{name:<12}{check['width']:>20.4f}{check['ranking']:>32.3f}")
    click.echo(
        f"wrote {Run(runs[0]).calibration}: intervals by {entry['estimate']}, confidence by "
        f"{entry['confidence_estimate']}, for {tta} view(s)"
    )
