"""Models: a compact CNN, the seed's VGG16 layout and the Kaggle winner's viewpoint network, each with a head.

Every model takes the cache's uint8 images and scales them inside, so batches stay 4x smaller, and
augments them inside (RandomAffine, active only while training), so the loader only reads.
"""

import keras
from keras import layers

from preprocess.schema import N_COLUMNS
from train.layers import DivisiveHead, Maxout, MergeParts, RandomAffine, TreeHead, ViewpointParts, central_box
from train.recipes import HEADS, MODELS


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


def conv_bn(x, filters: int, kernel: int = 3, strides: int = 1, padding: str = "same"):
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)  # short epochs: let the statistics catch up fast
    return layers.Activation("relu")(x)


def compact_features(x):
    """A small CNN (0.3M parameters with its head) that trains to a useful model in minutes on two CPU cores."""
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


def centre_features(x):
    """The compact CNN on the central n/sqrt(2) box only (74 of 106 pixels): the galaxy without most of the
    sky around it, at half the compute, so twice the epochs in the same time."""
    box = central_box(x.shape[1])
    return compact_features(layers.CenterCrop(box, box)(x))


def maxout_dense(x, units: int, dropout: float = 0.5):
    x = layers.Dropout(dropout)(x)
    return Maxout(2)(layers.Dense(2 * units)(x))


def viewpoint_features(x, merge: str = "concat"):
    """The winner's design sized for a CPU: 16 viewpoint parts of 32x32 through one shared trunk of valid
    convolutions (32x32 -> 2x2x64), the parts' features merged per galaxy, two maxout dense layers."""
    x = ViewpointParts(view=48, part=32)(x)
    x = conv_bn(x, 32, kernel=5, padding="valid")  # 28x28
    x = layers.MaxPooling2D(2)(x)  # 14x14
    x = conv_bn(x, 64, padding="valid")  # 12x12
    x = layers.MaxPooling2D(2)(x)  # 6x6
    x = conv_bn(x, 64, padding="valid")  # 4x4
    x = layers.MaxPooling2D(2)(x)  # 2x2
    x = MergeParts(16, merge)(layers.Flatten()(x))
    return maxout_dense(maxout_dense(x, 256), 256)


FEATURES = {
    "compact": compact_features,
    "centre": centre_features,
    "vgg16": vgg16_features,
    "viewpoints": viewpoint_features,
    "viewpoints-mean": lambda x: viewpoint_features(x, merge="mean"),
}


# Heads compute in float32 whatever the model's precision: fractions near 0 and 1 need it.
def tree_head(x):
    return TreeHead(name="tree", dtype="float32")(layers.Dense(N_COLUMNS, name="logits", dtype="float32")(x))


def divisive_head(x):
    # Positive starting logits: every answer begins above the clamp.
    start = keras.initializers.Constant(0.5)
    logits = layers.Dense(N_COLUMNS, bias_initializer=start, name="logits", dtype="float32")(x)
    return DivisiveHead(name="divisive", dtype="float32")(logits)


def sigmoid_head(x):
    return layers.Dense(N_COLUMNS, activation="sigmoid", name="sigmoid", dtype="float32")(x)


HEAD_LAYERS = {"tree": tree_head, "divisive": divisive_head, "sigmoid": sigmoid_head}
assert set(FEATURES) == set(MODELS) and set(HEAD_LAYERS) == set(HEADS), "train.recipes names what is built here"


def build_model(
    name: str, head: str, input_shape: tuple[int, int, int], augment: bool = False, zoom: float = 1.0
) -> keras.Model:
    """A model from uint8 images of `input_shape` (the cache's) to the 37 Galaxy Zoo columns; `augment` adds
    RandomAffine with zooms up to `zoom` (1: none)."""
    if name not in FEATURES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(FEATURES)}")
    if head not in HEAD_LAYERS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEAD_LAYERS)}")
    inputs = keras.Input(input_shape, dtype="uint8", name="image")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    if augment:
        x = RandomAffine(zoom=zoom, name="augment")(x)
    outputs = HEAD_LAYERS[head](FEATURES[name](x))
    return keras.Model(inputs, outputs, name=f"{name}_{head}")
