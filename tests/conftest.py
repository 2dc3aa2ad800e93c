"""Shared fixtures: a small synthetic Kaggle-layout data set, its cache, runs trained on it and finetuned runs of it,
and a small synthetic campaign with vote counts, its cache and runs, made once per test session."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from preprocess.cache import Settings
from preprocess.kaggle import TRAIN_IMAGES
from preprocess.pipeline import run
from synth.campaign import CATALOG, write_campaign
from synth.dataset import write_dataset
from tests.helpers import parameters, write_labels
from train.cli import main
from train.config import FitConfig, configure
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


@dataclass(frozen=True)
class Finetuned:
    run: Path
    labels: Path
    output: str  # what `train finetune` printed


def finetuned(trunk: Path, labels: Path, kaggle_dir: Path, *more: str) -> Finetuned:
    run = labels.parent / "run"
    args = ["finetune", "--from", str(trunk), "--labels", str(labels), "--images", str(kaggle_dir), "--run", str(run)]
    result = CliRunner().invoke(main, [*args, "--epochs", "2", "--valid", "10", *more])
    assert result.exit_code == 0, result.output
    return Finetuned(run, labels, result.output)


@pytest.fixture(scope="session")
def finetuned_binary(kaggle_dir, trained_run, tmp_path_factory) -> Finetuned:
    """Smooth or not, finetuned on the first 60 training galaxies (10 held out) beside the model from scratch: the
    binary run that the tests which only read one share."""
    train_ids = {path.stem for path in (kaggle_dir / TRAIN_IMAGES).glob("*.jpg")}
    rows = [p for p in parameters(kaggle_dir) if p["GalaxyID"] in train_ids][:60]
    lines = [f"{p['GalaxyID']},{'yes' if p['kind'] == 'smooth' else 'no'}" for p in rows]
    labels = write_labels(tmp_path_factory.mktemp("binary") / "labels.csv", "GalaxyID,smooth", lines)
    return finetuned(trained_run, labels, kaggle_dir)


@pytest.fixture(scope="session")
def finetuned_size(kaggle_dir, trained_run, tmp_path_factory) -> Finetuned:
    """A regression of the training galaxies' sizes in pixels (10 held out): the regression run that the tests which
    only read one share."""
    rows = [p for p in parameters(kaggle_dir) if p["split"] == "train" and p["size"]]
    lines = [f"{p['GalaxyID']},{p['size']}" for p in rows]
    labels = write_labels(tmp_path_factory.mktemp("size") / "labels.csv", "GalaxyID,size", lines)
    return finetuned(trained_run, labels, kaggle_dir, "--no-compare")


@dataclass(frozen=True)
class CampaignSet:
    data: Path  # synth.campaign's files
    cache: Path
    runs: dict[str, Path]  # by loss: "dirichlet" (the dirichlet head) and "crossentropy" (the tree head)


@pytest.fixture(scope="session")
def campaign_set(tmp_path_factory) -> CampaignSet:
    """A GZ DECaLS-like campaign of 160 training galaxies (32 validate, 32 calibrate) and 16 test ones, and two
    epochs of the default recipe on its counts with each loss."""
    data, cache = tmp_path_factory.mktemp("campaign"), tmp_path_factory.mktemp("campaign_cache")
    write_campaign(data, 160, 16, seed=4)
    run(data / CATALOG, cache, Settings(shard_size=64, valid=32, calibrate=32, campaign="decals"), progress=False)
    runs = {}
    for loss in ("dirichlet", "crossentropy"):
        runs[loss] = tmp_path_factory.mktemp(f"campaign_{loss}")
        fit(cache, runs[loss], configure("default", epochs=2, batch=16, loss=loss), verbose=0)
    return CampaignSet(data, cache, runs)
