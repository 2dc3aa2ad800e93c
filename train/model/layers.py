"""Keras layers of the Galaxy Zoo models: augmentation, test-time views, rotation-invariant viewpoints.

They are registered for saving in `.keras` files and built from `keras.ops`, except two that call TensorFlow's
own operations where Keras has none as fast: the fused batch normalisation and the projective transform (an
output size of its own for the crop). So the models need Keras's TensorFlow backend; they run wherever it runs,
a GPU included.
"""

import math

import keras
import tensorflow as tf
from keras import layers, ops

register = keras.saving.register_keras_serializable(package="galaxy_zoo")


@register
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's batch normalisation of images (channels last), computed while training by TensorFlow's fused
    kernel: one operation forward and one backward where Keras's own takes about ten elementwise ones, which
    on 2 CPU cores cost the default model a fifth of its step (`make bench`). The same normalisation and
    moving statistics; outside training, or frozen, Keras's."""

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable):
            return super().call(inputs, training=training, mask=mask)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32"), epsilon=self.epsilon
        )
        # the kernel returns the unbiased variance (n / (n - 1) times the batch's); Keras's moving variance follows
        # the batch's own
        n = ops.cast(ops.size(inputs) // ops.shape(inputs)[-1], "float32")
        variance = variance * (n - 1.0) / n
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return ops.cast(outputs, self.compute_dtype)


def affine_matrix(angle, scale, shift_x, shift_y, flip, size: int, side: int | None = None):
    """Rows of 8 numbers for TensorFlow's projective transform: output pixel -> input pixel, for a turn by `angle`
    (radians) and a zoom by `scale` about the image centre, then a shift, after a mirror image where flip < 0.
    The output is the central `side` x `side` square of the size x size frame (default: the whole frame)."""
    centre = (size - 1) / 2.0
    offset = (size - (side or size)) / 2.0  # output pixel (0, 0) is frame pixel (offset, offset)
    cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
    a0, a1, b0, b1 = cos * flip, -sin, sin * flip, cos
    a2 = centre + shift_x - a0 * (centre - offset) - a1 * (centre - offset)
    b2 = centre + shift_y - b0 * (centre - offset) - b1 * (centre - offset)
    zeros = ops.zeros_like(a0)
    return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=-1)


def transform(images, angle, scale=1.0, shift_x=0.0, shift_y=0.0, flip=1.0, side: int | None = None):
    """Images (b, h, w, c) turned, zoomed, shifted and mirrored in one bilinear resampling; edges reflected.
    `side`: return only the central side x side square, resampled directly, so a crop after the turn costs only
    its own pixels (for the central box, half the frame's). Keras's `ops.image.affine_transform` has no output
    size, so this calls the TensorFlow operation it wraps (computed in float32: it takes no bfloat16)."""
    n, size = ops.shape(images)[0], images.shape[1]
    values = [ops.broadcast_to(ops.cast(v, "float32"), (n,)) for v in (angle, scale, shift_x, shift_y, flip)]
    turned = tf.raw_ops.ImageProjectiveTransformV3(
        images=ops.cast(images, "float32"),
        transforms=affine_matrix(*values, size=size, side=side),
        output_shape=[side or size, side or size],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    return ops.cast(turned, images.dtype)


@register
class RandomAffine(layers.Layer):
    """Training-time augmentation in one resampling: any rotation, a mirror image half the time, a zoom
    log-uniform in [1/zoom, zoom], a shift of up to `shift` pixels and a brightness scale of up to
    +-`brightness`. The Kaggle winner's augmentation (his `realtime_augmentation.py`), at our scale.
    `side`: the output is the central side x side square of the turned frame (default: the whole frame).
    Outside training only that crop, so predictions see the image as it is."""

    def __init__(self, zoom: float = 1.3, shift: float = 2.0, brightness: float = 0.05, side=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.zoom, self.shift, self.brightness, self.side, self.seed = zoom, shift, brightness, side, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return central_square(images, self.side)
        n = ops.shape(images)[0]

        def uniform(low, high):
            return keras.random.uniform((n,), low, high, seed=self.generator)

        angle = uniform(0.0, 2 * math.pi)
        scale = ops.exp(uniform(-math.log(self.zoom), math.log(self.zoom)))
        flip = ops.where(uniform(0.0, 1.0) < 0.5, -1.0, 1.0)  # never 0, which would flatten the image
        shift_x, shift_y = uniform(-self.shift, self.shift), uniform(-self.shift, self.shift)
        turned = transform(images, angle, scale, shift_x, shift_y, flip, side=self.side)
        gain = 1.0 + uniform(-self.brightness, self.brightness)
        return turned * ops.cast(ops.reshape(gain, (-1, 1, 1, 1)), turned.dtype)

    def compute_output_shape(self, input_shape):
        side = self.side or input_shape[1]
        return (input_shape[0], side, side, input_shape[3])

    def get_config(self):
        config = {"zoom": self.zoom, "shift": self.shift, "brightness": self.brightness, "seed": self.seed}
        return {**super().get_config(), **config, "side": self.side}


@register
class SurveyLook(layers.Layer):
    """Training-time augmentation of how a survey renders its colour images, so that a model cannot lean on one
    survey's look (the synthetic sky's is SDSS's): a stretch, each image's values raised to a power log-uniform in
    [1/stretch, stretch] (below 1 the faint outer light brightens, as in DECaLS's images, whose light is shared far
    more equally: bench/kinds.py's Gini); a colour balance, each channel scaled by up to +-`balance`; and a
    saturation, the colours' departure from grey scaled by up to +-`saturation`. Values in [0, 1] in and out;
    outside training the images pass as they are."""

    def __init__(self, stretch: float = 2.0, balance: float = 0.15, saturation: float = 0.6, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stretch, self.balance, self.saturation, self.seed = stretch, balance, saturation, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images

        def uniform(shape, low, high):
            return ops.cast(keras.random.uniform(shape, low, high, seed=self.generator), images.dtype)

        n = ops.shape(images)[0]
        power = ops.exp(uniform((n, 1, 1, 1), -math.log(self.stretch), math.log(self.stretch)))
        stretched = ops.power(ops.clip(images, 1e-6, 1.0), power)
        balanced = stretched * uniform((n, 1, 1, 3), 1.0 - self.balance, 1.0 + self.balance)
        grey = ops.mean(balanced, axis=-1, keepdims=True)
        saturated = grey + (balanced - grey) * uniform((n, 1, 1, 1), 1.0 - self.saturation, 1.0 + self.saturation)
        return ops.clip(saturated, 0.0, 1.0)

    def get_config(self):
        looks = {"stretch": self.stretch, "balance": self.balance, "saturation": self.saturation, "seed": self.seed}
        return {**super().get_config(), **looks}


def central_square(images, side: int | None):
    """The central side x side pixels of square images (all of them where side is None)."""
    side = side or images.shape[1]
    start = (images.shape[1] - side) // 2
    return images[:, start : start + side, start : start + side]


def central_box(size: int) -> int:
    """The side of the central square that a 45-degree turn keeps inside a size x size frame (size / sqrt(2)),
    made even so that the crop stays centred: 74 of 106 pixels."""
    return int(size / math.sqrt(2)) // 2 * 2


@register
class ViewpointParts(layers.Layer):
    """The Kaggle winner's viewpoints (his `MultiRotSliceLayer`): the image at 0 and 45 degrees and the
    mirror image of each; from each view the four overlapping corner parts, each turned by a multiple
    of 90 degrees so that the galaxy centre sits in the same corner. Turning or mirroring the input
    only reorders the 16 parts, so a shared trunk sees the galaxy in every orientation.

    Input (b, n, n, c) -> parts (16 b, part, part, c), stacked part-major on the batch axis. A view is
    the central n/sqrt(2) box (a 45-degree turn keeps it inside the frame, so no pixel is invented),
    resized to `view` pixels; parts are `part` pixels (the winner: 45 of 69).
    """

    def __init__(self, view: int = 48, part: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.view, self.part = view, part

    def views(self, images):
        box = central_box(images.shape[1])
        straight, turned = central_square(images, box), transform(images, math.pi / 4, side=box)
        views = [ops.image.resize(v, (self.view, self.view), interpolation="bilinear") for v in (straight, turned)]
        return views + [ops.flip(v, axis=2) for v in views]

    def call(self, images):
        n, p = self.view, self.part
        parts = []
        for view in self.views(images):
            corners = [view[:, :p, :p], view[:, :p, n - p :], view[:, n - p :, n - p :], view[:, n - p :, :p]]
            parts += [ops.rot90(corner, k, axes=(1, 2)) for k, corner in enumerate(corners)]
        return ops.concatenate(parts, axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else 16 * input_shape[0]
        return (batch, self.part, self.part, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "view": self.view, "part": self.part}


@register
class MergeParts(layers.Layer):
    """(16 b, f) features of the parts -> (b, 16 f) per galaxy, concatenated (the winner's MultiRotMergeLayer),
    or (b, f) averaged over the parts with `mode="mean"`, or their standard deviation with `mode="std"`."""

    def __init__(self, parts: int = 16, mode: str = "concat", **kwargs):
        super().__init__(**kwargs)
        self.parts, self.mode = parts, mode

    def call(self, features):
        stacked = ops.reshape(features, (self.parts, -1, features.shape[-1]))
        if self.mode == "mean":
            return ops.mean(stacked, axis=0)
        if self.mode == "std":
            return ops.std(stacked, axis=0)
        return ops.reshape(ops.transpose(stacked, (1, 0, 2)), (-1, self.parts * features.shape[-1]))

    def compute_output_shape(self, input_shape):
        width = input_shape[-1] * (self.parts if self.mode == "concat" else 1)
        return (None, width)

    def get_config(self):
        return {**super().get_config(), "parts": self.parts, "mode": self.mode}


class TestTimeViews(layers.Layer):
    """Test-time augmentation inside the model: each galaxy turned and mirrored as each of `views` says ((angle,
    flip) pairs, train.prediction.tta), resampled in float as training's RandomAffine does (no rounding to uint8), the
    views
    stacked view-major on the batch axis: (b, n, n, c) -> (views b, n, n, c). MergeParts(views, "mean") undoes
    the stacking after the model, so a batch with all its views is one model call."""

    def __init__(self, views: list[tuple[float, float]], **kwargs):
        super().__init__(**kwargs)
        self.views = [(float(angle), float(flip)) for angle, flip in views]

    def call(self, images):
        images = ops.cast(images, "float32")
        turned = [images if (a, f) == (0.0, 1.0) else transform(images, a, flip=f) for a, f in self.views]
        return ops.concatenate(turned, axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else len(self.views) * input_shape[0]
        return (batch, *input_shape[1:])


@register
class Maxout(layers.Layer):
    """The maximum over each group of `pieces` consecutive units (Goodfellow et al. 2013)."""

    def __init__(self, pieces: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pieces = pieces

    def call(self, x):
        return ops.max(ops.reshape(x, (-1, x.shape[-1] // self.pieces, self.pieces)), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] // self.pieces)

    def get_config(self):
        return {**super().get_config(), "pieces": self.pieces}
