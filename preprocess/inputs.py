"""What a data source holds, read and checked before any work: a Kaggle-layout folder (fractions), or a
campaign's volunteer catalog (vote counts, GZ2 or GZ DECaLS), as IDs, labels and image paths."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from preprocess import kaggle
from preprocess.cache import is_cache
from preprocess.catalog import read_catalog
from preprocess.labels import read_solutions
from preprocess.listing import list_images
from preprocess.schema import COLUMNS, KAGGLE, PARENT_INDEX, SLICES, TREE_TOLERANCE, row_hierarchy_errors
from preprocess.tree import Campaign


class DataError(RuntimeError):
    """A data folder or catalog that cannot be used; the message names what is missing."""


@dataclass
class Inputs:
    """What a data source holds: training labels, image paths by GalaxyID, and what was set aside."""

    train_ids: np.ndarray
    train_labels: np.ndarray  # Kaggle's fractions, or a campaign's vote counts
    train_images: dict[int, Path]
    test_images: dict[int, Path]
    ignored: list[Path]  # files whose name is not a GalaxyID
    unlabelled: list[int]  # training images without a CSV row
    missing: dict[int, str]  # CSV rows without an image -> the image looked for
    off_tree: dict[int, str]  # CSV rows whose answers break the decision tree -> which question, by how much
    labels_file: Path


def read_inputs(data: Path, campaign: Campaign = KAGGLE, image_column: str | None = None) -> Inputs:
    """List and validate a Kaggle-layout folder, or (for a campaign with counts) a catalog CSV whose images lie
    below its folder; raise LabelError/CatalogError/DataError before any work is done."""
    if campaign.counts:
        return read_catalog_inputs(data, campaign, image_column)
    if is_cache(data):
        raise DataError(f"{data} is a cache; pass the Kaggle data folder as --data")
    for name in (kaggle.TRAIN_IMAGES, kaggle.SOLUTIONS):
        if not (data / name).exists():
            raise DataError(f"{data / name} not found: --data must be a folder in Kaggle's layout (see README)")
    train_ids, train_labels = read_solutions(data / kaggle.SOLUTIONS)
    train_images, ignored = list_images(data / kaggle.TRAIN_IMAGES)
    test_folder = data / kaggle.TEST_IMAGES
    test_images, test_ignored = list_images(test_folder) if test_folder.is_dir() else ({}, [])
    unlabelled = sorted(set(train_images) - set(train_ids.tolist()))
    missing = {
        i: str(kaggle.image_path(data, kaggle.TRAIN_IMAGES, i)) for i in train_ids.tolist() if i not in train_images
    }
    return Inputs(
        train_ids,
        train_labels,
        train_images,
        test_images,
        ignored + test_ignored,
        unlabelled,
        missing,
        off_tree(train_ids, train_labels),
        data / kaggle.SOLUTIONS,
    )


def off_tree(ids: np.ndarray, labels: np.ndarray) -> dict[int, str]:
    """Rows whose answers do not sum to their parent's value (within TREE_TOLERANCE), naming each such question."""
    errors = row_hierarchy_errors(labels)
    bad = {}
    for row in np.flatnonzero(errors.max(axis=1) > TREE_TOLERANCE):
        broken = []
        for q in np.flatnonzero(errors[row] > TREE_TOLERANCE) + 1:
            parent = PARENT_INDEX[q]
            should = "1" if parent is None else f"{COLUMNS[parent]} = {labels[row, parent]:.4g}"
            broken.append(f"Q{q}'s answers sum to {labels[row, SLICES[q]].sum():.4g}, not {should}")
        bad[int(ids[row])] = "labels off the decision tree: " + "; ".join(broken)
    return bad


def galaxy_number(name: str) -> int:
    """The int64 GalaxyID the cache keeps for a catalog's ID: the number itself where it is one (GZ2's dr7objid),
    else 63 bits of its SHA-256 (GZ DECaLS's iauname, `J081412.47+220853.0`)."""
    if name.isdigit() and int(name) < 2**63:
        return int(name)
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


def read_catalog_inputs(path: Path, campaign: Campaign, image_column: str | None) -> Inputs:
    """A counts catalog's rows as Inputs: every row labelled, its images below the catalog's folder."""
    if not path.is_file():
        raise DataError(f"{path}: not a file; for campaign {campaign.name}, --data is its catalog (CSV or Parquet)")
    catalog = read_catalog(path, campaign, path.parent, image_column)
    named_by: dict[int, str] = {}
    for name in catalog.names:
        number = galaxy_number(name)
        if number in named_by:
            raise DataError(f"{path}: {named_by[number]} and {name} share the cache's GalaxyID {number}")
        named_by[number] = name
    by_name = {name: number for number, name in named_by.items()}
    numbers = list(named_by)
    images = {by_name[name]: image for name, image in zip(catalog.names, catalog.images) if image is not None}
    named = f"{campaign.id_column} "
    return Inputs(
        np.array(numbers, np.int64),
        catalog.counts,
        images,
        {},
        [],
        [],
        {by_name[name]: looked_for for name, looked_for in catalog.missing.items()},
        {by_name[name]: named + name + ": " + reason for name, reason in catalog.off_tree.items()},
        path,
    )
