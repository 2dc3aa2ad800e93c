"""`train submit`: Kaggle submissions of the test split from runs or baselines, checked and written whole."""

import errno
import json
import math
import os
import shutil
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from bench.data import replicate
from preprocess import labels
from preprocess.cache import Cache
from preprocess.kaggle import TEST_IMAGES, TEST_SOLUTIONS, ZEROS
from preprocess.labels import read_solutions, write_solutions
from preprocess.pipeline import run
from preprocess.schema import HEADER, hierarchy_errors
from tests.conftest import SMALL
from tests.helpers import paused_command
from train.cli import main
from train.fitting.dataset import ShardDataset
from train.prediction.inference import predict_split
from train.prediction.tta import tta_views
from train.runs import Run


def test_submission_has_every_test_id_once_with_kaggle_header(kaggle_dir, small_cache, trained_run, tmp_path):
    out = tmp_path / "sub.csv"
    result = CliRunner().invoke(
        main, ["submit", "--cache", str(small_cache), "--run", str(trained_run), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == ",".join(HEADER)
    ids, values = read_solutions(out)
    test_ids, _ = read_solutions(kaggle_dir / TEST_SOLUTIONS)
    assert sorted(ids.tolist()) == sorted(test_ids.tolist()) and list(ids) == sorted(ids)
    assert values.min() >= 0 and values.max() <= 1
    assert hierarchy_errors(values).max() < 2e-5  # averaged over 16 views, still on the tree (6 decimals)


def test_rejected_test_galaxies_still_get_a_row(kaggle_dir, trained_run, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    shutil.copy(kaggle_dir / ZEROS, data / ZEROS)
    test_ids = read_solutions(data / ZEROS)[0]
    broken = data / TEST_IMAGES / f"{test_ids[3]}.jpg"
    content = broken.read_bytes()
    broken.unlink()
    broken.write_bytes(content[:1000])
    run(data, tmp_path / "cache", SMALL, progress=False)
    out = tmp_path / "sub.csv.gz"
    args = ["submit", "--cache", str(tmp_path / "cache"), "--run", str(trained_run), "--out", str(out), "--tta", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 test galaxies were rejected" in result.output and str(test_ids[3]) in result.output
    ids, values = read_solutions(out)
    assert sorted(ids) == sorted(test_ids)
    train_means = Cache.open(tmp_path / "cache").read("train", ("labels",))["labels"].mean(axis=0)
    np.testing.assert_allclose(values[list(ids).index(test_ids[3])], train_means, atol=1e-6)


def test_a_submission_whose_ids_differ_from_the_sample_submission_is_not_written(kaggle_dir, trained_run, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    ids, zeros = read_solutions(kaggle_dir / ZEROS)
    write_solutions(data / ZEROS, np.append(ids, 999999), np.vstack([zeros, zeros[:1]]))
    run(data, tmp_path / "cache", SMALL, progress=False)
    out = tmp_path / "sub.csv"
    args = ["submit", "--cache", str(tmp_path / "cache"), "--run", str(trained_run), "--out", str(out), "--tta", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "1 missing (e.g. [999999])" in result.output and str(data / ZEROS) in result.output
    assert not out.exists()


def submit_paused_mid_work(small_cache, trained_run, out):
    """A submit process paused right after predicting its first batch of ten (the 40 test galaxies take four)."""
    args = ["--cache", str(small_cache), "--run", str(trained_run), "--out", str(out), "--tta", "2", "--batch", "10"]
    flag = out.parent.parent / f"{out.parent.name}-paused"  # outside the folder the test looks into
    return paused_command(flag, "train.prediction.inference:predict_each_model", 1, "train", "submit", *args)


def test_killing_submit_never_leaves_a_partial_file(small_cache, trained_run, tmp_path):
    out = tmp_path / "out" / "sub.csv"
    out.parent.mkdir()
    process = submit_paused_mid_work(small_cache, trained_run, out)
    process.kill()
    process.wait()
    assert list(out.parent.iterdir()) == []  # neither the submission nor a temporary file


def test_ctrl_c_during_submit_leaves_no_partial_file(small_cache, trained_run, tmp_path):
    out = tmp_path / "out" / "sub.csv"
    out.parent.mkdir()
    process = submit_paused_mid_work(small_cache, trained_run, out)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130, output[-2000:]
    assert "Traceback" not in output and "was not written" in output
    assert list(out.parent.iterdir()) == []


class FillsUp:
    """A text file opened for writing on a disk that fills up after its first line."""

    def __init__(self, file):
        self.file, self.writes = file, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def write(self, text: str) -> int:
        self.writes += 1
        if self.writes > 1:
            raise OSError(errno.ENOSPC, "No space left on device", self.file.name)
        return self.file.write(text)


def test_disk_full_while_writing_a_submission_keeps_the_old_one(small_cache, tmp_path, monkeypatch):
    out = tmp_path / "sub.csv"
    args = ["submit", "--cache", str(small_cache), "--baseline", "means", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = out.read_bytes()
    opened = labels._open_text
    monkeypatch.setattr(
        labels, "_open_text", lambda path, mode: FillsUp(opened(path, mode)) if mode == "w" else opened(path, mode)
    )
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "No space left on device" in result.output and "failed writing" in result.output
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["sub.csv"]


def test_tta_views_spread_turns_over_the_circle_each_also_mirrored():
    views = tta_views(16)
    assert len(set(views)) == 16 and {flip for _, flip in views} == {1.0, -1.0}
    assert sorted({round(math.degrees(angle)) for angle, _ in views}) == list(range(0, 360, 45))
    assert tta_views(1) == [(0.0, 1.0)] and len(tta_views(8)) == 8
    with pytest.raises(ValueError, match="--tta"):
        tta_views(3)


def test_an_ensemble_averages_its_runs(small_cache, trained_run, second_run, tmp_path):
    outputs = {}
    for name, runs in (("a", [trained_run]), ("b", [second_run]), ("ab", [trained_run, second_run])):
        args = ["submit", "--cache", str(small_cache), "--out", str(tmp_path / f"{name}.csv"), "--tta", "2"]
        result = CliRunner().invoke(main, [*args, *[f"--run={run}" for run in runs]])
        assert result.exit_code == 0, result.output
        outputs[name] = read_solutions(tmp_path / f"{name}.csv")[1]
    np.testing.assert_allclose(outputs["ab"], (outputs["a"] + outputs["b"]) / 2, atol=2e-6)
    assert np.abs(outputs["a"] - outputs["b"]).max() > 1e-3  # two different models


def float_views_one_by_one(model, images: np.ndarray, tta: int) -> np.ndarray:
    """The reference: the model's layers on each view resampled in float (never rounded), one call per view."""
    import keras

    from train.model.layers import transform

    floats = keras.Input(model.input_shape[1:], dtype="float32")
    body = keras.models.clone_model(model, input_tensors=floats, clone_function=lambda layer: layer)
    views = [keras.ops.convert_to_numpy(transform(images.astype("float32"), a, flip=f)) for a, f in tta_views(tta)]
    return np.mean([body.predict_on_batch(view) for view in views], axis=0)


def test_16_views_are_one_model_call_per_batch_and_the_mean_of_the_views(small_cache, trained_run, monkeypatch):
    import keras

    cache = Cache.open(small_cache)
    model = keras.models.load_model(Run(trained_run).model)
    calls, predict_on_batch = [], keras.Model.predict_on_batch

    def counted(self, x):
        calls.append(len(x))
        return predict_on_batch(self, x)

    monkeypatch.setattr(keras.Model, "predict_on_batch", counted)
    ids, predictions = predict_split([model], cache, "test", tta=16, batch=16, progress=False)
    batches = ShardDataset(cache, "test", 16, shuffle=False)
    assert calls == [len(batch) for batch in batches]  # one call per batch of galaxies, all 16 views inside
    monkeypatch.undo()
    images = np.concatenate(list(batches))
    np.testing.assert_allclose(predictions, float_views_one_by_one(model, images, 16), atol=1e-5)


def test_the_sample_submission_check_is_never_skipped_silently(kaggle_dir, small_cache, tmp_path):
    """A cache whose data folder moved: submit says the IDs went unchecked, and --sample checks them again."""
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    manifest = json.loads((cache / "manifest.json").read_text())
    (cache / "manifest.json").write_text(json.dumps({**manifest, "source": str(tmp_path / "moved")}))
    args = ["submit", "--cache", str(cache), "--baseline", "means", "--out", str(tmp_path / "s.csv")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "not checked against Kaggle's sample submission" in result.output
    assert "--sample" in result.output
    ids, zeros = read_solutions(kaggle_dir / ZEROS)
    write_solutions(tmp_path / "sample.csv", ids[1:], zeros[1:])
    result = CliRunner().invoke(main, [*args, "--sample", str(tmp_path / "sample.csv")])
    assert result.exit_code == 1 and "1 not in it" in result.output
    result = CliRunner().invoke(main, [*args, "--sample", str(kaggle_dir / ZEROS)])
    assert result.exit_code == 0 and "not checked" not in result.output
