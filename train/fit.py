"""Train a model on the cache into a run folder, with Keras's own callbacks.

A run folder holds config.json (every setting, the cache's manifest hash, versions), model.keras
(the best epoch so far), history.csv, curves.png and, while training, backup/ for
BackupAndRestore: rerunning the same command after a crash or kill -9 continues from the last
finished epoch.
"""

import csv
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import keras
import numpy as np

from preprocess.atomic import replacing, temporary_path
from preprocess.lock import exclusive
from preprocess.shards import MANIFEST, CacheError, check_shard, read_manifest, write_json
from train.dataset import ShardDataset
from train.distribute import distributed_inputs, make_strategy, worker_role
from train.models import build_model
from train.plots import plot_curves

CONFIG, MODEL, HISTORY, CURVES, BACKUP = "config.json", "model.keras", "history.csv", "curves.png", "backup"


class RunError(RuntimeError):
    """A run that cannot start or go on; the message says why and what to do."""


@dataclass(frozen=True)
class FitConfig:
    recipe: str = "default"
    model: str = "compact"
    head: str = "tree"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 30
    batch: int = 64
    augment: bool = True
    shift: int = 3
    patience: int = 6
    reduce_lr_on_plateau: bool = True
    seed: int = 0
    workers: int = 1
    strategy: str = "none"


RECIPES = {
    "default": FitConfig(),
    # The seed as published: VGG16 layout, 37 sigmoids, RMSprop at 1e-6, MSE, no augmentation.
    "seed": FitConfig(recipe="seed", model="vgg16", head="sigmoid", optimizer="rmsprop", lr=1e-6, epochs=42,
                      batch=64, augment=False, shift=0, patience=5, reduce_lr_on_plateau=False),
}  # fmt: skip


def manifest_hash(cache: Path) -> str:
    return hashlib.sha256((cache / MANIFEST).read_bytes()).hexdigest()


def check_cache(cache: Path) -> dict:
    """The manifest of a complete, sound cache, or CacheError naming every bad shard."""
    manifest = read_manifest(cache)
    if not manifest.get("complete"):
        raise CacheError(f"{cache} is incomplete (an interrupted run): rerun `make preprocess` first")
    problems = [p for entry in manifest["shards"] for p in check_shard(cache, entry, manifest["settings"])]
    if problems:
        raise CacheError("the cache is damaged; rerun `make preprocess` to rebuild it:\n" + "\n".join(problems))
    return manifest


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


def trim_history(run: Path) -> None:
    """Drop history rows of epochs that BackupAndRestore will run again (killed after the row, before the backup)."""
    metadata, history = run / BACKUP / "training_metadata.json", run / HISTORY
    if not history.exists():
        return
    resume_at = json.loads(metadata.read_text())["epoch"] if metadata.exists() else 0
    with open(history, newline="") as f:
        rows = list(csv.reader(f))
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < resume_at] if rows else []
    if kept != rows:
        with replacing(history) as tmp, open(tmp, "w", newline="") as f:
            csv.writer(f).writerows(kept)


def prepare_run(cache: Path, run: Path, config: FitConfig, overwrite: bool) -> dict:
    """Write config.json for a new run, or check that an unfinished one may resume."""
    record = {"config": asdict(config), "cache": str(cache.resolve()), "manifest_sha256": manifest_hash(cache),
              "versions": {"python": platform.python_version(), "keras": keras.__version__,
                           "numpy": np.__version__, "h5py": h5py.__version__}}  # fmt: skip
    previous = json.loads((run / CONFIG).read_text()) if (run / CONFIG).exists() else None
    if previous and not overwrite:
        if previous.get("finished"):
            raise RunError(f"{run} already holds a finished run; pass --overwrite to replace it, or use another --run")
        if previous["manifest_sha256"] != record["manifest_sha256"]:
            raise RunError(f"the cache changed since {run} started; refusing to resume (use --overwrite to restart)")
        if previous["config"] != record["config"]:
            raise RunError(f"{run} was started with other settings {previous['config']}; "
                           "rerun with the same options, or pass --overwrite to restart")  # fmt: skip
        return previous
    for name in (MODEL, HISTORY, CURVES, "report.json", "report.png"):
        (run / name).unlink(missing_ok=True)
    shutil.rmtree(run / BACKUP, ignore_errors=True)
    write_json(run / CONFIG, record)
    return record


def callbacks(run: Path, config: FitConfig, backup: bool = True) -> list:
    chosen = [
        keras.callbacks.TerminateOnNaN(),
        EpochLogs(),
        keras.callbacks.CSVLogger(str(run / HISTORY), append=True),
        AtomicCheckpoint(str(run / MODEL), monitor="val_rmse", mode="min", save_best_only=True),
        # After the history row and the checkpoint: an epoch counts as done once both are written
        # (see trim_history).
        *([AtomicBackupAndRestore(str(run / BACKUP))] if backup else []),
        keras.callbacks.EarlyStopping(
            monitor="val_rmse", mode="min", patience=config.patience, restore_best_weights=True
        ),  # fmt: skip
        PlotCurves(run),
    ]
    if config.reduce_lr_on_plateau:
        plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_rmse", mode="min", factor=0.5,
                                                    patience=max(1, config.patience // 3), min_lr=1e-5)  # fmt: skip
        chosen.insert(1, plateau)
    return chosen


def make_optimizer(config: FitConfig) -> keras.optimizers.Optimizer:
    optimizers = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    return optimizers[config.optimizer](learning_rate=config.lr)


def fit(cache: Path, run: Path, config: FitConfig, overwrite: bool = False, verbose: int | str = "auto") -> dict:
    """Train (or resume) a run; returns the best val_rmse and the number of epochs in history.

    With a tf.distribute strategy every worker runs this; only the chief (worker 0) writes to
    `run`, the others to a temporary folder, as TensorFlow recommends.
    """
    role = worker_role(config.strategy)
    strategy = make_strategy(config.strategy) if config.strategy != "none" else None  # before any other TF op
    check_cache(cache)
    target = run if role.is_chief else Path(tempfile.mkdtemp(prefix=f"galaxy-zoo-worker{role.index}-"))
    target.mkdir(parents=True, exist_ok=True)
    with exclusive(target, "python -m train fit"):
        record = prepare_run(cache, target, config, overwrite or not role.is_chief)
        trim_history(target)
        keras.utils.set_random_seed(config.seed)
        if strategy is None:
            loader = {"workers": config.workers, "use_multiprocessing": False}
            train = ShardDataset(cache, "train", config.batch, shuffle=True, augment=config.augment,
                                 seed=config.seed, shift=config.shift, **loader)  # fmt: skip
            inputs = {"x": train, "validation_data": ShardDataset(cache, "valid", config.batch, False, **loader)}
            model = compiled_model(config)
        else:
            if config.batch % strategy.num_replicas_in_sync:
                raise RunError(
                    f"--batch {config.batch} must be a multiple of the {strategy.num_replicas_in_sync} replicas"
                )
            with strategy.scope():
                model = compiled_model(config)
            # Keras 3.15 builds a model that remembers its strategy from a first batch averaged
            # across workers, which fails for batches split over workers; a model that finds the
            # strategy from the surrounding scope builds when its train step is traced instead.
            model._distribute_strategy = None
            inputs = distributed_inputs(strategy, cache, config, role)
        backup = config.strategy != "multiworker"
        with strategy.scope() if strategy else nullcontext():
            history = model.fit(**inputs, epochs=config.epochs, verbose=verbose,
                                callbacks=callbacks(target, config, backup=backup))  # fmt: skip
        return finish(target, record, history)


def compiled_model(config: FitConfig) -> keras.Model:
    model = build_model(config.model, config.head)
    model.compile(optimizer=make_optimizer(config), loss="mse", metrics=[keras.metrics.RootMeanSquaredError("rmse")])
    return model


def finish(run: Path, record: dict, history: keras.callbacks.History) -> dict:
    """Check how training ended and mark the run finished in config.json."""
    losses = history.history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        raise RunError(f"training stopped: the loss became NaN at epoch {len(losses)}; try a lower --lr")
    if not (run / MODEL).exists():
        raise RunError(f"no epoch finished with a finite val_rmse; {run / MODEL} was not written")
    with open(run / HISTORY, newline="") as f:
        rows = list(csv.DictReader(f))
    best = min(float(r["val_rmse"]) for r in rows)
    write_json(run / CONFIG, {**record, "finished": True, "best_val_rmse": best, "epochs_run": len(rows)})
    return {"best_val_rmse": best, "epochs": len(rows), "losses": losses}
