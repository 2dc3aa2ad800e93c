import math

import keras
import numpy as np
import pytest

from preprocess.schema import N_COLUMNS, PARENT_INDEX, SLICES, hierarchy_errors
from train.model.heads import DivisiveHead, TreeHead
from train.model.layers import (
    FusedBatchNormalization,
    Maxout,
    MergeParts,
    RandomAffine,
    SurveyLook,
    ViewpointParts,
    central_square,
    transform,
)


def test_divisive_head_is_exact_on_hand_made_logits():
    logits = np.full((1, N_COLUMNS), -1.0, np.float32)
    logits[0, SLICES[1]] = [3.0, 1.0, -2.0]  # smooth 0.75, features 0.25, star clamped to 0
    logits[0, SLICES[2]] = [0.0, 2.0]  # of the features: edge-on 0, not edge-on all
    logits[0, SLICES[6]] = [1.0, 1.0]  # odd: half and half
    floor = 1e-6
    out = keras.ops.convert_to_numpy(DivisiveHead(floor=floor)(logits))[0]

    def expected(values):
        clamped = np.maximum(values, 0) + floor
        return clamped / clamped.sum()

    q1, q2, q6 = expected([3.0, 1.0, -2.0]), expected([0.0, 2.0]), expected([1.0, 1.0])
    np.testing.assert_allclose(out[SLICES[1]], q1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out[SLICES[2]], q2 * q1[1], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out[SLICES[6]], q6, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out[SLICES[7]], np.full(3, 1 / 3) * q1[0], rtol=1e-5)  # all clamped: uniform
    np.testing.assert_allclose(out[SLICES[9]], np.full(3, 1 / 3) * out[PARENT_INDEX[9]], rtol=1e-5, atol=1e-7)
    assert out[SLICES[1]][2] < 1e-6 and out[SLICES[2]][0] < 1e-6  # hard zeros, which a softmax cannot give
    assert hierarchy_errors(out).max() < 1e-6


def test_softmax_tree_head_on_hand_made_logits():
    logits = np.zeros((1, N_COLUMNS), np.float32)
    logits[0, SLICES[1]] = [0.0, math.log(3.0), -50.0]
    out = keras.ops.convert_to_numpy(TreeHead()(logits))[0]
    np.testing.assert_allclose(out[SLICES[1]], [0.25, 0.75, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[SLICES[4]], [0.375 / 2, 0.375 / 2], rtol=1e-5)  # 1/2 of 1/2 of Class1.2


def test_quarter_turns_and_mirrors_move_pixels_exactly():
    images = np.random.default_rng(1).random((2, 10, 10, 3)).astype(np.float32)
    turned = keras.ops.convert_to_numpy(transform(images, math.pi / 2))
    np.testing.assert_allclose(turned, np.rot90(images, 1, axes=(1, 2)), atol=1e-5)
    mirrored = keras.ops.convert_to_numpy(transform(images, 0.0, flip=-1.0))
    np.testing.assert_allclose(mirrored, images[:, :, ::-1], atol=1e-6)


@pytest.mark.parametrize(
    "angle, scale, shift_x, shift_y, flip", [(0.7, 1.2, 1.5, -0.5, -1.0), (2.0, 0.8, 0.0, 2.0, 1.0)]
)
def test_a_turn_cut_to_the_central_box_is_the_centre_of_the_whole_turn(angle, scale, shift_x, shift_y, flip):
    images = np.random.default_rng(4).random((2, 106, 106, 3)).astype(np.float32)
    whole = transform(images, angle, scale, shift_x, shift_y, flip)
    box = transform(images, angle, scale, shift_x, shift_y, flip, side=74)
    assert box.shape == (2, 74, 74, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(box), central_square(whole, 74), atol=1e-4)


def test_a_turn_keeps_the_dtype_of_its_images():
    images = keras.ops.cast(np.random.default_rng(5).random((1, 20, 20, 3)), "bfloat16")
    assert keras.backend.standardize_dtype(transform(images, 0.3, side=14).dtype) == "bfloat16"


def parts_of(images: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(ViewpointParts(view=48, part=32)(images.astype(np.float32)))


def match_parts(a: np.ndarray, b: np.ndarray) -> list[int]:
    """For each part of a, the index of the part of b equal to it (within bilinear round-off)."""
    order = []
    for part in a:
        distances = np.abs(b - part).max(axis=(1, 2, 3))
        assert distances.min() < 1e-3, "a part has no counterpart"
        order.append(int(distances.argmin()))
    return order


@pytest.mark.parametrize("change", ["quarter turn", "half turn", "mirror", "mirror and quarter turn"])
def test_a_turned_or_mirrored_galaxy_gives_the_same_parts_in_another_order(change):
    galaxy = np.random.default_rng(2).random((1, 106, 106, 3)).astype(np.float32)
    changed = {
        "quarter turn": np.rot90(galaxy, 1, axes=(1, 2)),
        "half turn": np.rot90(galaxy, 2, axes=(1, 2)),
        "mirror": galaxy[:, :, ::-1],
        "mirror and quarter turn": np.rot90(galaxy[:, :, ::-1], 1, axes=(1, 2)),
    }[change]
    original, other = parts_of(galaxy), parts_of(np.ascontiguousarray(changed))
    assert original.shape == (16, 32, 32, 3)
    order = match_parts(original, other)
    assert sorted(order) == list(range(16)) and order != list(range(16))


def test_parts_put_the_galaxy_centre_in_the_same_corner():
    """A bright dot at the centre lands at the bottom-right corner region of every part."""
    image = np.zeros((1, 106, 106, 3), np.float32)
    image[0, 50:56, 50:56] = 1.0
    parts = parts_of(image)
    brightest = [np.unravel_index(p[..., 0].argmax(), p.shape[:2]) for p in parts]
    assert all(row >= 32 * 0.65 and col >= 32 * 0.65 for row, col in brightest)


def test_merge_parts_concatenates_each_galaxys_parts_in_order():
    galaxies, parts, width = 3, 16, 2
    features = np.arange(parts * galaxies * width, dtype=np.float32).reshape(parts * galaxies, width)
    merged = keras.ops.convert_to_numpy(MergeParts(parts)(features))
    assert merged.shape == (galaxies, parts * width)
    for g in range(galaxies):
        for k in range(parts):
            np.testing.assert_array_equal(merged[g, k * width : (k + 1) * width], features[k * galaxies + g])
    mean = keras.ops.convert_to_numpy(MergeParts(parts, mode="mean")(features))
    np.testing.assert_allclose(mean, features.reshape(parts, galaxies, width).mean(axis=0))


def test_maxout_takes_the_maximum_of_each_pair():
    x = np.array([[1.0, 5.0, -2.0, -3.0]], np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(Maxout(2)(x)), [[5.0, -2.0]])


def paired_batch_normalizations():
    """Keras's batch normalisation and the fused one, with the same (not the initial) scales and offsets."""
    pair = keras.layers.BatchNormalization(momentum=0.9), FusedBatchNormalization(momentum=0.9)
    for layer in pair:
        layer.build((None, 5, 5, 16))
        layer.gamma.assign(np.linspace(0.5, 2.0, 16))
        layer.beta.assign(np.linspace(-1.0, 1.0, 16))
    return pair


def test_fused_batch_normalization_trains_as_keras_does():
    """The same outputs and the same moving statistics (the batch's own variance, not the unbiased one) while
    training; the same outputs from them afterwards."""
    images = np.random.default_rng(0).normal(2.0, 3.0, (8, 5, 5, 16)).astype(np.float32)
    keras_own, fused = paired_batch_normalizations()
    for training in (True, True, False):
        np.testing.assert_allclose(fused(images, training=training), keras_own(images, training=training), atol=1e-5)
        np.testing.assert_allclose(fused.moving_mean, keras_own.moving_mean, rtol=1e-6)
        np.testing.assert_allclose(fused.moving_variance, keras_own.moving_variance, rtol=1e-6)


def test_frozen_fused_batch_normalization_uses_and_keeps_its_moving_statistics():
    images = np.random.default_rng(0).normal(2.0, 3.0, (8, 5, 5, 16)).astype(np.float32)
    keras_own, fused = paired_batch_normalizations()
    fused.trainable = False
    np.testing.assert_allclose(fused(images, training=True), keras_own(images, training=False), atol=1e-5)
    np.testing.assert_array_equal(fused.moving_mean, np.zeros(16))
    np.testing.assert_array_equal(fused.moving_variance, np.ones(16))


def test_random_affine_is_the_identity_outside_training_and_varies_inside():
    images = np.random.default_rng(3).random((4, 20, 20, 3)).astype(np.float32)
    layer = RandomAffine(seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)), images)
    first = keras.ops.convert_to_numpy(layer(images, training=True))
    second = keras.ops.convert_to_numpy(layer(images, training=True))
    assert first.shape == images.shape and not np.allclose(first, images) and not np.allclose(first, second)


def test_random_affine_with_a_side_gives_the_central_square_outside_training_and_a_turned_one_inside():
    images = np.random.default_rng(3).random((4, 20, 20, 3)).astype(np.float32)
    layer = RandomAffine(side=14, seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)), images[:, 3:17, 3:17])
    turned = keras.ops.convert_to_numpy(layer(images, training=True))
    assert turned.shape == (4, 14, 14, 3) and not np.allclose(turned, images[:, 3:17, 3:17])
    assert layer.compute_output_shape((None, 20, 20, 3)) == (None, 14, 14, 3)


def test_the_mirror_flip_is_never_zero(monkeypatch):
    """Every random draw at the middle of its range (where sign(uniform(-1, 1)) would give a flip of 0 and flatten
    the image): a half turn, no zoom, no shift, no mirror, unit brightness."""
    monkeypatch.setattr(
        keras.random, "uniform", lambda shape, low, high, seed=None: keras.ops.full(shape, (low + high) / 2)
    )
    images = np.random.default_rng(2).random((2, 10, 10, 3)).astype(np.float32)
    out = keras.ops.convert_to_numpy(RandomAffine(zoom=1.3)(images, training=True))
    np.testing.assert_allclose(out, np.rot90(images, 2, axes=(1, 2)), atol=1e-5)


def looks(layer: SurveyLook, image: np.ndarray, n: int = 64) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer(np.repeat(image[None], n, axis=0), training=True))


def test_survey_look_passes_images_as_they_are_outside_training():
    images = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(SurveyLook(seed=1)(images)), images)


def test_survey_look_stretches_by_powers_within_its_range():
    out = looks(SurveyLook(stretch=2.0, balance=0.0, saturation=0.0, seed=1), np.full((4, 4, 3), 0.25, np.float32))
    powers = np.log(out[:, 0, 0, 0]) / np.log(0.25)
    assert powers.min() >= 0.5 - 1e-4 and powers.max() <= 2.0 + 1e-4
    assert powers.min() < 0.7 and powers.max() > 1.4  # both ways: brighter and darker faint light
    assert np.ptp(out, axis=(1, 2, 3)).max() < 1e-6  # one power per image, every pixel and channel alike


def test_survey_look_balances_and_saturates_colours_within_their_ranges():
    grey = np.full((4, 4, 3), 0.5, np.float32)
    gains = looks(SurveyLook(stretch=1.0, balance=0.15, saturation=0.0, seed=2), grey)[:, 0, 0] / 0.5
    spread = gains - gains.mean(axis=1, keepdims=True)
    assert gains.min() >= 0.85 - 1e-4 and gains.max() <= 1.15 + 1e-4
    assert np.abs(spread).max() > 0.05  # channels scaled apart
    colour = np.tile(np.array([0.6, 0.5, 0.4], np.float32), (4, 4, 1))
    out = looks(SurveyLook(stretch=1.0, balance=0.0, saturation=0.6, seed=3), colour)[:, 0, 0]
    factors = (out[:, 0] - out.mean(axis=1)) / 0.1
    assert factors.min() >= 0.4 - 1e-4 and factors.max() <= 1.6 + 1e-4
    assert factors.min() < 0.6 and factors.max() > 1.4
