"""Click options and checks shared by the training stage's commands (no TensorFlow: `--help` stays instant)."""

from pathlib import Path

import click

from preprocess.cache import Cache, CacheError
from preprocess.cli import existing_cache
from preprocess.cli_support import POSITIVE, BadInput
from preprocess.listing import IMAGE_SUFFIXES, ImageListError, find_images
from train.config import DECODE_JOBS, PREDICT_BATCH
from train.prediction.tta import DEFAULT_TTA, TTA_VIEWS
from train.runs import Run

CACHE = click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=existing_cache,
    help="Cache folder written by `python -m preprocess run`.",
)
TTA = click.Choice([str(n) for n in TTA_VIEWS])


def tta_option(default: int = DEFAULT_TTA, help: str = "Views averaged per galaxy."):
    return click.option("--tta", type=TTA, default=str(default), show_default=True, help=help)


BATCH = click.option("--batch", type=POSITIVE, default=PREDICT_BATCH, show_default=True, help="Images per batch.")
JOBS = click.option("--jobs", type=POSITIVE, default=DECODE_JOBS, show_default=True, help="Processes decoding images.")


def png_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() != ".png":
        raise click.BadParameter("must end in .png")
    return value


def gallery_option(help: str):
    return click.option("--gallery", type=click.Path(dir_okay=False, path_type=Path), callback=png_path, help=help)


def image_paths(paths: list[Path]) -> list[Path]:
    """The images that files, folders (searched recursively) and lists of paths name; BadInput when none."""
    try:
        images = find_images(paths)
    except ImageListError as error:
        raise BadInput(str(error)) from None
    if not images:
        raise BadInput(f"no {', '.join(IMAGE_SUFFIXES)} files in {', '.join(map(str, paths))}")
    return images


def calibrate_hint(runs: list[Path], tta: int | str, cache: Path | str = "CACHE") -> str:
    """The command that calibrates `runs` at `tta` views."""
    return f"`python -m train calibrate --cache {cache} {' '.join(f'--run {run}' for run in runs)} --tta {tta}`"


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
