"""Command line of the training stage: `python -m train --help`."""

from dataclasses import replace
from pathlib import Path

import click

from preprocess.cli import existing_cache, write_failure
from preprocess.labels import LabelError
from preprocess.lock import FolderBusy
from preprocess.shards import CacheError

POSITIVE = click.IntRange(min=1)
CACHE = click.option("--cache", type=click.Path(file_okay=False, path_type=Path), required=True,
                     callback=existing_cache, help="Cache folder written by `python -m preprocess run`.")  # fmt: skip
RUN = click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                   help="Run folder: model.keras, history.csv, curves.png, reports.")  # fmt: skip


def fail(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Galaxy Zoo training: stream the HDF5 cache into Keras models.

    \b
    fit       train a model (resumes an interrupted run)
    evaluate  RMSE per question on the valid split, against three baselines
    submit    predict the test split and write a Kaggle submission CSV
    score     score submissions against a solutions CSV (Kaggle's metric, locally)
    """


@main.command("fit")
@CACHE
@RUN
@click.option(
    "--recipe",
    type=click.Choice(["default", "seed"]),
    default="default",
    show_default=True,
    help="default: compact CNN + tree head + Adam + augmentation. seed: the published VGG16 recipe.",
)
@click.option("--model", type=click.Choice(["compact", "vgg16"]), help="Override the recipe's model.")
@click.option("--head", type=click.Choice(["tree", "sigmoid"]), help="Override the recipe's output head.")
@click.option("--epochs", type=POSITIVE, help="Most epochs (early stopping may end sooner).")
@click.option("--batch", type=POSITIVE, help="Batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate.")
@click.option("--augment/--no-augment", default=None, help="Random flips/rotations by 90 degrees and small shifts.")
@click.option("--patience", type=POSITIVE, help="Epochs without a better val_rmse before stopping.")
@click.option("--seed", type=int, help="Seed of weights, shuffling and augmentation.")
@click.option("--workers", type=POSITIVE, help="Threads that read batches (Keras PyDataset workers).")
@click.option(
    "--strategy",
    type=click.Choice(["none", "mirrored", "multiworker"]),
    help="tf.distribute: mirrored = every local GPU; multiworker = the machines named in TF_CONFIG.",
)
@click.option("--overwrite", is_flag=True, help="Replace a finished (or differently configured) run in --run.")
def fit_command(cache: Path, run_dir: Path, recipe: str, overwrite: bool, **overrides) -> None:
    """Train on CACHE's train split, validate on its valid split, keep the best model in RUN.

    Rerunning the same command after an interruption continues from the last finished epoch.
    """
    from train.distribute import DistributeError
    from train.fit import RECIPES, RunError, fit

    config = replace(RECIPES[recipe], **{k: v for k, v in overrides.items() if v is not None})
    try:
        result = fit(cache, run_dir, config, overwrite=overwrite)
    except (CacheError, RunError, FolderBusy, DistributeError) as error:
        raise fail(error) from None
    except OSError as error:
        raise write_failure(error) from None
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted: rerun the same command to continue {run_dir} from the last finished epoch", err=True
        )
        raise SystemExit(130) from None
    click.echo(f"best val_rmse {result['best_val_rmse']:.5f} after {result['epochs']} epochs; model in {run_dir}")


def print_table(rows: dict[str, dict]) -> None:
    """One line per entry: overall RMSE, then RMSE per question."""
    questions = list(next(iter(rows.values()))["questions"])
    click.echo(f"{'':<28} {'RMSE':>7} " + " ".join(f"{q:>6}" for q in questions))
    for name, entry in rows.items():
        per_question = " ".join(f"{entry['questions'][q]:>6.4f}" for q in questions)
        click.echo(f"{name:<28} {entry['rmse']:>7.5f} {per_question}")


@main.command("evaluate")
@CACHE
@RUN
@click.option("--tta", type=click.Choice(["1", "8"]), default="1", show_default=True, help="Views averaged per galaxy.")
@click.option("--batch", type=POSITIVE, default=64, show_default=True, help="Batch size.")
def evaluate_command(cache: Path, run_dir: Path, tta: str, batch: int) -> None:
    """Score RUN's model on CACHE's valid split; write RUN/report.json and RUN/report.png."""
    import keras

    from preprocess.schema import COLUMNS
    from preprocess.shards import write_json
    from train.evaluate import evaluate, read_split
    from train.fit import MODEL, check_cache
    from train.plots import plot_report
    from train.submit import predict

    try:
        check_cache(cache)
        if not (run_dir / MODEL).exists():
            raise click.ClickException(f"{run_dir / MODEL} not found: run `make train` first")
        ids, predictions = predict(keras.models.load_model(run_dir / MODEL), cache, "valid", int(tta), batch)
        report = evaluate(cache, predictions, ids)
    except CacheError as error:
        raise fail(error) from None
    write_json(run_dir / "report.json", report)
    truth = read_split(cache, "valid")["labels"]
    key_columns = {name: COLUMNS.index(name) for name in ("Class1.1", "Class1.2", "Class4.1")}
    plot_report(report, truth, predictions, key_columns, run_dir / "report.png")
    print_table({"model": report["model"], **{f"baseline: {k}": v for k, v in report["baselines"].items()}})
    click.echo(f"largest decision-tree violation of the model: {report['model']['tree_violation']:.2g}")
    click.echo(f"valid galaxies: {report['galaxies']}; report in {run_dir / 'report.json'} and report.png")


@main.command("submit")
@CACHE
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), help="Run folder with model.keras.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Submission CSV to write (.csv or .csv.gz).",
)
@click.option(
    "--tta",
    type=click.Choice(["1", "8"]),
    default="8",
    show_default=True,
    help="Average the 8 flips/rotations of each galaxy, or use the image as it is.",
)
@click.option("--batch", type=POSITIVE, default=64, show_default=True, help="Batch size.")
@click.option(
    "--baseline",
    type=click.Choice(["zeros", "means", "central-pixel"]),
    help="Write a reference baseline's predictions instead of a model's (no --run needed).",
)
def submit_command(cache: Path, run_dir: Path | None, out: Path, tta: str, batch: int, baseline: str | None) -> None:
    """Predict every test galaxy of CACHE and write a Kaggle submission to OUT (atomically)."""
    from train.fit import MODEL, check_cache
    from train.submit import submit_baseline, submit_model

    if not out.name.endswith((".csv", ".csv.gz")):
        raise click.BadParameter("must end in .csv or .csv.gz", param_hint="--out")
    if baseline is None and (run_dir is None or not (run_dir / MODEL).exists()):
        raise click.BadParameter(f"needs a run folder holding {MODEL} (run `make train` first)", param_hint="--run")
    try:
        check_cache(cache)
        path = submit_baseline(baseline, cache, out) if baseline else submit_model(run_dir, cache, out, int(tta), batch)
    except CacheError as error:
        raise fail(error) from None
    except OSError as error:
        raise write_failure(error) from None
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {out} was not written (it appears only when complete)", err=True)
        raise SystemExit(130) from None
    click.echo(f"wrote {path}")


@main.command("score")
@click.argument("submissions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("solutions", type=click.Path(dir_okay=False, path_type=Path))
def score_command(submissions: tuple[Path, ...], solutions: Path) -> None:
    """Score one or more SUBMISSIONS against SOLUTIONS: overall RMSE and RMSE per question."""
    from train.evaluate import score_submission

    try:
        print_table({path.name: score_submission(path, solutions) for path in submissions})
    except LabelError as error:
        raise fail(error) from None
