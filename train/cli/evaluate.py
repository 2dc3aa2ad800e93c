"""`python -m train evaluate`: a run's RMSE per question on the valid split, against the baselines."""

from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, reported
from train.backend import load_keras
from train.cli.options import BATCH, CACHE, model_runs_option, not_written, open_cache, tta_option
from train.cli.score import print_table
from train.runs import Run, RunError


@click.command("evaluate", epilog=EXIT_STATUSES)
@CACHE
@model_runs_option(required=True, help="Run folder holding a trained model; repeat to average several runs.")
@tta_option(default=1)
@BATCH
def evaluate_command(cache: Path, runs: list[Path], tta: str, batch: int) -> None:
    """Score the model of each RUN (averaged) on CACHE's valid split; the report goes to the first RUN."""
    opened = open_cache(cache)
    load_keras()
    from train.prediction.evaluate import evaluate_runs

    report_file = Run(runs[0]).report(ensemble=len(runs) > 1)[0]
    with reported((runs[0],), not_written(report_file), bad_input=(RunError,)):
        report = evaluate_runs(runs, opened, int(tta), batch)
    print_table({"model": report.model, **{f"baseline: {k}": v for k, v in report.baselines.items()}})
    click.echo(f"largest decision-tree violation of the model: {report.tree_violation:.2g}")
    click.echo(f"valid galaxies: {report.galaxies}; report in {runs[0]}")
