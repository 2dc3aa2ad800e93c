"""`python -m train suggest`: which galaxies to label next for a finetuned run."""

from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, POSITIVE, reported
from train.backend import load_keras
from train.cli.options import BATCH, JOBS, gallery_option, image_paths, model_run, not_written, tta_option
from train.runs import RunError


@click.command("suggest", epilog=EXIT_STATUSES)
@click.option(
    "--run",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=model_run,
    help="A finetuned run (`train finetune`).",
)
@click.option(
    "--images",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="The galaxies to choose from: a folder (searched recursively), an image or a text list of paths.",
)
@click.option(
    "--labels",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The labels you have (a CSV naming galaxies by ID or path): those galaxies are never suggested, and those"
    " among --images count as covered, so that the picks show what the labels do not.",
)
@click.option("--n", "n", type=POSITIVE, required=True, help="How many galaxies to suggest.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The picks, as CSV.")
@gallery_option("Also draw the picks (PNG).")
@tta_option()
@BATCH
@JOBS
def suggest_command(
    run: Path,
    images: Path,
    labels: Path | None,
    n: int,
    out: Path,
    gallery: Path | None,
    tta: str,
    batch: int,
    jobs: int,
) -> None:
    """Rank the unlabelled galaxies of --images by how much labelling them would teach the finetuned head of
    --run: how unsure it is, how likely they are of the rarest class, and no near copies of one another. Writes
    GalaxyID, path, score and the reason for the --n best to --out."""
    if out.suffix.lower() != ".csv":
        raise click.BadParameter("must end in .csv", param_hint="--out")
    paths = image_paths([images])
    load_keras()
    from train.finetuning.data import LabelsError
    from train.finetuning.suggest import SuggestError, suggest, write_picks

    with reported((out,), not_written(out), bad_input=(SuggestError, LabelsError, RunError)):
        picks = suggest(run, paths, n, labels, tta=int(tta), batch=batch, jobs=jobs)
        write_picks(out, picks)
        if gallery is not None and picks:
            from preprocess.images import load_cutout
            from train.plots import plot_gallery
            from train.runs import Run

            fraction, size = Run(run).view()
            rows = {"suggested": [(pick.score, pick.path, pick.reason) for pick in picks]}
            plot_gallery(rows, {pick.path: load_cutout(pick.path, fraction, size) for pick in picks}, gallery)
    click.echo(
        f"wrote {out}: {len(picks)} galaxies to label"
        + (
            f" (the images hold only {len(picks)} unlabelled galaxies that are not near copies)"
            if len(picks) < n
            else ""
        )
    )
