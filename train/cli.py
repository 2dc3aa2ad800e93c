"""Command line of the training stage: `python -m train --help`.

TensorFlow loads only inside the commands that need it (train.backend), so `--help` and `score` are instant.
"""

from pathlib import Path

import click

from preprocess.cli_support import CONTEXT, EXIT_STATUSES, POSITIVE, BadInput, os_failure
from preprocess.labels import LabelError
from preprocess.lock import FolderBusy
from train.backend import load_keras
from train.baselines import BASELINES
from train.catalog_cli import predict_command
from train.finetune_cli import finetune_command
from train.fit_cli import fit_command
from train.options import CACHE, TTA, model_runs_option, not_written, open_cache
from train.runs import MODEL
from train.scores import Scores, score_submissions
from train.tta import DEFAULT_TTA

TENSORFLOW_LOGS = "TensorFlow's start-up messages are hidden; TF_CPP_MIN_LOG_LEVEL=0 shows them."


@click.group(context_settings=CONTEXT, epilog=f"{EXIT_STATUSES}\n\n{TENSORFLOW_LOGS}")
def main() -> None:
    """Galaxy Zoo training: stream the HDF5 cache into Keras models.

    \b
    fit       train a model (resumes an interrupted run)
    evaluate  RMSE per question on the valid split, against the baselines
    submit    predict the test split and write a Kaggle submission CSV
    score     score submissions against a solutions CSV (Kaggle's metric, locally)
    predict   a morphology catalog (CSV or HDF5) and gallery of any galaxy images
    finetune  a run of your own question: a new head on a trained run, from your labels
    """


def print_table(rows: dict[str, Scores]) -> None:
    """One line per entry: overall RMSE, the share of the learnable gap closed where known, RMSE per question."""
    questions = list(next(iter(rows.values())).questions)
    gap = any(entry.gap_closed is not None for entry in rows.values())
    click.echo(f"{'':<28} {'RMSE':>7} " + ("   gap " if gap else "") + " ".join(f"{q:>6}" for q in questions))
    for name, entry in rows.items():
        closed = f"{entry.gap_closed:>6.1%} " if gap else ""
        per_question = " ".join(f"{entry.questions[q]:>6.4f}" for q in questions)
        click.echo(f"{name:<28} {entry.rmse:>7.5f} {closed}{per_question}")


@main.command("evaluate", epilog=EXIT_STATUSES)
@CACHE
@model_runs_option(required=True, help="Run folder holding model.keras; repeat to average several runs.")
@click.option("--tta", type=TTA, default="1", show_default=True, help="Views averaged per galaxy.")
@click.option("--batch", type=POSITIVE, default=64, show_default=True, help="Batch size.")
def evaluate_command(cache: Path, runs: list[Path], tta: str, batch: int) -> None:
    """Score the model of each RUN (averaged) on CACHE's valid split; the report goes to the first RUN."""
    opened = open_cache(cache)
    load_keras()
    from train.evaluate import evaluate_runs
    from train.predict import RunMismatch

    try:
        report = evaluate_runs(runs, opened, int(tta), batch)
    except RunMismatch as error:
        raise BadInput(str(error)) from None
    except FolderBusy as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise os_failure(error, outputs=(runs[0],)) from None
    except KeyboardInterrupt:
        raise not_written(runs[0] / "report.json") from None
    print_table({"model": report.model, **{f"baseline: {k}": v for k, v in report.baselines.items()}})
    click.echo(f"largest decision-tree violation of the model: {report.tree_violation:.2g}")
    click.echo(f"valid galaxies: {report.galaxies}; report in {runs[0]}")


@main.command("submit", epilog=EXIT_STATUSES)
@CACHE
@model_runs_option(help="Run folder with model.keras; repeat to average several runs (an ensemble).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Submission CSV to write (.csv or .csv.gz).",
)
@click.option(
    "--tta",
    type=TTA,
    default=str(DEFAULT_TTA),
    show_default=True,
    help="Views averaged per galaxy: N/2 turns evenly spread over the circle, each also mirrored (1: as it is).",
)
@click.option("--batch", type=POSITIVE, default=64, show_default=True, help="Batch size.")
@click.option(
    "--baseline",
    type=click.Choice(list(BASELINES)),
    help="Write a reference baseline's predictions instead of a model's (no --run).",
)
@click.option(
    "--sample",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Kaggle's sample submission to check the IDs against (default: all_zeros_benchmark.csv in the data "
    "folder the cache was made from).",
)
def submit_command(
    cache: Path, runs: list[Path], out: Path, tta: str, batch: int, baseline: str | None, sample: Path | None
) -> None:
    """Predict every test galaxy of CACHE and write a Kaggle submission to OUT (atomically)."""
    if not out.name.endswith((".csv", ".csv.gz")):
        raise click.BadParameter("must end in .csv or .csv.gz", param_hint="--out")
    if baseline is None and not runs:
        raise click.BadParameter(f"needs a run folder holding {MODEL} (or a --baseline)", param_hint="--run")
    if baseline is not None and runs:
        raise click.BadParameter("give either --run or --baseline, not both", param_hint="--baseline")
    opened = open_cache(cache)
    load_keras()
    from train.predict import RunMismatch, SubmissionError, submit_baseline, submit_models

    try:
        if baseline:
            written = submit_baseline(baseline, opened, out, sample)
        else:
            written = submit_models(runs, opened, out, int(tta), batch, sample)
    except RunMismatch as error:
        raise BadInput(f"{out} not written: {error}") from None
    except SubmissionError as error:
        raise click.ClickException(f"{out} not written: {error}") from None
    except FolderBusy as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise os_failure(error, outputs=(out,)) from None
    except KeyboardInterrupt:
        raise not_written(out) from None
    for warning in written.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {written.path}")


@main.command("score", epilog=EXIT_STATUSES)
@click.argument("submissions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("solutions", type=click.Path(dir_okay=False, path_type=Path))
def score_command(submissions: tuple[Path, ...], solutions: Path) -> None:
    """Score one or more SUBMISSIONS against SOLUTIONS: overall RMSE and RMSE per question.

    Beside a synthetic data set's test_solutions.csv, the column means and the floor (test_expected.csv,
    the best possible prediction) are scored too, and every row shows the share of the gap between
    them that it closes.
    """
    try:
        print_table(score_submissions(list(submissions), solutions))
    except LabelError as error:
        raise BadInput(str(error)) from None


main.add_command(fit_command)
main.add_command(predict_command)
main.add_command(finetune_command)
