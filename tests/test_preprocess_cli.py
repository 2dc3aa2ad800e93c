import errno
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import preprocess.atomic
import preprocess.inputs
import preprocess.pipeline
from bench.data import replicate
from preprocess.cache import Cache, rejects_path
from preprocess.cli import main
from preprocess.cli_support import os_failure
from preprocess.kaggle import SOLUTIONS, TEST_IMAGES, TRAIN_IMAGES, ZEROS
from preprocess.labels import read_solutions, write_solutions
from preprocess.lock import shared
from preprocess.pipeline import run
from tests.conftest import SMALL
from tests.helpers import assert_same_shards, assert_usage_error, disk_full, read_manifest, shard_contents
from train.config import FitConfig
from train.fitting.fit import fit
from train.runs import Run


def test_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "preprocess", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("run", "inspect", "verify"))


def test_bad_images_are_rejected_and_reported(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    ids, _ = read_solutions(data / SOLUTIONS)
    truncated, missing = data / TRAIN_IMAGES / f"{ids[0]}.jpg", data / TRAIN_IMAGES / f"{ids[1]}.jpg"
    content = truncated.read_bytes()
    truncated.unlink()
    truncated.write_bytes(content[:2000])
    missing.unlink()
    (data / TRAIN_IMAGES / ".DS_Store").write_bytes(b"\0\1")
    (data / TRAIN_IMAGES / "notes.jpg").write_bytes(content)
    (data / TRAIN_IMAGES / "999999.jpg").write_bytes(content)  # an image without a CSV row
    cache = tmp_path / "cache"
    args = ["run", "--data", str(data), "--cache", str(cache), "--valid", "30", "--shard-size", "32", "--jobs", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert f"rejected {ids[0]} (" in result.output and "truncated" in result.output
    assert f"rejected {ids[1]} (" in result.output and "missing image" in result.output
    assert "--skip-bad" in result.output
    assert "ignored 2 file(s)" in result.output and ".DS_Store" in result.output and "notes.jpg" in result.output
    assert "1 training image(s) have no CSV row" in result.output
    rejects = rejects_path(cache).read_text().splitlines()
    assert rejects[0] == "GalaxyID,split,path,reason" and len(rejects) == 3
    split_of = {r.galaxy_id: r.split for r in Cache.open(cache, check=False).rejects()}
    assert set(split_of) == {int(ids[0]), int(ids[1])} and set(split_of.values()) <= {"train", "valid"}
    counts = read_manifest(cache)["counts"]
    assert counts["train"] + counts["valid"] == len(ids) - 2
    assert CliRunner().invoke(main, [*args, "--skip-bad"]).exit_code == 0


def test_bad_csv_stops_before_any_work(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    lines = (data / SOLUTIONS).read_text().splitlines()
    fields = lines[5].split(",")
    fields[3] = "oops"
    lines[5] = ",".join(fields)
    (data / SOLUTIONS).write_text("\n".join(lines) + "\n")
    cache = tmp_path / "cache"
    result = CliRunner().invoke(main, ["run", "--data", str(data), "--cache", str(cache)])
    assert result.exit_code == 2
    assert f"line 6 (GalaxyID {fields[0]}), column Class1.3: 'oops' is not a number" in result.output
    assert not list(cache.glob("*.h5")) and not (cache / "manifest.json").exists()


def test_cache_given_as_data_and_missing_folders(kaggle_dir, small_cache, tmp_path):
    result = CliRunner().invoke(main, ["run", "--data", str(small_cache), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 2 and "--data" in result.output and "is a cache" in result.output
    result = CliRunner().invoke(main, ["run", "--data", str(kaggle_dir), "--cache", str(kaggle_dir)])
    assert result.exit_code == 2 and "--cache" in result.output and "holds Kaggle data" in result.output
    result = CliRunner().invoke(main, ["run", "--data", str(tmp_path / "nowhere"), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 2 and "--data" in result.output
    result = CliRunner().invoke(main, ["run", "--data", str(kaggle_dir), "--cache", str(tmp_path / "c"), "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output


def test_inspect_summarises_and_draws(small_cache, tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(small_cache), "--png", str(tmp_path / "s.png"), "--n", "16"])
    assert result.exit_code == 0, result.output
    assert "valid       1        30" in result.output and "Class1.1=" in result.output
    assert (tmp_path / "s.png").stat().st_size > 5000
    assert json.loads((small_cache / "manifest.json").read_text())["complete"] is True


def run_args(data, cache):
    return ["run", "--data", str(data), "--cache", str(cache), "--jobs", "1", "--shard-size", "32", "--valid", "30"]


def test_disk_full_while_writing_a_shard_keeps_finished_shards(kaggle_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    real_write, calls = preprocess.pipeline.write_shard, []

    def fail_on_third(*args, **kwargs):
        calls.append(1)
        return disk_full() if len(calls) == 3 else real_write(*args, **kwargs)

    monkeypatch.setattr(preprocess.pipeline, "write_shard", fail_on_third)
    result = CliRunner().invoke(main, run_args(kaggle_dir, cache))
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "rerun the same command" in result.output
    assert "Traceback" not in result.output
    assert len(read_manifest(cache)["shards"]) == 2 and not list(cache.glob(".*.tmp"))
    monkeypatch.setattr(preprocess.pipeline, "write_shard", real_write)
    assert CliRunner().invoke(main, run_args(kaggle_dir, cache)).exit_code == 0
    run(kaggle_dir, tmp_path / "reference", SMALL, progress=False)
    assert_same_shards(cache, tmp_path / "reference")


def test_disk_full_while_writing_the_manifest_keeps_the_last_good_one(kaggle_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    run(kaggle_dir, cache, SMALL, progress=False)
    before = (cache / "manifest.json").read_text()
    (cache / "train-00000.h5").unlink()  # some work to redo, so the manifest is rewritten

    class FullDisk(type(cache)):
        """A temporary file on a disk that fills up halfway through the text."""

        def write_text(self, text, *args, **kwargs):
            super().write_text(text[: len(text) // 2], *args, **kwargs)
            disk_full()

    temporary = preprocess.atomic.temporary_path
    monkeypatch.setattr(preprocess.atomic, "temporary_path", lambda *args: FullDisk(temporary(*args)))
    result = CliRunner().invoke(main, run_args(kaggle_dir, cache))
    assert result.exit_code == 1 and "No space left on device" in result.output and "failed writing" in result.output
    assert (cache / "manifest.json").read_text() == before and not list(cache.glob(".*tmp*"))
    monkeypatch.undo()
    assert CliRunner().invoke(main, run_args(kaggle_dir, cache)).exit_code == 0


@pytest.mark.parametrize(
    "args, option",
    [
        (["run", "--data", "{tmp}/nowhere", "--cache", "{tmp}/c"], "--data"),
        (["run", "--data", "{data}", "--cache", "{tmp}/c", "--jobs", "-1"], "--jobs"),
        (["run", "--data", "{data}", "--cache", "{tmp}/c", "--shard-size", "0"], "--shard-size"),
        (["run", "--data", "{cache}", "--cache", "{tmp}/c"], "--data"),
        (["run", "--data", "{data}", "--cache", "{data}"], "--cache"),
        (["run", "--data", "{data}", "--cache", "{tmp}/c", "--valid", "100000"], "--valid"),
        (["inspect", "{tmp}/nowhere"], "CACHE"),
        (["verify", "{tmp}/nowhere"], "CACHE"),
    ],
)
def test_user_mistakes_give_one_line_and_status_2(kaggle_dir, small_cache, tmp_path, args, option):
    assert_usage_error(main, args, option, {"tmp": tmp_path, "data": kaggle_dir, "cache": small_cache})


def test_a_row_off_the_tree_a_postscript_file_and_a_huge_file_are_rejected_and_the_rest_trains(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    ids, labels = read_solutions(data / SOLUTIONS)
    row = int(np.argmin(labels[:, 0]))  # room to add 0.2 within [0, 1]
    labels[row, 0] += 0.2  # Q1's answers now sum to 1.2
    write_solutions(data / SOLUTIONS, ids, labels, decimals=9)
    test_ids = read_solutions(data / ZEROS)[0]
    postscript, huge = data / TEST_IMAGES / f"{test_ids[0]}.jpg", data / TEST_IMAGES / f"{test_ids[1]}.jpg"
    postscript.unlink()
    postscript.write_bytes(b"%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont setfont\nshowpage\n")
    huge.unlink()
    with open(huge, "wb") as f:
        f.truncate(2_000_000_000)
    cache = tmp_path / "cache"
    result = CliRunner().invoke(main, ["run", "--data", str(data), "--cache", str(cache), "--valid", "30"])
    assert result.exit_code == 3 and "Traceback" not in result.output
    rejects = {r.galaxy_id: r for r in Cache.open(cache).rejects()}
    assert set(rejects) == {int(ids[row]), int(test_ids[0]), int(test_ids[1])}
    assert "Q1's answers sum to 1.2" in rejects[ids[row]].reason and rejects[ids[row]].split in ("train", "valid")
    assert rejects[test_ids[0]].reason == "not a JPEG or PNG image" and rejects[test_ids[0]].split == "test"
    assert "2,000,000,000 bytes" in rejects[test_ids[1]].reason
    assert CliRunner().invoke(main, ["verify", str(cache)]).exit_code == 0
    fit(cache, tmp_path / "run", FitConfig(epochs=1, batch=32, augment=False), verbose=0)
    assert Run(tmp_path / "run").model.exists()


def test_preprocess_refuses_a_cache_that_a_reader_holds_and_changes_nothing(kaggle_dir, small_cache, tmp_path):
    """While `train fit` (here: its shared lock, taken as fit takes it) reads a cache, a rebuild with other
    settings is refused, naming the reader, and no shard changes."""
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    before = shard_contents(cache)
    with shared(cache, "python -m train fit"):
        result = CliRunner().invoke(main, ["run", "--data", str(kaggle_dir), "--cache", str(cache), "--valid", "20"])
    assert result.exit_code == 1 and f"`python -m train fit` (pid {os.getpid()}" in result.output
    after = shard_contents(cache)
    assert after.keys() == before.keys()
    assert all(np.array_equal(after[name]["ids"], before[name]["ids"]) for name in after)


def test_a_failed_read_is_reported_as_a_read(kaggle_dir, tmp_path, monkeypatch):
    folder = kaggle_dir / TRAIN_IMAGES

    def unreadable(path):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(preprocess.inputs, "list_images", unreadable)
    result = CliRunner().invoke(main, run_args(kaggle_dir, tmp_path / "cache"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"failed reading {folder}: Input/output error" in result.output and "writing" not in result.output
    monkeypatch.undo()
    error = OSError(errno.EMFILE, "Too many open files", "cache/train-00001.h5")
    assert "raise the limit (e.g. `ulimit -n 4096`)" in os_failure(error).message


@pytest.mark.parametrize("twin", ["0{id}.jpg", "{id}.JPG", "{id}.jpeg", "{id}.png"])
def test_two_images_of_one_galaxy_are_refused_naming_both(kaggle_dir, tmp_path, twin):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    galaxy_id = read_solutions(data / SOLUTIONS)[0][0]
    original = data / TRAIN_IMAGES / f"{galaxy_id}.jpg"
    copy = data / TRAIN_IMAGES / twin.format(id=galaxy_id)
    shutil.copy(original, copy)
    result = CliRunner().invoke(main, run_args(data, tmp_path / "cache"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(original) in result.output and str(copy) in result.output and "keep one" in result.output
    assert not (tmp_path / "cache" / "manifest.json").exists()
