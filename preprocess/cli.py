"""Command line of the preprocessing stage: `python -m preprocess --help`."""

from pathlib import Path

import click

from preprocess import synthetic

POSITIVE = click.IntRange(min=1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Galaxy Zoo preprocessing: decode every JPEG once into sharded HDF5 tensors.

    \b
    synth    write a synthetic data set in the exact Kaggle layout
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
