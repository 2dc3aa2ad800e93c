"""The finetuning benchmark's new survey: a synthetic set of its own seed, its three questions, labels drawn from
it as a user would label them, and how a finetuned run scores on its test galaxies.

The questions come from true_parameters.csv, none of them one of Kaggle's 37 columns: rings (binary, about 3% of
galaxies; scored on every test galaxy at that natural prevalence), the bar length of barred galaxies and the
Sersic index of smooth galaxies (regressions, scored on the test galaxies of their kind).
"""

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from preprocess import kaggle
from preprocess.atomic import write_csv
from preprocess.images import load_cutouts
from synth.dataset import TRUE_PARAMETERS, write_dataset
from train.finetuning.held_out import held_out_scores
from train.finetuning.tasks import Task, make_task
from train.runs import Run

QUESTIONS = {"rings": "ring", "bar length": "bar_length", "Sersic index": "sersic_index"}  # name -> truth column
MIN_RINGS = 2  # a draw of ring labels is redrawn until it holds this many (one to train on, one to hold out)


@dataclass(frozen=True)
class Survey:
    data: Path  # Kaggle's layout
    train: list[dict]  # true_parameters.csv's rows of the training split (the labels and the pool come from here)
    test: list[dict]

    def image(self, row: dict) -> Path:
        folder = kaggle.TRAIN_IMAGES if row["split"] == "train" else kaggle.TEST_IMAGES
        return self.data / folder / f"{row['GalaxyID']}.jpg"


def survey(folder: Path, n_train: int, n_test: int, seed: int) -> Survey:
    """The synthetic survey of `seed` in `folder`, written once."""
    if not (folder / TRUE_PARAMETERS).exists():
        write_dataset(folder, n_train, n_test, seed=seed, jobs=os.cpu_count() or 1)
    with open(folder / TRUE_PARAMETERS, newline="") as f:
        rows = list(csv.DictReader(f))
    return Survey(folder, [r for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "test"])


def label(row: dict, column: str) -> str:
    """The row's answer to a question ("" where the question does not apply: a galaxy with no bar has no length)."""
    return str(int(row["odd_feature"] == "ring")) if column == "ring" else row[column]


def candidates(rows: list[dict], column: str) -> list[dict]:
    return [row for row in rows if label(row, column) != ""]


def task_kind(column: str) -> str:
    return "binary" if column == "ring" else "regression"


def draw(rows: list[dict], column: str, n: int, rng: np.random.Generator) -> list[dict]:
    """n rows at random, as a user labelling galaxies would get them; for rings, redrawn until MIN_RINGS."""
    while True:
        picked = [rows[i] for i in rng.choice(len(rows), n, replace=False)]
        if column != "ring" or sum(label(r, column) == "1" for r in picked) >= MIN_RINGS:
            return picked


def write_labels(path: Path, rows: list[dict], column: str) -> Path:
    """A labels CSV as `train finetune --labels` reads it: GalaxyID and the question's column."""
    return write_csv(path, ["GalaxyID", column], ([r["GalaxyID"], label(r, column)] for r in rows))


def cutouts(survey: Survey, rows: list[dict], run: Path) -> np.ndarray:
    """The rows' images decoded as the run sees them (the same decoder as finetune's labels and predict)."""
    fraction, size = Run(run).view()
    paths = [survey.image(r) for r in rows]
    chunks = [paths[i : i + 256] for i in range(0, len(paths), 256)]
    decoded = Parallel(n_jobs=os.cpu_count() or 1)(delayed(load_cutouts)(c, fraction, size) for c in chunks)
    return np.stack([image for chunk in decoded for image in chunk])


@dataclass(frozen=True)
class TestSet:
    task: Task
    images: np.ndarray
    targets: np.ndarray


def test_set(survey: Survey, column: str, source: Path) -> TestSet:
    """The survey's test galaxies the question applies to, as targets of its task."""
    rows = candidates(survey.test, column)
    values = [[label(r, column)] for r in rows]
    task = make_task(task_kind(column), [column], values)
    return TestSet(task, cutouts(survey, rows, source), task.targets(values))


def test_scores(run: Path, task: Task, test: TestSet) -> dict[str, float]:
    """The run's scores on the test galaxies, with `predict`'s views. The run's own task (the labels' mean and
    spread for a regression; a finetune's model from scratch has its finetune's) turns its outputs into values;
    the test set's task gives the truth."""
    from train.finetuning.finetune import held_out_values

    values = held_out_values(Run(run), task, test.images)
    if task.kind == "regression":
        truth = test.targets * np.array(test.task.std) + np.array(test.task.mean)
        test = TestSet(task, test.images, (truth - np.array(task.mean)) / np.array(task.std))
    return held_out_scores(task, test.targets, values)
