"""The callbacks of `train fit`: Keras's own where they serve; small public-API ones where a kill must never leave
half a file, and where training must stop before a NaN is saved."""

import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from preprocess.atomic import replacing, write_json
from preprocess.schema import KAGGLE
from preprocess.tree import Campaign
from train.config import FitConfig
from train.fitting.schedules import PLATEAU_FACTOR, PLATEAU_FLOOR, RATES
from train.model.heads import DivisiveHead
from train.plots import plot_curves
from train.runs import Run, history_rows

BACKUP_STATE = "state.json"  # {"epoch": epochs finished, "weights": the file holding their weights}


class LossNotFinite(RuntimeError):
    """The training loss became NaN or infinite; nothing of that epoch was saved."""


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is not finite, by raising LossNotFinite: before its epoch
    ends, so no history row, checkpoint or backup ever holds that epoch's weights (as TerminateOnNaN with
    raise_error=True, with an exception of our own to catch)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise LossNotFinite(f"the loss became {float(loss)} in epoch {self.epoch + 1} (batch {batch + 1})")


class CollapseWatch(keras.callbacks.Callback):
    """Names, at the end of the epoch it happens, every question that the model predicts as a constant: the
    standard deviation of each of its answers below `tolerance` over `images` (some validation galaxies). A
    collapsed question (a dead divisive head, a stuck trunk) otherwise shows only in a table after training.
    Adds `collapsed_questions` (their number) to the logs, so history.csv keeps it."""

    def __init__(self, images: np.ndarray, tolerance: float = 1e-3, batch: int = 64, tree: Campaign = KAGGLE):
        super().__init__()
        self.images, self.tolerance, self.batch, self.tree = images, tolerance, batch, tree

    def collapsed(self) -> list[int | str]:
        predictions = np.concatenate(
            [
                self.model.predict_on_batch(self.images[i : i + self.batch])
                for i in range(0, len(self.images), self.batch)
            ]
        )
        spread = predictions.std(axis=0)
        return [q for q, columns in self.tree.slices.items() if spread[columns].max() < self.tolerance]

    def on_epoch_end(self, epoch, logs=None):
        questions = self.collapsed()
        if logs is not None:
            logs["collapsed_questions"] = len(questions)
        if questions:
            names = ", ".join(self.tree.question(q).label for q in questions)
            print(
                f"\nwarning: epoch {epoch + 1}: {names} predicted constant over {len(self.images)} validation galaxies "
                f"(every answer's standard deviation below {self.tolerance:g}): the model has collapsed there",
                file=sys.stderr,
                flush=True,
            )


class WarmUp(keras.callbacks.Callback):
    """The divisive head's warm-up: its outputs are the clipped logits for the first `images` training images
    (his 10,000), then his normalisation, switched at the first step past them (resumed runs included)."""

    def __init__(self, images: int, batch: int):
        super().__init__()
        self.steps = -(-images // batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        warming = float(self.epoch * self.params["steps"] + batch < self.steps)
        if warming != getattr(self, "warming", None):
            self.warming = warming
            for layer in self.model.layers:
                if isinstance(layer, DivisiveHead):
                    layer.warming.assign(warming)


class BestModel(keras.callbacks.Callback):
    """model.keras: the epoch with the best `monitor` so far ("min" or "max" as `mode` says), `best` being that of
    earlier runs of the same training; written under a temporary name and renamed, so a kill never leaves half
    a model."""

    def __init__(self, path: Path, best: float | None = None, monitor: str = "val_rmse", mode: str = "min"):
        super().__init__()
        self.path, self.best, self.monitor, self.sign = path, best, monitor, 1.0 if mode == "min" else -1.0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if self.best is not None and self.sign * value >= self.sign * self.best:
            return
        self.best = value
        with replacing(self.path, suffix=".keras") as tmp:
            self.model.save(tmp)


def backup_state(folder: Path) -> dict:
    """What Backup saved last: the epochs finished and their weights' file; {"epoch": 0} when none."""
    path = folder / BACKUP_STATE
    return json.loads(path.read_text()) if path.exists() else {"epoch": 0}


class Backup(keras.callbacks.Callback):
    """The weights and optimizer state after each finished epoch, so that rerunning the command after Ctrl-C, a
    crash or kill -9 continues from there: `fit` starts model.fit at `backup_state(folder)["epoch"]` and this
    callback loads the weights as training begins; the backup is removed when training ends.

    Each epoch's weights go to a file of their own before state.json (written atomically) names it, so a kill
    at any moment leaves a state whose weights and epoch belong together.
    """

    def __init__(self, folder: Path, averaging: keras.callbacks.SwapEMAWeights | None = None):
        super().__init__()
        self.folder, self.averaging = folder, averaging

    def on_train_begin(self, logs=None):
        state = backup_state(self.folder)
        if "weights" in state:
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)
            if state.get("averaged_in_model") and self.averaging is not None:
                # saved as the epoch ended: the average in the model, the latest weights in the optimizer's
                # slots; this tells SwapEMAWeights so (its swap of the fresh weights is overwritten by the load),
                # so the next epoch starts from the latest weights and goes on averaging
                self.averaging.on_test_begin()
            self.model.load_weights(self.folder / state["weights"])

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"after-epoch-{epoch + 1}.weights.h5"
        with replacing(self.folder / name, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        state = {"epoch": epoch + 1, "weights": name, "averaged_in_model": self.averaging is not None}
        write_json(self.folder / BACKUP_STATE, state)
        for old in self.folder.glob("after-epoch-*.weights.h5"):
            if old.name != name:
                old.unlink()

    def on_train_end(self, logs=None):
        shutil.rmtree(self.folder, ignore_errors=True)


class EpochLogs(keras.callbacks.Callback):
    """Adds the learning rate and the epoch's wall time to the logs, so history.csv and the curves show them."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["seconds"] = round(time.perf_counter() - self.started, 2)


class PlotCurves(keras.callbacks.Callback):
    """curves.png, redrawn when training ends and, while it goes on, after an epoch at most every `every` seconds:
    a drawing takes matplotlib about 0.23 s, 3% of the default model's 8-second epochs."""

    def __init__(self, run: Run, metric: str = "rmse", every: float = 30.0):
        super().__init__()
        self.run, self.metric, self.every, self.drawn = run, metric, every, -math.inf

    def draw(self) -> None:
        plot_curves(self.run.history, self.run.curves, self.metric)
        self.drawn = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.drawn >= self.every:
            self.draw()

    def on_train_end(self, logs=None):
        self.draw()


def seconds_trained(history: Path) -> float:
    return sum(float(row.get("seconds") or 0) for row in history_rows(history))


def best_so_far(history: Path, monitor: str = "val_rmse", mode: str = "min") -> float | None:
    """The best `monitor` of the epochs already trained: a resumed run's checkpoint must beat it to replace
    model.keras."""
    values = [float(row[monitor]) for row in history_rows(history) if row.get(monitor)]
    return (min if mode == "min" else max)(values) if values else None


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


def plateau(config: FitConfig, monitor: tuple[str, str]) -> keras.callbacks.Callback:
    """Halve the rate when `monitor` has not improved for a third of the early-stopping patience (2 epochs without
    one)."""
    name, mode = monitor
    patience = max(1, (config.patience or 6) // 3)
    return keras.callbacks.ReduceLROnPlateau(
        monitor=name, mode=mode, factor=PLATEAU_FACTOR, patience=patience, min_lr=PLATEAU_FLOOR
    )


def schedule_callbacks(
    config: FitConfig, progress: Callable[[int], float], monitor: tuple[str, str]
) -> list[keras.callbacks.Callback]:
    """The callbacks of `config.schedule`: none for "constant"; `progress(epoch)` is the share of training done as
    an epoch begins (of the epochs, or of the time budget)."""
    if config.schedule == "constant":
        return []
    if config.schedule == "plateau":
        return [plateau(config, monitor)]
    rate = RATES[config.schedule]
    return [keras.callbacks.LearningRateScheduler(lambda epoch, lr: rate(config.lr, progress(epoch)))]


def callbacks(
    run: Run,
    config: FitConfig,
    backup: bool = True,
    monitor: tuple[str, str] = ("val_rmse", "min"),
    watch: np.ndarray | None = None,
    tree: Campaign = KAGGLE,
) -> list:
    """`fit`'s callbacks (and a finetune's): `monitor` (a logged value and "min" or "max") picks the best epoch
    and drives the plateau schedule and early stopping; validation images in `watch` are watched for collapsed
    questions of `tree` (CollapseWatch)."""
    name, mode = monitor
    budget = TimeBudget(config.minutes, run.history) if config.minutes else None
    chosen = [StopOnNonFinite()]
    if config.warmup:
        chosen.append(WarmUp(config.warmup, config.batch))
    if budget:
        chosen.append(budget)
    progress = budget.progress if budget else lambda epoch: epoch / config.epochs
    chosen += schedule_callbacks(config, progress, monitor)
    # With an average of the weights (use_ema), it is validated, and swapped into the model as each epoch ends, so
    # that the checkpoint and the backup hold it
    averaging = keras.callbacks.SwapEMAWeights(swap_on_epoch=True) if config.ema else None
    chosen += [
        EpochLogs(),
        *([averaging] if averaging else []),
        *([CollapseWatch(watch, tree=tree)] if watch is not None else []),
        keras.callbacks.CSVLogger(str(run.history), append=True),
        BestModel(run.model, best_so_far(run.history, name, mode), name, mode),
        # After the history row and the checkpoint: an epoch counts as done once both are written
        # (see fit.trim_history).
        *([Backup(run.backup, averaging)] if backup else []),
        PlotCurves(run, name.removeprefix("val_")),
    ]
    if config.tensorboard:
        chosen.append(keras.callbacks.TensorBoard(str(run.logs), profile_batch=(2, 4)))
    if config.patience is not None:
        stop = keras.callbacks.EarlyStopping(
            monitor=name, mode=mode, patience=config.patience, restore_best_weights=True
        )
        chosen.insert(-1, stop)
    return chosen
