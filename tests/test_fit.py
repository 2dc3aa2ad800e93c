import csv
import json
import os
import signal
import time

import numpy as np
import pytest
from click.testing import CliRunner

from preprocess.cache import Cache
from preprocess.lock import exclusive
from preprocess.schema import hierarchy_errors
from tests.helpers import disk_full, python_module
from train.callbacks import AtomicBackupAndRestore, AtomicCheckpoint
from train.cli import main
from train.dataset import ShardDataset
from train.evaluate import rmse
from train.fit import RunError, fit
from train.predict import load_models, predict
from train.recipes import MAX_EPOCHS, FitConfig, configure

TINY = FitConfig(epochs=2, batch=16, patience=2)


def history_epochs(run):
    with open(run / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_fit_writes_the_run_folder(small_cache, tmp_path):
    run = tmp_path / "run"
    result = fit(small_cache, run, TINY, verbose=0)
    assert result.epochs == 2 and result.best_val_rmse > 0
    assert history_epochs(run) == [0, 1]
    for name in ("model.keras", "curves.png", "config.json"):
        assert (run / name).stat().st_size > 0, name
    config = json.loads((run / "config.json").read_text())
    assert config["finished"] and config["config"]["model"] == "centre" and len(config["manifest_sha256"]) == 64
    assert not (run / "backup").exists()
    with pytest.raises(RunError, match="already holds a finished run; pass --overwrite"):
        fit(small_cache, run, TINY, verbose=0)


def test_kill_9_during_fit_then_rerun_resumes(small_cache, tmp_path):
    run = tmp_path / "run"
    args = ["train", "fit", "--cache", str(small_cache), "--run", str(run), "--epochs", "4", "--batch", "16"]
    process = python_module(*args)
    deadline = time.time() + 240
    while not ((run / "history.csv").exists() and len(history_epochs(run)) >= 2):
        assert time.time() < deadline and process.poll() is None, "fit did not finish an epoch"
        time.sleep(0.2)
    process.kill()
    process.wait()
    done = len(history_epochs(run))
    rerun = python_module(*args)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert f"Epoch {done + 1}/4" in output and "Epoch 1/4" not in output
    assert history_epochs(run) == [0, 1, 2, 3]
    # model.keras is the best epoch of the whole history, not the best since the resume
    with open(run / "history.csv", newline="") as f:
        best = min(float(row["val_rmse"]) for row in csv.DictReader(f))
    cache = Cache.open(small_cache)
    _, predictions = predict(load_models([run], cache), cache, "valid", tta=1, progress=False)
    assert rmse(predictions, cache.read("valid", ("labels",))["labels"]) == pytest.approx(best, abs=2e-3)
    assert json.loads((run / "config.json").read_text())["best_val_rmse"] == pytest.approx(best)


def test_fit_refuses_a_missing_cache_and_a_changed_one(small_cache, tmp_path):
    result = CliRunner().invoke(main, ["fit", "--cache", str(tmp_path / "nothing"), "--run", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--cache" in result.output and "make preprocess" in result.output
    run = tmp_path / "run"
    (run).mkdir()
    (run / "config.json").write_text(json.dumps({"config": {}, "manifest_sha256": "0" * 64}))
    with pytest.raises(RunError, match="the cache changed since"):
        fit(small_cache, run, TINY, verbose=0)


def test_fit_rejects_bad_options(small_cache, tmp_path):
    for option, value in (("--epochs", "0"), ("--batch", "-1"), ("--lr", "0")):
        args = ["fit", "--cache", str(small_cache), "--run", str(tmp_path / "r"), option, value]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and option in result.output


def test_nan_loss_stops_with_a_clear_error(small_cache, tmp_path, monkeypatch):
    serve = ShardDataset.__getitem__

    def poisoned(self, index):
        """Training batches carry a NaN label, so the loss is NaN whatever the platform's arithmetic."""
        images, labels = serve(self, index)
        if self.split == "train":
            labels = labels.copy()
            labels[0, 0] = np.nan
        return images, labels

    monkeypatch.setattr(ShardDataset, "__getitem__", poisoned)
    with pytest.raises(RunError, match="the loss became NaN at epoch 1; try a lower --lr"):
        fit(small_cache, tmp_path / "run", FitConfig(epochs=3, batch=16), verbose=0)


def test_ctrl_c_during_fit_then_rerun_resumes(small_cache, tmp_path):
    run = tmp_path / "run"
    args = ["train", "fit", "--cache", str(small_cache), "--run", str(run), "--epochs", "3", "--batch", "16"]
    process = python_module(*args)
    deadline = time.time() + 240
    while not ((run / "history.csv").exists() and history_epochs(run)):
        assert time.time() < deadline and process.poll() is None, "fit did not finish an epoch"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output[-2000:]
    assert "rerun the same command to continue" in output and "Traceback" not in output
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp.keras")]
    rerun = python_module(*args)
    assert rerun.wait(timeout=300) == 0
    assert history_epochs(run) == [0, 1, 2]


def test_disk_full_while_saving_a_checkpoint(small_cache, tmp_path, monkeypatch):
    import keras

    run_dir = tmp_path / "run"
    args = ["fit", "--cache", str(small_cache), "--run", str(run_dir), "--epochs", "1", "--batch", "16"]
    monkeypatch.setattr(keras.Model, "save", disk_full)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert not (run_dir / "model.keras").exists() and not list(run_dir.glob(".*tmp*"))
    monkeypatch.undo()
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (run_dir / "model.keras").exists()


def test_second_fit_on_the_same_run_is_refused(small_cache, tmp_path):
    run_dir = tmp_path / "run"
    with exclusive(run_dir, "python -m train fit"):
        result = CliRunner().invoke(main, ["fit", "--cache", str(small_cache), "--run", str(run_dir)])
    assert result.exit_code == 1 and "is in use by `python -m train fit` (pid" in result.output


def learning_rates(run):
    with open(run / "history.csv", newline="") as f:
        return [float(row["learning_rate"]) for row in csv.DictReader(f)]


def test_step_schedule_divides_the_rate_by_ten_at_72_and_92_percent(small_cache, tmp_path):
    config = FitConfig(epochs=13, batch=64, schedule="steps", lr=1e-3, patience=None, augment=False)
    fit(small_cache, tmp_path / "run", config, verbose=0)
    # epoch e starts at e/13 of training: 10/13 = 0.77 passes 0.72, 12/13 = 0.92 passes 0.92
    assert learning_rates(tmp_path / "run") == pytest.approx([1e-3] * 10 + [1e-4] * 2 + [1e-5])


def test_a_time_budget_stops_after_the_epoch_that_passes_it(small_cache, tmp_path):
    """A budget shorter than any epoch: training stops after the first, whatever the machine's speed."""
    config = configure("default", minutes=1e-6, batch=64)
    assert config.epochs == MAX_EPOCHS
    result = fit(small_cache, tmp_path / "run", config, verbose=0)
    assert result.epochs == 1 and history_epochs(tmp_path / "run") == [0]


def test_keras_still_calls_the_private_hooks_that_make_saving_atomic(small_cache, tmp_path, monkeypatch):
    """AtomicCheckpoint and AtomicBackupAndRestore override private Keras methods; a Keras release that
    renamed them would silently write files the non-atomic way. This fails first."""
    calls = []
    for cls in (AtomicCheckpoint, AtomicBackupAndRestore):

        def spy(self, *args, _original=cls._save_model, _name=cls.__name__, **kwargs):
            calls.append(_name)
            if _name == "AtomicBackupAndRestore":  # the names Keras restores from
                assert self._weights_path.endswith(".weights.h5") and self._training_metadata_path
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "_save_model", spy)
    fit(small_cache, tmp_path / "run", FitConfig(epochs=2, batch=64, augment=False), verbose=0)
    assert calls.count("AtomicCheckpoint") >= 1 and calls.count("AtomicBackupAndRestore") == 2


@pytest.mark.parametrize(
    "options",
    [{"precision": "mixed"}, {"jit": True, "augment": False}, {"loader_workers": 2}, {"tensorboard": True}],
)
def test_gpu_and_loader_options_train_save_and_load(small_cache, tmp_path, options):
    """On the CPU: mixed precision, XLA, two loader processes and TensorBoard logs train, save and load."""
    run = tmp_path / "run"
    fit(small_cache, run, FitConfig(epochs=1, batch=32, **options), verbose=0)
    cache = Cache.open(small_cache)
    _, predictions = predict(load_models([run], cache), cache, "valid", tta=1, progress=False)
    assert np.isfinite(predictions).all() and predictions.dtype == np.float32
    assert hierarchy_errors(predictions).max() < 1e-5
    if options.get("tensorboard"):
        assert list((run / "logs").rglob("*.tfevents.*"))
