import keras
import numpy as np

from preprocess.schema import hierarchy_errors
from train.models import build_model


def test_tree_head_obeys_the_tree_for_random_weights_and_inputs():
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        model = build_model("compact", "tree")
        images = np.random.default_rng(seed).integers(0, 256, (16, 106, 106, 3), dtype=np.uint8)
        predictions = model.predict(images, verbose=0)
        assert predictions.shape == (16, 37)
        assert hierarchy_errors(predictions).max() < 1e-6
        assert predictions.min() >= 0 and predictions.max() <= 1


def test_tree_model_saves_and_loads(tmp_path):
    model = build_model("compact", "tree")
    images = np.zeros((2, 106, 106, 3), np.uint8)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_compact_is_small():
    assert build_model("compact", "sigmoid").count_params() < 1_000_000


def test_vgg16_has_the_seed_layout_and_trains_one_step():
    model = build_model("vgg16", "sigmoid")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 5
    dense = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [4096, 4096, 37]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.5, 0.5]
    model.compile(optimizer=keras.optimizers.RMSprop(1e-6), loss="mse")
    images = np.zeros((2, 106, 106, 3), np.uint8)
    loss = model.train_on_batch(images, np.full((2, 37), 0.5, np.float32))
    assert np.isfinite(loss)
