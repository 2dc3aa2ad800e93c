"""Models: a compact CNN, the seed's VGG16 layout and the Kaggle winner's viewpoint network, each with a head.

Every model takes the cache's uint8 images and scales them inside, so batches stay 4x smaller, and
augments them inside (RandomAffine, active only while training), so the loader only reads.
"""

import keras
from keras import layers

from preprocess.schema import KAGGLE
from preprocess.tree import Campaign
from train.config import CONCENTRATION_FLOOR, HEADS, MODELS
from train.model.heads import DirichletHead, DivisiveHead, TreeHead
from train.model.layers import (
    FusedBatchNormalization,
    Maxout,
    MergeParts,
    RandomAffine,
    SurveyLook,
    ViewpointParts,
    central_box,
)


def vgg16_features(x, dropout: float):
    """The seed's convolutional part: 13 3x3 convs in five blocks, each followed by 2x2 max-pooling, then two
    dense layers of 4096, each with dropout after it."""
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dropout(dropout)(layers.Dense(4096, activation="relu")(x))
    return x


def conv_bn(x, filters: int, kernel: int = 3, strides: int = 1, padding: str = "same"):
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = FusedBatchNormalization(momentum=0.9)(x)  # short epochs: let the statistics catch up fast
    return layers.Activation("relu")(x)


def compact_trunk(x):
    """The compact CNN's convolutions, pooled over the image: 256 features (the average and the maximum of 128)."""
    x = conv_bn(x, 32, kernel=5, strides=2)  # 53x53 of 106
    x = layers.MaxPooling2D(2)(x)  # 26x26
    x = conv_bn(conv_bn(x, 64), 64)
    x = layers.MaxPooling2D(2)(x)  # 13x13
    x = conv_bn(x, 128)
    x = layers.MaxPooling2D(2)(x)  # 6x6
    x = conv_bn(x, 128)
    return layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])


def dense_features(x, dropout: float):
    return layers.Dropout(dropout)(layers.Dense(128, activation="relu")(x))


def compact_features(x, dropout: float):
    """A small CNN (0.3M parameters with its head) that trains to a useful model in minutes on two CPU cores."""
    return dense_features(compact_trunk(x), dropout)


def context_features(x, dropout: float):
    """Two views, two trunks: the central box at full resolution (as `centre`) and the whole frame at half
    resolution, for what lies outside the box (merger arcs, rings, outer arms); concatenated before the dense
    layer. 1.5x the compute of `centre`."""
    box = central_box(x.shape[1])
    centre = compact_trunk(layers.CenterCrop(box, box)(x))
    whole = compact_trunk(layers.AveragePooling2D(2)(x))
    return dense_features(layers.Concatenate()([centre, whole]), dropout)


# The Kaggle winner's initialisation (benanne/kaggle-galaxies, try_convnet_cc_multirotflip_3x69r45_maxout2048_
# extradense.py): Gaussian weights, std 0.01 for the first convolutions, 0.1 for the last, 0.001 for the maxout
# dense layers, 0.01 for the output; biases 0.1 (convolutions, output) and 0.01 (dense). With no normalisation
# layers, it is what lets his network start to learn at all.
def his_weights(std: float, bias: float) -> dict:
    return {
        "kernel_initializer": keras.initializers.RandomNormal(0.0, std),
        "bias_initializer": keras.initializers.Constant(bias),
    }


def maxout_dense(x, units: int, dropout: float):
    """Dropout on the input, then a dense layer of 2 x units and maxout."""
    x = layers.Dropout(dropout)(x)
    return Maxout(2)(layers.Dense(2 * units, **his_weights(0.001, 0.01))(x))


def viewpoint_features(x, dropout: float, merge: str = "concat"):
    """The winner's design sized for a CPU: 16 viewpoint parts of 32x32 through one shared trunk of valid
    convolutions (32x32 -> 2x2x64), the parts' features merged per galaxy, two maxout dense layers, dropout
    before each dense layer and the output. As his: no normalisation layers, his initialisation."""
    x = ViewpointParts(view=48, part=32)(x)
    for filters, kernel, std in ((32, 5, 0.01), (64, 3, 0.01), (64, 3, 0.1)):  # 28x28, 12x12, 4x4
        x = layers.Conv2D(filters, kernel, activation="relu", **his_weights(std, 0.1))(x)
        x = layers.MaxPooling2D(2)(x)  # 14x14, 6x6, 2x2
    x = MergeParts(16, merge)(layers.Flatten()(x))
    return layers.Dropout(dropout)(maxout_dense(maxout_dense(x, 256, dropout), 256, dropout))


# Models that see only the central n/sqrt(2) box (74 of 106 pixels): the galaxy without most of the sky around it,
# at half the compute of the whole frame, so twice the epochs in the same time. The augmentation resamples only
# the box, which a 45-degree turn keeps inside the frame.
CENTRAL_BOX_MODELS = ("centre",)

FEATURES = {
    "compact": compact_features,
    "centre": compact_features,  # on the central box, cut out by build_model
    "centre-context": context_features,
    "vgg16": vgg16_features,
    "viewpoints": viewpoint_features,
    "viewpoints-mean": lambda x, dropout: viewpoint_features(x, dropout, merge="mean"),
}


# Heads compute in float32 whatever the model's precision: fractions near 0 and 1 need it.
def tree_head(x, tree: Campaign):
    logits = layers.Dense(len(tree.columns), name="logits", dtype="float32")(x)
    return TreeHead(tree.name, name="tree", dtype="float32")(logits)


def divisive_head(x, tree: Campaign):
    # His output layer's start: small weights and biases of 0.1, so every answer begins above the clamp.
    logits = layers.Dense(len(tree.columns), name="logits", dtype="float32", **his_weights(0.01, 0.1))(x)
    return DivisiveHead(name="divisive", dtype="float32")(logits)


def sigmoid_head(x, tree: Campaign):
    return layers.Dense(len(tree.columns), activation="sigmoid", name="sigmoid", dtype="float32")(x)


def dirichlet_head(x, tree: Campaign):
    logits = layers.Dense(len(tree.columns), name="logits", dtype="float32")(x)
    return DirichletHead(CONCENTRATION_FLOOR, name="dirichlet", dtype="float32")(logits)


HEAD_LAYERS = {"tree": tree_head, "divisive": divisive_head, "sigmoid": sigmoid_head, "dirichlet": dirichlet_head}
KAGGLE_ONLY = ("divisive", "sigmoid")  # heads of Kaggle's 37 fractions
assert set(FEATURES) == set(MODELS) and set(HEAD_LAYERS) == set(HEADS), "train.config names what is built here"


def build_model(
    name: str,
    head: str,
    input_shape: tuple[int, int, int],
    augment: bool = False,
    zoom: float = 1.0,
    dropout: float = 0.0,
    tree: Campaign = KAGGLE,
    look: bool = False,
) -> keras.Model:
    """A model from uint8 images of `input_shape` (the cache's) to the columns of a campaign (Kaggle's 37 by
    default); `augment` adds RandomAffine with zooms up to `zoom` (1: none); `dropout` is the rate of the dense
    layers' dropout; `look` adds SurveyLook (random stretch, colour balance and saturation) while training."""
    if name not in FEATURES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(FEATURES)}")
    if head not in HEAD_LAYERS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEAD_LAYERS)}")
    if head in KAGGLE_ONLY and tree is not KAGGLE:
        raise ValueError(
            f"the {head} head predicts Kaggle's 37 columns; for {tree.name}, use the tree or dirichlet head"
        )
    inputs = keras.Input(input_shape, dtype="uint8", name="image")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    side = central_box(input_shape[0]) if name in CENTRAL_BOX_MODELS else None
    if augment:
        x = RandomAffine(zoom=zoom, side=side, name="augment")(x)  # cut out by the same resampling
    elif side:
        x = layers.CenterCrop(side, side)(x)
    if look:
        x = SurveyLook(name="look")(x)
    outputs = HEAD_LAYERS[head](FEATURES[name](x, dropout), tree)
    return keras.Model(inputs, outputs, name=f"{name}_{head}")
