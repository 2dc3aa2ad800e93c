"""A synthetic campaign with vote counts: the same galaxies, asked GZ DECaLS's tree, by crowds whose size varies.

GZ DECaLS shows each galaxy to between about 5 and 40+ volunteers (Walmsley et al. 2022, section 2.3: 40 in its
first data releases, 5 for most of DR5 under active learning). Here each galaxy gets between VOLUNTEERS[0] and
VOLUNTEERS[1] of them, log-uniformly. Each DECaLS question takes its answer probabilities from the Kaggle
question that asks the same (synth.votes, which knows what volunteers see), mapped answer by answer; merging,
asked of every galaxy, from the odd-feature questions. Counts then go down the tree as in synth.votes: a
Dirichlet draw per question and galaxy, and a multinomial of the volunteers who gave the answer that leads there.
The expected fractions are the floor, as for Kaggle's set.
"""

import csv
from pathlib import Path

import numpy as np
from joblib import delayed

from preprocess.atomic import replacing
from preprocess.schema import DECALS
from synth.cutout import render
from synth.dataset import CHUNK, galaxy_ids, save_jpeg, synthesised
from synth.galaxy import Galaxy, sample_galaxy
from synth.votes import CONCENTRATION, dirichlet_alpha

VOLUNTEERS = (4, 50)  # fewest and most volunteers per galaxy
CATALOG, TEST_CATALOG, TEST_EXPECTED = "gz_decals_volunteers.csv", "test_volunteers.csv", "test_expected.csv"
TEST_LIST = "test_images.txt"  # the test galaxies' images, one path a line, for `train predict`
IMAGES = "images"

# DECaLS question -> (the Kaggle question asking the same, each DECaLS answer's weights over the Kaggle answers)
FROM_KAGGLE = {
    "smooth-or-featured": (1, np.eye(3)),
    "disk-edge-on": (2, np.eye(2)),
    "has-spiral-arms": (4, np.eye(2)),
    "bar": (3, np.array([[0.5, 0.0], [0.5, 0.0], [0.0, 1.0]])),  # barred: strong or weak alike
    # Kaggle's no / noticeable / obvious / dominant bulge -> dominant, large, moderate, small, none
    "bulge-size": (5, np.array([[0, 0, 0, 1], [0, 0, 0.5, 0], [0, 0.5, 0.5, 0], [0, 0.5, 0, 0], [1, 0, 0, 0]])),
    "how-rounded": (7, np.eye(3)),
    "edge-on-bulge": (9, np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])),  # Kaggle: rounded, boxy, no bulge
    "spiral-winding": (10, np.eye(3)),
    "spiral-arm-count": (11, np.eye(6)),
}
# merging's answers (none, minor, major disturbance, merger) from Kaggle's odd feature (Q8: ring, lens, disturbed,
# irregular, other, merger, dust lane), weighted by the share who call the galaxy odd (Q6)
MERGING_FROM_ODD = np.array([[0, 0, 0, 1, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 0]], float)


def decals_alphas(g: Galaxy) -> dict[str, np.ndarray]:
    """Each DECaLS question's Dirichlet parameters for galaxy `g`: the mean its volunteers answer, times the
    crowds' CONCENTRATION (as synth.votes)."""
    alphas = {}
    for question, (kaggle_question, weights) in FROM_KAGGLE.items():
        alphas[question] = weights @ dirichlet_alpha(g, kaggle_question)
    odd = dirichlet_alpha(g, 6)
    kind = dirichlet_alpha(g, 8)
    disturbed = odd[0] / odd.sum() * (MERGING_FROM_ODD @ (kind / kind.sum()))
    alphas["merging"] = np.concatenate([[1.0 - disturbed.sum()], disturbed]) * CONCENTRATION + 1e-3
    return alphas


def simulate_counts(g: Galaxy, volunteers: int, rng: np.random.Generator) -> np.ndarray:
    """Vote counts of `volunteers` volunteers in DECALS's column order; each question's answers sum to the count of
    the answer leading to it (to every volunteer for a question always asked)."""
    alphas = decals_alphas(g)
    counts = np.zeros(len(DECALS.columns), np.int64)
    for question in DECALS.questions:
        parent = DECALS.parent_index[question.key]
        asked = volunteers if parent is None else counts[parent]
        p = rng.dirichlet(alphas[question.key])
        counts[DECALS.slices[question.key]] = rng.multinomial(asked, p / p.sum())
    return counts


def expected_fractions(g: Galaxy) -> np.ndarray:
    """The mean vote fractions down the tree (each answer's share of the volunteers): the floor."""
    alphas = decals_alphas(g)
    return DECALS.tree_fractions(np.concatenate([alphas[q.key] for q in DECALS.questions]))[0]


def galaxy_name(galaxy_id: int) -> str:
    return f"SYN{galaxy_id:07d}"


def image_path(out: Path, name: str) -> Path:
    """Nested as GZ DECaLS ships its cutouts: a folder per 1,000 galaxies."""
    return out / IMAGES / name[:7] / f"{name}.jpg"


def make_counted_galaxy(galaxy_id: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image, vote counts and expected fractions of one galaxy, seeded by (seed, GalaxyID)."""
    rng = np.random.default_rng([seed, galaxy_id, 1])
    g = sample_galaxy(rng)
    volunteers = int(np.exp(rng.uniform(np.log(VOLUNTEERS[0]), np.log(VOLUNTEERS[1] + 1))))
    counts = simulate_counts(g, volunteers, rng)
    return render(g, rng), counts, expected_fractions(g)


def _write_chunk(ids: np.ndarray, out: Path, seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts, expected = np.zeros((len(ids), len(DECALS.columns))), np.zeros((len(ids), len(DECALS.columns)))
    for i, galaxy_id in enumerate(ids):
        image, counts[i], expected[i] = make_counted_galaxy(int(galaxy_id), seed)
        path = image_path(out, galaxy_name(int(galaxy_id)))
        path.parent.mkdir(parents=True, exist_ok=True)
        save_jpeg(image, path)
    return counts, expected


def write_counts(path: Path, ids: np.ndarray, counts: np.ndarray) -> None:
    """A catalog in GZ DECaLS's layout: iauname, then per question its total and its answers' counts."""
    header = [DECALS.id_column] + [c for q in DECALS.questions for c in (q.total, *q.columns)]
    with replacing(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for galaxy_id, row in zip(ids, counts.astype(np.int64)):
            cells = [galaxy_name(int(galaxy_id))]
            for q in DECALS.questions:
                answers = row[DECALS.slices[q.key]]
                cells += [int(answers.sum()), *answers.tolist()]
            writer.writerow(cells)


def write_expected(path: Path, ids: np.ndarray, expected: np.ndarray) -> None:
    """The expected fractions down the tree, written as a GZ DECaLS catalog writes fractions: each answer's share
    of its question's votes (`{answer}_fraction`); Campaign.tree_fractions turns them back."""
    shares = DECALS.question_shares(expected)
    with replacing(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([DECALS.id_column, *(f"{c}_fraction" for c in DECALS.columns)])
        writer.writerows([galaxy_name(int(i)), *(f"{v:.9f}" for v in row)] for i, row in zip(ids, shares))


def write_campaign(out: str | Path, n_train: int, n_test: int, seed: int = 0, jobs: int = 1) -> None:
    """Write a GZ DECaLS-like campaign: the training catalog, the test catalog and the test galaxies' expected
    fractions (the floor), their images below `images/`, and the list of the test galaxies' images."""
    out = Path(out)
    ids = galaxy_ids(n_train + n_test, seed)
    chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    parts = synthesised([delayed(_write_chunk)(c, out, seed) for c in chunks], [len(c) for c in chunks], jobs)
    width = len(DECALS.columns)
    counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, width))
    expected = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, width))
    write_counts(out / CATALOG, ids[:n_train], counts[:n_train])
    write_counts(out / TEST_CATALOG, ids[n_train:], counts[n_train:])
    write_expected(out / TEST_EXPECTED, ids[n_train:], expected[n_train:])
    test_paths = [image_path(out, galaxy_name(int(i))).relative_to(out).as_posix() for i in ids[n_train:]]
    with replacing(out / TEST_LIST) as tmp:
        tmp.write_text("".join(f"{path}\n" for path in test_paths))
