import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from preprocess.cli import main
from preprocess.labels import read_solutions
from preprocess.pipeline import Settings, run
from preprocess.shards import read_manifest
from preprocess.synthetic import replicate
from tests.helpers import SOLUTIONS, TRAIN, assert_same_shards, python_module, shard_contents

SMALL = Settings(shard_size=32, valid=30)


@pytest.fixture(scope="module")
def built_cache(kaggle_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    run(kaggle_dir, cache, SMALL, jobs=1, progress=False)
    return cache


def test_every_id_once_with_csv_labels(kaggle_dir, built_cache):
    contents = shard_contents(built_cache)
    by_split = {s: [c for n, c in contents.items() if n.startswith(s)] for s in ("train", "valid", "test")}
    ids = {s: np.concatenate([c["ids"] for c in shards]) for s, shards in by_split.items()}
    csv_ids, csv_labels = read_solutions(kaggle_dir / SOLUTIONS)
    test_ids, _ = read_solutions(kaggle_dir / "test_solutions.csv")
    assert len(ids["valid"]) == 30
    assert sorted(np.concatenate([ids["train"], ids["valid"]])) == sorted(csv_ids)
    assert sorted(ids["test"]) == sorted(test_ids)
    label_of = dict(zip(csv_ids.tolist(), csv_labels))
    for shards in (by_split["train"], by_split["valid"]):
        for shard in shards:
            np.testing.assert_array_equal(shard["labels"], np.stack([label_of[i] for i in shard["ids"].tolist()]))
    assert all("labels" not in shard for shard in by_split["test"])


def test_rerun_skips_finished_shards_and_keeps_the_split(kaggle_dir, built_cache):
    before = read_manifest(built_cache)
    result = run(kaggle_dir, built_cache, SMALL, jobs=1, progress=False)
    assert result["built"] == 0 and result["skipped"] == len(before["shards"])
    assert read_manifest(built_cache)["shards"] == before["shards"]


def test_valid_split_depends_on_seed_only(kaggle_dir, tmp_path):
    run(kaggle_dir, tmp_path / "a", Settings(shard_size=500, valid=30, seed=1), progress=False)
    run(kaggle_dir, tmp_path / "b", Settings(shard_size=500, valid=30, seed=1), jobs=2, progress=False)
    assert_same_shards(tmp_path / "a", tmp_path / "b")
    run(kaggle_dir, tmp_path / "c", Settings(shard_size=500, valid=30, seed=2), progress=False)
    assert not np.array_equal(shard_contents(tmp_path / "a")["valid-00000.h5"]["ids"],
                              shard_contents(tmp_path / "c")["valid-00000.h5"]["ids"])  # fmt: skip


def test_changed_image_redoes_only_its_shard(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    run(data, tmp_path / "cache", SMALL, progress=False)
    first_train = read_manifest(tmp_path / "cache")["shards"][0]
    path = data / TRAIN / f"{first_train['first_id']}.jpg"
    content = path.read_bytes()
    path.unlink()  # replace, do not write through the hard link
    path.write_bytes(content)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    result = run(data, tmp_path / "cache", SMALL, progress=False)
    assert result["built"] == 1


def test_kill_9_then_rerun_gives_identical_shards(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 8)
    settings = Settings(shard_size=64, valid=100)
    run(data, tmp_path / "reference", settings, progress=False)
    cache = tmp_path / "cache"
    args = ["preprocess", "run", "--data", str(data), "--cache", str(cache), "--jobs", "1", "--shard-size", "64",
            "--valid", "100"]  # fmt: skip
    for delay in (0.3, 1.0, 1.5, 2.0):
        process = python_module(*args)
        time.sleep(delay)
        process.kill()
        process.wait()
    assert python_module(*args).wait() == 0
    assert_same_shards(cache, tmp_path / "reference")


def test_ctrl_c_stops_and_leaves_only_complete_shards(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 8)
    cache = tmp_path / "cache"
    process = python_module("preprocess", "run", "--data", str(data), "--cache", str(cache), "--jobs", "2",
                            "--shard-size", "64", "--valid", "100")  # fmt: skip
    deadline = time.time() + 60
    while not list(cache.glob("*.h5")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    assert "run the same command again to resume" in output
    assert "Traceback" not in output
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
    shard_contents(cache)  # every .h5 under a final name opens and reads


def test_second_run_on_the_same_cache_is_refused(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 8)
    cache = tmp_path / "cache"
    args = ["preprocess", "run", "--data", str(data), "--cache", str(cache), "--jobs", "1", "--shard-size", "64",
            "--valid", "100"]  # fmt: skip
    first = python_module(*args)
    deadline = time.time() + 60
    while not (cache / ".lock").exists() or not (cache / ".lock").read_text():
        assert time.time() < deadline
        time.sleep(0.05)
    second = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=60)
    first.kill()
    first.wait()
    assert second.returncode != 0
    assert f"pid {first.pid}" in second.stderr and "in use by" in second.stderr


def test_flipped_byte_makes_verify_name_the_shard(kaggle_dir, tmp_path):
    cache = tmp_path / "cache"
    run(kaggle_dir, cache, SMALL, progress=False)
    runner = CliRunner()
    assert runner.invoke(main, ["verify", str(cache)]).exit_code == 0
    shard = cache / "train-00001.h5"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = runner.invoke(main, ["verify", str(cache)])
    assert result.exit_code != 0
    assert "train-00001.h5: sha256 differs" in result.output
    assert "train-00000.h5" not in result.output


def test_bad_images_are_rejected_and_reported(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    ids, _ = read_solutions(data / SOLUTIONS)
    truncated, missing = data / TRAIN / f"{ids[0]}.jpg", data / TRAIN / f"{ids[1]}.jpg"
    content = truncated.read_bytes()
    truncated.unlink()
    truncated.write_bytes(content[:2000])
    missing.unlink()
    (data / TRAIN / ".DS_Store").write_bytes(b"\0\1")
    (data / TRAIN / "notes.jpg").write_bytes(content)
    (data / TRAIN / "999999.jpg").write_bytes(content)  # an image without a CSV row
    cache = tmp_path / "cache"
    args = ["run", "--data", str(data), "--cache", str(cache), "--valid", "30", "--shard-size", "32", "--jobs", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"rejected {ids[0]}:" in result.output and "truncated" in result.output
    assert f"rejected {ids[1]}: missing image" in result.output
    assert "--skip-bad" in result.output
    assert "ignored 2 file(s)" in result.output and ".DS_Store" in result.output and "notes.jpg" in result.output
    assert "1 training image(s) have no CSV row" in result.output
    rejects = (cache / "rejects.csv").read_text().splitlines()
    assert rejects[0] == "GalaxyID,path,reason" and len(rejects) == 3
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
    assert result.exit_code == 1
    assert f"line 6 (GalaxyID {fields[0]}), column Class1.3: 'oops' is not a number" in result.output
    assert not list(cache.glob("*.h5")) and not (cache / "manifest.json").exists()


def test_cache_given_as_data_and_missing_folders(kaggle_dir, built_cache, tmp_path):
    result = CliRunner().invoke(main, ["run", "--data", str(built_cache), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 2 and "--data" in result.output and "it is a cache" in result.output
    result = CliRunner().invoke(main, ["run", "--data", str(kaggle_dir), "--cache", str(kaggle_dir)])
    assert result.exit_code == 2 and "--cache" in result.output and "holds Kaggle data" in result.output
    result = CliRunner().invoke(main, ["run", "--data", str(tmp_path / "nowhere"), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 2 and "--data" in result.output
    result = CliRunner().invoke(main, ["run", "--data", str(kaggle_dir), "--cache", str(tmp_path / "c"), "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output


def test_inspect_summarises_and_draws(built_cache, tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(built_cache), "--png", str(tmp_path / "s.png"), "--n", "16"])
    assert result.exit_code == 0, result.output
    assert "valid       1        30" in result.output and "Class1.1=" in result.output
    assert (tmp_path / "s.png").stat().st_size > 5000
    assert json.loads((built_cache / "manifest.json").read_text())["complete"] is True


def test_preprocess_never_imports_tensorflow():
    code = "import sys, preprocess.cli, preprocess.pipeline, preprocess.summary; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
