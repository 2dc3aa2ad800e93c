"""`python -m train score`: Kaggle's metric on submission files, locally, with the floor on synthetic data."""

from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, reported
from preprocess.labels import LabelError
from train.scores import Scores, score_submissions


def print_table(rows: dict[str, Scores]) -> None:
    """One line per entry: overall RMSE, the share of the learnable gap closed where known, RMSE per question."""
    questions = list(next(iter(rows.values())).questions)
    gap = any(entry.gap_closed is not None for entry in rows.values())
    click.echo(f"{'':<28} {'RMSE':>7} " + ("   gap " if gap else "") + " ".join(f"{q:>6}" for q in questions))
    for name, entry in rows.items():
        closed = f"{entry.gap_closed:>6.1%} " if gap else ""
        per_question = " ".join(f"{entry.questions[q]:>6.4f}" for q in questions)
        click.echo(f"{name:<28} {entry.rmse:>7.5f} {closed}{per_question}")


@click.command("score", epilog=EXIT_STATUSES)
@click.argument("submissions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("solutions", type=click.Path(dir_okay=False, path_type=Path))
def score_command(submissions: tuple[Path, ...], solutions: Path) -> None:
    """Score one or more SUBMISSIONS against SOLUTIONS: overall RMSE and RMSE per question.

    Beside a synthetic data set's test_solutions.csv, the column means and the floor (test_expected.csv,
    the best possible prediction) are scored too, and every row shows the share of the gap between
    them that it closes.
    """
    with reported(bad_input=(LabelError,)):
        rows = score_submissions(list(submissions), solutions)
    print_table(rows)
