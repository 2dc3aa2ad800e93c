import csv
import json
import os
import shlex
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from preprocess.cache import Cache
from preprocess.lock import exclusive
from preprocess.schema import hierarchy_errors
from tests.helpers import disk_full, paused_command
from train.cli import main
from train.cli.fit import retry_command
from train.config import MAX_EPOCHS, FitConfig, configure
from train.fitting.callbacks import backup_state
from train.fitting.fit import LossNotFinite, fit
from train.prediction.inference import load_models, predict_split
from train.runs import Run, RunError
from train.scores import rmse

TINY = FitConfig(epochs=2, batch=16, patience=2)
# an epoch's last callback: once it has run, the epoch's history row, checkpoint and backup are written
EPOCH_END = "train.fitting.callbacks:PlotCurves.on_epoch_end"


def history_epochs(run):
    with open(Run(run).history, newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def best_val_rmse(run) -> float:
    with open(Run(run).history, newline="") as f:
        return min(float(row["val_rmse"]) for row in csv.DictReader(f))


def valid_rmse_of_saved_model(run, cache_folder) -> float:
    cache = Cache.open(cache_folder)
    _, predictions = predict_split(load_models([run], cache), cache, "valid", tta=1, progress=False)
    return rmse(predictions, cache.read("valid", ("labels",))["labels"])


def test_fit_writes_the_run_folder(small_cache, tmp_path):
    run = tmp_path / "run"
    result = fit(small_cache, run, TINY, verbose=0)
    assert result.epochs == 2 and history_epochs(run) == [0, 1]
    assert result.best_val_rmse == best_val_rmse(run)
    assert valid_rmse_of_saved_model(run, small_cache) == pytest.approx(result.best_val_rmse, abs=2e-3)
    for path in (Run(run).model, Run(run).curves, Run(run).config, Run(run).galaxies):
        assert path.stat().st_size > 0, path.name
    config = json.loads(Run(run).config.read_text())
    assert config["finished"] and config["config"]["model"] == "centre" and len(config["manifest_sha256"]) == 64
    assert config["splits"]["valid"]["galaxies"] == 30 and config["splits"]["train"]["galaxies"] == 90
    assert not Run(run).backup.exists()
    with pytest.raises(RunError, match="already holds a finished run; pass --overwrite"):
        fit(small_cache, run, TINY, verbose=0)


def test_training_logs_one_line_an_epoch_when_its_output_is_not_a_terminal(small_cache, tmp_path):
    args = ["fit", "--cache", str(small_cache), "--run", str(tmp_path / "run"), "--epochs", "2", "--batch", "16"]
    result = CliRunner().invoke(main, args)  # Click's runner: a pipe, not a terminal
    assert result.exit_code == 0, result.output
    assert "\b" not in result.output and "\x1b" not in result.output
    assert len([line for line in result.output.splitlines() if "/step" in line]) == 2, result.output


def fit_args(cache, run, epochs: int) -> list[str]:
    return ["train", "fit", "--cache", str(cache), "--run", str(run), "--epochs", str(epochs), "--batch", "16"]


def test_ctrl_c_during_fit_then_rerun_resumes(small_cache, tmp_path):
    run = tmp_path / "run"
    args = fit_args(small_cache, run, 3)
    process = paused_command(tmp_path / "paused", EPOCH_END, 1, *args)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output[-2000:]
    assert "rerun the same command to continue" in output and "Traceback" not in output
    assert history_epochs(run) == [0] and not [p for p in run.rglob("*") if ".tmp" in p.name]
    rerun = CliRunner().invoke(main, args[1:])  # in this process: the resume, not a second start-up, is tested
    assert rerun.exit_code == 0, rerun.output
    assert history_epochs(run) == [0, 1, 2]


def test_fit_refuses_a_missing_cache_and_a_changed_one(small_cache, tmp_path):
    result = CliRunner().invoke(main, ["fit", "--cache", str(tmp_path / "nothing"), "--run", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--cache" in result.output and "make preprocess" in result.output
    run = tmp_path / "run"
    run.mkdir()
    Run(run).config.write_text(json.dumps({"config": {}, "manifest_sha256": "0" * 64}))
    with pytest.raises(RunError, match="the cache changed since"):
        fit(small_cache, run, TINY, verbose=0)


def test_fit_rejects_bad_options(small_cache, tmp_path):
    for option, value in (("--epochs", "0"), ("--batch", "-1"), ("--lr", "0"), ("--loader-workers", "0")):
        args = ["fit", "--cache", str(small_cache), "--run", str(tmp_path / "r"), option, value]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and option in result.output and "No such option" not in result.output


@pytest.fixture
def nan_in_epoch_2(monkeypatch):
    """The logits layer's weights turn NaN as the second epoch begins, so its first loss is NaN whatever the
    platform's arithmetic; the first epoch trains normally."""
    import keras

    from train.fitting import fit as fit_module

    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                kernel = self.model.get_layer("logits").kernel
                kernel.assign(np.full(kernel.shape, np.nan, kernel.dtype))

    chosen = fit_module.callbacks
    monkeypatch.setattr(fit_module, "callbacks", lambda *args, **kwargs: [Poison(), *chosen(*args, **kwargs)])


def all_finite(weights) -> bool:
    return all(np.isfinite(w).all() for w in weights)


def test_a_nan_loss_stops_before_its_epoch_is_saved(small_cache, tmp_path, nan_in_epoch_2, monkeypatch):
    run = tmp_path / "run"
    config = FitConfig(epochs=3, batch=16)
    with pytest.raises(LossNotFinite, match=r"the loss became nan in epoch 2 \(batch 1\)"):
        fit(small_cache, run, config, verbose=0)
    assert history_epochs(run) == [0] and backup_state(Run(run).backup)["epoch"] == 1
    import keras

    assert all_finite(keras.models.load_model(Run(run).model).get_weights())
    model = keras.models.load_model(Run(run).model)
    model.load_weights(Run(run).backup / backup_state(Run(run).backup)["weights"])
    assert all_finite(model.get_weights())
    monkeypatch.undo()
    assert fit(small_cache, run, config, verbose=0).epochs == 3  # the same command resumes from epoch 2


def test_a_nan_loss_says_the_command_to_retry(small_cache, tmp_path, nan_in_epoch_2, monkeypatch):
    run = tmp_path / "run"
    args = ["fit", "--cache", str(small_cache), "--run", str(run), "--epochs", "3", "--batch", "16", "--lr=0.002"]
    monkeypatch.setattr("sys.argv", ["train/__main__.py", *args])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    command = result.output.strip().splitlines()[-1].strip()
    assert shlex.split(command) == ["python", "-m", "train", *args[:-1], "--lr", "0.0002", "--overwrite"]
    assert retry_command(["fit", "--lr", "0.1", "--overwrite"], 0.01) == "python -m train fit --overwrite --lr 0.01"


def test_disk_full_while_saving_a_checkpoint(small_cache, tmp_path, monkeypatch):
    import keras

    run_dir = tmp_path / "run"
    args = ["fit", "--cache", str(small_cache), "--run", str(run_dir), "--epochs", "1", "--batch", "16"]
    monkeypatch.setattr(keras.Model, "save", disk_full)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert not Run(run_dir).model.exists() and not list(run_dir.glob(".*tmp*"))
    monkeypatch.undo()
    assert CliRunner().invoke(main, args).exit_code == 0
    assert Run(run_dir).model.exists()


def test_second_fit_on_the_same_run_is_refused(small_cache, tmp_path):
    run_dir = tmp_path / "run"
    with exclusive(run_dir, "python -m train fit"):
        result = CliRunner().invoke(main, ["fit", "--cache", str(small_cache), "--run", str(run_dir)])
    assert result.exit_code == 1 and "is in use by `python -m train fit` (pid" in result.output


def test_a_time_budget_stops_after_the_epoch_that_passes_it(small_cache, tmp_path):
    """A budget shorter than any epoch: training stops after the first, whatever the machine's speed."""
    config = configure("default", minutes=1e-6, batch=64)
    assert config.epochs == MAX_EPOCHS
    result = fit(small_cache, tmp_path / "run", config, verbose=0)
    assert result.epochs == 1 and history_epochs(tmp_path / "run") == [0]


def loader_processes(monkeypatch, tmp_path) -> list[int]:
    """Record, in a file, the pid of every process that opens a shard for reading (forked loaders included)."""
    from preprocess import cache_reader

    record, opened = tmp_path / "readers", cache_reader.ShardReader.__init__

    def spy(self, path):
        with open(record, "a") as f:
            f.write(f"{os.getpid()}\n")
        opened(self, path)

    monkeypatch.setattr(cache_reader.ShardReader, "__init__", spy)
    return record


@pytest.mark.parametrize(
    "options",
    [
        {"precision": "mixed"},
        {"precision": "bfloat16"},
        {"jit": True, "augment": False},
        {"loader_workers": 2},
        {"tensorboard": True},
    ],
)
def test_gpu_and_loader_options_take_effect_train_save_and_load(small_cache, tmp_path, monkeypatch, options):
    """On the CPU: float16 and bfloat16 computation, XLA, two loader processes and TensorBoard logs each do what
    they say, and the saved model is the best epoch's."""
    import keras

    run, readers = tmp_path / "run", loader_processes(monkeypatch, tmp_path)
    fit(small_cache, run, FitConfig(epochs=2, batch=32, **options), verbose=0)
    loaders = set(readers.read_text().split()) - {str(os.getpid())}  # Keras peeks at a first batch here
    assert bool(loaders) == bool(options.get("loader_workers")), "only loader processes read in other processes"
    model = keras.models.load_model(Run(run).model)
    assert valid_rmse_of_saved_model(run, small_cache) == pytest.approx(best_val_rmse(run), abs=2e-3)
    cache = Cache.open(small_cache)
    _, predictions = predict_split([model], cache, "valid", tta=1, progress=False)
    assert np.isfinite(predictions).all() and predictions.dtype == np.float32
    assert hierarchy_errors(predictions).max() < 1e-5
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    compute = {layer.dtype_policy.compute_dtype for layer in convolutions}
    assert compute == {
        {"float32": "float32", "bfloat16": "bfloat16", "mixed": "float16"}[options.get("precision", "float32")]
    }
    assert model.get_layer("logits").dtype_policy.compute_dtype == "float32"
    if options.get("jit"):  # Keras's "auto" compiles with XLA on GPUs only; --jit asks for it on the CPU too
        assert model.get_compile_config()["jit_compile"] is True
    assert bool(list(Run(run).logs.rglob("*.tfevents.*"))) == bool(options.get("tensorboard"))
