"""Predict a split with test-time augmentation, and write Kaggle submissions."""

import json
import math
import sys
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from preprocess import kaggle
from preprocess.cache import Cache
from preprocess.labels import read_solutions, write_solutions
from preprocess.lock import shared
from train.baselines import BASELINES
from train.dataset import ShardDataset
from train.layers import transform
from train.runs import CONFIG, MODEL

TTA_VIEWS = (1, 2, 4, 8, 16)
DEFAULT_TTA = 16
SPLIT_AND_IMAGE_SETTINGS = ("crop", "size", "method", "valid", "seed")


def tta_views(n: int) -> list[tuple[float, float]]:
    """(angle, flip) of n views: n/2 turns evenly spread over the circle, each as it is and mirrored."""
    if n not in TTA_VIEWS:
        raise ValueError(f"--tta must be one of {TTA_VIEWS}, not {n}")
    turns = max(1, n // 2)
    return [(2 * math.pi * k / turns, flip) for k in range(turns) for flip in ((1.0, -1.0) if n > 1 else (1.0,))]


def view(images: np.ndarray, angle: float, flip: float) -> np.ndarray:
    """uint8 images turned by `angle` and mirrored where flip < 0 (quarter turns move pixels exactly)."""
    if angle == 0 and flip > 0:
        return images
    turned = keras.ops.convert_to_numpy(transform(images.astype("float32"), angle, flip=flip))
    return np.clip(np.rint(turned), 0, 255).astype(np.uint8)


def predict(
    models: list[keras.Model], cache: Cache, split: str, tta: int = DEFAULT_TTA, batch: int = 64, progress: bool = True
):
    """(ids, predictions) for every galaxy of `split`, averaged over the models and `tta` views of each galaxy.

    An average of predictions that obey the decision tree obeys it too.
    """
    dataset = ShardDataset(cache, split, batch_size=batch, shuffle=False)
    views = tta_views(tta)
    outputs = []
    label = f"predicting {split} ({len(models)} model(s) x {tta} view(s))"
    for i in tqdm(range(len(dataset)), desc=label, unit="batch", disable=not progress):
        images = dataset[i][0] if dataset.labelled else dataset[i]
        outputs.append(predict_each_model(models, images, views).mean(axis=0))
    return dataset.ids, np.concatenate(outputs)


def predict_each_model(models: list[keras.Model], images: np.ndarray, views: list[tuple[float, float]]) -> np.ndarray:
    """(models, n, 37): each model's predictions for the uint8 `images`, averaged over the views."""
    turned = [view(images, angle, flip) for angle, flip in views]
    return np.stack([np.mean([model.predict_on_batch(v) for v in turned], axis=0) for model in models])


class RunMismatch(RuntimeError):
    """A run trained on a cache whose validation split or images differ from the cache it is given."""


def check_run_fits_cache(run: Path, cache: Cache) -> None:
    """RunMismatch unless the run was trained on a cache with this cache's split and image settings.

    Scoring a model on another split would score it on galaxies it trained on.
    """
    if not (run / CONFIG).is_file():
        raise RunMismatch(f"{run} has no {CONFIG}: there is no telling which galaxies its model trained on")
    record = json.loads((run / CONFIG).read_text())
    trained = record.get("cache_settings") or {}
    differ = [key for key in SPLIT_AND_IMAGE_SETTINGS if trained.get(key) != getattr(cache.settings, key)]
    if differ:
        theirs = ", ".join(f"{key}={trained.get(key)}" for key in differ)
        ours = ", ".join(f"{key}={getattr(cache.settings, key)}" for key in differ)
        raise RunMismatch(
            f"{run} was trained on the cache {record.get('cache')} ({theirs}), but {cache.folder} has {ours}: "
            "its validation split or its images differ; use the cache the run was trained on"
        )


def load_models(runs: list[Path], cache: Cache) -> list[keras.Model]:
    """The best model of each run, once each run is known to fit the cache."""
    for run in runs:
        check_run_fits_cache(run, cache)
    return [keras.models.load_model(run / MODEL) for run in runs]


class SubmissionError(RuntimeError):
    """Predictions that would make a submission Kaggle refuses or scores wrongly."""


def check_submission(cache: Cache, ids: np.ndarray, predictions: np.ndarray) -> None:
    """Every ID once, every value finite and, where the data folder has Kaggle's sample submission, its IDs."""
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise SubmissionError(f"GalaxyIDs predicted more than once: {unique[counts > 1][:10].tolist()}")
    bad = ~np.isfinite(predictions).all(axis=1)
    if bad.any():
        raise SubmissionError(f"{bad.sum()} galaxies have non-finite predictions, e.g. {ids[bad][:10].tolist()}")
    sample = Path(cache.source) / kaggle.ZEROS
    if sample.is_file():
        expected = read_solutions(sample)[0]
        missing, extra = np.setdiff1d(expected, ids), np.setdiff1d(ids, expected)
        if len(missing) or len(extra):
            raise SubmissionError(
                f"the submission's IDs differ from {sample}: {len(missing)} missing (e.g. {missing[:5].tolist()}), "
                f"{len(extra)} not in it (e.g. {extra[:5].tolist()})"
            )


def write_submission(cache: Cache, out: Path, ids: np.ndarray, predictions: np.ndarray) -> Path:
    """Clip to [0, 1], give rejected test galaxies the training means (with a warning), check, write atomically."""
    rejected = sorted(r.galaxy_id for r in cache.rejects("test"))
    if rejected:
        means = cache.read("train", ("labels",))["labels"].mean(axis=0)
        print(
            f"warning: {len(rejected)} test galaxies were rejected at preprocessing and get the training "
            f"column means: {rejected[:10]}",
            file=sys.stderr,
        )
        ids = np.concatenate([ids, rejected])
        predictions = np.concatenate([predictions, np.tile(means, (len(rejected), 1))])
    check_submission(cache, ids, predictions)
    return write_solutions(out, ids, np.clip(predictions, 0.0, 1.0))


def submit_models(runs: list[Path], cache: Cache, out: Path, tta: int = DEFAULT_TTA, batch: int = 64) -> Path:
    """The test split predicted by the runs' models (an ensemble when several), averaged with `tta` views."""
    with shared(cache.folder, "python -m train submit"):
        ids, predictions = predict(load_models(runs, cache), cache, "test", tta=tta, batch=batch)
        return write_submission(cache, out, ids, predictions)


def submit_baseline(name: str, cache: Cache, out: Path) -> Path:
    with shared(cache.folder, "python -m train submit"):
        return write_submission(cache, out, cache.read("test", ("ids",))["ids"], BASELINES[name](cache, "test"))
