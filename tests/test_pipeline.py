import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bench.data import replicate
from preprocess.cache import Settings
from preprocess.kaggle import SOLUTIONS, TEST_SOLUTIONS, TRAIN_IMAGES
from preprocess.labels import read_solutions, write_solutions
from preprocess.pipeline import run
from tests.conftest import SMALL
from tests.helpers import assert_same_shards, paused_command, python_module, read_manifest, shard_contents


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
    test_ids, _ = read_solutions(kaggle_dir / TEST_SOLUTIONS)
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
    assert result.built == 0 and result.skipped == len(before["shards"])
    assert read_manifest(built_cache)["shards"] == before["shards"]


def test_valid_split_depends_on_seed_only(kaggle_dir, tmp_path):
    run(kaggle_dir, tmp_path / "a", Settings(shard_size=500, valid=30, seed=1), progress=False)
    run(kaggle_dir, tmp_path / "b", Settings(shard_size=500, valid=30, seed=1), jobs=2, progress=False)
    assert_same_shards(tmp_path / "a", tmp_path / "b")
    run(kaggle_dir, tmp_path / "c", Settings(shard_size=500, valid=30, seed=2), progress=False)
    assert not np.array_equal(
        shard_contents(tmp_path / "a")["valid-00000.h5"]["ids"], shard_contents(tmp_path / "c")["valid-00000.h5"]["ids"]
    )


def test_changed_image_redoes_only_its_shard(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    run(data, tmp_path / "cache", SMALL, progress=False)
    first_train = read_manifest(tmp_path / "cache")["shards"][0]
    path = data / TRAIN_IMAGES / f"{first_train['first_id']}.jpg"
    content = path.read_bytes()
    path.unlink()  # replace, do not write through the hard link
    path.write_bytes(content)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    result = run(data, tmp_path / "cache", SMALL, progress=False)
    assert result.built == 1


def run_command(data, cache, jobs: int = 1) -> list[str]:
    options = f"--jobs {jobs} --shard-size 64 --valid 100".split()
    return ["preprocess", "run", "--data", str(data), "--cache", str(cache), *options]


# the manifest is written once before the first shard and again after each finished shard
MANIFEST_WRITES = "preprocess.pipeline:write_manifest"


def test_kill_9_then_rerun_gives_identical_shards(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 8)  # 1280 galaxies in 20 shards
    run(data, tmp_path / "reference", Settings(shard_size=64, valid=100), progress=False)
    cache = tmp_path / "cache"
    for done in (1, 4, 9, 14):  # kill once this many of the 20 shards are done (cumulative over the reruns)
        flag = tmp_path / f"paused-{done}"
        already = len(read_manifest(cache)["shards"]) if (cache / "manifest.json").exists() else 0
        process = paused_command(flag, MANIFEST_WRITES, 1 + done - already, *run_command(data, cache))
        process.kill()
        process.wait()
        manifest = read_manifest(cache)
        assert len(manifest["shards"]) == done and not manifest["complete"], "killed mid-work"
    assert python_module(*run_command(data, cache)).wait() == 0
    assert_same_shards(cache, tmp_path / "reference")


def test_ctrl_c_stops_and_leaves_only_complete_shards(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 8)
    cache = tmp_path / "cache"
    process = paused_command(tmp_path / "paused", MANIFEST_WRITES, 2, *run_command(data, cache, jobs=2))
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "run the same command again to resume" in output
    assert "Traceback" not in output
    assert not read_manifest(cache)["complete"] and len(read_manifest(cache)["shards"]) == 1
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
    shard_contents(cache)  # every .h5 under a final name opens and reads


def test_second_run_on_the_same_cache_is_refused(kaggle_dir, tmp_path):
    data = replicate(kaggle_dir, tmp_path / "data", 8)
    cache = tmp_path / "cache"
    args = run_command(data, cache)
    first = paused_command(tmp_path / "paused", MANIFEST_WRITES, 1, *args)  # holds the cache, mid-work
    second = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=60)
    first.kill()
    first.wait()
    assert second.returncode != 0
    assert f"pid {first.pid}" in second.stderr and "in use by" in second.stderr


def test_preprocess_never_imports_tensorflow():
    code = "import sys, preprocess.cli, preprocess.pipeline, preprocess.summary; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def rebuilt_shards(before: dict, after: dict) -> set[str]:
    return {
        name
        for name in after
        if name not in before
        or not np.array_equal(before[name]["ids"], after[name]["ids"])
        or not np.array_equal(before[name].get("labels", 0), after[name].get("labels", 0))
    }


def test_added_image_and_edited_labels_redo_only_the_affected_shards(kaggle_dir, tmp_path):
    data, cache = replicate(kaggle_dir, tmp_path / "data", 1), tmp_path / "cache"
    run(data, cache, SMALL, progress=False)
    before = shard_contents(cache)
    ids, labels = read_solutions(data / SOLUTIONS)
    shutil.copy(data / TRAIN_IMAGES / f"{ids[0]}.jpg", data / TRAIN_IMAGES / "999999.jpg")
    write_solutions(data / SOLUTIONS, np.append(ids, 999999), np.vstack([labels, labels[:1]]), decimals=9)
    result = run(data, cache, SMALL, progress=False)
    after = shard_contents(cache)
    assert 1 <= result.built == len(rebuilt_shards(before, after)) <= 2
    edited = labels.copy()
    edited[5] = edited[6]
    write_solutions(data / SOLUTIONS, np.append(ids, 999999), np.vstack([edited, labels[:1]]), decimals=9)
    assert run(data, cache, SMALL, progress=False).built == 1
