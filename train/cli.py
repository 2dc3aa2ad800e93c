"""Command line of the training stage: `python -m train --help`."""

from pathlib import Path

import click

from preprocess.cli import write_failure
from preprocess.labels import LabelError
from preprocess.lock import FolderBusy
from train.baselines import BASELINES
from train.catalog_cli import predict_command
from train.distribute import STRATEGIES, DistributeError
from train.evaluate import Scores, evaluate_runs, score_submissions
from train.fit import RunError, fit
from train.models import FEATURES, HEADS
from train.options import CACHE, POSITIVE, TTA, interrupted, model_runs_option, open_cache
from train.predict import DEFAULT_TTA, RunMismatch, SubmissionError, submit_baseline, submit_models
from train.recipes import PRECISIONS, RECIPES, SCHEDULES, configure
from train.runs import MODEL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Galaxy Zoo training: stream the HDF5 cache into Keras models.

    \b
    fit       train a model (resumes an interrupted run)
    evaluate  RMSE per question on the valid split, against the baselines
    submit    predict the test split and write a Kaggle submission CSV
    score     score submissions against a solutions CSV (Kaggle's metric, locally)
    predict   a morphology catalog (CSV or HDF5) and gallery of any galaxy images
    """


@main.command("fit")
@CACHE
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Run folder: model.keras, history.csv, curves.png, reports.",
)
@click.option(
    "--recipe",
    type=click.Choice(list(RECIPES)),
    default="default",
    show_default=True,
    help="default: the compact CNN on the central box, tree head, augmentation, step schedule. winner: the Kaggle "
    "winner's viewpoint network, divisive head and step schedule. seed: the published VGG16 recipe.",
)
@click.option("--model", type=click.Choice(list(FEATURES)), help="Override the recipe's model.")
@click.option("--head", type=click.Choice(list(HEADS)), help="Override the recipe's output head.")
@click.option("--epochs", type=POSITIVE, help="Most epochs (early stopping may end sooner).")
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Train for this wall-clock budget: stop after the epoch that passes it (the schedule spreads over it).",
)
@click.option(
    "--schedule",
    type=click.Choice(SCHEDULES),
    help="plateau: halve the rate when val_rmse stalls; steps: divide it by 10 at 72 and 92 percent of training.",
)
@click.option("--batch", type=POSITIVE, help="Batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate.")
@click.option("--augment/--no-augment", default=None, help="Random rotation, mirror image, zoom, shift and brightness.")
@click.option(
    "--zoom",
    type=click.FloatRange(min=1),
    help="Largest zoom of the augmentation, e.g. 1.3 for 1/1.3 to 1.3 (the winner's); 1: none (the default: "
    "votes depend on apparent size).",
)
@click.option("--patience", type=POSITIVE, help="Epochs without a better val_rmse before stopping early.")
@click.option("--seed", type=int, help="Seed of weights, shuffling and augmentation.")
@click.option(
    "--loader-workers",
    type=POSITIVE,
    help="Processes that read batches ahead of the model (Keras PyDataset workers); 1 reads in the training loop.",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="mixed: float16 compute with float32 weights and outputs (mixed_float16), for GPUs with tensor cores.",
)
@click.option(
    "--jit", is_flag=True, default=None, help="Compile the training step with XLA (default: where Keras can)."
)
@click.option(
    "--tensorboard",
    is_flag=True,
    default=None,
    help="Write TensorBoard logs to RUN/logs, with a profile of batches 2-4.",
)
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    help="tf.distribute: mirrored = every local GPU; multiworker = the machines named in TF_CONFIG.",
)
@click.option("--overwrite", is_flag=True, help="Replace a finished (or differently configured) run in --run.")
def fit_command(cache: Path, run_dir: Path, recipe: str, overwrite: bool, **overrides) -> None:
    """Train on CACHE's train split, validate on its valid split, keep the best model in RUN.

    Rerunning the same command after an interruption continues from the last finished epoch.
    """
    config = configure(recipe, **overrides)
    try:
        result = fit(open_cache(cache), run_dir, config, overwrite=overwrite)
    except (RunError, FolderBusy, DistributeError) as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise write_failure(error) from None
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted: rerun the same command to continue {run_dir} from the last finished epoch", err=True
        )
        raise SystemExit(130) from None
    click.echo(f"best val_rmse {result.best_val_rmse:.5f} after {result.epochs} epochs; model in {run_dir}")


def print_table(rows: dict[str, Scores]) -> None:
    """One line per entry: overall RMSE, the share of the learnable gap closed where known, RMSE per question."""
    questions = list(next(iter(rows.values())).questions)
    gap = any(entry.gap_closed is not None for entry in rows.values())
    click.echo(f"{'':<28} {'RMSE':>7} " + ("   gap " if gap else "") + " ".join(f"{q:>6}" for q in questions))
    for name, entry in rows.items():
        closed = f"{entry.gap_closed:>6.1%} " if gap else ""
        per_question = " ".join(f"{entry.questions[q]:>6.4f}" for q in questions)
        click.echo(f"{name:<28} {entry.rmse:>7.5f} {closed}{per_question}")


@main.command("evaluate")
@CACHE
@model_runs_option(required=True, help="Run folder holding model.keras; repeat to average several runs.")
@click.option("--tta", type=TTA, default="1", show_default=True, help="Views averaged per galaxy.")
@click.option("--batch", type=POSITIVE, default=64, show_default=True, help="Batch size.")
def evaluate_command(cache: Path, runs: list[Path], tta: str, batch: int) -> None:
    """Score the model of each RUN (averaged) on CACHE's valid split; the report goes to the first RUN."""
    try:
        report = evaluate_runs(runs, open_cache(cache), int(tta), batch)
    except RunMismatch as error:
        raise click.UsageError(str(error)) from None
    except FolderBusy as error:
        raise click.ClickException(str(error)) from None
    print_table({"model": report.model, **{f"baseline: {k}": v for k, v in report.baselines.items()}})
    click.echo(f"largest decision-tree violation of the model: {report.tree_violation:.2g}")
    click.echo(f"valid galaxies: {report.galaxies}; report in {runs[0]}")


@main.command("submit")
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
    help="Write a reference baseline's predictions instead of a model's (no --run needed).",
)
def submit_command(cache: Path, runs: list[Path], out: Path, tta: str, batch: int, baseline: str | None) -> None:
    """Predict every test galaxy of CACHE and write a Kaggle submission to OUT (atomically)."""
    if not out.name.endswith((".csv", ".csv.gz")):
        raise click.BadParameter("must end in .csv or .csv.gz", param_hint="--out")
    if baseline is None and not runs:
        raise click.BadParameter(f"needs a run folder holding {MODEL} (or a --baseline)", param_hint="--run")
    opened = open_cache(cache)
    try:
        if baseline:
            path = submit_baseline(baseline, opened, out)
        else:
            path = submit_models(runs, opened, out, int(tta), batch)
    except RunMismatch as error:
        raise click.UsageError(str(error)) from None
    except FolderBusy as error:
        raise click.ClickException(str(error)) from None
    except SubmissionError as error:
        raise click.ClickException(f"{out} not written: {error}") from None
    except OSError as error:
        raise write_failure(error) from None
    except KeyboardInterrupt:
        raise interrupted(out) from None
    click.echo(f"wrote {path}")


@main.command("score")
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
        raise click.ClickException(str(error)) from None


main.add_command(predict_command)
