"""`train finetune`: a new head on a trained run's trunk, trained on a few hundred labels of the user's own question.

The trunk is the source model up to its pooled features (the input of its first dense layer), with its in-model
augmentation; the new head (with_new_head) standardises its features, then dropout and one Dense layer whose
units and activation the task sets (train.finetuning.tasks). `--unfreeze none` trains the head alone, the trunk
frozen; `top` (the layers after the trunk's last pooling) and `all` first train the head alone for a third of the
epochs or minutes, then continue with those layers unfrozen at `unfreeze_lr` (Zoobot's practice, Walmsley et al.:
a few hundred labels are a good start, unfreezing pays above about a thousand), their batch normalisation frozen
in every phase (set_trainable); `auto` (the default) unfreezes all and keeps whichever of the two models has the
lower held-out loss. Training goes through fit's callbacks and run-folder files. The held-out labels split in two:
one half stops training and chooses the best epoch and `auto`'s model; the other half, which chose nothing, scores
the run with `predict`'s views (beside the same head and trunk trained from scratch for the same time) and
calibrates it (train.finetuning.calibration), so that neither score nor calibration is flattered by a choice.

The run is written in a hidden folder beside NEW and renamed when complete, so Ctrl-C or kill -9 never leaves a
half-written run.
"""

import math
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np

from preprocess.atomic import temporary_path, write_csv, write_json
from preprocess.lock import shared
from train.config import PREDICT_BATCH, FinetuneConfig, FitConfig
from train.finetuning.calibration import calibrate_task
from train.finetuning.data import calibration_rows, held_out, read_labels
from train.finetuning.head import compile_for, from_scratch, set_trainable, with_new_head
from train.finetuning.held_out import held_out_scores, reference_values
from train.finetuning.tasks import Task, scaled_on
from train.fitting.callbacks import BestModel, callbacks
from train.fitting.fit import epoch_progress
from train.intervals.calibration import store_task_calibration
from train.prediction.inference import load_model, with_views
from train.prediction.tta import DEFAULT_TTA
from train.runs import Run, library_versions

HEAD_ALONE = 1 / 3  # with auto, top or all: the share of the epochs or minutes that trains the head alone first
# the best epoch and early stopping follow the held-out loss (log loss for classes): with a few dozen held-out
# labels, a rare class's ranking scores (ROC AUC, average precision) move by whole steps and are noise
MONITOR = ("val_loss", "min")


class FinetuneError(RuntimeError):
    """A finetune that cannot start as asked; the message says why and what to do."""


@dataclass(frozen=True)
class FinetuneResult:
    run: Path
    task: Task
    galaxies: int  # usable labelled galaxies
    held_out: int  # the held-out galaxies that chose nothing (neither the epoch nor the phase kept): those scored
    scores: dict[str, dict[str, float]]  # finetuned, from scratch, majority class or mean -> scores
    rejects: int
    epochs: int
    # train.finetuning.calibration.calibrate_task's, on the held-out labels early stopping did not use
    calibration: dict
    kept: str  # "head alone" or "unfrozen" (see train)


def train(
    model: keras.Model, run: Run, task: Task, config: FinetuneConfig, data: dict, verbose, scratch: bool = False
) -> tuple[int, str]:
    """Train `model` into `run` (model.keras: the best epoch by the held-out loss, MONITOR): the head alone first
    where the trunk unfreezes later, everything at once from `scratch`. Returns the epochs trained and which model
    was kept: `auto` keeps the head alone or the unfrozen model, whichever has the lower held-out loss (kept_phase);
    `top` and `all` keep the unfrozen one."""
    budget = FitConfig(
        epochs=config.epochs, minutes=config.minutes, lr=config.lr, schedule="constant", patience=config.patience
    )
    phases = [("scratch" if scratch else "none", budget)]
    if config.unfreeze != "none" and not scratch:
        first = replace(budget, epochs=max(1, round(config.epochs * HEAD_ALONE)))
        if config.minutes:
            first = replace(first, minutes=config.minutes * HEAD_ALONE)
        unfrozen = "all" if config.unfreeze == "auto" else config.unfreeze
        phases = [("none", first), (unfrozen, replace(budget, lr=config.unfreeze_lr))]
    boundary = 0
    for index, (unfreeze, phase) in enumerate(phases):
        set_trainable(model, unfreeze)
        compile_for(model, task, phase.lr, config.unfreeze_decay if index else 1.0)
        done = len(run.history_rows())
        boundary = done if index else boundary
        if done >= phase.epochs:
            continue
        chosen = callbacks(run, phase, backup=False, monitor=MONITOR)
        if index and config.unfreeze != "auto":  # asked for the unfrozen model: its best epoch replaces the head's
            next(c for c in chosen if isinstance(c, BestModel)).best = None
        model.fit(
            **data,
            batch_size=config.batch,
            epochs=phase.epochs,
            initial_epoch=done,
            callbacks=chosen,
            shuffle=True,
            verbose=epoch_progress(verbose),
        )
    rows = run.history_rows()
    kept = "from scratch" if scratch else kept_phase(rows, boundary) if len(phases) > 1 else "head alone"
    if len(phases) > 1 and config.unfreeze != "auto":
        kept = "unfrozen"
    return len(rows), kept


def kept_phase(rows: list[dict], boundary: int) -> str:
    """Which phase holds the epoch of lowest held-out loss (the head alone's on a tie: BestModel keeps the earlier)."""
    losses = [float(row[MONITOR[0]]) for row in rows]
    head, unfrozen = min(losses[:boundary], default=math.inf), min(losses[boundary:], default=math.inf)
    return "unfrozen" if unfrozen < head else "head alone"


def held_out_values(run: Run, task: Task, images: np.ndarray, batch: int = PREDICT_BATCH) -> np.ndarray:
    """The best model's predictions for `images` with `predict`'s default views, as the catalog's values."""
    model = with_views(load_model(run), DEFAULT_TTA)
    raw = np.concatenate([model.predict_on_batch(images[i : i + batch]) for i in range(0, len(images), batch)])
    return task.values(raw)


def write_rejects(run: Run, rejects) -> None:
    write_csv(run.rejects, ["line", "galaxy", "reason"], ([r.line, r.galaxy, r.reason] for r in rejects))


def finetune(
    source: Path,
    labels: Path,
    run: Path,
    config: FinetuneConfig,
    images: Path | None = None,
    kind: str | None = None,
    columns: list[str] | None = None,
    overwrite: bool = False,
    verbose: int | str = "auto",
) -> FinetuneResult:
    """Finetune the model of run `source` on LABELS.csv into the run folder `run` (see the module's docstring)."""
    if Run(run).config.exists() and not overwrite:
        raise FinetuneError(f"{run} already holds a run; pass --overwrite to replace it, or use another --run")
    record = Run(source).read_record()
    fraction, size = Run(source).view()
    with shared(source, "python -m train finetune"):  # no `fit --overwrite` replaces the source meanwhile
        labelled = read_labels(labels, images, fraction, size, kind, columns)
        train_rows, held_rows = held_out(labelled, config.valid, config.seed)
        stopping_rows, scoring_rows = calibration_rows(labelled, held_rows, config.seed)
        task = scaled_on(labelled.task, [labelled.values[i] for i in train_rows])
        targets = task.targets(labelled.values)
        data = {
            "x": labelled.images[train_rows],
            "y": targets[train_rows],
            "validation_data": (labelled.images[stopping_rows], targets[stopping_rows]),
        }
        folder = temporary_path(run)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        work = Run(folder)
        try:
            keras.utils.set_random_seed(config.seed)
            model = with_new_head(load_model(Run(source)), task, labelled.images[train_rows])
            epochs, kept = train(model, work, task, config, data, verbose)
            values = held_out_values(work, task, labelled.images[scoring_rows])
            scores = {"finetuned": held_out_scores(task, targets[scoring_rows], values)}
            report = calibrate_task(task, values, targets[scoring_rows], config.seed)
            store_task_calibration(folder, report, DEFAULT_TTA)
            if config.compare:
                scratch = Run(folder / "scratch")
                scratch.folder.mkdir()
                keras.utils.set_random_seed(config.seed)
                fresh = from_scratch(model)
                train(fresh, scratch, task, replace(config, lr=record["config"]["lr"]), data, verbose, scratch=True)
                values = held_out_values(scratch, task, labelled.images[scoring_rows])
                scores["from scratch"] = held_out_scores(task, targets[scoring_rows], values)
            reference = reference_values(task, targets[train_rows], len(scoring_rows))
            name = "majority class" if task.classifies else "mean"
            scores[name] = held_out_scores(task, targets[scoring_rows], reference)
            result = FinetuneResult(
                run,
                task,
                len(labelled.values),
                len(scoring_rows),
                scores,
                len(labelled.rejects),
                epochs,
                report,
                kept,
            )
            write_rejects(work, labelled.rejects)
            write_json(work.finetune_report, {**asdict(result), "run": str(run), "task": task.as_dict()})
            work.write_record(finetune_record(source, record, labels, config, result))
            if run.exists():
                shutil.rmtree(run)
            folder.rename(run)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return result


def finetune_record(source: Path, record: dict, labels: Path, config: FinetuneConfig, result: FinetuneResult) -> dict:
    """config.json of a finetuned run: what it predicts (the task), what it came from, how it was trained."""
    return {
        "kind": "finetune",
        "source": str(source.resolve()),
        "labels": str(labels.resolve()),
        "task": result.task.as_dict(),
        "config": asdict(config),
        "cache_settings": record.get("cache_settings", {}),  # the crop and size its images are decoded with
        "versions": library_versions(),
        "finished": True,
        "epochs_run": result.epochs,
        "held_out_scores": result.scores["finetuned"],
    }
