from dataclasses import replace

import keras
import numpy as np
import pytest

from preprocess.schema import hierarchy_errors
from train.config import RECIPES
from train.fitting.fit import compiled_model
from train.model.models import build_model

SHAPE = (106, 106, 3)


def random_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *SHAPE), dtype=np.uint8)


@pytest.mark.parametrize(
    "name, head", [("centre", "tree"), ("compact", "divisive"), ("viewpoints", "divisive"), ("centre-context", "tree")]
)
def test_tree_heads_obey_the_tree_for_random_weights_and_inputs(name, head):
    for seed in range(2):
        keras.utils.set_random_seed(seed)
        predictions = build_model(name, head, SHAPE).predict(random_images(16, seed), verbose=0)
        assert predictions.shape == (16, 37)
        assert hierarchy_errors(predictions).max() < 1e-5
        assert predictions.min() >= 0 and predictions.max() <= 1 + 1e-6


@pytest.mark.parametrize(
    "name, head",
    [("centre", "tree"), ("compact", "divisive"), ("viewpoints", "tree"), ("centre-context", "tree")],
)
def test_models_save_and_load(tmp_path, name, head):
    model = build_model(name, head, SHAPE, augment=True)
    images = random_images(2)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_compact_is_small():
    assert build_model("compact", "sigmoid", SHAPE).count_params() < 1_000_000


def test_merging_parts_by_mean_keeps_the_viewpoint_model_small():
    concatenated = build_model("viewpoints", "divisive", SHAPE).count_params()
    assert build_model("viewpoints-mean", "divisive", SHAPE).count_params() < concatenated / 4


def dropout_rates(model: keras.Model) -> list[float]:
    return [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


@pytest.mark.parametrize("recipe, rates", [("default", [0.0]), ("winner", [0.1, 0.1, 0.1])])
def test_a_recipes_dropout_is_its_dense_layers(recipe, rates):
    assert dropout_rates(compiled_model(RECIPES[recipe], SHAPE)) == rates
    assert dropout_rates(compiled_model(replace(RECIPES[recipe], dropout=0.3), SHAPE)) == [0.3] * len(rates)


def decayed_by_one_step(config) -> dict[str, set[float]]:
    """The factors each kind of variable is multiplied by in one optimizer step with zero gradients, where only
    weight decay moves weights (1.0: unchanged)."""
    model = compiled_model(config, SHAPE)
    variables = model.trainable_variables
    before = [v.numpy().astype(np.float64) for v in variables]
    model.optimizer.apply([keras.ops.zeros_like(v) for v in variables], variables)
    factors = {}
    for variable, old in zip(variables, before):
        new, moved = variable.numpy().astype(np.float64), old != 0
        factor = {1.0} if np.array_equal(new, old) else set(np.round(new[moved] / old[moved], 5).tolist())
        factors.setdefault(variable.name, set()).update(factor)
    return factors


def test_weight_decay_shrinks_the_kernels_alone():
    decayed = decayed_by_one_step(replace(RECIPES["default"], weight_decay=0.5, lr=0.1))
    assert decayed == {"kernel": {0.95}, "bias": {1.0}, "gamma": {1.0}, "beta": {1.0}}
    default = RECIPES["default"]
    assert decayed_by_one_step(default)["kernel"] == {round(1.0 - default.lr * default.weight_decay, 5)} != {1.0}
    for recipe in ("winner", "seed"):
        assert set().union(*decayed_by_one_step(RECIPES[recipe]).values()) == {1.0}


def test_vgg16_has_the_seed_layout_and_trains_one_step():
    model = compiled_model(RECIPES["seed"], SHAPE)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 5
    dense = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [4096, 4096, 37]
    assert dropout_rates(model) == [0.5, 0.5]
    losses = model.train_on_batch(np.zeros((2, *SHAPE), np.uint8), np.full((2, 37), 0.5, np.float32))
    assert np.isfinite(losses).all()


def test_models_take_the_image_size_of_the_cache():
    for name in ("compact", "centre", "viewpoints"):
        model = build_model(name, "tree", (64, 64, 3))
        assert model.predict(np.zeros((2, 64, 64, 3), np.uint8), verbose=0).shape == (2, 37)


def test_augmentation_is_inside_the_model_and_only_while_training():
    """In inference the augmented model predicts what the same weights predict without augmentation."""
    augmented = build_model("compact", "tree", SHAPE, augment=True)
    plain = build_model("compact", "tree", SHAPE, augment=False)
    assert "augment" in [layer.name for layer in augmented.layers]
    assert "augment" not in [layer.name for layer in plain.layers]
    plain.set_weights([w for layer in augmented.layers if layer.name != "augment" for w in layer.get_weights()])
    images = random_images(4)
    np.testing.assert_allclose(augmented.predict(images, verbose=0), plain.predict(images, verbose=0), atol=1e-6)
    assert not np.allclose(augmented.get_layer("augment")(images / 255.0, training=True), images / 255.0)


def apparent_radius(images: np.ndarray) -> np.ndarray:
    """Root mean square distance of the light from its centroid, per image (a shift does not change it)."""
    light = images.sum(axis=-1)
    total = light.sum(axis=(1, 2))
    y, x = np.indices(light.shape[1:])
    cy, cx = (
        ((light * y).sum(axis=(1, 2)) / total)[:, None, None],
        ((light * x).sum(axis=(1, 2)) / total)[:, None, None],
    )
    return np.sqrt((light * ((x - cx) ** 2 + (y - cy) ** 2)).sum(axis=(1, 2)) / total)


def test_the_default_augmentation_keeps_a_galaxy_s_apparent_size_and_zoom_changes_it():
    y, x = np.indices(SHAPE[:2]) - (SHAPE[0] - 1) / 2
    blob = np.exp(-(x**2 + (y / 0.5) ** 2) / (2 * 8.0**2))  # an elongated galaxy: rotations move its pixels
    images = np.repeat((blob[None, :, :, None] * np.ones(3))[None, 0], 32, axis=0).astype("float32")
    radius = apparent_radius(images)[0]
    turned = keras.ops.convert_to_numpy(
        build_model("centre", "tree", SHAPE, augment=True).get_layer("augment")(images, training=True)
    )
    zoomed = build_model("centre", "tree", SHAPE, augment=True, zoom=1.3).get_layer("augment")(images, training=True)
    np.testing.assert_allclose(apparent_radius(turned), radius, rtol=0.02)
    assert np.ptp(apparent_radius(keras.ops.convert_to_numpy(zoomed))) > 0.2 * radius
    assert turned.shape == (32, 74, 74, 3)  # the central box, cut out by the same resampling
    assert not np.allclose(turned, images[:, 16:90, 16:90], atol=0.05)  # it did turn the galaxy


def test_the_context_model_sees_what_lies_outside_the_central_box():
    """Light only outside the central box changes centre-context's predictions, not centre's."""
    images = random_images(2)
    outside = images.copy()
    outside[:, :10] = 255  # a bright band along the top, outside the 74-pixel central box
    for name, changes in (("centre", False), ("centre-context", True)):
        keras.utils.set_random_seed(0)
        model = build_model(name, "tree", SHAPE)
        difference = np.abs(model.predict(outside, verbose=0) - model.predict(images, verbose=0)).max()
        assert (difference > 1e-6) == changes, name


def test_the_winner_network_has_no_normalisation_and_his_initialisation():
    model = build_model("viewpoints", "divisive", SHAPE)
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [round(float(np.std(c.kernel.numpy())), 3) for c in convolutions] == [0.01, 0.01, 0.1]
    assert all(np.allclose(c.bias.numpy(), 0.1) for c in convolutions)
    assert np.allclose(model.get_layer("logits").bias.numpy(), 0.1)
