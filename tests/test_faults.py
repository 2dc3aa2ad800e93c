"""Faults: full disks, damaged caches, changed inputs, two processes, and user mistakes at every command line."""

import errno
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import preprocess.pipeline
from preprocess.cli import main as preprocess_main
from preprocess.labels import read_solutions, write_solutions
from preprocess.lock import exclusive
from preprocess.pipeline import Settings, run
from preprocess.shards import read_manifest
from preprocess.synthetic import replicate
from tests.helpers import SOLUTIONS, TRAIN, assert_same_shards, shard_contents
from train.cli import main as train_main

SMALL = Settings(shard_size=32, valid=30)


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "cache/train-00001.h5")


def run_args(data, cache):
    return ["run", "--data", str(data), "--cache", str(cache), "--jobs", "1", "--shard-size", "32", "--valid", "30"]


def test_disk_full_while_writing_a_shard_keeps_finished_shards(kaggle_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    real_write, calls = preprocess.pipeline.write_shard, []

    def fail_on_third(*args, **kwargs):
        calls.append(1)
        return disk_full() if len(calls) == 3 else real_write(*args, **kwargs)

    monkeypatch.setattr(preprocess.pipeline, "write_shard", fail_on_third)
    result = CliRunner().invoke(preprocess_main, run_args(kaggle_dir, cache))
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "rerun the same command" in result.output
    assert "Traceback" not in result.output
    assert len(read_manifest(cache)["shards"]) == 2 and not list(cache.glob(".*.tmp"))
    monkeypatch.setattr(preprocess.pipeline, "write_shard", real_write)
    assert CliRunner().invoke(preprocess_main, run_args(kaggle_dir, cache)).exit_code == 0
    run(kaggle_dir, tmp_path / "reference", SMALL, progress=False)
    assert_same_shards(cache, tmp_path / "reference")


def test_disk_full_while_writing_the_manifest_keeps_the_last_good_one(kaggle_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    run(kaggle_dir, cache, SMALL, progress=False)
    before = (cache / "manifest.json").read_text()
    (cache / "train-00000.h5").unlink()  # some work to redo, so the manifest is rewritten
    monkeypatch.setattr("preprocess.shards.Path.write_text", disk_full)
    result = CliRunner().invoke(preprocess_main, run_args(kaggle_dir, cache))
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert (cache / "manifest.json").read_text() == before
    monkeypatch.undo()
    assert CliRunner().invoke(preprocess_main, run_args(kaggle_dir, cache)).exit_code == 0


def test_disk_full_while_writing_a_submission_keeps_the_old_one(small_cache, tmp_path, monkeypatch):
    out = tmp_path / "sub.csv"
    args = ["submit", "--cache", str(small_cache), "--baseline", "means", "--out", str(out)]
    assert CliRunner().invoke(train_main, args).exit_code == 0
    before = out.read_bytes()
    monkeypatch.setattr("preprocess.labels.os.replace", disk_full)
    result = CliRunner().invoke(train_main, args)
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["sub.csv"]


def test_disk_full_while_saving_a_checkpoint(small_cache, tmp_path, monkeypatch):
    import keras

    run_dir = tmp_path / "run"
    args = ["fit", "--cache", str(small_cache), "--run", str(run_dir), "--epochs", "1", "--batch", "16"]
    monkeypatch.setattr(keras.Model, "save", disk_full)
    result = CliRunner().invoke(train_main, args)
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert not (run_dir / "model.keras").exists() and not list(run_dir.glob(".*tmp*"))
    monkeypatch.undo()
    assert CliRunner().invoke(train_main, args).exit_code == 0
    assert (run_dir / "model.keras").exists()


def damage(cache, how: str, data) -> str:
    """Damage the cache one way; returns what the error message must name."""
    if how == "missing shard":
        (cache / "train-00001.h5").unlink()
        return "train-00001.h5: missing"
    if how == "truncated shard":
        data = (cache / "valid-00000.h5").read_bytes()
        (cache / "valid-00000.h5").write_bytes(data[: len(data) // 3])
        return "valid-00000.h5: sha256 differs"
    if how == "manifest missing":
        (cache / "manifest.json").unlink()
        return "manifest.json"
    if how == "manifest not JSON":
        (cache / "manifest.json").write_text("{ not json")
        return "manifest.json is not valid JSON"
    if how == "shard from another cache":
        other = cache.parent / "other"
        run(data, other, Settings(shard_size=32, valid=30, size=64), progress=False)
        shutil.copy(other / "train-00000.h5", cache / "train-00000.h5")
        return "train-00000.h5: sha256 differs"
    raise ValueError(how)


@pytest.mark.parametrize(
    "how", ["missing shard", "truncated shard", "manifest missing", "manifest not JSON", "shard from another cache"]
)
def test_damaged_cache_is_named_by_verify_and_refused_by_fit_and_submit(kaggle_dir, small_cache, tmp_path, how):
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    expected = damage(cache, how, kaggle_dir)
    verify = CliRunner().invoke(preprocess_main, ["verify", str(cache)])
    assert verify.exit_code != 0 and expected in verify.output
    fit = CliRunner().invoke(train_main, ["fit", "--cache", str(cache), "--run", str(tmp_path / "run")])
    submit = CliRunner().invoke(train_main, ["submit", "--cache", str(cache), "--baseline", "zeros",
                                             "--out", str(tmp_path / "s.csv")])  # fmt: skip
    for result in (fit, submit):
        assert result.exit_code != 0 and expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "model.keras").exists() and not (tmp_path / "s.csv").exists()


def test_stray_shard_is_named_by_verify(small_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    shutil.copy(cache / "train-00000.h5", cache / "train-00099.h5")
    result = CliRunner().invoke(preprocess_main, ["verify", str(cache)])
    assert result.exit_code != 0 and "train-00099.h5: shard not listed in the manifest" in result.output


def test_second_fit_on_the_same_run_is_refused(small_cache, tmp_path):
    run_dir = tmp_path / "run"
    with exclusive(run_dir, "python -m train fit"):
        result = CliRunner().invoke(train_main, ["fit", "--cache", str(small_cache), "--run", str(run_dir)])
    assert result.exit_code == 1 and "is in use by `python -m train fit` (pid" in result.output


def rebuilt_shards(before: dict, after: dict) -> set[str]:
    return {name for name in after if name not in before or not np.array_equal(before[name]["ids"], after[name]["ids"])
            or not np.array_equal(before[name].get("labels", 0), after[name].get("labels", 0))}  # fmt: skip


def test_added_image_and_edited_labels_redo_only_the_affected_shards(kaggle_dir, tmp_path):
    data, cache = replicate(kaggle_dir, tmp_path / "data", 1), tmp_path / "cache"
    run(data, cache, SMALL, progress=False)
    before = shard_contents(cache)
    ids, labels = read_solutions(data / SOLUTIONS)
    shutil.copy(data / TRAIN / f"{ids[0]}.jpg", data / TRAIN / "999999.jpg")
    write_solutions(data / SOLUTIONS, np.append(ids, 999999), np.vstack([labels, labels[:1]]), decimals=9)
    result = run(data, cache, SMALL, progress=False)
    after = shard_contents(cache)
    assert 1 <= result["built"] == len(rebuilt_shards(before, after)) <= 2
    edited = labels.copy()
    edited[5] = edited[6]
    write_solutions(data / SOLUTIONS, np.append(ids, 999999), np.vstack([edited, labels[:1]]), decimals=9)
    assert run(data, cache, SMALL, progress=False)["built"] == 1


@pytest.mark.parametrize(
    "main, args, option",
    [
        (preprocess_main, ["run", "--data", "{tmp}/nowhere", "--cache", "{tmp}/c"], "--data"),
        (preprocess_main, ["run", "--data", "{data}", "--cache", "{tmp}/c", "--jobs", "-1"], "--jobs"),
        (preprocess_main, ["run", "--data", "{data}", "--cache", "{tmp}/c", "--shard-size", "0"], "--shard-size"),
        (preprocess_main, ["run", "--data", "{cache}", "--cache", "{tmp}/c"], "--data"),
        (preprocess_main, ["run", "--data", "{data}", "--cache", "{data}"], "--cache"),
        (preprocess_main, ["run", "--data", "{data}", "--cache", "{tmp}/c", "--valid", "100000"], "--valid"),
        (preprocess_main, ["inspect", "{tmp}/nowhere"], "CACHE"),
        (preprocess_main, ["verify", "{tmp}/nowhere"], "CACHE"),
        (preprocess_main, ["synth", "--out", "{tmp}/s", "--jobs", "0"], "--jobs"),
        (train_main, ["fit", "--cache", "{data}", "--run", "{tmp}/r"], "--cache"),
        (train_main, ["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--epochs", "0"], "--epochs"),
        (train_main, ["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--batch", "0"], "--batch"),
        (train_main, ["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--workers", "-2"], "--workers"),
        (train_main, ["evaluate", "--cache", "{tmp}/nowhere", "--run", "{tmp}/r"], "--cache"),
        (train_main, ["submit", "--cache", "{cache}", "--run", "{tmp}/r", "--out", "{tmp}/s.csv"], "--run"),
        (train_main, ["submit", "--cache", "{cache}", "--baseline", "zeros", "--out", "{tmp}/s.txt"], "--out"),
        (train_main, ["submit", "--cache", "{cache}", "--run", "{tmp}/r", "--out", "{tmp}/s.csv", "--batch", "0"],
         "--batch"),
        (train_main, ["score", "{tmp}/nowhere.csv"], "SOLUTIONS"),
    ],
)  # fmt: skip
def test_user_mistakes_give_one_line_and_status_2(kaggle_dir, small_cache, tmp_path, main, args, option):
    values = {"tmp": tmp_path, "data": kaggle_dir, "cache": small_cache}
    result = CliRunner().invoke(main, [a.format(**values) for a in args])
    assert result.exit_code == 2, result.output
    assert option in result.output and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error:")
