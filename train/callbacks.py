"""The callbacks of `train fit`: Keras's own where they serve, made atomic where a kill could leave half a file."""

import json
import os
import time
from pathlib import Path

import keras

from preprocess.atomic import replacing, temporary_path
from train.plots import plot_curves
from train.recipes import FitConfig
from train.runs import BACKUP, CURVES, HISTORY, LOGS, MODEL, history_rows

STEPS = ((0.72, 0.1), (0.92, 0.1))  # the winner's schedule: at these fractions of training, multiply the rate


class AtomicCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint that writes to a temporary name and renames, so a kill never leaves half a model."""

    def _save_model(self, epoch, batch, logs):
        final = self.filepath
        self.filepath = str(temporary_path(Path(final), suffix=".keras"))
        try:
            super()._save_model(epoch, batch, logs)
            if os.path.exists(self.filepath):
                os.replace(self.filepath, final)
        finally:
            Path(self.filepath).unlink(missing_ok=True)
            self.filepath = final


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """BackupAndRestore whose files are replaced atomically: an interruption during a backup
    (Ctrl-C, kill -9) leaves the previous backup whole instead of a half-written one."""

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        with replacing(Path(self._weights_path), suffix=".weights.h5") as tmp:
            self.model.save_weights(str(tmp), overwrite=True)
        with replacing(Path(self._training_metadata_path)) as tmp:
            tmp.write_text(json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))


class EpochLogs(keras.callbacks.Callback):
    """Adds the learning rate and the epoch's wall time to the logs, so history.csv and the curves show them."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["seconds"] = round(time.perf_counter() - self.started, 2)


class PlotCurves(keras.callbacks.Callback):
    def __init__(self, run: Path):
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch, logs=None):
        plot_curves(self.run / HISTORY, self.run / CURVES)


def seconds_trained(history: Path) -> float:
    return sum(float(row.get("seconds") or 0) for row in history_rows(history))


def best_so_far(history: Path) -> float | None:
    """The best val_rmse of the epochs already trained: a resumed run's checkpoint must beat it to replace
    model.keras (ModelCheckpoint itself starts each process with no best value)."""
    values = [float(row["val_rmse"]) for row in history_rows(history) if row.get("val_rmse")]
    return min(values) if values else None


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the epoch that passes `minutes` of training, the epochs of a resumed run included."""

    def __init__(self, minutes: float, history: Path):
        super().__init__()
        self.budget, self.history = 60.0 * minutes, history

    def on_train_begin(self, logs=None):
        self.spent, self.started = seconds_trained(self.history), time.perf_counter()

    def progress(self, epoch: int) -> float:
        """The fraction of the budget used so far."""
        return (self.spent + time.perf_counter() - self.started) / self.budget

    def on_epoch_end(self, epoch, logs=None):
        if self.progress(epoch) >= 1.0:
            self.model.stop_training = True


class StepSchedule(keras.callbacks.Callback):
    """The learning rate multiplied by each factor of STEPS once `progress(epoch)` passes its fraction."""

    def __init__(self, lr: float, progress):
        super().__init__()
        self.lr, self.progress = lr, progress

    def on_epoch_begin(self, epoch, logs=None):
        done = self.progress(epoch)
        lr = self.lr
        for fraction, factor in STEPS:
            lr *= factor if done >= fraction else 1.0
        self.model.optimizer.learning_rate.assign(lr)


def callbacks(run: Path, config: FitConfig, backup: bool = True) -> list:
    budget = TimeBudget(config.minutes, run / HISTORY) if config.minutes else None
    chosen = [keras.callbacks.TerminateOnNaN()]
    if budget:
        chosen.append(budget)
    if config.schedule == "steps":
        progress = budget.progress if budget else lambda epoch: epoch / config.epochs
        chosen.append(StepSchedule(config.lr, progress))
    if config.schedule == "plateau":
        patience = max(1, (config.patience or 6) // 3)
        chosen.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_rmse", mode="min", factor=0.5, patience=patience, min_lr=1e-5
            )
        )
    chosen += [
        EpochLogs(),
        keras.callbacks.CSVLogger(str(run / HISTORY), append=True),
        AtomicCheckpoint(
            str(run / MODEL),
            monitor="val_rmse",
            mode="min",
            save_best_only=True,
            initial_value_threshold=best_so_far(run / HISTORY),
        ),
        # After the history row and the checkpoint: an epoch counts as done once both are written
        # (see fit.trim_history).
        *([AtomicBackupAndRestore(str(run / BACKUP))] if backup else []),
        PlotCurves(run),
    ]
    if config.tensorboard:
        chosen.append(keras.callbacks.TensorBoard(str(run / LOGS), profile_batch=(2, 4)))
    if config.patience is not None:
        stop = keras.callbacks.EarlyStopping(
            monitor="val_rmse", mode="min", patience=config.patience, restore_best_weights=True
        )
        chosen.insert(-1, stop)
    return chosen
