"""Command line of the synthetic data source: `python -m synth --help`."""

from pathlib import Path

import click

from preprocess import kaggle
from preprocess.cli_support import CONTEXT, EXIT_STATUSES, reported
from synth.campaign import CATALOG, TEST_CATALOG, TEST_EXPECTED, TEST_LIST, VOLUNTEERS, write_campaign
from synth.dataset import TRUE_PARAMETERS, preview, write_dataset

MAX_GALAXIES = 900_000  # GalaxyIDs have 6 digits
HELP = f"""Write synthetic galaxies with crowd-vote labels that follow the decision tree.

Galaxies are framed and look like SDSS cutouts or, 40% of them, DECaLS ones
(correlated noise, Kaggle's JPEG compression, features from invisible to plain); disks
lie along the Hubble sequence (early ones red, bulgy and often ringed, late ones blue
and knotty); volunteers miss faint features as often as their strength says, so the
labels follow what each image shows.

\b
Kaggle's files: {kaggle.TRAIN_IMAGES}/, {kaggle.TEST_IMAGES}/, {kaggle.SOLUTIONS},
{kaggle.ZEROS}; and, for local scoring, {kaggle.TEST_SOLUTIONS} (the test votes) and
{kaggle.TEST_EXPECTED} (each test galaxy's expected vote fractions given its true
parameters: the best possible prediction, a floor no model beats on average); and
{TRUE_PARAMETERS} (GalaxyID, split, then every galaxy's true kind, odd feature, arms,
pitch, bar and its length, Hubble stage, bulge, axis ratio, size, Sersic index, each
feature's strength, visibility, ...: labels for questions of your own, e.g. `train
finetune`).

With --campaign decals, the same kind of galaxies as a GZ DECaLS-like campaign with
vote counts: {CATALOG} and {TEST_CATALOG} (iauname, then per question of GZ
DECaLS's tree its total and its answers' counts, from {VOLUNTEERS[0]} to {VOLUNTEERS[1]} volunteers per
galaxy), {TEST_EXPECTED} (the floor, as each answer's share of its question), the images in
images/SYN..../ and {TEST_LIST} (the test galaxies' images, for `train predict`); preprocess
it with `python -m preprocess run --campaign decals --data OUT/{CATALOG}`.
"""


@click.command(help=HELP, context_settings=CONTEXT, epilog=EXIT_STATUSES)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write (Kaggle layout)."
)
@click.option(
    "--train", "n_train", type=click.IntRange(min=0), default=2000, show_default=True, help="Training galaxies."
)
@click.option("--test", "n_test", type=click.IntRange(min=0), default=1000, show_default=True, help="Test galaxies.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files, byte for byte.")
@click.option(
    "--campaign",
    type=click.Choice(["kaggle", "decals"]),
    default="kaggle",
    show_default=True,
    help="Kaggle's layout (vote fractions), or a GZ DECaLS-like catalog of vote counts.",
)
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Parallel worker processes.")
@click.option(
    "--sheet", type=click.Path(dir_okay=False, path_type=Path), help="Also save a contact sheet PNG of 64 galaxies."
)
def main(out: Path, n_train: int, n_test: int, seed: int, campaign: str, jobs: int, sheet: Path | None) -> None:
    if n_train + n_test == 0:
        raise click.BadParameter("ask for at least one galaxy", param_hint="--train/--test")
    if n_train + n_test > MAX_GALAXIES:
        raise click.BadParameter(f"at most {MAX_GALAXIES:,} galaxies (6-digit GalaxyIDs)", param_hint="--train/--test")
    with reported((out,), f"{out} is incomplete; run the same command again to write it whole"):
        if campaign == "decals":
            write_campaign(out, n_train, n_test, seed=seed, jobs=jobs)
        else:
            write_dataset(out, n_train, n_test, seed=seed, jobs=jobs)
    click.echo(f"wrote {n_train} training and {n_test} test galaxies to {out}")
    if sheet:
        click.echo(f"contact sheet: {preview(sheet, seed)}")
