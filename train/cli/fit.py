"""`python -m train fit`: options, and the messages for what stops a run (registered in train.cli)."""

import shlex
import sys
from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, POSITIVE, reported
from train.backend import load_keras
from train.cli.options import CACHE, open_cache
from train.config import HEADS, LOSSES, MODELS, PRECISIONS, RECIPES, SCHEDULES, STRATEGIES, FitConfig, configure
from train.fitting import schedules
from train.runs import RunError


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


def shown(value) -> str:
    """A setting as an option's help shows it."""
    if value is None or value is False:
        return "none" if value is None else "off"
    if value is True:
        return "on"
    return f"{value:g}" if isinstance(value, float) else str(value)


def recipes_set(field: str) -> str:
    """What each recipe sets `field` to, for the end of an option's help."""
    return "; ".join(f"{name}: {shown(getattr(config, field))}" for name, config in RECIPES.items())


def override(*names: str, help: str, field: str | None = None, **kwargs):
    """An option that overrides a setting of the recipe; its help ends with each recipe's value."""
    field = field or names[0].split("/")[0].removeprefix("--").replace("-", "_")
    return click.option(*names, help=f"{help} Recipes: {recipes_set(field)}.", **kwargs)


def recipe_summary(config: FitConfig) -> str:
    return (
        f"the {config.model} model, {config.head} head and {config.loss} loss, {config.optimizer} at "
        f"{shown(config.lr)}, the {config.schedule} schedule"
    )


@click.command("fit", epilog=EXIT_STATUSES)
@CACHE
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Run folder: the best model, the history of every epoch, its curves, the reports.",
)
@click.option(
    "--recipe",
    type=click.Choice(list(RECIPES)),
    default=FitConfig().recipe,
    show_default=True,
    help=" ".join(f"{name}: {recipe_summary(config)}." for name, config in RECIPES.items()),
)
@override("--model", type=click.Choice(MODELS), help="The network.")
@override("--head", type=click.Choice(HEADS), help="The output head.")
@override(
    "--loss",
    type=click.Choice(LOSSES),
    help="crossentropy: each question's cross-entropy given that it was reached, weighted by the votes that reached "
    "it; needs the tree head. mse: the squared error of the 37 columns (the metric; the divisive head's unless told "
    "otherwise).",
)
@override("--epochs", type=POSITIVE, help="Most epochs (early stopping may end sooner).")
@override(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Train for this wall-clock budget: stop after the epoch that passes it (the schedule spreads over it).",
)
@override(
    "--schedule",
    type=click.Choice(SCHEDULES),
    help=" ".join(f"{name}: {text}." for name, text in schedules.SCHEDULES.items()),
)
@override("--batch", type=POSITIVE, help="Batch size.")
@override("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate.")
@override(
    "--augment/--no-augment",
    default=None,
    help="Random rotation, mirror image, shift, brightness and (with --zoom) zoom, inside the model.",
)
@override(
    "--zoom",
    type=click.FloatRange(min=1),
    help="Largest zoom of the augmentation: Z zooms by 1/Z to Z, 1 not at all (votes depend on how well a galaxy "
    "shows, which zoom changes).",
)
@override(
    "--look/--no-look",
    default=None,
    help="Random survey looks while training: stretch, colour balance and saturation, inside the model.",
)
@override("--dropout", type=click.FloatRange(min=0, max=1, max_open=True), help="Dropout rate before dense layers.")
@override("--weight-decay", type=click.FloatRange(min=0), help="Decoupled weight decay of the kernels, as AdamW's.")
@override("--patience", type=POSITIVE, help="Epochs without a better val_rmse before stopping early.")
@override(
    "--ema/--no-ema",
    default=None,
    help="Validate and keep an exponential moving average of the weights (Keras's use_ema, SwapEMAWeights).",
)
@override("--warmup", type=click.IntRange(min=0), help="Training images the divisive head clips before it divides.")
@override("--seed", type=int, help="Seed of weights, shuffling and augmentation.")
@override(
    "--loader-workers",
    type=POSITIVE,
    help="Processes that read batches ahead of the model (Keras PyDataset workers); 1 reads in the training loop.",
)
@override(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="Number format of the computation; weights and outputs stay float32. bfloat16: for CPUs with AVX-512 "
    "BF16 or AMX (faster steps, but no gain at equal time on the quality set, docs/experiments.md). mixed: float16, "
    "for GPUs with tensor cores.",
)
@override(
    "--jit",
    is_flag=True,
    default=None,
    help="Always compile the training step with XLA (by default Keras compiles it where it can).",
)
@override(
    "--tensorboard",
    is_flag=True,
    default=None,
    help="Write TensorBoard logs into the run folder, with a profile of batches 2-4.",
)
@override(
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
    from train.fitting.distribute import DistributeError
    from train.fitting.fit import LossNotFinite, fit

    resume = f"rerun the same command to continue {run_dir} from the last finished epoch"
    with reported((run_dir,), resume, bad_input=(RunError, DistributeError)):
        try:
            result = fit(opened, run_dir, config, overwrite=overwrite)
        except LossNotFinite as error:
            retry = retry_command(sys.argv[1:], config.lr / 10)
            raise click.ClickException(
                f"{error}; retry from the start with a lower learning rate:\n  {retry}"
            ) from None
    click.echo(f"best val_rmse {result.best_val_rmse:.5f} after {result.epochs} epochs; model in {run_dir}")
