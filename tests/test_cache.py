"""The cache format: verify names damage, and readers refuse a damaged cache."""

import os
import shutil

import pytest
from click.testing import CliRunner

from preprocess.cache import Cache, Settings
from preprocess.cli import main as preprocess_main
from preprocess.pipeline import run
from tests.conftest import SMALL
from train.cli import main as train_main
from train.runs import Run


def damage(cache, how: str, data) -> str:
    """Damage the cache one way; returns what the error message must name."""
    if how == "missing shard":
        (cache / "train-00001.h5").unlink()
        return "train-00001.h5: missing"
    if how == "truncated shard":
        data = (cache / "valid-00000.h5").read_bytes()
        (cache / "valid-00000.h5").write_bytes(data[: len(data) // 3])
        return f"valid-00000.h5: {len(data) // 3} bytes, the manifest says {len(data)}"
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
        return "train-00000.h5: "
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
    submit = CliRunner().invoke(
        train_main, ["submit", "--cache", str(cache), "--baseline", "zeros", "--out", str(tmp_path / "s.csv")]
    )
    for result in (fit, submit):
        assert result.exit_code != 0 and expected in result.output and "Traceback" not in result.output
    assert not Run(tmp_path / "run").model.exists() and not (tmp_path / "s.csv").exists()


def test_stray_shard_is_named_by_verify(small_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    shutil.copy(cache / "train-00000.h5", cache / "train-00099.h5")
    result = CliRunner().invoke(preprocess_main, ["verify", str(cache)])
    assert result.exit_code != 0 and "train-00099.h5: shard not listed in the manifest" in result.output


def test_flipped_byte_makes_verify_name_the_shard(kaggle_dir, tmp_path):
    cache = tmp_path / "cache"
    run(kaggle_dir, cache, SMALL, progress=False)
    runner = CliRunner()
    assert runner.invoke(preprocess_main, ["verify", str(cache)]).exit_code == 0
    shard = cache / "train-00001.h5"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = runner.invoke(preprocess_main, ["verify", str(cache)])
    assert result.exit_code != 0
    assert "train-00001.h5: sha256 differs" in result.output
    assert "train-00000.h5" not in result.output


def test_opening_a_cache_hashes_only_shards_whose_size_or_time_changed(small_cache, tmp_path, monkeypatch):
    """Cache.open checks sizes, modification times and shapes; re-hashing every shard is `verify`'s (at Kaggle's
    size, 4.8 GB of SHA-256 before every command)."""
    import preprocess.cache

    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)  # copied with the files' times
    hashed, digest = [], preprocess.cache.file_sha256
    monkeypatch.setattr(preprocess.cache, "file_sha256", lambda path: hashed.append(path.name) or digest(path))
    shards = Cache.open(cache).shards
    assert hashed == []
    os.utime(cache / shards[0].name)  # touched (or copied without its time): hashed, and sound
    Cache.open(cache)
    assert hashed == [shards[0].name]
    hashed.clear()
    assert Cache.open(cache, check=False).verify() == [] and len(hashed) == len(shards)
