"""A trained model applied: test-time views inside one model call, and a cache split predicted in batches."""

import zipfile
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from preprocess.cache import Cache
from train.config import PREDICT_BATCH
from train.fitting.dataset import ShardDataset
from train.model.layers import MergeParts, TestTimeViews
from train.prediction.tta import DEFAULT_TTA, tta_views
from train.runs import Run, RunError


def with_views(model: keras.Model, tta: int, spread: bool = False) -> keras.Model:
    """`model` averaging its predictions over `tta` views of each galaxy (train.prediction.tta), in one call per batch:
    the views are made inside, in float, stacked on the batch axis, through the same layers and weights. With
    `spread`, a second output: the views' standard deviation."""
    if tta == 1 and not spread:
        return model
    shape = model.input_shape[1:]
    # the same layers from a float input: a uint8 input would truncate the resampled views
    floats = keras.Input(shape, dtype="float32")
    body = keras.models.clone_model(model, input_tensors=floats, clone_function=lambda layer: layer)
    images = keras.Input(shape, dtype=model.inputs[0].dtype, name="image")
    views = tta_views(tta)
    each = body(TestTimeViews(views)(images))
    mean = MergeParts(len(views), "mean")(each)
    return keras.Model(images, [mean, MergeParts(len(views), "std")(each)] if spread else mean)


def predict_each_model(models: list[keras.Model], images: np.ndarray) -> np.ndarray:
    """(models, n, outputs): each model's predictions for the uint8 `images`, one call per model."""
    return np.stack([model.predict_on_batch(images) for model in models])


def predict_split(
    models: list[keras.Model],
    cache: Cache,
    split: str,
    tta: int = DEFAULT_TTA,
    batch: int = PREDICT_BATCH,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
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


def load_models(runs: list[Path], cache: Cache) -> list[keras.Model]:
    """The best model of each run, once each run is known to fit the cache."""
    for run in runs:
        Run(run).check_fits(cache)
    return [load_model(Run(run)) for run in runs]


def load_model(run: Run) -> keras.Model:
    """The run's best model, for predictions (no optimizer). RunError when the file is not a model Keras can load
    (damaged, or not written by this project): Keras says so with a ValueError, or zipfile's BadZipFile."""
    try:
        return keras.models.load_model(run.model, compile=False)
    except (ValueError, zipfile.BadZipFile) as error:
        raise RunError(f"{run.model} cannot be loaded as a model: {error}") from None
