"""Command line of the preprocessing stage: `python -m preprocess --help`."""

from pathlib import Path

import click

from preprocess import synthetic
from preprocess.cluster import ClusterUnavailable
from preprocess.labels import LabelError
from preprocess.lock import FolderBusy, exclusive
from preprocess.pipeline import SOLUTIONS, TRAIN_IMAGES, Settings, run
from preprocess.shards import MANIFEST, REJECTS, CacheError
from preprocess.summary import cache_sheet, describe_cache, verify_cache

POSITIVE = click.IntRange(min=1)


def data_folder(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A Kaggle-layout folder, not a cache."""
    if (value / MANIFEST).exists():
        raise click.BadParameter(f"{value} holds {MANIFEST}: it is a cache; pass the Kaggle data folder")
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
    if not (value / MANIFEST).exists():
        raise click.BadParameter(f"{value} is not a cache (no {MANIFEST}); run `make preprocess` first")
    return value


def write_failure(error: OSError) -> click.ClickException:
    """A failed write (disk full, permissions): nothing finished is lost, so the same command can resume."""
    where = f" writing {error.filename}" if error.filename else ""
    return click.ClickException(f"failed{where}: {error.strerror or error}; finished work is kept, "
                                "fix the problem (e.g. free disk space) and rerun the same command")  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Galaxy Zoo preprocessing: decode every JPEG once into sharded HDF5 tensors.

    \b
    synth    write a synthetic data set in the exact Kaggle layout
    run      decode a Kaggle-layout folder into the cache (resumable)
    inspect  summarise a cache, optionally as a contact sheet
    verify   re-hash and check every shard of a cache
    """


@main.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write (Kaggle layout)."
)
@click.option(
    "--train", "n_train", type=click.IntRange(min=0), default=2000, show_default=True, help="Training galaxies."
)
@click.option("--test", "n_test", type=click.IntRange(min=0), default=1000, show_default=True, help="Test galaxies.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files, byte for byte.")
@click.option("--jobs", type=POSITIVE, default=2, show_default=True, help="Parallel worker processes.")
@click.option(
    "--sheet", type=click.Path(dir_okay=False, path_type=Path), help="Also save a contact sheet PNG of 64 galaxies."
)
def synth(out: Path, n_train: int, n_test: int, seed: int, jobs: int, sheet: Path | None) -> None:
    """Write synthetic galaxies with crowd-vote labels that follow the decision tree.

    Writes images_training_rev1/, images_test_rev1/, training_solutions_rev1.csv,
    all_zeros_benchmark.csv and test_solutions.csv (the test truth, for local scoring).
    """
    if n_train + n_test == 0:
        raise click.BadParameter("ask for at least one galaxy", param_hint="--train/--test")
    if n_train + n_test > 900000:
        raise click.BadParameter("at most 900,000 galaxies (6-digit GalaxyIDs)", param_hint="--train/--test")
    result = synthetic.write_dataset(out, n_train, n_test, seed=seed, jobs=jobs)
    click.echo(f"wrote {result['train']} training and {result['test']} test galaxies to {out}")
    if sheet:
        click.echo(f"contact sheet: {synthetic.preview(sheet, seed)}")


@main.command("run")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    callback=data_folder,
    help="Kaggle-layout folder: images_training_rev1/, images_test_rev1/, training_solutions_rev1.csv.",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=cache_folder,
    help="Folder for shards.",
)
@click.option("--jobs", type=POSITIVE, default=2, show_default=True, help="Parallel worker processes.")
@click.option("--shard-size", type=POSITIVE, default=4096, show_default=True, help="Galaxies per shard.")
@click.option(
    "--valid",
    type=click.IntRange(min=0),
    default=4000,
    show_default=True,
    help="Training galaxies held out for validation (fixed by --seed).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the validation split.")
@click.option(
    "--compression",
    type=click.Choice(["none", "lzf", "gzip"]),
    default="none",
    show_default=True,
    help="HDF5 compression of the images (see `make bench` for the read-speed cost).",
)
@click.option("--skip-bad", is_flag=True, help="Exit 0 even when some images could not be decoded.")
@click.option(
    "--backend",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: --jobs processes here. dask: the workers of a dask.distributed cluster.",
)
@click.option("--scheduler", help="With --backend dask: the scheduler's address, e.g. tcp://10.0.0.5:8786 "
              "(default: start a local cluster of --jobs workers).")  # fmt: skip
@click.option("--scheduler-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Seconds to wait for the dask scheduler and its workers.")  # fmt: skip
def run_command(
    data: Path,
    cache: Path,
    jobs: int,
    shard_size: int,
    valid: int,
    seed: int,
    compression: str,
    skip_bad: bool,
    backend: str,
    scheduler: str | None,
    scheduler_timeout: float,
) -> None:
    """Decode every JPEG once into HDF5 shards under CACHE.

    Rerunning the same command skips finished shards and redoes the rest, so an interrupted run
    (Ctrl-C, kill, crash) resumes where it stopped. Unreadable images go to CACHE/rejects.csv.
    """
    settings = Settings(
        shard_size=shard_size, valid=valid, seed=seed, compression=None if compression == "none" else compression
    )
    try:
        with exclusive(cache, "python -m preprocess run"):
            result = run(data, cache, settings, jobs, backend=backend, scheduler=scheduler,
                         scheduler_timeout=scheduler_timeout)  # fmt: skip
    except (LabelError, CacheError, FolderBusy, ClusterUnavailable) as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--valid") from None
    except OSError as error:
        raise write_failure(error) from None
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted: finished shards are kept in {cache}; run the same command again to resume", err=True
        )
        raise SystemExit(130) from None
    counts = result["counts"]
    click.echo(
        f"cache {cache}: {counts['train']} train, {counts['valid']} valid, {counts['test']} test galaxies "
        f"({result['built']} shards written, {result['skipped']} already done)"
    )
    if result["ignored"]:
        names = ", ".join(p.name for p in result["ignored"][:5])
        click.echo(f"ignored {len(result['ignored'])} file(s) whose name is not a GalaxyID: {names}", err=True)
    if result["unlabelled"]:
        click.echo(
            f"warning: {len(result['unlabelled'])} training image(s) have no CSV row and were left out, "
            f"e.g. {result['unlabelled'][:5]}",
            err=True,
        )
    rejects = result["rejects"]
    if rejects:
        for galaxy_id, path, reason in rejects[:10]:
            click.echo(f"rejected {galaxy_id}: {reason} ({path})", err=True)
        click.echo(f"{len(rejects)} galaxies rejected, listed in {cache / REJECTS}", err=True)
        if not skip_bad:
            click.echo(
                "fix or remove those files and rerun (only their shards are redone), "
                "or rerun with --skip-bad to accept the cache without them",
                err=True,
            )
            raise SystemExit(2)


@main.command()
@click.argument("cache", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Save a contact sheet of galaxies here.")
@click.option("--n", "count", type=POSITIVE, default=64, show_default=True, help="Galaxies on the contact sheet.")
def inspect(cache: Path, png: Path | None, count: int) -> None:
    """Summarise CACHE: splits, shards, shapes, bytes, label means, rejects."""
    try:
        click.echo(describe_cache(cache))
        if png:
            click.echo(f"contact sheet: {cache_sheet(cache, png, count)}")
    except (CacheError, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.argument("cache", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify(cache: Path) -> None:
    """Re-hash every shard against the manifest and check shapes, dtypes, IDs and labels."""
    try:
        problems = verify_cache(cache)
    except CacheError as error:
        raise click.ClickException(str(error)) from None
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {cache}")
    click.echo(f"{cache}: every shard verifies")
