"""Write a synthetic data set in the exact Kaggle layout, plus the test truth and the best possible prediction.

Each galaxy gets true parameters (galaxy.py), an image drawn from them (drawing.py) and the vote
fractions of simulated volunteers (votes.py). Everything is seeded by (seed, GalaxyID): the output
is byte-identical whatever the number of jobs.
"""

import csv
from pathlib import Path
from typing import BinaryIO

import numpy as np
from joblib import Parallel, delayed
from PIL import Image
from tqdm import tqdm

from preprocess import kaggle
from preprocess.atomic import replacing
from preprocess.labels import write_solutions
from preprocess.schema import N_COLUMNS
from preprocess.sheet import contact_sheet
from synth.cutout import render
from synth.galaxy import Galaxy, describe, parameters, sample_galaxy
from synth.votes import expected_fractions, simulate_votes

# Kaggle's JPEGs all carry the IJG tables at quality 75 with 4:2:0 chroma subsampling (luminance table mean 29.0,
# chrominance 43.4: read from the real images by `make framing`); saved alike, faint structure is lost alike.
JPEG = {"quality": 75, "subsampling": "4:2:0"}
CHUNK = 50  # galaxies per task
LABEL_DECIMALS = 9
TRUE_PARAMETERS = "true_parameters.csv"  # GalaxyID, split, then synth.galaxy.parameters of every galaxy


def galaxy_rng(galaxy_id: int, seed: int) -> np.random.Generator:
    """The generator a galaxy of a set is drawn from: its true parameters first (sample_galaxy), then its votes and
    its image."""
    return np.random.default_rng([seed, galaxy_id])


def make_galaxy(galaxy_id: int, seed: int) -> tuple[np.ndarray, np.ndarray, Galaxy]:
    """Image (FRAME, FRAME, 3) uint8, vote fractions (37,) and true parameters of one galaxy."""
    rng = galaxy_rng(galaxy_id, seed)
    g = sample_galaxy(rng)
    labels = simulate_votes(g, rng)
    return render(g, rng), labels, g


def _write_chunk(ids: np.ndarray, folder: Path, seed: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Save the chunk's JPEGs; return their vote fractions, expected fractions and true parameters."""
    labels, expected, truth = np.zeros((len(ids), N_COLUMNS)), np.zeros((len(ids), N_COLUMNS)), []
    for i, galaxy_id in enumerate(ids):
        image, labels[i], g = make_galaxy(int(galaxy_id), seed)
        expected[i] = expected_fractions(g)
        truth.append(parameters(g))
        save_jpeg(image, folder / f"{galaxy_id}.jpg")
    return labels, expected, truth


def save_jpeg(image: np.ndarray, target: Path | BinaryIO) -> None:
    """Save an image as Kaggle's are compressed (JPEG)."""
    Image.fromarray(image).save(target, "JPEG", **JPEG)


def synthesised(calls: list, sizes: list[int], jobs: int) -> list:
    """The results of the delayed `calls` (each a chunk of `sizes` galaxies) in order, run by `jobs` processes
    with a progress bar."""
    results, done = [], Parallel(n_jobs=jobs, return_as="generator")(calls)
    with tqdm(total=sum(sizes), desc="synthesising galaxies", unit="img") as bar:
        for size, result in zip(sizes, done):
            results.append(result)
            bar.update(size)
    return results


def galaxy_ids(n: int, seed: int) -> np.ndarray:
    """n distinct 6-digit GalaxyIDs, fixed by the seed; the first k are the same for any n >= k."""
    return 100000 + np.random.default_rng(seed).permutation(900000)[:n]


def write_dataset(out: str | Path, n_train: int, n_test: int, seed: int = 0, jobs: int = 1) -> None:
    """Write images, training/test solutions, the test expectations, the all-zeros sample submission and every
    galaxy's true parameters."""
    out = Path(out)
    ids = galaxy_ids(n_train + n_test, seed)
    splits = {kaggle.TRAIN_IMAGES: ids[:n_train], kaggle.TEST_IMAGES: ids[n_train:]}
    tasks = []
    for folder, split_ids in splits.items():
        (out / folder).mkdir(parents=True, exist_ok=True)
        tasks += [(folder, split_ids[i : i + CHUNK]) for i in range(0, len(split_ids), CHUNK)]
    results = synthesised(
        [delayed(_write_chunk)(chunk, out / folder, seed) for folder, chunk in tasks], [len(c) for _, c in tasks], jobs
    )
    parts: dict[str, list] = {folder: [] for folder in splits}
    for (folder, _), result in zip(tasks, results):
        parts[folder].append(result)

    def stacked(folder: str, which: int) -> np.ndarray:
        return np.concatenate([p[which] for p in parts[folder]]) if parts[folder] else np.zeros((0, N_COLUMNS))

    train_ids, test_ids = splits[kaggle.TRAIN_IMAGES], splits[kaggle.TEST_IMAGES]
    write_solutions(out / kaggle.SOLUTIONS, train_ids, stacked(kaggle.TRAIN_IMAGES, 0), LABEL_DECIMALS)
    write_solutions(out / kaggle.TEST_SOLUTIONS, test_ids, stacked(kaggle.TEST_IMAGES, 0), LABEL_DECIMALS)
    write_solutions(out / kaggle.TEST_EXPECTED, test_ids, stacked(kaggle.TEST_IMAGES, 1), LABEL_DECIMALS)
    write_solutions(out / kaggle.ZEROS, test_ids, np.zeros((len(test_ids), N_COLUMNS)))
    write_parameters(out / TRUE_PARAMETERS, {split: (splits[folder], parts[folder]) for split, folder in SPLIT_FOLDERS})


SPLIT_FOLDERS = (("train", kaggle.TRAIN_IMAGES), ("test", kaggle.TEST_IMAGES))


def write_parameters(path: Path, splits: dict[str, tuple[np.ndarray, list]]) -> None:
    """true_parameters.csv: GalaxyID, split and each galaxy's true parameters (empty where one does not apply)."""
    rows = [
        {"GalaxyID": int(galaxy_id), "split": split, **truth}
        for split, (ids, parts) in splits.items()
        for galaxy_id, truth in sorted(zip(ids, (t for part in parts for t in part[2])), key=lambda pair: pair[0])
    ]  # sorted by GalaxyID within a split, as the CSVs of votes
    with replacing(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["GalaxyID", "split"])
        writer.writeheader()
        writer.writerows({k: text(v) for k, v in row.items()} for row in rows)


def text(value) -> str:
    """A CSV cell: empty for None, six significant digits for a float."""
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def preview(out: str | Path, seed: int, n: int = 64) -> Path:
    """Contact sheet of the central half of the first n training galaxies, captioned with the truth."""
    images, captions = [], []
    quarter = kaggle.FRAME // 4
    for galaxy_id in galaxy_ids(n, seed):
        image, _, g = make_galaxy(int(galaxy_id), seed)
        images.append(image[quarter:-quarter, quarter:-quarter])
        captions.append(describe(g))
    return contact_sheet(images, captions, out)
