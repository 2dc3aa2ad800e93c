"""Models: the seed's VGG16 layout and a compact CNN, with a sigmoid or a decision-tree head.

Every model takes the cache's uint8 images and scales them inside, so batches stay 4x smaller.
"""

import keras
from keras import layers, ops

from preprocess.schema import N_COLUMNS, PARENT_INDEX, SLICES

INPUT_SHAPE = (106, 106, 3)
MODELS = ("compact", "vgg16")
HEADS = ("tree", "sigmoid")


@keras.saving.register_keras_serializable(package="galaxy_zoo")
class TreeHead(layers.Layer):
    """37 logits -> vote fractions that obey the decision tree exactly.

    Each question gets a softmax over its answers, multiplied by the value of the answer that
    leads to it (Q1 and Q6 by 1), so every answer group sums to its parent, as in the labels.
    """

    def call(self, logits):
        columns = [None] * N_COLUMNS
        for q, sl in SLICES.items():  # a parent always belongs to an earlier question
            answers = ops.softmax(logits[:, sl.start : sl.stop], axis=-1)
            parent = PARENT_INDEX[q]
            if parent is not None:
                answers = answers * columns[parent]
            for j in range(sl.stop - sl.start):
                columns[sl.start + j] = answers[:, j : j + 1]
        return ops.concatenate(columns, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


def vgg16_features(x):
    """The seed's convolutional part: 13 3x3 convs in five blocks, each followed by 2x2 max-pooling."""
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dense(4096, activation="relu")(x)
        x = layers.Dropout(0.5)(x)
    return x


def conv_bn(x, filters: int, kernel: int = 3, strides: int = 1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)  # short epochs: let the statistics catch up fast
    return layers.Activation("relu")(x)


def compact_features(x):
    """A small CNN (~0.5M parameters) that trains to a useful model in minutes on two CPU cores."""
    x = conv_bn(x, 32, kernel=5, strides=2)  # 53x53
    x = layers.MaxPooling2D(2)(x)  # 26x26
    x = conv_bn(conv_bn(x, 64), 64)
    x = layers.MaxPooling2D(2)(x)  # 13x13
    x = conv_bn(x, 128)
    x = layers.MaxPooling2D(2)(x)  # 6x6
    x = conv_bn(x, 128)
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    x = layers.Dense(128, activation="relu")(x)
    return layers.Dropout(0.25)(x)


def build_model(name: str = "compact", head: str = "tree") -> keras.Model:
    """A model from uint8 images (106, 106, 3) to the 37 Galaxy Zoo columns."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    inputs = keras.Input(INPUT_SHAPE, dtype="uint8", name="image")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    x = vgg16_features(x) if name == "vgg16" else compact_features(x)
    if head == "tree":
        outputs = TreeHead(name="tree")(layers.Dense(N_COLUMNS, name="logits")(x))
    else:
        outputs = layers.Dense(N_COLUMNS, activation="sigmoid", name="sigmoid")(x)
    return keras.Model(inputs, outputs, name=f"{name}_{head}")
