"""Predict a split with test-time augmentation, and write Kaggle submissions."""

import sys
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from preprocess.labels import write_solutions
from preprocess.summary import read_rejects
from train.dataset import ShardDataset, dihedral
from train.evaluate import baseline_predictions, read_split


def predict(model: keras.Model, cache: Path, split: str, tta: int = 8, batch: int = 64, progress: bool = True):
    """(ids, predictions) for every galaxy of `split`, averaged over the first `tta` flips/rotations.

    For the tree head the average of tree-consistent predictions is tree-consistent too.
    """
    dataset = ShardDataset(cache, split, batch_size=batch, shuffle=False)
    outputs = []
    for i in tqdm(range(len(dataset)), desc=f"predicting {split} (x{tta})", unit="batch", disable=not progress):
        batch_images = dataset[i][0] if dataset.labelled else dataset[i]
        views = [dihedral(batch_images, np.full(len(batch_images), k)) for k in range(tta)]
        outputs.append(np.mean([model.predict_on_batch(v) for v in views], axis=0))
    return dataset.ids, np.concatenate(outputs)


def rejected_test_ids(cache: Path) -> list[int]:
    """Test galaxies that preprocessing could not use: they still need a row in a submission."""
    return sorted(int(r["GalaxyID"]) for r in read_rejects(cache) if "images_test_rev1" in Path(r["path"]).parts)


def write_submission(cache: Path, out: Path, ids: np.ndarray, predictions: np.ndarray) -> Path:
    """Clip to [0, 1], give rejected test galaxies the training means (with a warning), write atomically."""
    rejected = rejected_test_ids(cache)
    if rejected:
        means = read_split(cache, "train")["labels"].mean(axis=0)
        print(f"warning: {len(rejected)} test galaxies were rejected at preprocessing and get the training "
              f"column means: {rejected[:10]}", file=sys.stderr)  # fmt: skip
        ids = np.concatenate([ids, rejected])
        predictions = np.concatenate([predictions, np.tile(means, (len(rejected), 1))])
    return write_solutions(out, ids, np.clip(predictions, 0.0, 1.0))


def submit_model(run: Path, cache: Path, out: Path, tta: int = 8, batch: int = 64) -> Path:
    model = keras.models.load_model(run / "model.keras")
    ids, predictions = predict(model, cache, "test", tta=tta, batch=batch)
    return write_submission(cache, out, ids, predictions)


def submit_baseline(name: str, cache: Path, out: Path) -> Path:
    ids, predictions = baseline_predictions(cache, "test")
    return write_submission(cache, out, ids, predictions[name])
