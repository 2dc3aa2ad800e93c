"""`train finetune`: a new head on a trained run's trunk, trained on a few hundred labels of the user's own question.

The trunk is the source model up to its pooled features (the input of its first dense layer), with its in-model
augmentation; the new head (with_new_head) standardises its features, then dropout and one Dense layer whose
units and activation the task sets (train.tasks). `--unfreeze none` trains the head alone, the trunk frozen; `top`
(the layers after the trunk's last pooling) and `all` first train the head alone for a third of the epochs or
minutes, then continue with those layers unfrozen at `unfreeze_lr` (Zoobot's practice, Walmsley et al.: a few
hundred labels are a good start, unfreezing pays above about a thousand), their batch normalisation frozen in
every phase (set_trainable); `auto` (the default) unfreezes all and keeps whichever of the two models has the
lower held-out loss. Training goes through fit's callbacks
and run-folder files. The same head and trunk trained from scratch for the same time are scored beside it on the
held-out part, with `predict`'s views; half of that part stops training, the other half calibrates the run
(train.task_calibration).

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
from train.block_rates import BlockwiseAdam, block_multipliers
from train.callbacks import BestModel, callbacks
from train.config import PREDICT_BATCH, FinetuneConfig, FitConfig
from train.finetune_data import Labelled, calibration_rows, held_out, read_labels
from train.inference import load_model, with_views
from train.runs import Run, library_versions
from train.task_calibration import TASK_CALIBRATION, calibrate_task
from train.tasks import Task, held_out_scores, reference_values
from train.tta import DEFAULT_TTA

HEAD_DROPOUT = 0.2  # before the new head's Dense layer
# the new head starts at zero weights: it predicts the labels' mean (an even split for classes) and moves from
# there, so that early stopping on a few dozen held-out labels never keeps a head worse than the mean (Glorot's
# start on 256 standardised features predicts with a spread of about 1.4 standard deviations: at 100 bar-length
# labels all three head-only runs ended below R^2 0)
HEAD_INIT = "zeros"
HEAD_ALONE = 1 / 3  # with auto, top or all: the share of the epochs or minutes that trains the head alone first
ACTIVATIONS = {"binary": "sigmoid", "multiclass": "softmax", "fraction": "sigmoid", "regression": None}
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
    held_out: int
    scores: dict[str, dict[str, float]]  # finetuned, from scratch, majority class or mean -> scores
    rejects: int
    epochs: int
    calibration: dict  # train.task_calibration.calibrate_task's, on the held-out labels early stopping did not use
    kept: str  # "head alone" or "unfrozen" (see train)


def with_new_head(source: keras.Model, task: Task, images: np.ndarray | None) -> keras.Model:
    """The source model's trunk, up to its pooled features (the input of its first dense layer), then a new head
    for `task`: the features standardised, dropout, one Dense layer. Those features carry what the dense layers
    above them drop as irrelevant to the old question (a galaxy's size, its light profile): in a 1-minute trial a
    head on them learned bar lengths from 300 labels to R^2 0.37 where one on the last dense layer reached 0.07.
    They are unscaled, and a linear probe on unscaled features is unreliable (two of nine bar-length heads ended
    worse than the mean), so the head standardises them by their mean and variance over `images`, the training
    part of the labels only (None: no standardising, for a trunk trained from scratch), as a probe does (MAE's
    BatchNorm without scale or offset, Keras's Normalization adapted before training). The trunk's layers are the
    source's own: a flat model, so test-time views can feed it floats like any run's."""
    first = next(layer for layer in source.layers if isinstance(layer, keras.layers.Dense))
    if images is None:
        mean, variance = 0.0, 1.0
    else:
        trunk = keras.Model(source.input, first.input)
        features = np.concatenate(
            [trunk.predict_on_batch(images[i : i + PREDICT_BATCH]) for i in range(0, len(images), PREDICT_BATCH)]
        ).astype(np.float64)
        mean, variance = features.mean(axis=0), np.maximum(features.var(axis=0), 1e-6)
    standardised = keras.layers.Normalization(mean=mean, variance=variance, name="standardise")(first.input)
    dropped = keras.layers.Dropout(HEAD_DROPOUT, name="head_dropout")(standardised)
    answer = keras.layers.Dense(
        task.units, activation=ACTIVATIONS[task.kind], kernel_initializer=HEAD_INIT, name="answer", dtype="float32"
    )
    return keras.Model(source.input, answer(dropped), name=f"{source.name}_finetuned")


def from_scratch(model: keras.Model) -> keras.Model:
    """The same layers with new weights, the head's standardising left out (a new trunk's features are not the
    trained one's)."""

    def fresh(layer):
        if layer.name == "standardise":
            return keras.layers.Normalization(mean=0.0, variance=1.0, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=fresh)


def set_trainable(model: keras.Model, unfreeze: str) -> None:
    """The head always trains; of the trunk, nothing, the layers after its last pooling ("top") or everything
    ("all") but its batch normalisation, or all of a model trained from scratch ("scratch"). A trained trunk's
    batch normalisation stays frozen in every phase, so it runs in inference mode with its statistics, scale and
    offset as trained (Keras 3's BatchNormalization normalises by the batch only when
    `training and self.trainable`): batch statistics of 32 of a few hundred images "will suddenly destroy what
    the model has learned" (Keras's transfer-learning guide), and Zoobot keeps its own frozen when it unfreezes."""
    trunk = model.layers[:-1]
    pools = [i for i, layer in enumerate(trunk) if isinstance(layer, keras.layers.MaxPooling2D)]
    first = {"none": len(trunk), "top": (pools[-1] + 1) if pools else 0, "all": 0, "scratch": 0}[unfreeze]
    for i, layer in enumerate(trunk):
        normalising = isinstance(layer, keras.layers.BatchNormalization) and unfreeze != "scratch"
        layer.trainable = i >= first and not normalising
    model.layers[-1].trainable = True


def compile_for(model: keras.Model, task: Task, lr: float, decay: float = 1.0) -> None:
    metric = {
        "binary": keras.metrics.AUC(name="auc"),
        "multiclass": keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
    }.get(task.kind, keras.metrics.RootMeanSquaredError(name="rmse"))
    loss = {"binary": "binary_crossentropy", "multiclass": "sparse_categorical_crossentropy"}.get(task.kind, "mse")
    optimizer = BlockwiseAdam(block_multipliers(model, decay), learning_rate=lr)
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])


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
            verbose=verbose,
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
        stopping_rows, calibration = calibration_rows(labelled, held_rows, config.seed)
        targets = labelled.task.targets(labelled.values)
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
            model = with_new_head(load_model(Run(source)), labelled.task, labelled.images[train_rows])
            epochs, kept = train(model, work, labelled.task, config, data, verbose)
            values = held_out_values(work, labelled.task, labelled.images[held_rows])
            scores = {"finetuned": held_out_scores(labelled.task, targets[held_rows], values)}
            calibrating = np.searchsorted(held_rows, calibration)
            report = calibrate_task(labelled.task, values[calibrating], targets[calibration], config.seed)
            write_json(work.calibration, {TASK_CALIBRATION: report})
            if config.compare:
                scratch = Run(folder / "scratch")
                scratch.folder.mkdir()
                keras.utils.set_random_seed(config.seed)
                fresh = from_scratch(model)
                train(
                    fresh,
                    scratch,
                    labelled.task,
                    replace(config, lr=record["config"]["lr"]),
                    data,
                    verbose,
                    scratch=True,
                )
                values = held_out_values(scratch, labelled.task, labelled.images[held_rows])
                scores["from scratch"] = held_out_scores(labelled.task, targets[held_rows], values)
            reference = reference_values(labelled.task, targets[train_rows], len(held_rows))
            name = "majority class" if labelled.task.kind in ("binary", "multiclass") else "mean"
            scores[name] = held_out_scores(labelled.task, targets[held_rows], reference)
            result = FinetuneResult(
                run,
                labelled.task,
                len(labelled.values),
                len(held_rows),
                scores,
                len(labelled.rejects),
                epochs,
                report,
                kept,
            )
            write_rejects(work, labelled.rejects)
            write_json(work.finetune_report, {**asdict(result), "run": str(run), "task": labelled.task.as_dict()})
            work.write_record(finetune_record(source, record, labels, labelled, config, result))
            if run.exists():
                shutil.rmtree(run)
            folder.rename(run)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return result


def finetune_record(
    source: Path, record: dict, labels: Path, labelled: Labelled, config: FinetuneConfig, result: FinetuneResult
) -> dict:
    """config.json of a finetuned run: what it predicts (the task), what it came from, how it was trained."""
    return {
        "kind": "finetune",
        "source": str(source.resolve()),
        "labels": str(labels.resolve()),
        "task": labelled.task.as_dict(),
        "config": asdict(config),
        "cache_settings": record.get("cache_settings", {}),  # the crop and size its images are decoded with
        "versions": library_versions(),
        "finished": True,
        "epochs_run": result.epochs,
        "held_out_scores": result.scores["finetuned"],
        "class_counts": [sum(row[0] == name for row in labelled.values) for name in labelled.task.classes],
    }
