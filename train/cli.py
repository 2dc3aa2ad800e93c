"""Command line of the training stage: `python -m train --help`."""

from dataclasses import replace
from pathlib import Path

import click

from preprocess.lock import FolderBusy, exclusive
from preprocess.shards import CacheError

POSITIVE = click.IntRange(min=1)
CACHE = click.option("--cache", type=click.Path(file_okay=False, path_type=Path), required=True,
                     help="Cache folder written by `python -m preprocess run`.")  # fmt: skip
RUN = click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                   help="Run folder: model.keras, history.csv, curves.png, reports.")  # fmt: skip


def fail(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Galaxy Zoo training: stream the HDF5 cache into Keras models.

    \b
    fit       train a model (resumes an interrupted run)
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
@click.option("--overwrite", is_flag=True, help="Replace a finished (or differently configured) run in --run.")
def fit_command(cache: Path, run_dir: Path, recipe: str, overwrite: bool, **overrides) -> None:
    """Train on CACHE's train split, validate on its valid split, keep the best model in RUN.

    Rerunning the same command after an interruption continues from the last finished epoch.
    """
    from train.fit import RECIPES, RunError, fit

    config = replace(RECIPES[recipe], **{k: v for k, v in overrides.items() if v is not None})
    try:
        with exclusive(run_dir, "python -m train fit"):
            result = fit(cache, run_dir, config, overwrite=overwrite)
    except (CacheError, RunError, FolderBusy) as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted: rerun the same command to continue {run_dir} from the last finished epoch", err=True
        )
        raise SystemExit(130) from None
    click.echo(f"best val_rmse {result['best_val_rmse']:.5f} after {result['epochs']} epochs; model in {run_dir}")
