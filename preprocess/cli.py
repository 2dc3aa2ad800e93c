"""Command line of the preprocessing stage: `python -m preprocess --help`."""

from pathlib import Path

import click

from preprocess.cache import MANIFEST, Cache, CacheError, Settings, is_cache, rejects_path
from preprocess.catalog import CatalogError
from preprocess.cli_support import CONTEXT, EXIT_STATUSES, POSITIVE, rejected, reported
from preprocess.cluster import ClusterUnavailable
from preprocess.inputs import DataError
from preprocess.kaggle import SOLUTIONS, TRAIN_IMAGES
from preprocess.labels import LabelError
from preprocess.listing import ImageListError
from preprocess.lock import exclusive
from preprocess.pipeline import SettingsError, run
from preprocess.schema import CAMPAIGNS
from preprocess.summary import cache_sheet, describe_cache

DEFAULTS = Settings()  # `run`'s defaults: the cache's own


def data_folder(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A Kaggle-layout folder, not a cache; for a campaign with vote counts, its catalog CSV."""
    if CAMPAIGNS[ctx.params.get("campaign", DEFAULTS.campaign)].counts:
        if not value.is_file():
            raise click.BadParameter(
                f"{value} is not a file: a campaign with vote counts reads its catalog (CSV or Parquet)"
            )
        return value
    if value.is_file():
        raise click.BadParameter(f"{value} is a file: Kaggle's campaign reads a folder (or pick --campaign)")
    if is_cache(value):
        raise click.BadParameter(f"{value} is a cache; pass the Kaggle data folder")
    if not (value / TRAIN_IMAGES).is_dir():
        raise click.BadParameter(f"{value} has no {TRAIN_IMAGES}/: expected Kaggle's layout (see README)")
    return value


def cache_folder(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A folder to write a cache into: not a Kaggle data folder."""
    if (value / TRAIN_IMAGES).exists() or (value / SOLUTIONS).exists():
        raise click.BadParameter(f"{value} holds Kaggle data: pass a separate folder for the cache")
    return value


def existing_cache(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A folder written by `preprocess run`."""
    if not is_cache(value):
        raise click.BadParameter(f"{value} is not a cache (no {MANIFEST}); run `make preprocess` first")
    return value


@click.group(context_settings=CONTEXT, epilog=EXIT_STATUSES)
def main() -> None:
    """Galaxy Zoo preprocessing: decode every JPEG once into sharded HDF5 tensors.

    \b
    run      decode a Kaggle-layout folder into the cache (resumable)
    inspect  summarise a cache, optionally as a contact sheet
    verify   re-hash and check every shard of a cache
    """


@main.command("run", epilog=EXIT_STATUSES)
@click.option(
    "--campaign",
    type=click.Choice(list(CAMPAIGNS)),
    default=DEFAULTS.campaign,
    show_default=True,
    is_eager=True,
    help="Whose decision tree the labels follow: Kaggle's 37 fractions, or the vote counts of a GZ2 (Hart et al. "
    "2016) or GZ DECaLS (DR5 and later, or DR1/2) catalog.",
)
@click.option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    callback=data_folder,
    help="Kaggle-layout folder: images_training_rev1/, images_test_rev1/, training_solutions_rev1.csv; or, for a "
    "campaign with counts, its catalog (CSV or Parquet), the images anywhere below its folder.",
)
@click.option(
    "--image-column",
    help="The catalog's column holding each image's path, relative to the catalog's folder "
    "(default: the image named by the galaxy's ID, anywhere below that folder).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=cache_folder,
    help="Folder for shards.",
)
@click.option("--jobs", type=POSITIVE, default=2, show_default=True, help="Parallel worker processes.")
@click.option("--shard-size", type=POSITIVE, default=DEFAULTS.shard_size, show_default=True, help="Galaxies per shard.")
@click.option(
    "--valid",
    type=click.IntRange(min=0),
    default=DEFAULTS.valid,
    show_default=True,
    help="Training galaxies held out for validation (fixed by --seed).",
)
@click.option(
    "--calibrate",
    type=click.IntRange(min=0),
    default=DEFAULTS.calibrate,
    show_default=True,
    help="Training galaxies held back from training and validation alike, to calibrate the runs' intervals "
    "(`train calibrate`). Fixed by --seed.",
)
@click.option(
    "--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Seed of the validation and calibration splits."
)
@click.option(
    "--compression",
    type=click.Choice(["none", "lzf", "gzip"]),
    default="none",
    show_default=True,
    help="HDF5 compression of the images (see `make bench` for the read-speed cost).",
)
@click.option(
    "--max-bytes",
    type=POSITIVE,
    default=DEFAULTS.max_bytes,
    show_default=True,
    help="Image files larger than this are rejected without being read.",
)
@click.option("--skip-bad", is_flag=True, help="Exit 0 even when some galaxies were rejected (else 3).")
@click.option(
    "--backend",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: --jobs processes here. dask: the workers of a dask.distributed cluster.",
)
@click.option(
    "--scheduler",
    help="With --backend dask: the scheduler's address, e.g. tcp://10.0.0.5:8786 "
    "(default: start a local cluster of --jobs workers).",
)
@click.option(
    "--scheduler-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the dask scheduler and its workers.",
)
def run_command(
    campaign: str,
    data: Path,
    image_column: str | None,
    cache: Path,
    jobs: int,
    shard_size: int,
    valid: int,
    calibrate: int,
    seed: int,
    compression: str,
    max_bytes: int,
    skip_bad: bool,
    backend: str,
    scheduler: str | None,
    scheduler_timeout: float,
) -> None:
    """Decode every JPEG once into HDF5 shards under CACHE.

    Rerunning the same command skips finished shards and redoes the rest, so an interrupted run
    (Ctrl-C, kill, crash) resumes where it stopped. Unreadable images and label rows off the decision
    tree go to CACHE/rejects.csv.
    """
    compression = None if compression == "none" else compression
    settings = Settings(
        shard_size=shard_size,
        valid=valid,
        calibrate=calibrate,
        seed=seed,
        compression=compression,
        max_bytes=max_bytes,
        campaign=campaign,
    )
    kept = f"finished shards are kept in {cache}; run the same command again to resume"
    try:
        with reported((cache,), kept, (LabelError, CatalogError, DataError, ImageListError), (ClusterUnavailable,)):
            with exclusive(cache, "python -m preprocess run"):
                options = {"backend": backend, "scheduler": scheduler, "timeout": scheduler_timeout}
                result = run(data, cache, settings, jobs, image_column=image_column, **options)
    except SettingsError as error:
        raise click.BadParameter(str(error), param_hint=error.option) from None
    counts = result.counts
    click.echo(
        f"cache {cache}: {counts['train']} train, {counts['valid']} valid, "
        + (f"{counts['calibrate']} calibrate, " if counts["calibrate"] else "")
        + f"{counts['test']} test galaxies "
        f"({result.built} shards written, {result.skipped} already done)"
    )
    if result.ignored:
        names = ", ".join(p.name for p in result.ignored[:5])
        click.echo(f"ignored {len(result.ignored)} file(s) whose name is not a GalaxyID: {names}", err=True)
    if result.unlabelled:
        click.echo(
            f"warning: {len(result.unlabelled)} training image(s) have no CSV row and were left out, "
            f"e.g. {result.unlabelled[:5]}",
            err=True,
        )
    rejects = result.rejects
    if rejects:
        for reject in rejects[:10]:
            click.echo(f"rejected {reject.galaxy_id} ({reject.split}): {reject.reason} ({reject.path})", err=True)
        click.echo(f"{len(rejects)} galaxies rejected, listed in {rejects_path(cache)}", err=True)
        if not skip_bad:
            raise rejected(
                "fix or remove those files and rerun (only their shards are redone), "
                "or rerun with --skip-bad to accept the cache without them"
            )


@main.command(epilog=EXIT_STATUSES)
@click.argument("cache", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Save a contact sheet of galaxies here.")
@click.option("--n", "count", type=POSITIVE, default=64, show_default=True, help="Galaxies on the contact sheet.")
def inspect(cache: Path, png: Path | None, count: int) -> None:
    """Summarise CACHE: splits, shards, shapes, bytes, label means, rejects."""
    with reported((png,) if png else (), failed=(CacheError, ValueError)):
        opened = Cache.open(cache, check=False)
        click.echo(describe_cache(opened))
        if png:
            click.echo(f"contact sheet: {cache_sheet(opened, png, count)}")


@main.command(epilog=EXIT_STATUSES)
@click.argument("cache", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify(cache: Path) -> None:
    """Re-hash every shard against the manifest and check shapes, dtypes, IDs and labels."""
    with reported(on_interrupt=f"{cache} was not fully verified", failed=(CacheError,)):
        problems = Cache.open(cache, check=False).verify()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {cache}")
    click.echo(f"{cache}: every shard verifies")
