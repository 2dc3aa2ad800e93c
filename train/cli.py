"""Command line of the training stage: `python -m train --help`.

TensorFlow loads only inside the commands that need it (train.backend), so `--help` and `score` are instant.
"""

import shlex
import sys
from pathlib import Path

import click

from preprocess.cli_support import CONTEXT, EXIT_STATUSES, POSITIVE, BadInput, interrupted, os_failure
from preprocess.labels import LabelError
from preprocess.lock import FolderBusy
from train.backend import load_keras
from train.baselines import BASELINES
from train.catalog_cli import predict_command
from train.finetune_cli import finetune_command
from train.options import CACHE, TTA, model_runs_option, not_written, open_cache
from train.recipes import HEADS, LOSSES, MODELS, PRECISIONS, RECIPES, SCHEDULES, STRATEGIES, configure
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


def retry_command(args: list[str], lr: float) -> str:
    """The command in `args` (after `python -m train`) again with another --lr, restarting the run."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--lr":
            skip = True
        elif not arg.startswith("--lr="):
            kept.append(arg)
    extra = ["--lr", f"{lr:g}"] + ([] if "--overwrite" in kept else ["--overwrite"])
    return shlex.join(["python", "-m", "train", *kept, *extra])


@main.command("fit", epilog=EXIT_STATUSES)
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
@click.option("--model", type=click.Choice(MODELS), help="Override the recipe's model.")
@click.option("--head", type=click.Choice(HEADS), help="Override the recipe's output head.")
@click.option(
    "--loss",
    type=click.Choice(LOSSES),
    help="crossentropy (the default recipe's): each question's cross-entropy given that it was reached, weighted by "
    "the votes that reached it; needs a tree or divisive head. mse: the squared error of the 37 columns (the "
    "metric; the winner's and the seed's).",
)
@click.option("--epochs", type=POSITIVE, help="Most epochs (early stopping may end sooner).")
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Train for this wall-clock budget: stop after the epoch that passes it (the schedule spreads over it).",
)
@click.option(
    "--schedule",
    type=click.Choice(SCHEDULES),
    help="plateau: halve the rate when val_rmse stalls; steps: divide it by 10 at 72 and 92 percent of training; "
    "cosine: lower it along half a cosine to a hundredth at the end.",
)
@click.option("--batch", type=POSITIVE, help="Batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate.")
@click.option(
    "--augment/--no-augment",
    default=None,
    help="Random rotation, mirror image, shift, brightness and (with --zoom) zoom, inside the model.",
)
@click.option(
    "--zoom",
    type=click.FloatRange(min=1),
    help="Largest zoom of the augmentation, e.g. 1.3 for 1/1.3 to 1.3 (the winner's); 1: none (the default: "
    "votes depend on how well a galaxy shows, which zoom changes).",
)
@click.option(
    "--dropout",
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Dropout rate of the dense layers (the default recipe: none; winner: 0.1 before each; seed: 0.5).",
)
@click.option(
    "--weight-decay",
    type=click.FloatRange(min=0),
    help="Decoupled weight decay of the kernels, as AdamW's (the default recipe: 0.05; winner and seed: none).",
)
@click.option("--patience", type=POSITIVE, help="Epochs without a better val_rmse before stopping early.")
@click.option(
    "--ema/--no-ema",
    default=None,
    help="Validate and keep an exponential moving average of the weights (Keras's use_ema, SwapEMAWeights).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    help="Training images before the divisive head divides (the winner's 10,000): until then it clips.",
)
@click.option("--seed", type=int, help="Seed of weights, shuffling and augmentation.")
@click.option(
    "--loader-workers",
    type=POSITIVE,
    help="Processes that read batches ahead of the model (Keras PyDataset workers); 1 reads in the training loop.",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="Number format of the computation; weights and outputs stay float32. bfloat16: for CPUs with AVX-512 "
    "BF16 or AMX (faster steps, but no gain at equal time on the quality set, README). mixed: float16, for GPUs "
    "with tensor cores.",
)
@click.option(
    "--jit",
    is_flag=True,
    default=None,
    help="Always compile the training step with XLA (by default Keras compiles it where it can).",
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
    try:
        config = configure(recipe, **overrides)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--loss") from None
    opened = open_cache(cache)
    load_keras()
    from train.distribute import DistributeError
    from train.fit import LossNotFinite, RunError, fit

    try:
        result = fit(opened, run_dir, config, overwrite=overwrite)
    except (RunError, DistributeError) as error:
        raise BadInput(str(error)) from None
    except LossNotFinite as error:
        retry = retry_command(sys.argv[1:], config.lr / 10)
        raise click.ClickException(f"{error}; retry from the start with a lower learning rate:\n  {retry}") from None
    except FolderBusy as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise os_failure(error, outputs=(run_dir,)) from None
    except KeyboardInterrupt:
        raise interrupted(f"rerun the same command to continue {run_dir} from the last finished epoch") from None
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


main.add_command(predict_command)
main.add_command(finetune_command)
