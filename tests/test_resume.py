"""Where resuming can go wrong: a kill -9 between an epoch's history row and its backup, the batches a resumed run
sees, and early stopping beside the best-model and backup callbacks."""

import csv
import json

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from preprocess.cache import Cache
from tests.helpers import paused_command
from train.cli import main
from train.config import FitConfig
from train.fitting import fit as fit_module
from train.fitting.callbacks import backup_state
from train.fitting.dataset import ShardDataset
from train.fitting.fit import fit
from train.prediction.inference import load_models, predict_split
from train.runs import Run
from train.scores import rmse

# CSVLogger has written the epoch's history row; the checkpoint and the backup come after it
HISTORY_ROW_WRITTEN = "keras.callbacks:CSVLogger.on_epoch_end"


def history_epochs(run: Run) -> list[int]:
    return [int(row["epoch"]) for row in run.history_rows()]


def test_a_kill_9_between_the_history_row_and_the_backup_redoes_that_epoch_once(small_cache, tmp_path):
    run = Run(tmp_path / "run")
    args = ["fit", "--cache", str(small_cache), "--run", str(run.folder), "--epochs", "3", "--batch", "16"]
    process = paused_command(tmp_path / "paused", HISTORY_ROW_WRITTEN, 2, "train", *args)
    process.kill()
    process.wait()
    # killed mid-way through the second epoch's end: its row is written, its backup is not
    assert history_epochs(run) == [0, 1] and backup_state(run.backup)["epoch"] == 1
    assert not json.loads(run.config.read_text()).get("finished")
    rerun = CliRunner().invoke(main, args)
    assert rerun.exit_code == 0, rerun.output
    assert "Epoch 2/3" in rerun.output and "Epoch 1/3" not in rerun.output
    assert history_epochs(run) == [0, 1, 2]  # the second epoch once, as trained the second time
    # model.keras is the best epoch of the whole history, not the best since the resume
    best = min(float(row["val_rmse"]) for row in run.history_rows())
    cache = Cache.open(small_cache)
    _, predictions = predict_split(load_models([run.folder], cache), cache, "valid", tta=1, progress=False)
    assert rmse(predictions, cache.read("valid", ("labels",))["labels"]) == pytest.approx(best, abs=2e-3)
    assert json.loads(run.config.read_text())["best_val_rmse"] == pytest.approx(best)


@pytest.fixture
def served(monkeypatch):
    """The training batches model.fit asks for: (epoch, batch, the runs of rows it reads)."""
    seen = []
    original = ShardDataset.__getitem__

    def recording(self, index):
        if self.split == "train":
            seen.append((self.epoch, index, tuple(self.plan[index])))
        return original(self, index)

    monkeypatch.setattr(ShardDataset, "__getitem__", recording)
    return seen


class Interrupt(keras.callbacks.Callback):
    """Ctrl-C as the given epoch ends, after every callback of fit has written it."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def with_callback(monkeypatch, extra: keras.callbacks.Callback, first: bool = False) -> None:
    chosen = fit_module.callbacks

    def extended(*args, **kwargs):
        made = chosen(*args, **kwargs)
        return [extra, *made] if first else [*made, extra]

    monkeypatch.setattr(fit_module, "callbacks", extended)


def test_a_resumed_run_sees_the_batches_the_uninterrupted_run_would_have(small_cache, tmp_path, served, monkeypatch):
    """The last epoch's six batches, resumed after the first epoch or trained without a stop, read the same rows
    (Keras peeks at two batches before training starts: those are not compared)."""
    config = FitConfig(epochs=2, batch=16, seed=5)
    fit(small_cache, tmp_path / "whole", config, verbose=0)
    whole = sorted(served[-6:])
    served.clear()
    with monkeypatch.context() as patch:
        with_callback(patch, Interrupt(epoch=0))
        with pytest.raises(KeyboardInterrupt):
            fit(small_cache, tmp_path / "resumed", config, verbose=0)
    before_resume = {s[0] for s in served}
    served.clear()
    fit(small_cache, tmp_path / "resumed", config, verbose=0)
    assert len(served) == 6 + 2  # the second epoch trained after the resume, and the peek
    assert sorted(served[-6:]) == whole
    assert not {s[0] for s in served[-6:]} & before_resume  # not an epoch that was trained before the stop


class ScriptedScore(keras.callbacks.Callback):
    """Replaces each epoch's val_rmse by a scripted one, before the other callbacks read it, and keeps each
    epoch's weights."""

    def __init__(self, scores: list[float]):
        super().__init__()
        self.scores, self.weights = scores, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_rmse"] = self.scores[epoch]
        self.weights.append([w.copy() for w in self.model.get_weights()])


def test_early_stopping_keeps_the_best_epoch_in_the_model_and_removes_the_backup(small_cache, tmp_path, monkeypatch):
    run = Run(tmp_path / "run")
    scripted = ScriptedScore([0.5, 0.3, 0.4, 0.45, 0.2, 0.1])
    with_callback(monkeypatch, scripted, first=True)
    result = fit(small_cache, run.folder, FitConfig(epochs=6, batch=16, patience=2), verbose=0)
    # epochs 3 and 4 did not beat epoch 2 (0.3): stopped after epoch 4
    assert history_epochs(run) == [0, 1, 2, 3] and result.epochs == 4
    assert [float(row["val_rmse"]) for row in run.history_rows()] == pytest.approx([0.5, 0.3, 0.4, 0.45])
    assert result.best_val_rmse == pytest.approx(0.3)
    saved = keras.models.load_model(run.model).get_weights()
    for kept, best in zip(saved, scripted.weights[1]):
        np.testing.assert_array_equal(kept, best)
    assert not any(np.array_equal(a, b) for a, b in zip(saved, scripted.weights[3]) if a.size > 1)
    assert not run.backup.exists()
    with open(run.history, newline="") as f:
        assert len(list(csv.reader(f))) == 5  # the header and one row per epoch trained, no more
