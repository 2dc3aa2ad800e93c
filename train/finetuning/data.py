"""The labelled galaxies of a finetune: LABELS.csv read and checked, each row's image found and decoded once, and
the held-out part drawn. No TensorFlow here.

LABELS.csv has a `GalaxyID` column (found in `--images DIR`: a Kaggle-layout folder or any folder of `ID.jpg` /
`ID.png`, by preprocess.listing) or a `path` column (relative to the CSV), and one or more label columns. A row
that cannot be used (no image, an empty or non-numeric value, an image that cannot be decoded) is set aside with
its reason, never silently.
"""

import csv
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from preprocess import kaggle
from preprocess.images import load_cutouts
from preprocess.listing import images_by_stem, list_images
from preprocess.schema import CAMPAIGNS
from train.config import DECODE_JOBS, PREDICT_BATCH
from train.finetuning.tasks import Task, TaskError, is_number, make_task

# what names a label row's galaxy: Kaggle's GalaxyID, a campaign's own ID (GZ DECaLS's iauname, GZ2's dr7objid),
# each found as the image of that name below --images, or the image's path
NAMES = tuple(dict.fromkeys(c.id_column for c in CAMPAIGNS.values()))
ID_COLUMNS = (*NAMES, "path")


class LabelsError(ValueError):
    """Labels that cannot make a finetune at all; the message names the file, the column or the row."""


@dataclass(frozen=True)
class Reject:
    line: int  # in LABELS.csv, the header being line 1
    galaxy: str  # its GalaxyID or path
    reason: str


@dataclass
class Labelled:
    """The usable rows: their images (n, size, size, 3) uint8, the label texts and where each came from."""

    images: np.ndarray
    values: list[list[str]]
    galaxies: list[str]
    task: Task
    rejects: list[Reject]


def read_rows(path: Path) -> tuple[str, list[str], list[tuple[int, dict]]]:
    """The one reader of a labels CSV (finetune's and suggest's): its ID column's name, its header and its rows
    (line, cells). A byte-order mark (as spreadsheets save) is skipped; column names and IDs are stripped of
    spaces, so that " 123" is galaxy 123."""
    if not path.is_file():
        raise LabelsError(f"{path}: file not found")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [(reader.line_num, row) for row in reader]
    id_column = next((name for name in ID_COLUMNS if name in header), None)
    if id_column is None:
        raise LabelsError(
            f"{path}: line 1: needs a column naming each galaxy ({', '.join(ID_COLUMNS)}; found "
            f"{', '.join(header) or 'none'})"
        )
    for _, cells in rows:
        cells[id_column] = (cells[id_column] or "").strip()
    return id_column, header, rows


def read_table(path: Path, columns: list[str] | None) -> tuple[str, list[str], list[tuple[int, dict]]]:
    """The ID column's name, the label columns and the rows (line, cells) of LABELS.csv."""
    id_column, header, rows = read_rows(path)
    labels = columns or [name for name in header if name not in ID_COLUMNS]
    missing = [name for name in labels if name not in header]
    if missing or not labels:
        raise LabelsError(f"{path}: line 1: no label column {', '.join(missing) or '(only ' + id_column + ')'}")
    if not rows:
        raise LabelsError(f"{path}: no rows after the header")
    return id_column, labels, rows


def images_by_id(folder: Path) -> dict[int, Path]:
    """GalaxyID -> image in a Kaggle-layout folder (both image folders) or any folder of ID.jpg / ID.png."""
    inside = [folder / name for name in (kaggle.TRAIN_IMAGES, kaggle.TEST_IMAGES) if (folder / name).is_dir()]
    found: dict[int, Path] = {}
    for where in inside or [folder]:
        found.update(list_images(where)[0])
    return found


def locate(path: Path, id_column: str, rows: list[tuple[int, dict]], images: Path | None) -> list[Path | str]:
    """Each row's image, or the reason it has none."""
    if id_column == "path":
        return [
            (path.parent / cells["path"]) if (path.parent / cells["path"]).is_file() else "no such image file"
            for _, cells in rows
        ]
    if images is None:
        raise LabelsError(f"{path} names galaxies by {id_column}: give --images, the folder that holds their images")
    if id_column != "GalaxyID":  # a campaign's names, its images anywhere below the folder
        found = images_by_stem(images)
        return [found.get(cells[id_column], f"no image named {cells[id_column]!r} below {images}") for _, cells in rows]
    found = images_by_id(images)
    located = []
    for _, cells in rows:
        text = cells["GalaxyID"]
        galaxy = int(text) if text.isdigit() else None
        located.append(found.get(galaxy, f"no image of GalaxyID {text!r} in {images}"))
    return located


def read_labels(
    path: Path,
    images: Path | None,
    fraction: Fraction,
    size: int,
    kind: str | None = None,
    columns: list[str] | None = None,
    jobs: int = DECODE_JOBS,
) -> Labelled:
    """The usable rows of LABELS.csv with their images decoded (the central `fraction` of each image at `size`
    pixels, as the source run was trained), the task they call for, and the rows set aside."""
    id_column, labels, rows = read_table(path, columns)
    located = locate(path, id_column, rows, images)
    rejects, keep = [], []
    for (line, cells), where in zip(rows, located):
        texts = [(cells.get(name) or "").strip() for name in labels]
        reason = where if isinstance(where, str) else None
        if reason is None and "" in texts:
            reason = f"empty value in column {labels[texts.index('')]}"
        if reason is None and kind in ("fraction", "regression") and not all(map(is_number, texts)):
            reason = f"not a number in column {labels[[is_number(t) for t in texts].index(False)]}"
        if reason:
            rejects.append(Reject(line, cells[id_column], reason))
        else:
            keep.append((line, cells[id_column], texts, where))
    chunks = [keep[i : i + PREDICT_BATCH] for i in range(0, len(keep), PREDICT_BATCH)]
    decoded = Parallel(n_jobs=jobs)(delayed(load_cutouts)([k[3] for k in c], fraction, size) for c in chunks)
    images_ok, values, galaxies = [], [], []
    for (line, galaxy, texts, _), image in zip(keep, (image for chunk in decoded for image in chunk)):
        if isinstance(image, str):
            rejects.append(Reject(line, galaxy, image))
        else:
            images_ok.append(image)
            values.append(texts)
            galaxies.append(galaxy)
    if not values:
        raise LabelsError(
            f"{path}: no usable row ({len(rejects)} set aside, e.g. line {rejects[0].line}: {rejects[0].reason})"
        )
    try:
        task = make_task(kind, labels, values)
    except TaskError as error:
        raise LabelsError(f"{path}: {error}") from None
    stacked = np.stack(images_ok)
    return Labelled(stacked, values, galaxies, task, sorted(rejects, key=lambda r: r.line))


def held_out(labelled: Labelled, valid: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and the held-out rows: a share `valid` (or, above 1, a count) held out at random
    (fixed by `seed`), class by class for classification so that every class is in both parts.

    Not scikit-learn's stratified split: it rounds a rare class's share to none (2 rings in 100, 10% held out:
    both rings train), and a held-out part without the rare class cannot be ranked."""
    rng = np.random.default_rng(seed)
    n = len(labelled.values)
    if labelled.task.classifies:
        column = np.array([row[0] for row in labelled.values])
        groups = [np.flatnonzero(column == c) for c in labelled.task.classes]
        for c, members in zip(labelled.task.classes, groups):
            if len(members) < 2:
                raise LabelsError(
                    f"class {c!r} of column {labelled.task.columns[0]} has {len(members)} example "
                    f"({labelled.galaxies[members[0]]}): a class needs one to train on and one to hold out"
                )
    else:
        groups = [np.arange(n)]
    share = valid / n if valid >= 1 else valid
    held = np.concatenate([rng.permutation(g)[: max(1, round(share * len(g)))] for g in groups])
    train = np.setdiff1d(np.arange(n), held)
    if len(held) < 2 or len(train) < 2:
        raise LabelsError(f"{n} usable rows are too few to hold out {valid:g} of them and train on the rest")
    return train, np.sort(held)


def calibration_rows(labelled: Labelled, held: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out rows split in two, class by class for classification: those that stop training and choose
    its best epoch, and those left to score and calibrate the run (train.finetuning.calibration), which nothing
    chose by. (scikit-learn's stratified split refuses a class with one held-out row; here it stops training.)"""
    rng = np.random.default_rng(seed + 1)
    if labelled.task.classifies:
        column = np.array([labelled.values[i][0] for i in held])
        groups = [held[column == c] for c in labelled.task.classes]
    else:
        groups = [held]
    calibrate = np.concatenate([rng.permutation(g)[1::2] for g in groups])
    return np.setdiff1d(held, calibrate), np.sort(calibrate)
