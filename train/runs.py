"""A run folder: THE owner of its file names and of its config.json. Every stage that writes or reads a run asks a
`Run`; no other module spells a run folder's file names. No TensorFlow here."""

import csv
import hashlib
import json
import platform
import shutil
from dataclasses import dataclass
from fractions import Fraction
from importlib.metadata import version
from pathlib import Path

import numpy as np

from preprocess.atomic import replacing, write_json
from preprocess.cache import LABELLED, Cache
from preprocess.kaggle import FRAME
from train.finetuning.tasks import Task, task_of

# the cache settings a run must share with a cache that scores it: its validation split and its images
SPLIT_AND_IMAGE_SETTINGS = ("crop", "size", "method", "valid", "calibrate", "seed")


class RunError(ValueError):
    """A run folder that cannot be used as asked; the message says why and what to do."""


class RunMismatch(RunError):
    """A run trained on a cache whose validation split or images differ from the cache it is given."""


def history_rows(history: Path) -> list[dict]:
    """The rows of a history CSV (one per finished epoch); none when there is no file yet."""
    if not history.exists():
        return []
    with open(history, newline="") as f:
        return list(csv.DictReader(f))


def split_digest(ids: np.ndarray) -> str:
    """A hash of a set of GalaxyIDs (sorted, as int64)."""
    return hashlib.sha256(np.sort(np.asarray(ids, dtype="<i8")).tobytes()).hexdigest()


def library_versions() -> dict[str, str]:
    """The versions a run was made with (recorded in its config.json)."""
    names = ("tensorflow", "keras", "numpy", "h5py", "pillow")
    return {"python": platform.python_version(), **{name: version(name) for name in names}}


def file(name: str, doc: str | None = None) -> property:
    """A file (or folder) of the run folder, by its name."""
    return property(lambda run: run.folder / name, doc=doc)


@dataclass(frozen=True)
class Run:
    """A run folder. `fit` writes config.json (every setting, the cache's manifest hash and settings, which galaxies
    trained and validated it, versions), galaxies.npz (their IDs), model.keras (the best epoch so far), history.csv
    (one row per finished epoch), curves.png and, while training, backup/; `evaluate` writes the reports; a
    finetune writes its own report and the label rows it could not use."""

    folder: Path

    config = file("config.json")
    model = file("model.keras", "the best epoch so far")
    history = file("history.csv", "one row per finished epoch (Keras's CSVLogger)")
    curves = file("curves.png")
    backup = file("backup", "the Backup callback's folder while training (train.fitting.callbacks.Backup)")
    logs = file("logs", "TensorBoard's, with `fit --tensorboard`")
    galaxies = file("galaxies.npz", "the GalaxyIDs that trained (train) and validated (valid) the run")
    rejects = file("rejects.csv", "a finetune's label rows that could not be used, and why")
    submission = file("submission.csv", "where `make submit` and the benchmarks put the run's own submission")
    finetune_report = file("finetune_report.json", "a finetune's scores on the held-out labels")
    reliability = file("reliability.png", "a finetuned classifier's reliability diagram")
    calibration = file("calibration.json", "`train calibrate`'s intervals, keyed by the runs and views they are for")
    votes_coverage = file(
        "votes_coverage.json", "`train calibrate`'s check of a dirichlet run's intervals of the votes"
    )

    def report(self, ensemble: bool = False) -> tuple[Path, Path]:
        """`evaluate`'s report and its plot: of this run alone, or of an ensemble led by it."""
        prefix = "ensemble-" if ensemble else ""
        return self.folder / f"{prefix}report.json", self.folder / f"{prefix}report.png"

    def outputs(self) -> list[Path]:
        """What a run of `fit` writes and what was made of its model (the calibration): a fresh start removes all."""
        return [
            self.model,
            self.history,
            self.curves,
            *self.report(),
            self.galaxies,
            self.calibration,
            self.votes_coverage,
        ]

    def clear(self) -> None:
        """Remove what an earlier run left, for a fresh start."""
        for path in self.outputs():
            path.unlink(missing_ok=True)
        shutil.rmtree(self.backup, ignore_errors=True)

    def read_record(self) -> dict:
        """config.json; RunError when there is none, since nothing else says what the run's model predicts or which
        images it expects."""
        if not self.config.is_file():
            raise RunError(
                f"{self.folder} has no {self.config.name}: nothing says what its model predicts or how its images "
                "were cropped; use a run folder written by `train fit` or `train finetune`"
            )
        return json.loads(self.config.read_text())

    def previous_record(self) -> dict | None:
        return json.loads(self.config.read_text()) if self.config.exists() else None

    def write_record(self, record: dict) -> None:
        write_json(self.config, record)

    def history_rows(self) -> list[dict]:
        return history_rows(self.history)

    def head(self) -> str | None:
        """The head its model was built with (`fit --head`); None for a finetuned run."""
        return self.read_record()["config"].get("head")

    def task(self) -> Task:
        return task_of(self.read_record())

    def view(self) -> tuple[Fraction, int]:
        """The crop (as a fraction of the frame) and image size of the cache the run was trained on."""
        settings = self.read_record()["cache_settings"]
        return Fraction(settings["crop"], FRAME), int(settings["size"])

    def record_splits(self, cache: Cache) -> dict:
        """Which galaxies train and validate the run: their IDs in `galaxies`, their count and hash for config.json."""
        ids = {split: cache.split_ids(split) for split in LABELLED}
        with replacing(self.galaxies, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **ids)
        return {split: {"galaxies": len(ids[split]), "sha256": split_digest(ids[split])} for split in LABELLED}

    def split_mismatch(self, record: dict, cache: Cache) -> str | None:
        """Why `cache` cannot judge the run (its splits differ from those the run trained on), naming how many
        galaxies differ; None when it can. A run that predates split records needs its own cache (same manifest)."""
        splits = record.get("splits")
        if splits is None:
            if record.get("manifest_sha256") == cache.sha256:
                return None
            return f"{self.folder} does not record its galaxies, and {cache.folder} is not the cache it was trained on"
        # runs from before the calibration split record train and valid only
        ids = {split: cache.split_ids(split) for split in splits}
        if all(split_digest(ids[split]) == splits[split]["sha256"] for split in splits):
            return None
        with np.load(self.galaxies) as trained:
            trained_on = len(np.intersect1d(ids["valid"], trained["train"]))
            moved = len(np.unique(np.concatenate([np.setxor1d(ids[split], trained[split]) for split in splits])))
        return (
            f"{cache.folder} splits its galaxies unlike the cache {self.folder} was trained on: {moved} galaxies are "
            f"in another split or missing, and {trained_on} of its validation galaxies trained the run"
        )

    def check_fits(self, cache: Cache) -> None:
        """RunMismatch unless the run predicts Kaggle's columns and was trained on a cache with this cache's split
        and image settings: scoring a model on another split would score it on galaxies it trained on."""
        if not self.config.is_file():
            raise RunMismatch(f"{self.folder} has no {self.config.name}: there is no telling which galaxies trained it")
        record = self.read_record()
        if record.get("kind") == "finetune":
            raise RunMismatch(
                f"{self.folder} is finetuned to {', '.join(record['task']['columns'])}, not Kaggle's 37 columns: "
                f"`train predict` writes its catalog, and its {self.finetune_report.name} scores it"
            )
        trained = {"calibrate": 0, **(record.get("cache_settings") or {})}  # runs from before the calibration split
        differ = [key for key in SPLIT_AND_IMAGE_SETTINGS if trained.get(key) != getattr(cache.settings, key)]
        if differ:
            theirs = ", ".join(f"{key}={trained.get(key)}" for key in differ)
            ours = ", ".join(f"{key}={getattr(cache.settings, key)}" for key in differ)
            raise RunMismatch(
                f"{self.folder} was trained on the cache {record.get('cache')} ({theirs}), but {cache.folder} has "
                f"{ours}: its validation split or its images differ; use the cache the run was trained on"
            )
        mismatch = self.split_mismatch(record, cache)
        if mismatch:
            raise RunMismatch(f"{mismatch}; use the cache the run was trained on")
