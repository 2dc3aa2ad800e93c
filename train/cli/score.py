"""`python -m train score`: Kaggle's metric on submission files, locally, with the floor on synthetic data."""

from pathlib import Path

import click

from preprocess import kaggle
from preprocess.catalog import CatalogError
from preprocess.cli_support import EXIT_STATUSES, reported
from preprocess.labels import LabelError
from train.intervals.conformal import COVERAGE
from train.intervals.report import CalibrationReport, calibration_report
from train.scores import Scores, counts_campaign, score_campaign, score_submissions


def print_table(rows: dict[str, Scores]) -> None:
    """One line per entry: overall RMSE, the share of the learnable gap closed where known, RMSE per question."""
    questions = list(next(iter(rows.values())).questions)
    gap = any(entry.gap_closed is not None for entry in rows.values())
    widths = {q: max(6, len(q)) for q in questions}  # Kaggle's Q1..Q11, or a campaign's question names
    click.echo(f"{'':<28} {'RMSE':>7} " + ("   gap " if gap else "") + " ".join(f"{q:>{widths[q]}}" for q in questions))
    for name, entry in rows.items():
        closed = f"{entry.gap_closed:>6.1%} " if gap else ""
        per_question = " ".join(f"{entry.questions[q]:>{widths[q]}.4f}" for q in questions)
        click.echo(f"{name:<28} {entry.rmse:>7.5f} {closed}{per_question}")


def print_calibration(report: CalibrationReport) -> None:
    """Coverage per question and level, by decile, selective prediction, width, and the expected fractions'."""
    levels = list(report.overall)
    click.echo("\ncoverage of the vote fractions (cells whose question volunteers reached):")
    click.echo(f"{'':<10}" + "".join(f"{level:>8.0%}" for level in levels))
    for name, by_level in [*report.questions.items(), ("all", report.overall), ("unreached", report.unreached)]:
        click.echo(f"{name:<10}" + "".join(f"{by_level[level]:>8.1%}" for level in levels))
    if report.expected:
        click.echo(f"{'expected':<10}" + "".join(f"{report.expected[level]:>8.1%}" for level in levels))
        click.echo(
            f"bars, coverage error of the expected fractions within +-0.2 (Walmsley et al. 2020's way; theirs: "
            f"11.8%): {report.walmsley:.1%}"
        )
    click.echo(f"\ncoverage at {COVERAGE:.0%} by decile of the difficulty estimate (easiest first):")
    for name, deciles in report.deciles.items():
        click.echo(f"{name:<10}" + "".join(f"{value:>7.0%}" for value in deciles))
    widths = report.widths
    click.echo(
        f"\nmean width at {COVERAGE:.0%}: {widths['intervals']:.4f}, against {widths['constant']:.4f} for the best "
        f"constant width per column at the same coverage ({widths['ratio']:.2f}x)"
    )
    click.echo("RMSE by confidence: " + ", ".join(f"{name} {value:.5f}" for name, value in report.selective.items()))


@click.command("score", epilog=EXIT_STATUSES)
@click.argument("submissions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("solutions", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--intervals",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The intervals file `submit --intervals` wrote with the (one) submission: report how well it covers.",
)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="With --intervals: coverage plot PNG.")
@click.option(
    "--train",
    "train_catalog",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="For a campaign's catalogs: the training catalog, whose column means are scored as a reference.",
)
def score_command(
    submissions: tuple[Path, ...],
    solutions: Path,
    intervals: Path | None,
    plot: Path | None,
    train_catalog: Path | None,
) -> None:
    """Score one or more SUBMISSIONS against SOLUTIONS: overall RMSE and RMSE per question.

    For a campaign with vote counts, SUBMISSIONS are `predict` catalogs of its run and SOLUTIONS the volunteers'
    catalog of the same galaxies (its counts); both are scored as fractions down the tree. --train adds the
    training catalog's column means.

    Beside a synthetic data set's test_solutions.csv, the column means and the floor (test_expected.csv,
    the best possible prediction) are scored too, and every row shows the share of the gap between
    them that it closes.

    With --intervals, the calibration of the intervals: coverage per question at each level, by decile of the
    difficulty estimate, the RMSE of the most confident galaxies, and (synthetic data) the coverage of the
    expected fractions.
    """
    if intervals is not None and len(submissions) != 1:
        raise click.BadParameter("give the one submission the intervals were written with", param_hint="--intervals")
    if plot is not None and intervals is None:
        raise click.BadParameter("needs --intervals", param_hint="--plot")
    tree = counts_campaign(solutions)
    if tree is not None:  # catalogs of a campaign's run (`predict`), against the volunteers' counts
        if intervals is not None:
            raise click.BadParameter("is for Kaggle submissions", param_hint="--intervals")
        with reported(bad_input=(LabelError, CatalogError)):
            print_table(score_campaign(list(submissions), solutions, tree, train_catalog))
        return
    with reported(bad_input=(LabelError,)):
        rows = score_submissions(list(submissions), solutions)
        expected = solutions.parent / kaggle.TEST_EXPECTED
        report = intervals and calibration_report(
            submissions[0], solutions, intervals, expected if expected.exists() else None
        )
    print_table(rows)
    if report:
        print_calibration(report)
    if plot is not None:
        from train.plots import plot_coverage

        click.echo(f"wrote {plot_coverage(report, plot)}")
