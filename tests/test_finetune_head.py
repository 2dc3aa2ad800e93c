"""The new head of `train finetune`: where it starts, what standardises its inputs, which phase `auto` keeps."""

import numpy as np
import pytest

from train.finetuning.data import held_out, read_labels
from train.runs import Run


def test_the_head_standardises_by_the_training_part_of_the_labels_alone(
    kaggle_dir, trained_run, smooth_or_not, tmp_path
):
    import keras

    from train.config import FinetuneConfig
    from train.finetuning.finetune import finetune

    config = FinetuneConfig(epochs=1, compare=False, valid=0.3)
    finetune(trained_run, smooth_or_not, tmp_path / "run", config, kaggle_dir, verbose=0)
    labelled = read_labels(smooth_or_not, kaggle_dir, 0.5, 106)
    train_rows, held_rows = held_out(labelled, config.valid, config.seed)
    source = keras.models.load_model(Run(trained_run).model)
    dense = next(layer for layer in source.layers if isinstance(layer, keras.layers.Dense))
    features = keras.Model(source.input, dense.input).predict(labelled.images, verbose=0).astype(np.float64)
    model = keras.models.load_model(Run(tmp_path / "run").model)
    mean = np.asarray(model.get_layer("standardise").mean).ravel()
    np.testing.assert_allclose(mean, features[train_rows].mean(axis=0), rtol=1e-4, atol=1e-5)
    assert not np.allclose(mean, features.mean(axis=0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("lr, unfreeze_lr, expected", [(1e-2, 0.1, "head alone"), (0.0, 1e-5, "unfrozen")])
def test_auto_keeps_the_model_with_the_lower_held_out_loss(
    kaggle_dir, trained_run, smooth_or_not, tmp_path, lr, unfreeze_lr, expected
):
    """Unfreezing the whole of a one-epoch trunk at 0.1 wrecks it (its held-out loss jumps several times over),
    and a head trained at rate 0 learns nothing (it stays at its zero start, an even split): either way the other
    phase is the better one."""
    import keras

    from train.config import FinetuneConfig
    from train.finetuning.finetune import train
    from train.finetuning.head import with_new_head

    labelled = read_labels(smooth_or_not, kaggle_dir, 0.5, 106)
    targets = labelled.task.targets(labelled.values)
    held = (labelled.images[96:], targets[96:])
    data = {"x": labelled.images[:96], "y": targets[:96], "validation_data": held}
    model = with_new_head(keras.models.load_model(Run(trained_run).model), labelled.task, labelled.images[:96])
    config = FinetuneConfig(unfreeze="auto", epochs=6, patience=None, lr=lr, unfreeze_lr=unfreeze_lr)
    epochs, kept = train(model, Run(tmp_path), labelled.task, config, data, verbose=0)
    losses = [float(row["val_loss"]) for row in Run(tmp_path).history_rows()]
    assert epochs == 6 and kept == expected
    saved = keras.models.load_model(Run(tmp_path).model)
    assert saved.evaluate(*held, verbose=0)[0] == pytest.approx(min(losses), rel=1e-4)


def test_a_new_head_starts_at_the_mean(kaggle_dir, trained_run, smooth_or_not):
    """Before training, the head predicts an even split (the labels' mean, for numbers): early stopping can then
    keep a head that learned little, never one that starts far from the mean."""
    import keras

    from train.finetuning.head import with_new_head

    labelled = read_labels(smooth_or_not, kaggle_dir, 0.5, 106)
    model = with_new_head(keras.models.load_model(Run(trained_run).model), labelled.task, labelled.images)
    np.testing.assert_allclose(model.predict_on_batch(labelled.images[:16]), 0.5, atol=1e-6)
