"""`python -m train finetune`: a run of your own question from a trained run and a few hundred labels."""

from pathlib import Path

import click

from preprocess.cli_support import EXIT_STATUSES, POSITIVE, rejected, reported
from train.backend import load_keras
from train.cli.options import model_run
from train.config import UNFREEZE, FinetuneConfig
from train.finetuning.tasks import KINDS
from train.runs import Run, RunError

DEFAULTS = FinetuneConfig()


@click.command("finetune", epilog=EXIT_STATUSES)
@click.option(
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    callback=model_run,
    help="The trained run whose trunk (the model up to its pooled features) the new question starts from.",
)
@click.option(
    "--labels",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="CSV with a column naming the galaxies (GalaxyID, or a campaign's ID such as iauname; images in "
    "--images) or a path column (relative to the CSV), and label columns.",
)
@click.option(
    "--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="New run folder."
)
@click.option(
    "--images",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Where rows named by ID find their images: a Kaggle-layout folder, or any folder with ID.jpg / ID.png "
    "files (in nested folders for a campaign's IDs).",
)
@click.option(
    "--task",
    type=click.Choice(KINDS),
    help="Default: inferred. Two distinct values binary; up to 20 distinct texts or integers multiclass; numbers in "
    "[0, 1] fraction (vote fractions: sigmoid outputs, MSE); other numbers regression (standardised).",
)
@click.option("--columns", help="Label columns, comma-separated (default: every column but GalaxyID and path).")
@click.option(
    "--unfreeze",
    type=click.Choice(UNFREEZE),
    default=DEFAULTS.unfreeze,
    show_default=True,
    help="none: train the new head alone, the trunk frozen. top, all: then also the trunk's top block, or all of "
    "it, at --unfreeze-lr, its batch normalisation kept as trained (pays above about a thousand labels). auto: all, "
    "then keep the head alone or the unfrozen model, whichever has the lower held-out loss.",
)
@click.option(
    "--unfreeze-lr",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULTS.unfreeze_lr,
    show_default=True,
    help="The rate once the trunk is unfrozen.",
)
@click.option(
    "--unfreeze-decay",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=DEFAULTS.unfreeze_decay,
    show_default=True,
    help="Once unfrozen, each block of the trunk (between two poolings) learns at this times the rate of the block "
    "above it (Zoobot 2: 0.75); 1 gives every layer --unfreeze-lr.",
)
@click.option("--epochs", type=POSITIVE, default=DEFAULTS.epochs, show_default=True, help="Most epochs.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), help="A wall-clock budget instead.")
@click.option("--batch", type=POSITIVE, default=DEFAULTS.batch, show_default=True, help="Batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=DEFAULTS.lr, show_default=True, help="Rate.")
@click.option(
    "--patience",
    type=POSITIVE,
    default=DEFAULTS.patience,
    show_default=True,
    help="Epochs without a better held-out score.",
)
@click.option(
    "--valid",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULTS.valid,
    show_default=True,
    help="Held out for the report: a share of the labels, or (above 1) a number of them; half of them stop training, "
    "the other half calibrate the run.",
)
@click.option(
    "--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Seed of the held-out draw and of training."
)
@click.option(
    "--compare/--no-compare",
    default=DEFAULTS.compare,
    help="Also train the same trunk and head from scratch to compare.",
)
@click.option("--skip-bad", is_flag=True, help="Exit 0 even when some label rows could not be used (else 3).")
@click.option("--overwrite", is_flag=True, help="Replace the run in --run.")
def finetune_command(
    source: Path,
    labels: Path,
    run_dir: Path,
    images: Path | None,
    task: str | None,
    columns: str | None,
    skip_bad: bool,
    overwrite: bool,
    **settings,
) -> None:
    """Finetune the model of --from to the question in LABELS: a new head on its trunk, trained on your labels.

    The run in --run is a run like any other: `train predict --run RUN` writes its columns (probabilities and the
    most likely class, fractions, or values in the labels' units). Its finetune report scores it on the half of
    the held-out labels that chose nothing (the other half chose the epoch and the model kept), beside the same
    model trained from scratch and the majority class (or the mean); label rows that could not be used are listed
    in RUN's rejects file.
    """
    load_keras()
    from train.finetuning.data import LabelsError
    from train.finetuning.finetune import FinetuneError, finetune

    config = FinetuneConfig(**settings)
    names = [name.strip() for name in columns.split(",")] if columns else None
    bad_input = (LabelsError, FinetuneError, RunError)
    with reported((run_dir.parent,), f"{run_dir} was not written (a run appears only when complete)", bad_input):
        result = finetune(source, labels, run_dir, config, images, task, names, overwrite)
    describe = result.task.classes or result.task.columns
    click.echo(
        f"{result.task.kind} task on {', '.join(describe)}: {result.galaxies} galaxies; scored on {result.held_out} "
        "held-out galaxies that chose neither the epoch nor the model kept"
    )
    metrics = list(next(iter(result.scores.values())))
    click.echo(f"{'held out':<18}" + "".join(f"{name:>19}" for name in metrics))
    for name, scores in result.scores.items():
        click.echo(f"{name:<18}" + "".join(f"{scores[m]:>19.4f}" for m in metrics))
    click.echo(f"run in {run_dir} after {result.epochs} epochs; kept: {result.kept}")
    calibration = result.calibration
    if "ece" in calibration:
        from train.plots import plot_reliability

        scaling = f"kept, T = {calibration['temperature']:.2f}" if calibration["kept"] else "not kept"
        click.echo(
            f"calibration on {calibration['labels']} held-out labels early stopping did not use: expected calibration "
            f"error {calibration['ece']:.3f}; temperature scaling {scaling} (error on labels it was not fitted on "
            f"{calibration['ece_unseen']:.3f} -> {calibration['ece_unseen_scaled']:.3f}); "
            f"wrote {plot_reliability(calibration, Run(run_dir).reliability)}"
        )
    else:
        click.echo(f"intervals calibrated on {calibration['labels']} held-out labels early stopping did not use")
    if result.rejects:
        message = f"{result.rejects} label row(s) could not be used; they are listed in {Run(run_dir).rejects}"
        if not skip_bad:
            raise rejected(message)
        click.echo(message, err=True)
