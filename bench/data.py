"""The benchmark's data: a synthetic set grown cheaply with hard links under new GalaxyIDs."""

import os
import shutil
from pathlib import Path

from preprocess.cache import Cache, CacheError, Settings
from preprocess.kaggle import SOLUTIONS
from preprocess.pipeline import run
from synth.dataset import replicate, write_dataset


def grown_dataset(work: Path, n_train: int, n_test: int, copies: int, seed: int = 0) -> Path:
    """n_train x copies training and n_test x copies test galaxies; made once, reused by later runs."""
    out = work / f"data-{n_train}x{copies}"
    if (out / SOLUTIONS).exists():
        return out
    base = work / f"base-{n_train}-{n_test}"
    if not (base / SOLUTIONS).exists():
        write_dataset(base, n_train, n_test, seed=seed, jobs=2)
    shutil.rmtree(out, ignore_errors=True)
    return replicate(base, out, copies)


def preprocessed(data: Path, cache: Path, valid: int) -> Cache:
    """The cache of `data`, made once and reused by later runs (an interrupted one resumes)."""
    try:
        return Cache.open(cache)
    except CacheError:
        run(data, cache, Settings(valid=valid), jobs=os.cpu_count() or 1)
        return Cache.open(cache)
