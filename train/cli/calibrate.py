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
    --intervals`. For a run of a campaign's vote counts with the dirichlet head, whose intervals of the votes come
    from its likelihood, check instead how often they hold the calibration galaxies' votes.

    The calibration split (`preprocess run --calibrate N`) neither trained the run nor chose its epoch, so the
    intervals cover what they promise for galaxies like it. The calibration is stored in the first run's folder,
    for these runs and views; `predict` then needs no cache.
    """
    opened = open_cache(cache)
    load_keras()
    from train.intervals.calibration import calibrate_runs

    with reported(bad_input=(RunError,)):
        votes = Run(runs[0]).task().kind == "votes"
    if votes:
        print_vote_check(runs, opened, int(tta), batch)
        return

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


def print_vote_check(runs: list[Path], cache, tta: int, batch: int) -> None:
    """A dirichlet run's intervals of the votes, checked on the calibration split (train.intervals.votes_check)."""
    from train.intervals.votes_check import check_vote_intervals

    with reported(bad_input=(RunError,)):
        result = check_vote_intervals(runs, cache, tta, batch)
    thirds = list(result["coverage"][0]["thirds"])
    click.echo(f"the intervals of the votes on {result['galaxies']} calibration galaxies (reached cells held):")
    click.echo(f"{'level':<8}{'all':>8}" + "".join(f"{name:>20}" for name in thirds))
    for entry in result["coverage"]:
        held = "".join(f"{entry['thirds'][name]:>20.1%}" for name in thirds)
        click.echo(f"{entry['level']:<8.0%}{entry['all']:>8.1%}{held}")
    click.echo(f"wrote {Run(runs[0]).votes_coverage}; `predict --volunteers N` gives them")
