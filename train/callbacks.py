"""The callbacks of `train fit`: Keras's own where they serve; small public-API ones where a kill must never leave
half a file, and where training must stop before a NaN is saved."""

import json
import math
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from preprocess.atomic import replacing, write_json
from preprocess.schema import SLICES
from train.layers import DivisiveHead
from train.plots import plot_curves
from train.recipes import FitConfig
from train.runs import BACKUP, CURVES, HISTORY, LOGS, MODEL, history_rows

STEPS = ((0.72, 0.1), (0.92, 0.1))  # the winner's schedule: at these fractions of training, multiply the rate
COOLDOWN = 0.3  # the last share of training over which the cooldown schedule lowers the rate
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

    def __init__(self, images: np.ndarray, tolerance: float = 1e-3, batch: int = 64):
        super().__init__()
        self.images, self.tolerance, self.batch = images, tolerance, batch

    def collapsed(self) -> list[int]:
        predictions = np.concatenate(
            [
                self.model.predict_on_batch(self.images[i : i + self.batch])
                for i in range(0, len(self.images), self.batch)
            ]
        )
        spread = predictions.std(axis=0)
        return [q for q, columns in SLICES.items() if spread[columns].max() < self.tolerance]

    def on_epoch_end(self, epoch, logs=None):
        questions = self.collapsed()
        if logs is not None:
            logs["collapsed_questions"] = len(questions)
        if questions:
            names = ", ".join(f"Q{q}" for q in questions)
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

    def __init__(self, run: Path, metric: str = "rmse", every: float = 30.0):
        super().__init__()
        self.run, self.metric, self.every, self.drawn = run, metric, every, -math.inf

    def draw(self) -> None:
        plot_curves(self.run / HISTORY, self.run / CURVES, self.metric)
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


def step_rate(lr: float, done: float) -> float:
    """The rate of the step schedule once `done` of training is done: multiplied by each factor of STEPS passed."""
    for fraction, factor in STEPS:
        lr *= factor if done >= fraction else 1.0
    return lr


def cosine_rate(lr: float, done: float) -> float:
    """The rate of the cosine schedule once `done` of training is done: from `lr` down to lr/100 at the end."""
    return lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(done, 1.0))))


def cooldown_rate(lr: float, done: float) -> float:
    """The rate of the cooldown schedule once `done` of training is done: `lr` until the last COOLDOWN of training,
    then down along 1 - sqrt to lr/100 at the end. Hägele et al. 2024 ("Scaling laws and compute-optimal training
    beyond fixed training durations") found this shape of cooldown better than a linear one; it passes lr/10 at
    81% of the cooldown, so the end is spent at low rates as the step schedule's."""
    into = min(max(done - (1.0 - COOLDOWN), 0.0) / COOLDOWN, 1.0)
    return lr * max(0.01, 1.0 - math.sqrt(into))


RATES = {"steps": step_rate, "cosine": cosine_rate, "cooldown": cooldown_rate}


def callbacks(
    run: Path,
    config: FitConfig,
    backup: bool = True,
    monitor: tuple[str, str] = ("val_rmse", "min"),
    watch: np.ndarray | None = None,
) -> list:
    """`fit`'s callbacks (and a finetune's): `monitor` (a logged value and "min" or "max") picks the best epoch
    and drives the plateau schedule and early stopping; validation images in `watch` are watched for collapsed
    questions (CollapseWatch)."""
    name, mode = monitor
    budget = TimeBudget(config.minutes, run / HISTORY) if config.minutes else None
    chosen = [StopOnNonFinite()]
    if config.warmup:
        chosen.append(WarmUp(config.warmup, config.batch))
    if budget:
        chosen.append(budget)
    if config.schedule in RATES:
        progress = budget.progress if budget else lambda epoch: epoch / config.epochs
        rate = RATES[config.schedule]
        chosen.append(keras.callbacks.LearningRateScheduler(lambda epoch, lr: rate(config.lr, progress(epoch))))
    if config.schedule == "plateau":
        patience = max(1, (config.patience or 6) // 3)
        chosen.append(
            keras.callbacks.ReduceLROnPlateau(monitor=name, mode=mode, factor=0.5, patience=patience, min_lr=1e-5)
        )
    # With an average of the weights (use_ema), it is validated, and swapped into the model as each epoch ends, so
    # that the checkpoint and the backup hold it
    averaging = keras.callbacks.SwapEMAWeights(swap_on_epoch=True) if config.ema else None
    chosen += [
        EpochLogs(),
        *([averaging] if averaging else []),
        *([CollapseWatch(watch)] if watch is not None else []),
        keras.callbacks.CSVLogger(str(run / HISTORY), append=True),
        BestModel(run / MODEL, best_so_far(run / HISTORY, name, mode), name, mode),
        # After the history row and the checkpoint: an epoch counts as done once both are written
        # (see fit.trim_history).
        *([Backup(run / BACKUP, averaging)] if backup else []),
        PlotCurves(run, name.removeprefix("val_")),
    ]
    if config.tensorboard:
        chosen.append(keras.callbacks.TensorBoard(str(run / LOGS), profile_batch=(2, 4)))
    if config.patience is not None:
        stop = keras.callbacks.EarlyStopping(
            monitor=name, mode=mode, patience=config.patience, restore_best_weights=True
        )
        chosen.insert(-1, stop)
    return chosen
