"""Click options and checks shared by the training stage's commands (no TensorFlow: `--help` stays instant)."""

from pathlib import Path

import click

from preprocess.cache import Cache, CacheError
from preprocess.cli import existing_cache
from train.prediction.tta import TTA_VIEWS
from train.runs import Run

CACHE = click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=existing_cache,
    help="Cache folder written by `python -m preprocess run`.",
)
TTA = click.Choice([str(n) for n in TTA_VIEWS])


def open_cache(folder: Path) -> Cache:
    try:
        return Cache.open(folder)
    except CacheError as error:
        raise click.ClickException(str(error)) from None


def model_runs(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]) -> list[Path]:
    """Run folders that hold a trained model."""
    for run in value:
        if not Run(run).model.exists():
            raise click.BadParameter(f"{Run(run).model} not found: run `make train` first")
    return list(value)


def model_run(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A run folder that holds a trained model."""
    return model_runs(ctx, param, (value,))[0]


def model_runs_option(**kwargs):
    return click.option(
        "--run",
        "runs",
        type=click.Path(file_okay=False, path_type=Path),
        multiple=True,
        callback=model_runs,
        **kwargs,
    )


def not_written(out: Path) -> str:
    """What Ctrl-C while writing `out` leaves: nothing partial."""
    return f"{out} was not written (it appears only when complete)"
