"""Shared fixtures: a small synthetic Kaggle-layout data set, made once per test session."""

from pathlib import Path

import pytest

from preprocess.synthetic import write_dataset

N_TRAIN, N_TEST = 120, 40


@pytest.fixture(scope="session")
def kaggle_dir(tmp_path_factory) -> Path:
    """A read-only-by-convention synthetic data set; copy it before changing anything."""
    out = tmp_path_factory.mktemp("kaggle")
    write_dataset(out, N_TRAIN, N_TEST, seed=3, jobs=1)
    return out


@pytest.fixture(scope="session")
def small_cache(kaggle_dir, tmp_path_factory) -> Path:
    """The synthetic set preprocessed into small shards (90 train, 30 valid, 40 test)."""
    from preprocess.pipeline import Settings, run

    cache = tmp_path_factory.mktemp("small_cache")
    run(kaggle_dir, cache, Settings(shard_size=32, valid=30), progress=False)
    return cache
