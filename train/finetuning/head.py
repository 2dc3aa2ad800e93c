"""The finetuned model: a trained run's trunk with a new head for the user's task, the same network from scratch
for comparison, which layers train in each phase, and its compilation (loss, metric, blockwise rates)."""

import keras
import numpy as np

from train.config import PREDICT_BATCH
from train.finetuning.block_rates import BlockwiseAdam, block_multipliers
from train.finetuning.tasks import Task

HEAD_DROPOUT = 0.2  # before the new head's Dense layer
# the new head starts at zero weights: it predicts the labels' mean (an even split for classes) and moves from
# there, so that early stopping on a few dozen held-out labels never keeps a head worse than the mean (Glorot's
# start on 256 standardised features predicts with a spread of about 1.4 standard deviations: at 100 bar-length
# labels all three head-only runs ended below R^2 0)
HEAD_INIT = "zeros"
ACTIVATIONS = {"binary": "sigmoid", "multiclass": "softmax", "fraction": "sigmoid", "regression": None}


def with_new_head(source: keras.Model, task: Task, images: np.ndarray | None) -> keras.Model:
    """The source model's trunk, up to its pooled features (the input of its first dense layer), then a new head
    for `task`: the features standardised, dropout, one Dense layer. Those features carry what the dense layers
    above them drop as irrelevant to the old question (a galaxy's size, its light profile): in a 1-minute trial a
    head on them learned bar lengths from 300 labels to R^2 0.37 where one on the last dense layer reached 0.07.
    They are unscaled, and a linear probe on unscaled features is unreliable (two of nine bar-length heads ended
    worse than the mean), so the head standardises them by their mean and variance over `images`, the training
    part of the labels only (None: no standardising, for a trunk trained from scratch), as a probe does (MAE's
    BatchNorm without scale or offset, Keras's Normalization adapted before training). The trunk's layers are the
    source's own: a flat model, so test-time views can feed it floats like any run's."""
    first = next(layer for layer in source.layers if isinstance(layer, keras.layers.Dense))
    if images is None:
        mean, variance = 0.0, 1.0
    else:
        trunk = keras.Model(source.input, first.input)
        features = np.concatenate(
            [trunk.predict_on_batch(images[i : i + PREDICT_BATCH]) for i in range(0, len(images), PREDICT_BATCH)]
        ).astype(np.float64)
        mean, variance = features.mean(axis=0), np.maximum(features.var(axis=0), 1e-6)
    standardised = keras.layers.Normalization(mean=mean, variance=variance, name="standardise")(first.input)
    dropped = keras.layers.Dropout(HEAD_DROPOUT, name="head_dropout")(standardised)
    answer = keras.layers.Dense(
        task.units, activation=ACTIVATIONS[task.kind], kernel_initializer=HEAD_INIT, name="answer", dtype="float32"
    )
    return keras.Model(source.input, answer(dropped), name=f"{source.name}_finetuned")


def from_scratch(model: keras.Model) -> keras.Model:
    """The same layers with new weights, the head's standardising left out (a new trunk's features are not the
    trained one's)."""

    def fresh(layer):
        if layer.name == "standardise":
            return keras.layers.Normalization(mean=0.0, variance=1.0, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=fresh)


def set_trainable(model: keras.Model, unfreeze: str) -> None:
    """The head always trains; of the trunk, nothing, the layers after its last pooling ("top") or everything
    ("all") but its batch normalisation, or all of a model trained from scratch ("scratch"). A trained trunk's
    batch normalisation stays frozen in every phase, so it runs in inference mode with its statistics, scale and
    offset as trained (Keras 3's BatchNormalization normalises by the batch only when
    `training and self.trainable`): batch statistics of 32 of a few hundred images "will suddenly destroy what
    the model has learned" (Keras's transfer-learning guide), and Zoobot keeps its own frozen when it unfreezes."""
    trunk = model.layers[:-1]
    pools = [i for i, layer in enumerate(trunk) if isinstance(layer, keras.layers.MaxPooling2D)]
    first = {"none": len(trunk), "top": (pools[-1] + 1) if pools else 0, "all": 0, "scratch": 0}[unfreeze]
    for i, layer in enumerate(trunk):
        normalising = isinstance(layer, keras.layers.BatchNormalization) and unfreeze != "scratch"
        layer.trainable = i >= first and not normalising
    model.layers[-1].trainable = True


def compile_for(model: keras.Model, task: Task, lr: float, decay: float = 1.0) -> None:
    metric = {
        "binary": keras.metrics.AUC(name="auc"),
        "multiclass": keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
    }.get(task.kind, keras.metrics.RootMeanSquaredError(name="rmse"))
    loss = {"binary": "binary_crossentropy", "multiclass": "sparse_categorical_crossentropy"}.get(task.kind, "mse")
    optimizer = BlockwiseAdam(block_multipliers(model, decay), learning_rate=lr)
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])
