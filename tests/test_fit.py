import csv
import json
import os
import signal
import time

import pytest
from click.testing import CliRunner

from tests.helpers import python_module
from train.cli import main
from train.fit import FitConfig, RunError, fit

TINY = FitConfig(epochs=2, batch=16, patience=2)


def history_epochs(run):
    with open(run / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_fit_writes_the_run_folder(small_cache, tmp_path):
    run = tmp_path / "run"
    result = fit(small_cache, run, TINY, verbose=0)
    assert result["epochs"] == 2 and result["best_val_rmse"] > 0
    assert history_epochs(run) == [0, 1]
    for name in ("model.keras", "curves.png", "config.json"):
        assert (run / name).stat().st_size > 0, name
    config = json.loads((run / "config.json").read_text())
    assert config["finished"] and config["config"]["model"] == "compact" and len(config["manifest_sha256"]) == 64
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


def test_nan_loss_stops_with_a_clear_error(small_cache, tmp_path):
    exploding = FitConfig(epochs=3, batch=16, optimizer="sgd", lr=1e30, augment=False)
    with pytest.raises(RunError, match="the loss became NaN at epoch 1; try a lower --lr"):
        fit(small_cache, tmp_path / "run", exploding, verbose=0)


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
