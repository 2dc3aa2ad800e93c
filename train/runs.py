"""A run folder's files: every stage that writes or reads a run takes the names from here."""

import csv
import hashlib
import platform
from importlib.metadata import version
from pathlib import Path

import numpy as np

from preprocess.atomic import replacing
from preprocess.cache import LABELLED, Cache

CONFIG = "config.json"  # every setting, the cache's manifest hash and settings, library versions
MODEL = "model.keras"  # the best epoch so far
HISTORY = "history.csv"  # one row per finished epoch (Keras's CSVLogger)
CURVES = "curves.png"
BACKUP = "backup"  # BackupAndRestore's state while training
REPORT, REPORT_PLOT = "report.json", "report.png"  # written by `evaluate`
LOGS = "logs"  # TensorBoard's, with `fit --tensorboard`
GALAXIES = "galaxies.npz"  # the GalaxyIDs that trained (train) and validated (valid) the run
REJECTS = "rejects.csv"  # a finetune's label rows that could not be used, and why


def history_rows(history: Path) -> list[dict]:
    """The rows of a history.csv (one per finished epoch); none when there is no file yet."""
    if not history.exists():
        return []
    with open(history, newline="") as f:
        return list(csv.DictReader(f))


def split_digest(ids: np.ndarray) -> str:
    """A hash of a set of GalaxyIDs (sorted, as int64)."""
    return hashlib.sha256(np.sort(np.asarray(ids, dtype="<i8")).tobytes()).hexdigest()


def record_splits(run: Path, cache: Cache) -> dict:
    """Which galaxies train and validate the run: their IDs in GALAXIES, their count and hash for config.json."""
    ids = {split: cache.split_ids(split) for split in LABELLED}
    with replacing(run / GALAXIES, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **ids)
    return {split: {"galaxies": len(ids[split]), "sha256": split_digest(ids[split])} for split in LABELLED}


def split_mismatch(run: Path, record: dict, cache: Cache) -> str | None:
    """Why `cache` cannot judge the run (its splits differ from those the run trained on), naming how many
    galaxies differ; None when it can. A run that predates split records needs its own cache (same manifest)."""
    splits = record.get("splits")
    if splits is None:
        if record.get("manifest_sha256") == cache.sha256:
            return None
        return f"{run} does not record its galaxies, and {cache.folder} is not the cache it was trained on"
    ids = {split: cache.split_ids(split) for split in LABELLED}
    if all(split_digest(ids[split]) == splits[split]["sha256"] for split in LABELLED):
        return None
    with np.load(run / GALAXIES) as trained:
        trained_on = len(np.intersect1d(ids["valid"], trained["train"]))
        moved = len(np.unique(np.concatenate([np.setxor1d(ids[split], trained[split]) for split in LABELLED])))
    return (
        f"{cache.folder} splits its galaxies unlike the cache {run} was trained on: {moved} galaxies are in "
        f"another split or missing, and {trained_on} of its validation galaxies trained the run"
    )


def library_versions() -> dict[str, str]:
    """The versions a run was made with (recorded in its config.json)."""
    names = ("tensorflow", "keras", "numpy", "h5py", "pillow")
    return {"python": platform.python_version(), **{name: version(name) for name in names}}
