"""`train suggest`: which galaxies to label next for a finetuned run.

Each unlabelled galaxy is scored by what its label would teach the head: how unsure the head is (for classes,
1 at an even split and 0 when sure; for numbers, the spread of the prediction over the test-time views, over
its largest in the pool) and, for classes, the probability that it belongs to the class the head predicts least of
in the pool (the few examples a rare class has are worth most; how the labels were balanced does not say which is
rare). Of the SHORTLIST x n best scored, galaxies are then taken one
at a time by their score times their distance (cosine, in the head's standardised features, at most 1) from the
nearest galaxy already labelled or taken, so that the picks show kinds of galaxy the labels do not show yet rather
than more of one kind (uncertainty first, then diversity among the most informative, as Zhdanov 2019's diverse
mini-batches; a core-set distance, Sener & Savarese 2018). Without the shortlist the distance outweighs the score
and the picks hold fewer members of a rare class. Labelled galaxies among the images count as covered; a near copy
(cosine similarity above NEAR_COPY) of a labelled or taken galaxy is never taken.
"""

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from preprocess.atomic import write_csv
from preprocess.listing import galaxy_key
from train.config import DECODE_JOBS, PREDICT_BATCH
from train.finetuning.data import read_rows
from train.finetuning.tasks import CLASSES
from train.prediction.catalog import decoded_batches, load_runs
from train.prediction.inference import with_views
from train.prediction.tta import DEFAULT_TTA
from train.runs import Run

NEAR_COPY = 0.995
SHORTLIST = 2  # the picks come from the SHORTLIST x n best scored


class SuggestError(ValueError):
    """Inputs that cannot make suggestions; the message says which and why."""


@dataclass(frozen=True)
class Pick:
    galaxy: str
    path: str
    score: float
    reason: str


def labelled_keys(labels: Path | None) -> set:
    """The galaxies a labels CSV already holds: its GalaxyID column, or its path column (as files' keys)."""
    if labels is None:
        return set()
    id_column, _, rows = read_rows(labels)
    return {galaxy_key(Path(cells[id_column])) for _, cells in rows}


def rarest_class(values: np.ndarray) -> int:
    """The class the head predicts least of in the pool: how the user balanced the labels says nothing of how rare
    a class is among the galaxies to choose from."""
    return int(np.argmin(values.mean(axis=0)))


def scores_of(kind: str, values: np.ndarray, spread: np.ndarray, rare: int | None) -> tuple[np.ndarray, list[str]]:
    """Each galaxy's score and the reason that weighs most in it."""
    if kind in CLASSES:
        p = np.clip(values, 1e-9, 1)
        unsure = -(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])
        likely = values[:, rare]
        reasons = [
            f"unsure ({top:.2f} for the likeliest class)" if u >= r else f"likely of the rare class ({r:.2f})"
            for u, r, top in zip(unsure, likely, values.max(axis=1))
        ]
        return unsure + likely, reasons
    unsure = spread / max(float(spread.max()), 1e-12)
    return unsure, [f"unsure (views disagree by {s:.3g})" for s in spread]


def unit_rows(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def spread_out(score: np.ndarray, features: np.ndarray, covered: np.ndarray, n: int) -> list[tuple[int, float]]:
    """n galaxies (fewer only when the pool holds fewer that are not near copies), each the one of the shortlist
    whose score times its distance from the nearest `covered` (the labelled galaxies' features) or already taken
    galaxy is largest (a product that never grows from one pick to the next), with that distance. The shortlist
    starts as the SHORTLIST x n best scored; where near copies of the picks use it up, the next best scored join."""
    unit = unit_rows(features)
    distance = np.ones(len(score))
    for known in unit_rows(covered):
        distance = np.minimum(distance, 1 - unit @ known)
    taken = np.zeros(len(score), bool)
    shortlisted = best_scored(score, distance >= 1 - NEAR_COPY, SHORTLIST * n)
    picks: list[tuple[int, float]] = []
    while len(picks) < n:
        eligible = (distance >= 1 - NEAR_COPY) & ~taken
        worth = np.where(shortlisted & eligible, score * distance, -np.inf)
        best = int(np.argmax(worth))
        if not np.isfinite(worth[best]):
            if not (eligible & ~shortlisted).any():
                break
            shortlisted |= best_scored(score, eligible & ~shortlisted, n - len(picks))
            continue
        picks.append((best, float(distance[best])))
        taken[best] = True
        distance = np.minimum(distance, 1 - unit @ unit[best])
    return picks


def best_scored(score: np.ndarray, among: np.ndarray, count: int) -> np.ndarray:
    """A mask of the `count` best scored galaxies of the mask `among` (the first on ties)."""
    candidates = np.flatnonzero(among)
    chosen = np.zeros(len(score), bool)
    chosen[candidates[np.argsort(-score[candidates], kind="stable")[:count]]] = True
    return chosen


@dataclass(frozen=True)
class Pool:
    """The unlabelled galaxies a run was asked about, with what its head makes of each."""

    paths: list[Path]
    values: np.ndarray  # the catalog's values (class probabilities, fractions or numbers)
    spread: np.ndarray  # the prediction's spread over the test-time views, averaged over the outputs
    features: np.ndarray  # the head's input
    covered: (
        np.ndarray
    )  # the head's input for the labelled galaxies among them (never picked; what they show is covered)


def scored_pool(
    run: Path,
    paths: list[Path],
    labels: Path | None = None,
    tta: int = DEFAULT_TTA,
    batch: int = PREDICT_BATCH,
    jobs: int = DECODE_JOBS,
) -> Pool:
    """The galaxies of `paths` that `labels` does not hold (and that decode), as the run's head sees them, and the
    features of those it holds (one view: only what they show is needed)."""
    models, task, fraction, size = load_runs([run])
    if task.kind == "kaggle":
        raise SuggestError(f"{run} predicts Kaggle's columns; suggest picks galaxies for a finetuned run")
    known = labelled_keys(labels)
    model = models[0]
    viewing = with_views(model, tta, spread=True)
    features_of = keras.Model(model.input, model.get_layer("answer").input)
    values, spreads, features, covered, kept = [], [], [], [np.zeros((0, features_of.output.shape[-1]))], []
    for chunk, decoded in tqdm(decoded_batches(paths, fraction, size, batch, jobs), desc="scoring", unit="batch"):
        good = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
        labelled = [i for i in good if galaxy_key(chunk[i]) in known]
        new = [i for i in good if i not in set(labelled)]
        if labelled:
            covered.append(
                np.asarray(features_of.predict_on_batch(np.stack([decoded[i] for i in labelled])), np.float64)
            )
        if not new:
            continue
        images = np.stack([decoded[i] for i in new])
        mean, std = viewing.predict_on_batch(images)
        values.append(task.values(mean))
        spreads.append(np.asarray(std, np.float64).mean(axis=1))
        features.append(np.asarray(features_of.predict_on_batch(images), np.float64))
        kept += [chunk[i] for i in new]
    if not kept:
        return Pool([], np.zeros((0, task.units)), np.zeros(0), np.zeros((0, 1)), np.concatenate(covered))
    return Pool(kept, *map(np.concatenate, (values, spreads, features, covered)))


def choose(pool: Pool, kind: str, n: int) -> list[Pick]:
    """The n galaxies of the pool whose labels would teach the head most (see the module's docstring)."""
    rare = rarest_class(pool.values) if kind in CLASSES else None
    score, reasons = scores_of(kind, pool.values, pool.spread, rare)
    return [
        Pick(
            str(galaxy_key(pool.paths[i])),
            str(pool.paths[i]),
            float(score[i] * distance),
            f"{reasons[i]}; {distance:.2f} from the nearest labelled or picked galaxy",
        )
        for i, distance in spread_out(score, pool.features, pool.covered, n)
    ]


def suggest(run: Path, paths: list[Path], n: int, labels: Path | None = None, **scoring) -> list[Pick]:
    """The n galaxies of `paths`, none of them labelled, whose labels would teach the run's head most. Labelled
    galaxies among `paths` count as covered."""
    pool = scored_pool(run, paths, labels, **scoring)
    return choose(pool, Run(run).task().kind, n) if pool.paths else []


def write_picks(out: Path, picks: list[Pick]) -> Path:
    rows = ([pick.galaxy, pick.path, f"{pick.score:.6f}", pick.reason] for pick in picks)
    return write_csv(out, ["GalaxyID", "path", "score", "reason"], rows)
