"""Reading a Galaxy Zoo volunteer catalog with vote counts (GZ2, GZ DECaLS, GZ DESI) for a campaign's tree.

A catalog is a CSV with one row per galaxy: its ID (the campaign's `id_column`, for example `iauname`), the count
of votes for each answer of the tree and, where the campaign keeps one, each question's total. Its images live
under one folder, in nested folders as the surveys ship them: a row names its image in an image column (a path
relative to that folder), or the image is the file named by the galaxy's ID anywhere below it.

A row whose counts break the tree, or whose image is missing, is set aside with the reason, as Kaggle rows are;
a catalog that lacks a column of the tree is refused before anything is read further.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from preprocess.listing import images_by_stem
from preprocess.tree import Campaign


class CatalogError(ValueError):
    """A catalog that cannot be read for its campaign; the message names the file, and the line or column."""


@dataclass
class Catalog:
    """Every row of a catalog, in its order, and the rows set aside by ID with the reason."""

    names: list[str]
    images: list[Path | None]  # None: no image found
    counts: np.ndarray  # (n, columns) float32: votes for each answer
    totals: np.ndarray  # (n, questions) float32: votes each question received
    off_tree: dict[str, str] = field(default_factory=dict)  # rows whose counts break the tree -> how
    missing: dict[str, str] = field(default_factory=dict)  # rows without an image -> the image looked for


def _needed_columns(campaign: Campaign, image_column: str | None) -> list[str]:
    totals = [q.total for q in campaign.questions if q.total is not None]
    return [campaign.id_column, *([image_column] if image_column else []), *campaign.columns, *totals]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _row_counts(campaign: Campaign, row: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.array([_number(row[c]) for c in campaign.columns], np.float64)
    totals = np.array(
        [counts[campaign.slices[q.key]].sum() if q.total is None else _number(row[q.total]) for q in campaign.questions]
    )
    return counts, totals


def read_catalog(path: Path, campaign: Campaign, images: Path, image_column: str | None = None) -> Catalog:
    """Every row of the counts catalog at `path`, with those whose counts break `campaign`'s tree or whose image is
    not under `images` set aside; CatalogError for a missing column, an empty catalog or an ID given twice."""
    if not campaign.counts:
        raise CatalogError(f"{path}: campaign {campaign.name} has no vote counts; read its solutions CSV instead")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in _needed_columns(campaign, image_column) if c not in header]
        if missing:
            raise CatalogError(f"{path}: line 1: no column {missing[0]!r} (campaign {campaign.name})")
        reader.fieldnames = header
        rows = [row for row in reader if any(value.strip() for value in row.values() if value)]
    if not rows:
        raise CatalogError(f"{path}: no galaxies after the header")
    found = None if image_column else images_by_stem(images)
    catalog = Catalog(
        [], [], np.zeros((len(rows), len(campaign.columns))), np.zeros((len(rows), len(campaign.questions)))
    )
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        name = row[campaign.id_column].strip()
        if name in seen:
            raise CatalogError(f"{path}: line {i + 2}: {campaign.id_column} {name} again (first on line {seen[name]})")
        seen[name] = i + 2
        catalog.counts[i], catalog.totals[i] = _row_counts(campaign, row)
        broken = campaign.count_errors(catalog.counts[i], catalog.totals[i])
        if broken:
            catalog.off_tree[name] = "votes off the decision tree: " + "; ".join(broken)
        image = images / row[image_column].strip() if image_column else found.get(name)
        if image is None or not image.is_file():
            catalog.missing[name] = str(image or images / f"{name}.png")
            image = None
        catalog.names.append(name)
        catalog.images.append(image)
    catalog.counts, catalog.totals = catalog.counts.astype(np.float32), catalog.totals.astype(np.float32)
    return catalog
