"""Shared fixtures: a small synthetic Kaggle-layout data set and its cache, made once per test session."""

from pathlib import Path

import pytest

from preprocess.cache import Settings
from preprocess.pipeline import run
from synth.dataset import write_dataset
from tests.helpers import parameters, write_labels
from train.config import FitConfig
from train.fitting.fit import fit

N_TRAIN, N_TEST = 120, 40
SMALL = Settings(shard_size=32, valid=30)  # 90 train, 30 valid, 40 test galaxies in shards of about 32


@pytest.fixture(scope="session")
def kaggle_dir(tmp_path_factory) -> Path:
    """A read-only-by-convention synthetic data set; copy it before changing anything."""
    out = tmp_path_factory.mktemp("kaggle")
    write_dataset(out, N_TRAIN, N_TEST, seed=3, jobs=1)
    return out


@pytest.fixture(scope="session")
def small_cache(kaggle_dir, tmp_path_factory) -> Path:
    """The synthetic set preprocessed with SMALL settings."""
    cache = tmp_path_factory.mktemp("small_cache")
    run(kaggle_dir, cache, SMALL, progress=False)
    return cache


@pytest.fixture(scope="session")
def trained_run(small_cache, tmp_path_factory):
    """One epoch of the default recipe, shared by the session: a test that must change the run copies it first."""
    run = tmp_path_factory.mktemp("run")
    fit(small_cache, run, FitConfig(epochs=1, batch=16), verbose=0)
    return run


@pytest.fixture(scope="session")
def second_run(small_cache, tmp_path_factory) -> Path:
    """Another model, of another kind, for ensembles."""
    run = tmp_path_factory.mktemp("second_run")
    fit(
        small_cache,
        run,
        FitConfig(model="viewpoints-mean", head="divisive", loss="mse", epochs=1, batch=16, seed=1),
        verbose=0,
    )
    return run


@pytest.fixture(scope="session")
def smooth_or_not(kaggle_dir, tmp_path_factory) -> Path:
    """A binary question of every galaxy of the synthetic set: is it smooth?"""
    rows = [f"{p['GalaxyID']},{'yes' if p['kind'] == 'smooth' else 'no'}" for p in parameters(kaggle_dir)]
    return write_labels(tmp_path_factory.mktemp("labels") / "smooth.csv", "GalaxyID,smooth", rows)
