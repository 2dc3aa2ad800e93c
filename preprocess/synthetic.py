"""Synthetic galaxies in the exact Kaggle layout, with labels from simulated volunteers.

Each galaxy gets true parameters (morphology, size, brightness, ...), an image drawn from them
(drawing.py) and the vote fractions of ~40 simulated volunteers who walk the decision tree.
A volunteer answers each question from the truth when the feature is visible and from a
vague prior when it is not, so fractions are noisy and ambiguous like real crowd votes, and
the counts obey the tree exactly. Everything is seeded by (seed, GalaxyID): the output is
byte-identical whatever the number of jobs.
"""

import os
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from PIL import Image
from tqdm import tqdm

from preprocess.drawing import render
from preprocess.labels import read_solutions, write_solutions
from preprocess.schema import N_COLUMNS, PARENT_INDEX, QUESTIONS, SLICES
from preprocess.sheet import contact_sheet

TRAIN_DIR, TEST_DIR = "images_training_rev1", "images_test_rev1"
SOLUTIONS, TEST_SOLUTIONS, ZEROS = "training_solutions_rev1.csv", "test_solutions.csv", "all_zeros_benchmark.csv"
ODD_TYPES = ["ring", "lens", "disturbed", "irregular", "other", "merger", "dust lane"]
# What volunteers answer when they cannot see the feature (one row per question).
UNSURE = {
    1: [0.62, 0.3, 0.08],
    2: [0.2, 0.8],
    3: [0.15, 0.85],
    4: [0.45, 0.55],
    5: [0.2, 0.55, 0.2, 0.05],
    6: [0.15, 0.85],
    7: [0.3, 0.5, 0.2],
    8: [0.1, 0.05, 0.15, 0.15, 0.3, 0.15, 0.1],
    9: [0.45, 0.15, 0.4],
    10: [0.3, 0.45, 0.25],
    11: [0.1, 0.3, 0.1, 0.05, 0.05, 0.4],
}
ORDINAL = {5, 7, 10}  # answers in order: confusion spills onto the neighbours
JPEG_QUALITY = 90


def sample_galaxy(rng: np.random.Generator) -> dict:
    """True parameters of one galaxy, including the true answer to every question."""
    kind = rng.choice(["smooth", "disk", "edge_on", "star"], p=[0.42, 0.41, 0.1, 0.07])
    odd = rng.random() < (0.05 if kind == "star" else 0.2)
    odd_type = rng.choice(ODD_TYPES, p=[0.16, 0.08, 0.16, 0.12, 0.1, 0.25, 0.13]) if odd else None
    if odd_type == "irregular":
        kind = "irregular"
    if odd_type == "dust lane" and kind == "disk":
        kind = "edge_on"
    size = float(np.exp(rng.uniform(np.log(5.0), np.log(30.0))))
    g = {
        "kind": str(kind),
        "odd_type": None if odd_type is None else str(odd_type),
        "size": size,
        "r_disk": size,
        "angle": rng.uniform(0, np.pi),
        "dx": rng.uniform(-3, 3),
        "dy": rng.uniform(-3, 3),
        "psf": rng.uniform(0.9, 1.8),
        "sky": rng.uniform(0.002, 0.01),
        "gradient": rng.uniform(-1, 1, 2),
        "noise": rng.uniform(0.003, 0.008),
        "peak_flux": float(np.exp(rng.uniform(np.log(2.0), np.log(12.0)))),
        "sersic_n": rng.uniform(2.0, 4.0),
        "axis_ratio": 1.0,
        "arms": 0,
        "pitch": 0.3,
        "arm_strength": 0.0,
        "bar": False,
        "bar_length": 0.0,
        "bar_angle": 0.0,
        "bulge": 3,
        "edge_bulge": "none",
        "artifact": bool(rng.random() < 0.3),
    }
    g["disk_flux"] = 0.04 * g["peak_flux"] * rng.uniform(0.5, 1.5)
    if kind == "smooth":
        g["axis_ratio"] = rng.uniform(0.3, 1.0)
    elif kind in ("disk", "irregular"):
        g["axis_ratio"] = rng.uniform(0.45, 1.0)
        g["bulge"] = int(rng.choice(4, p=[0.15, 0.4, 0.3, 0.15])) if kind == "disk" else 0
        if kind == "disk" and rng.random() < 0.7:
            g["arms"] = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.07, 0.5, 0.18, 0.12, 0.08, 0.05]))
            g["pitch"] = np.radians(rng.choice([12.0, 22.0, 34.0]) + rng.uniform(-3, 3))
            g["arm_strength"] = rng.uniform(0.8, 2.0)
        if kind == "disk" and rng.random() < 0.35:
            g["bar"], g["bar_length"], g["bar_angle"] = True, rng.uniform(0.9, 1.5) * size, rng.uniform(0, np.pi)
    elif kind == "edge_on":
        g["axis_ratio"], g["r_disk"] = 0.15, 1.5 * size
        g["edge_bulge"] = str(rng.choice(["rounded", "boxy", "none"], p=[0.5, 0.2, 0.3]))
        g["bulge"] = {"rounded": 2, "boxy": 2, "none": 0}[g["edge_bulge"]]
    g["bulge_flux"] = [0.0, 0.3, 0.8, 2.0][g["bulge"]] * g["disk_flux"] * 4.0
    g["extent"] = g["r_disk"] * (3.0 if odd_type in ("ring", "merger", "other") or kind == "smooth" else 2.2)
    g["truth"] = true_answers(g)
    g["visibility"] = float(visibility(g))
    return g


def true_answers(g: dict) -> dict[int, int]:
    """The answer a volunteer who sees everything would give to each of the 11 questions."""
    kind = g["kind"]
    roundness = 0 if g["axis_ratio"] > 0.8 else (1 if g["axis_ratio"] > 0.5 else 2)
    tightness = int(np.argmin(np.abs(np.degrees(g["pitch"]) - np.array([12.0, 22.0, 34.0]))))
    return {
        1: {"smooth": 0, "star": 2}.get(kind, 1),
        2: 0 if kind == "edge_on" else 1,
        3: 0 if g["bar"] else 1,
        4: 0 if g["arms"] else 1,
        5: g["bulge"],
        6: 0 if g["odd_type"] else 1,
        7: roundness,
        8: ODD_TYPES.index(g["odd_type"]) if g["odd_type"] else 4,
        9: {"rounded": 0, "boxy": 1, "none": 2}[g["edge_bulge"]],
        10: tightness,
        11: min(g["arms"], 5) - 1 if g["arms"] else 5,
    }


def visibility(g: dict) -> float:
    """How clearly details show, 0..1: large, bright, low-noise galaxies are easy to classify."""
    size_term = 1.0 / (1.0 + np.exp(-(np.log(g["size"]) - np.log(9.0)) * 4.0))
    brightness = g["disk_flux"] / g["noise"] if g["kind"] != "smooth" else g["peak_flux"]
    bright_term = 1.0 / (1.0 + np.exp(-(np.log(brightness) - np.log(4.0)) * 2.5))
    return size_term * bright_term


def answer_probabilities(q: int, truth: int, seen: float) -> np.ndarray:
    n = QUESTIONS[q][0]
    sure = np.zeros(n)
    sure[truth] = 1.0
    if q in ORDINAL:
        for neighbour in (truth - 1, truth + 1):
            if 0 <= neighbour < n:
                sure[neighbour] = 0.15
        sure /= sure.sum()
    return seen * sure + (1.0 - seen) * np.asarray(UNSURE[q])


def simulate_votes(g: dict, rng: np.random.Generator) -> np.ndarray:
    """Vote fractions (37,) of ~40 volunteers walking the tree; each question's counts sum to its parent's."""
    n_volunteers = int(rng.integers(30, 56))
    sharpness = {1: 0.5, 2: 0.7, 3: 1.3, 4: 1.0, 5: 0.8, 6: 0.8, 7: 0.3, 8: 1.0, 9: 1.0, 10: 1.5, 11: 1.5}
    seen = g["visibility"]
    if g["kind"] == "star":
        seen = 0.97
    counts = np.zeros(N_COLUMNS, dtype=np.int64)
    for q in QUESTIONS:
        parent = PARENT_INDEX[q]
        asked = n_volunteers if parent is None else counts[parent]
        p = answer_probabilities(q, g["truth"][q], seen ** sharpness[q])
        p = rng.dirichlet(p * 25.0 + 1e-3)  # volunteers disagree more than a multinomial says
        counts[SLICES[q]] = rng.multinomial(asked, p / p.sum())
    return counts / n_volunteers


def make_galaxy(galaxy_id: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Image (424, 424, 3) uint8, labels (37,) and parameters of one galaxy."""
    rng = np.random.default_rng([seed, galaxy_id])
    g = sample_galaxy(rng)
    labels = simulate_votes(g, rng)
    return render(g, rng), labels, g


def _write_chunk(ids: np.ndarray, folder: Path, seed: int) -> np.ndarray:
    labels = np.zeros((len(ids), N_COLUMNS))
    for i, galaxy_id in enumerate(ids):
        image, labels[i], _ = make_galaxy(int(galaxy_id), seed)
        Image.fromarray(image).save(folder / f"{galaxy_id}.jpg", quality=JPEG_QUALITY)
    return labels


def galaxy_ids(n: int, seed: int) -> np.ndarray:
    """n distinct 6-digit GalaxyIDs, fixed by the seed; the first k are the same for any n >= k."""
    return 100000 + np.random.default_rng(seed).permutation(900000)[:n]


def write_dataset(out: str | Path, n_train: int, n_test: int, seed: int = 0, jobs: int = 1) -> dict:
    """Write images, training/test solutions and the all-zeros sample submission under `out`."""
    out = Path(out)
    ids = galaxy_ids(n_train + n_test, seed)
    splits = {TRAIN_DIR: ids[:n_train], TEST_DIR: ids[n_train:]}
    tasks = []
    for folder_name, split_ids in splits.items():
        folder = out / folder_name
        folder.mkdir(parents=True, exist_ok=True)
        tasks += [(folder_name, split_ids[i : i + 50]) for i in range(0, len(split_ids), 50)]
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(_write_chunk)(chunk, out / name, seed) for name, chunk in tasks
    )
    labels: dict[str, list] = {TRAIN_DIR: [], TEST_DIR: []}
    with tqdm(total=len(ids), desc="synthesising galaxies", unit="img") as bar:
        for (name, chunk), chunk_labels in zip(tasks, results):
            labels[name].append(chunk_labels)
            bar.update(len(chunk))
    stacked = {k: np.concatenate(v) if v else np.zeros((0, N_COLUMNS)) for k, v in labels.items()}
    write_solutions(out / SOLUTIONS, splits[TRAIN_DIR], stacked[TRAIN_DIR], decimals=9)
    write_solutions(out / TEST_SOLUTIONS, splits[TEST_DIR], stacked[TEST_DIR], decimals=9)
    write_solutions(out / ZEROS, splits[TEST_DIR], np.zeros_like(stacked[TEST_DIR]))
    return {"train": len(splits[TRAIN_DIR]), "test": len(splits[TEST_DIR]), "out": str(out)}


def describe(g: dict) -> str:
    """A short caption of the true morphology, e.g. 'disk 2 arms bar' or 'smooth merger'."""
    words = [g["kind"].replace("_", "-")]
    if g["arms"]:
        words.append(f"{g['arms']} arms")
    if g["bar"]:
        words.append("bar")
    if g["odd_type"] and g["odd_type"] != "irregular":
        words.append(g["odd_type"])
    return " ".join(words)


def preview(out: str | Path, seed: int, n: int = 64) -> Path:
    """Contact sheet of the central 212x212 of the first n training galaxies, captioned with the truth."""
    images, captions = [], []
    for galaxy_id in galaxy_ids(n, seed):
        image, _, g = make_galaxy(int(galaxy_id), seed)
        images.append(image[106:318, 106:318])
        captions.append(describe(g))
    return contact_sheet(images, captions, out)


def replicate(src: str | Path, dst: str | Path, copies: int) -> Path:
    """A larger set made cheaply from `src`: each galaxy `copies` times under IDs g + k * 1,000,000 (hard links).

    Copy 0 keeps the original IDs. Used to grow benchmark and test sets without drawing new galaxies.
    """
    src, dst = Path(src), Path(dst)
    for folder in (TRAIN_DIR, TEST_DIR):
        (dst / folder).mkdir(parents=True, exist_ok=True)
    for csv_name, folder in ((SOLUTIONS, TRAIN_DIR), (TEST_SOLUTIONS, TEST_DIR), (ZEROS, None)):
        ids, labels = read_solutions(src / csv_name)
        grown_ids = np.concatenate([ids + k * 1_000_000 for k in range(copies)])
        if folder:
            for galaxy_id, source_id in zip(grown_ids, np.tile(ids, copies)):
                os.link(src / folder / f"{source_id}.jpg", dst / folder / f"{galaxy_id}.jpg")
        write_solutions(dst / csv_name, grown_ids, np.tile(labels, (copies, 1)), decimals=9)
    return dst
