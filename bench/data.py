"""The benchmarks' data, each made once and reused by later runs: synthetic sets, the quality set most benchmarks
train on, their caches, and larger sets grown cheaply with hard links under new GalaxyIDs."""

import os
import shutil
from pathlib import Path

import numpy as np

from preprocess import kaggle
from preprocess.cache import Cache, CacheError, Settings
from preprocess.labels import read_solutions, write_solutions
from preprocess.pipeline import run
from synth.campaign import CATALOG, TEST_CATALOG, TEST_EXPECTED, write_campaign
from synth.dataset import LABEL_DECIMALS, write_dataset

WORK = Path(__file__).parent / "work"
# The quality set: `make quality`, `make intervals-bench`, the learning curves (its seed, at 1,500-24,000
# training galaxies) and the finetuning benchmark's small trunk train on it; docs/results.md names it.
QUALITY_TRAIN, QUALITY_TEST, QUALITY_SEED, QUALITY_VALID = 6_000, 1_000, 71, 500
QUALITY_WORK = WORK / "quality"
# the speed benchmarks' galaxies (`make bench`, bench-cpu, bench-gpu), grown by copies of these
GROWN_TRAIN, GROWN_TEST = 1_000, 250


def synthetic(out: Path, n_train: int, n_test: int, seed: int) -> Path:
    """A synthetic set in the Kaggle layout, written unless it is there."""
    if not (out / kaggle.TEST_EXPECTED).exists():
        write_dataset(out, n_train, n_test, seed=seed, jobs=os.cpu_count() or 1)
    return out


def preprocessed(data: Path, cache: Path, valid: int, calibrate: int = 0, campaign: str = "kaggle") -> Cache:
    """The cache of `data` (a Kaggle-layout folder, or a campaign's catalog), made once and reused by later runs (an
    interrupted one resumes)."""
    try:
        return Cache.open(cache)
    except CacheError:
        settings = Settings(valid=valid, calibrate=calibrate, campaign=campaign)
        run(data, cache, settings, jobs=os.cpu_count() or 1)
        return Cache.open(cache)


def campaign_set(
    n_train: int = QUALITY_TRAIN, n_test: int = QUALITY_TEST, seed: int = QUALITY_SEED
) -> tuple[Path, Cache, Cache]:
    """The synthetic GZ DECaLS-like campaign of the quality set's size and seed (synth.campaign), the cache of its
    training catalog (QUALITY_VALID galaxies validating) and the cache of its test catalog (all in one split)."""
    data = WORK / "campaign" / f"data-{n_train}-{n_test}-{seed}"
    if not (data / TEST_EXPECTED).exists():
        write_campaign(data, n_train, n_test, seed=seed, jobs=os.cpu_count() or 1)
    train = preprocessed(data / CATALOG, data.parent / f"cache-{n_train}-{seed}", QUALITY_VALID, campaign="decals")
    test = preprocessed(data / TEST_CATALOG, data.parent / f"test-{n_test}-{seed}", 0, campaign="decals")
    return data, train, test


def quality_set(
    n_train: int = QUALITY_TRAIN, n_test: int = QUALITY_TEST, seed: int = QUALITY_SEED, calibrate: int = 0
) -> tuple[Path, Cache]:
    """The quality set (or one of other sizes or seed) and its cache: QUALITY_VALID galaxies validating (a
    twentieth of a larger set), `calibrate` calibrating."""
    data = synthetic(QUALITY_WORK / f"data-{n_train}-{n_test}-{seed}", n_train, n_test, seed)
    name = f"cache-{n_train}-{n_test}-{seed}" + (f"-calibrate-{calibrate}" if calibrate else "")
    return data, preprocessed(data, QUALITY_WORK / name, max(QUALITY_VALID, n_train // 20), calibrate)


def grown_dataset(work: Path, copies: int) -> Path:
    """GROWN_TRAIN x copies training and GROWN_TEST x copies test galaxies (seed 0); made once, reused."""
    out = work / f"data-{GROWN_TRAIN}x{copies}"
    if (out / kaggle.SOLUTIONS).exists():
        return out
    base = synthetic(work / f"base-{GROWN_TRAIN}-{GROWN_TEST}", GROWN_TRAIN, GROWN_TEST, seed=0)
    shutil.rmtree(out, ignore_errors=True)
    return replicate(base, out, copies)


def replicate(src: str | Path, dst: str | Path, copies: int) -> Path:
    """A larger set made cheaply from `src`: each galaxy `copies` times (see `grow`)."""
    n_train, n_test = (len(read_solutions(Path(src) / name)[0]) for name in (kaggle.SOLUTIONS, kaggle.ZEROS))
    return grow(src, dst, n_train * copies, n_test * copies)


def grow(src: str | Path, dst: str | Path, n_train: int, n_test: int) -> Path:
    """A set of exactly n_train training and n_test test galaxies made from `src`'s with hard links: each split's
    galaxies again and again under IDs g + k * 1,000,000 (copy 0 keeps the original IDs). Used to grow benchmark
    and test sets without drawing new galaxies."""
    src, dst = Path(src), Path(dst)
    for folder in (kaggle.TRAIN_IMAGES, kaggle.TEST_IMAGES):
        (dst / folder).mkdir(parents=True, exist_ok=True)
    tables = [
        (kaggle.SOLUTIONS, kaggle.TRAIN_IMAGES, n_train),
        (kaggle.TEST_SOLUTIONS, kaggle.TEST_IMAGES, n_test),
        (kaggle.ZEROS, None, n_test),
    ]
    if (src / kaggle.TEST_EXPECTED).exists():
        tables.append((kaggle.TEST_EXPECTED, None, n_test))
    for csv_name, folder, count in tables:
        ids, labels = read_solutions(src / csv_name)
        copies = -(-count // len(ids))
        grown_ids = np.concatenate([ids + k * 1_000_000 for k in range(copies)])[:count]
        if folder:
            for galaxy_id, source_id in zip(grown_ids, np.tile(ids, copies)):
                os.link(kaggle.image_path(src, folder, source_id), kaggle.image_path(dst, folder, galaxy_id))
        write_solutions(dst / csv_name, grown_ids, np.tile(labels, (copies, 1))[:count], decimals=LABEL_DECIMALS)
    return dst
