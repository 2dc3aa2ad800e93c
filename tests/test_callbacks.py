"""The training callbacks that watch and steer: collapse, the divisive head's warm-up, the averaged weights, the
curves."""

import keras
import numpy as np
import pytest

from preprocess.cache import Cache
from train.fitting import callbacks
from train.fitting.callbacks import Backup, BestModel, CollapseWatch, PlotCurves, WarmUp, backup_state
from train.model.heads import DivisiveHead, TreeHead
from train.model.models import build_model
from train.runs import Run

SHAPE = (106, 106, 3)


def images(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, *SHAPE), dtype=np.uint8)


def test_the_collapse_watch_names_the_questions_a_model_predicts_as_constants(capsys):
    """The tree head alone, fed logits that vary from galaxy to galaxy: nothing is constant until columns are
    made so on purpose."""
    model = keras.Sequential([keras.Input((37,)), TreeHead()])
    logits = np.random.default_rng(1).normal(0.0, 1.0, (24, 37)).astype(np.float32)
    watch = CollapseWatch(logits)
    watch.set_model(model)
    logs = {}
    watch.on_epoch_end(0, logs)
    assert logs["collapsed_questions"] == 0 and capsys.readouterr().err == ""
    watch.images = logits.copy()
    watch.images[:, 13:15] = logits[0, 13:15]  # Q6's logits the same for every galaxy: a constant answer
    watch.on_epoch_end(4, logs)
    assert logs["collapsed_questions"] == 1
    assert "epoch 5: Q6 predicted constant over 24 validation galaxies" in capsys.readouterr().err
    watch.images = np.repeat(logits[:1], 24, axis=0)  # every galaxy the same: every answer constant
    watch.on_epoch_end(5, logs)
    assert logs["collapsed_questions"] == 11 and "Q1, Q2, Q3" in capsys.readouterr().err


def test_the_warm_up_switches_at_the_step_it_says():
    """48 images in batches of 16: the head clips its outputs for steps 0-2 and divides from step 3 on, across
    epochs (here epochs of 2 steps)."""
    keras.utils.set_random_seed(0)
    model = build_model("compact", "divisive", SHAPE)
    model.compile(optimizer="adam", loss="mse")
    head = next(layer for layer in model.layers if isinstance(layer, DivisiveHead))
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(head.warming.numpy()))

    x, y = images(32), np.full((32, 37), 0.1, np.float32)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[WarmUp(48, 16), Record()])
    assert seen == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    logits = np.array([[2.0, -0.5, 0.3] + [0.2] * 34], np.float32)
    head.warming.assign(1.0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head(logits))[0, :3], [1.0, 0.0, 0.3], atol=1e-6)
    head.warming.assign(0.0)
    assert abs(float(keras.ops.convert_to_numpy(head(logits))[0, :3].sum()) - 1.0) < 1e-5


def averaging_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = build_model("compact", "tree", SHAPE)
    model.compile(optimizer=keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=0.9), loss="mse")
    return model


class Interrupted(Backup):
    """A backup whose training is interrupted as the third epoch begins (as by Ctrl-C), the validation losses
    noted."""

    losses: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self.losses.append(logs["val_loss"])

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


def test_averaged_weights_are_validated_saved_and_resumed(small_cache, tmp_path):
    """With an average of the weights (--ema), validation and model.keras see the average, and a resumed run
    starts again from the latest weights with the average it had: the first thing it validates is what the
    interrupted run validated last."""
    cache = Cache.open(small_cache)
    train, valid = cache.read("train", ("images", "labels")), cache.read("valid", ("images", "labels"))
    data = {"x": train["images"], "y": train["labels"], "validation_data": (valid["images"], valid["labels"])}
    model, folder = averaging_model(), tmp_path / "averaged"
    averaging = keras.callbacks.SwapEMAWeights(swap_on_epoch=True)
    best = BestModel(tmp_path / "best.keras", monitor="val_loss")
    interrupted = Interrupted(folder, averaging)
    with pytest.raises(KeyboardInterrupt):
        model.fit(**data, batch_size=16, epochs=3, verbose=0, callbacks=[averaging, best, interrupted])
    last = interrupted.losses[-1]
    saved = keras.models.load_model(tmp_path / "best.keras")
    assert saved.evaluate(valid["images"], valid["labels"], verbose=0) == pytest.approx(
        min(interrupted.losses), rel=1e-4
    )
    assert backup_state(folder) == {"epoch": 2, "weights": "after-epoch-2.weights.h5", "averaged_in_model": True}
    resumed, averaging = averaging_model(seed=1), keras.callbacks.SwapEMAWeights(swap_on_epoch=True)
    resumed.fit(**data, batch_size=16, epochs=0, verbose=0)  # builds the optimizer, as fit does before callbacks
    backup = Backup(folder, averaging)
    for callback in (backup, averaging):
        callback.set_model(resumed)
    backup.on_train_begin()
    averaging.on_epoch_begin(2)  # the resumed epoch begins: the latest weights in the model, the average aside
    assert resumed.evaluate(valid["images"], valid["labels"], verbose=0, callbacks=[averaging]) == pytest.approx(
        last, rel=1e-4
    )


def test_the_curves_are_drawn_after_the_first_epoch_then_at_most_every_so_often_and_at_the_end(monkeypatch, tmp_path):
    drawn = []
    monkeypatch.setattr(callbacks, "plot_curves", lambda history, out, metric: drawn.append(out))
    curves = PlotCurves(Run(tmp_path), every=3600.0)
    for epoch in range(3):
        curves.on_epoch_end(epoch)
    assert len(drawn) == 1
    curves.on_train_end()
    assert len(drawn) == 2
    curves = PlotCurves(Run(tmp_path), every=0.0)
    for epoch in range(3):
        curves.on_epoch_end(epoch)
    assert len(drawn) == 5
