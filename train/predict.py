"""Predict a split with test-time augmentation, and write Kaggle submissions."""

import json
from dataclasses import dataclass, field
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
from train.layers import MergeParts, TestTimeViews
from train.runs import CONFIG, MODEL, split_mismatch
from train.tta import DEFAULT_TTA, tta_views

SPLIT_AND_IMAGE_SETTINGS = ("crop", "size", "method", "valid", "seed")


def with_views(model: keras.Model, tta: int) -> keras.Model:
    """`model` averaging its predictions over `tta` views of each galaxy (train.tta), in one call per batch: the
    views are made inside, in float, stacked on the batch axis, through the same layers and weights."""
    if tta == 1:
        return model
    shape = model.input_shape[1:]
    # the same layers from a float input: a uint8 input would truncate the resampled views
    floats = keras.Input(shape, dtype="float32")
    body = keras.models.clone_model(model, input_tensors=floats, clone_function=lambda layer: layer)
    images = keras.Input(shape, dtype=model.inputs[0].dtype, name="image")
    views = tta_views(tta)
    return keras.Model(images, MergeParts(len(views), "mean")(body(TestTimeViews(views)(images))))


def predict_each_model(models: list[keras.Model], images: np.ndarray) -> np.ndarray:
    """(models, n, outputs): each model's predictions for the uint8 `images`, one call per model."""
    return np.stack([model.predict_on_batch(images) for model in models])


def predict(
    models: list[keras.Model], cache: Cache, split: str, tta: int = DEFAULT_TTA, batch: int = 64, progress: bool = True
):
    """(ids, predictions) for every galaxy of `split`, averaged over the models and `tta` views of each galaxy.

    An average of predictions that obey the decision tree obeys it too.
    """
    dataset = ShardDataset(cache, split, batch_size=batch, shuffle=False)
    viewing = [with_views(model, tta) for model in models]
    outputs = []
    label = f"predicting {split} ({len(models)} model(s) x {tta} view(s))"
    for i in tqdm(range(len(dataset)), desc=label, unit="batch", disable=not progress):
        images = dataset[i][0] if dataset.labelled else dataset[i]
        outputs.append(predict_each_model(viewing, images).mean(axis=0))
    return dataset.ids, np.concatenate(outputs)


class RunMismatch(RuntimeError):
    """A run trained on a cache whose validation split or images differ from the cache it is given."""


def check_run_fits_cache(run: Path, cache: Cache) -> None:
    """RunMismatch unless the run was trained on a cache with this cache's split and image settings.

    Scoring a model on another split would score it on galaxies it trained on.
    """
    if not (run / CONFIG).is_file():
        raise RunMismatch(f"{run} has no {CONFIG}: there is no telling which galaxies its model trained on")
    record = json.loads((run / CONFIG).read_text())
    if record.get("kind") == "finetune":
        raise RunMismatch(
            f"{run} is finetuned to {', '.join(record['task']['columns'])}, not Kaggle's 37 columns: `train predict` "
            "writes its catalog, and its finetune_report.json scores it"
        )
    trained = record.get("cache_settings") or {}
    differ = [key for key in SPLIT_AND_IMAGE_SETTINGS if trained.get(key) != getattr(cache.settings, key)]
    if differ:
        theirs = ", ".join(f"{key}={trained.get(key)}" for key in differ)
        ours = ", ".join(f"{key}={getattr(cache.settings, key)}" for key in differ)
        raise RunMismatch(
            f"{run} was trained on the cache {record.get('cache')} ({theirs}), but {cache.folder} has {ours}: "
            "its validation split or its images differ; use the cache the run was trained on"
        )
    mismatch = split_mismatch(run, record, cache)
    if mismatch:
        raise RunMismatch(f"{mismatch}; use the cache the run was trained on")


def load_models(runs: list[Path], cache: Cache) -> list[keras.Model]:
    """The best model of each run, once each run is known to fit the cache."""
    for run in runs:
        check_run_fits_cache(run, cache)
    return [keras.models.load_model(run / MODEL, compile=False) for run in runs]  # predictions need no optimizer


class SubmissionError(RuntimeError):
    """Predictions that would make a submission Kaggle refuses or scores wrongly."""


@dataclass(frozen=True)
class Submission:
    path: Path
    warnings: list[str] = field(default_factory=list)  # what the user must hear: rejected galaxies, IDs unchecked


def check_submission(ids: np.ndarray, predictions: np.ndarray, sample: Path) -> list[str]:
    """SubmissionError unless every ID comes once, every value is finite and the IDs are those of Kaggle's sample
    submission `sample`; a warning if there is no such file to check against."""
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise SubmissionError(f"GalaxyIDs predicted more than once: {unique[counts > 1][:10].tolist()}")
    bad = ~np.isfinite(predictions).all(axis=1)
    if bad.any():
        raise SubmissionError(f"{bad.sum()} galaxies have non-finite predictions, e.g. {ids[bad][:10].tolist()}")
    if not sample.is_file():
        return [f"the IDs were not checked against Kaggle's sample submission: {sample} not found; pass --sample"]
    expected = read_solutions(sample)[0]
    missing, extra = np.setdiff1d(expected, ids), np.setdiff1d(ids, expected)
    if len(missing) or len(extra):
        raise SubmissionError(
            f"the submission's IDs differ from {sample}: {len(missing)} missing (e.g. {missing[:5].tolist()}), "
            f"{len(extra)} not in it (e.g. {extra[:5].tolist()})"
        )
    return []


def write_submission(
    cache: Cache, out: Path, ids: np.ndarray, predictions: np.ndarray, sample: Path | None = None
) -> Submission:
    """Clip to [0, 1], give rejected test galaxies the training means (with a warning), check against the sample
    submission (by default the one in the data folder the cache was made from), write atomically."""
    warnings = []
    rejected = sorted(r.galaxy_id for r in cache.rejects("test"))
    if rejected:
        means = cache.read("train", ("labels",))["labels"].mean(axis=0)
        warnings.append(
            f"{len(rejected)} test galaxies were rejected at preprocessing and get the training "
            f"column means: {rejected[:10]}"
        )
        ids = np.concatenate([ids, rejected])
        predictions = np.concatenate([predictions, np.tile(means, (len(rejected), 1))])
    warnings += check_submission(ids, predictions, sample or Path(cache.source) / kaggle.ZEROS)
    return Submission(write_solutions(out, ids, np.clip(predictions, 0.0, 1.0)), warnings)


def submit_models(
    runs: list[Path], cache: Cache, out: Path, tta: int = DEFAULT_TTA, batch: int = 64, sample: Path | None = None
) -> Submission:
    """The test split predicted by the runs' models (an ensemble when several), averaged with `tta` views."""
    with shared(cache.folder, "python -m train submit"):
        ids, predictions = predict(load_models(runs, cache), cache, "test", tta=tta, batch=batch)
        return write_submission(cache, out, ids, predictions, sample)


def submit_baseline(name: str, cache: Cache, out: Path, sample: Path | None = None) -> Submission:
    with shared(cache.folder, "python -m train submit"):
        ids = cache.read("test", ("ids",))["ids"]
        return write_submission(cache, out, ids, BASELINES[name](cache, "test"), sample)
