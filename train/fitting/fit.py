"""Train a model on the cache into a run folder (train.runs.Run), with Keras's own callbacks.

Rerunning the same command after a crash or kill -9 continues from the last finished epoch.
"""

import csv
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from preprocess.atomic import replacing
from preprocess.cache import Cache, settings_record
from preprocess.lock import exclusive, shared
from preprocess.schema import KAGGLE, campaign
from preprocess.tree import Campaign
from train.config import FitConfig
from train.fitting.callbacks import LossNotFinite, backup_state, best_so_far, callbacks
from train.fitting.dataset import ShardDataset
from train.fitting.distribute import distributed_inputs, forget_strategy, make_strategy, worker_role
from train.model.losses import training_loss
from train.model.metrics import rmse_metric
from train.model.models import build_model
from train.runs import Run, RunError, library_versions

# Keras's dtype policies by --precision; weights stay float32, and the heads compute in float32 (train.model.models)
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "mixed": "mixed_float16"}
NOT_DECAYED = ["bias", "gamma", "beta"]  # variables that weight decay leaves alone, by name
WATCHED = 512  # validation galaxies watched for collapsed questions (CollapseWatch)
OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": lambda **kwargs: keras.optimizers.SGD(momentum=0.9, nesterov=True, **kwargs),
}


@dataclass(frozen=True)
class FitResult:
    best_val_rmse: float
    epochs: int  # epochs in history.csv, resumed ones included


def trim_history(run: Run) -> None:
    """Drop history rows of epochs that Backup will run again (killed after the row, before the backup)."""
    history = run.history
    if not history.exists():
        return
    resume_at = backup_state(run.backup)["epoch"]
    with open(history, newline="") as f:
        rows = list(csv.reader(f))
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < resume_at] if rows else []
    if kept != rows:
        with replacing(history) as tmp, open(tmp, "w", newline="") as f:
            csv.writer(f).writerows(kept)


def prepare_run(cache: Cache, run: Run, config: FitConfig, overwrite: bool) -> dict:
    """Write config.json for a new run, or check that an unfinished one may resume."""
    record = {
        "config": asdict(config),
        "cache": str(cache.folder.resolve()),
        "cache_settings": settings_record(cache.settings),
        "manifest_sha256": cache.sha256,
        "versions": library_versions(),
    }
    previous = run.previous_record()
    if previous and not overwrite:
        if previous.get("finished"):
            raise RunError(
                f"{run.folder} already holds a finished run; pass --overwrite to replace it, or use another --run"
            )
        if previous["manifest_sha256"] != record["manifest_sha256"]:
            recorded = "splits" in previous and run.split_mismatch(previous, cache)
            why = recorded or "the cache changed since the run started"
            raise RunError(f"{why}; refusing to resume {run.folder} (use --overwrite to restart)")
        if previous["config"] != record["config"]:
            raise RunError(
                f"{run.folder} was started with other settings {previous['config']}; "
                "rerun with the same options, or pass --overwrite to restart"
            )
        return previous
    run.clear()
    record["splits"] = run.record_splits(cache)
    run.write_record(record)
    return record


def epoch_progress(verbose: int | str = "auto") -> int | str:
    """Keras's verbosity for `verbose` "auto": its bar, redrawn every batch, on a terminal; one line an epoch
    elsewhere. Keras's Progbar redraws with backspaces on any POSIX system (it tests `"posix" in sys.modules`), so
    a log file or a pipe would get hundreds of escape sequences an epoch."""
    if verbose != "auto":
        return verbose
    return 1 if sys.stdout.isatty() else 2


def fit(
    cache: Cache | Path, run: Path, config: FitConfig, overwrite: bool = False, verbose: int | str = "auto"
) -> FitResult:
    """Train (or resume) a run on an opened cache (or the cache in a folder).

    With a tf.distribute strategy every worker runs this; only the chief (worker 0) writes to
    `run`, the others to a temporary folder, as TensorFlow recommends.
    """
    role = worker_role(config.strategy)
    strategy = make_strategy(config.strategy) if config.strategy != "none" else None  # before any other TF op
    cache = Cache.of(cache)
    tree = campaign(cache.settings.campaign)
    folder = run if role.is_chief else Path(tempfile.mkdtemp(prefix=f"galaxy-zoo-worker{role.index}-"))
    folder.mkdir(parents=True, exist_ok=True)
    target = Run(folder)
    with shared(cache.folder, "python -m train fit"), exclusive(folder, "python -m train fit"):
        record = prepare_run(cache, target, config, overwrite or not role.is_chief)
        trim_history(target)
        keras.utils.set_random_seed(config.seed)
        if strategy is None:
            loader = {"workers": config.loader_workers, "use_multiprocessing": config.loader_workers > 1}
            train = ShardDataset(cache, "train", config.batch, seed=config.seed, **loader)
            inputs = {"x": train, "validation_data": ShardDataset(cache, "valid", config.batch, False, **loader)}
            model = compiled_model(config, cache.image_shape, tree)
        else:
            inputs = distributed_inputs(strategy, cache, config, role)
            with strategy.scope():
                model = forget_strategy(compiled_model(config, cache.image_shape, tree))
        backup = config.strategy != "multiworker"
        with strategy.scope() if strategy else nullcontext():
            # every worker of a multi-worker run would predict its own copy: the watch is for one process
            watch = cache.read("valid", ("images",), limit=WATCHED)["images"] if backup else None
            chosen = callbacks(target, config, backup=backup, watch=watch, tree=tree)
            start = backup_state(target.backup)["epoch"] if backup else 0
            if isinstance(inputs["x"], ShardDataset):
                inputs["x"].set_epoch(start)  # a resumed epoch sees the batches the uninterrupted run would have
            history = model.fit(
                **inputs, epochs=config.epochs, initial_epoch=start, verbose=epoch_progress(verbose), callbacks=chosen
            )
        return finish(target, record, history)


@contextmanager
def computing_in(precision: str):
    """Models built inside compute as --precision says; Keras's policy is global, so it is restored after."""
    before = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(before)


def compiled_model(config: FitConfig, input_shape: tuple[int, int, int], tree: Campaign = KAGGLE) -> keras.Model:
    """The model of `config` for images of `input_shape` and labels of `tree` (the cache's campaign), compiled."""
    loss = training_loss(config.loss, tree)  # a ValueError before anything is built
    with computing_in(config.precision):
        options = {
            "augment": config.augment,
            "zoom": config.zoom,
            "dropout": config.dropout,
            "tree": tree,
            "look": config.look,
        }
        model = build_model(config.model, config.head, input_shape, **options)
    decay = config.weight_decay or None  # None: Keras skips the decay step
    optimizer = OPTIMIZERS[config.optimizer](learning_rate=config.lr, use_ema=config.ema, weight_decay=decay)
    optimizer.exclude_from_weight_decay(var_names=NOT_DECAYED)
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=[rmse_metric(tree)],
        jit_compile=True if config.jit else "auto",
    )
    return model


def finish(run: Run, record: dict, history: keras.callbacks.History) -> FitResult:
    """Mark the run finished in config.json."""
    if not run.model.exists():
        raise LossNotFinite(f"no epoch finished with a finite val_rmse; {run.model} was not written")
    rows = run.history_rows()
    best = best_so_far(run.history)
    run.write_record({**record, "finished": True, "best_val_rmse": best, "epochs_run": len(rows)})
    return FitResult(best, len(rows))
