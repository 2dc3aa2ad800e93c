"""`python -m train fit`: options, and the messages for what stops a run (registered in train.cli)."""

import shlex
import sys
from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, POSITIVE, BadInput, interrupted, os_failure
from preprocess.lock import FolderBusy
from train.backend import load_keras
from train.options import CACHE, open_cache
from train.recipes import HEADS, LOSSES, MODELS, PRECISIONS, RECIPES, SCHEDULES, STRATEGIES, configure


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


@click.command("fit", epilog=EXIT_STATUSES)
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
    help="default: the compact CNN on the central box, tree head, augmentation, weight decay, cooldown schedule. "
    "winner: the Kaggle winner's viewpoint network, divisive head and step schedule. "
    "seed: the published VGG16 recipe.",
)
@click.option("--model", type=click.Choice(MODELS), help="Override the recipe's model.")
@click.option("--head", type=click.Choice(HEADS), help="Override the recipe's output head.")
@click.option(
    "--loss",
    type=click.Choice(LOSSES),
    help="crossentropy (the default recipe's): each question's cross-entropy given that it was reached, weighted by "
    "the votes that reached it; needs the tree head. mse: the squared error of the 37 columns (the metric; the "
    "winner's and the seed's, and the divisive head's unless told otherwise).",
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
    "cosine: lower it along half a cosine to a hundredth at the end; cooldown: hold it, then lower it over the last "
    "30 percent along 1 - sqrt to a hundredth.",
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
    help="Decoupled weight decay of the kernels, as AdamW's (the default recipe: 0.2; winner and seed: none).",
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
