"""Reading a Galaxy Zoo volunteer catalog with vote counts (GZ2, GZ DECaLS, GZ DESI) for a campaign's tree.

A catalog is a CSV or a Parquet file (GZ DESI ships Parquet) with one row per galaxy: its ID (the campaign's
`id_column`, for example `iauname`), the count
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


PARQUET_SUFFIXES = (".parquet", ".pq")


def _parquet(path: Path, read: str):
    """pyarrow.parquet's `read` (read_table, read_schema) of `path` (pyarrow, the `parquet` extra, reads it)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CatalogError(
            f"{path}: reading Parquet needs pyarrow: `pip install pyarrow` (or this project's `.[parquet]` extra)"
        ) from None
    try:
        return getattr(pq, read)(path)
    except Exception as error:  # pyarrow's errors for a damaged or foreign file have no common base
        raise CatalogError(f"{path}: not a readable Parquet file ({error})") from None


def _parquet_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A Parquet catalog's header and rows, every value as text as a CSV would give it."""
    table = _parquet(path, "read_table")
    header = [name.strip() for name in table.column_names]
    text = {name: ["" if v is None else str(v) for v in column.to_pylist()] for name, column in zip(header, table)}
    return header, [{name: text[name][i] for name in header} for i in range(table.num_rows)]


def _csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        return header, [row for row in reader if any(value.strip() for value in row.values() if value)]


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def table_header(path: Path) -> list[str]:
    """A CSV or Parquet table's column names, read without its rows."""
    if is_parquet(path):
        return [name.strip() for name in _parquet(path, "read_schema").names]
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [name.strip() for name in next(csv.reader(f), [])]


def table_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV or Parquet table's header and rows, as texts by column."""
    return (_parquet_rows if is_parquet(path) else _csv_rows)(path)


def catalog_rows(path: Path, needed: list[str], campaign: Campaign) -> list[dict[str, str]]:
    """A CSV or Parquet catalog's rows as texts by column; CatalogError for a missing column or no rows."""
    header, rows = table_rows(path)
    missing = [c for c in needed if c not in header]
    if missing:
        raise CatalogError(f"{path}: line 1: no column {missing[0]!r} (campaign {campaign.name})")
    if not rows:
        raise CatalogError(f"{path}: no galaxies after the header")
    return rows


def read_votes(path: Path, campaign: Campaign, image_column: str | None = None) -> tuple[Catalog, list[dict]]:
    """The counts of every row of the catalog at `path`, those that break `campaign`'s tree set aside (images not
    yet looked for), and its rows; CatalogError for a missing column, an empty catalog or an ID given twice."""
    if not campaign.counts:
        raise CatalogError(f"{path}: campaign {campaign.name} has no vote counts; read its solutions CSV instead")
    rows = catalog_rows(path, _needed_columns(campaign, image_column), campaign)
    n = len(rows)
    catalog = Catalog([], [], np.zeros((n, len(campaign.columns))), np.zeros((n, len(campaign.questions))))
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
        catalog.names.append(name)
    catalog.counts, catalog.totals = catalog.counts.astype(np.float32), catalog.totals.astype(np.float32)
    return catalog, rows


def read_catalog(path: Path, campaign: Campaign, images: Path, image_column: str | None = None) -> Catalog:
    """Every row of the counts catalog at `path`, with those whose counts break `campaign`'s tree or whose image is
    not under `images` set aside; CatalogError for a missing column, an empty catalog or an ID given twice."""
    catalog, rows = read_votes(path, campaign, image_column)
    found = None if image_column else images_by_stem(images)
    for name, row in zip(catalog.names, rows):
        image = images / row[image_column].strip() if image_column else found.get(name)
        if image is None or not image.is_file():
            catalog.missing[name] = str(image or images / f"{name}.png")
            image = None
        catalog.images.append(image)
    return catalog
