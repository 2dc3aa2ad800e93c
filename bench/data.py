"""The benchmark's data: a synthetic set grown cheaply with hard links under new GalaxyIDs."""

import shutil
from pathlib import Path

from preprocess.kaggle import SOLUTIONS
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
