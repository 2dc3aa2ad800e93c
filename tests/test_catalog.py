"""Preprocessing a campaign's volunteer catalog (vote counts, GZ DECaLS layout, images in nested folders)."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from preprocess.cache import Cache
from preprocess.catalog import read_catalog, table_header
from preprocess.cli import main
from preprocess.inputs import galaxy_number
from preprocess.schema import DECALS

NAMES = [f"J{100000 + i}.00+000000.0" for i in range(10)]
OFF_TREE, NO_IMAGE = NAMES[3], NAMES[7]


def decals_counts(smooth: int, featured: int) -> dict[str, int]:
    """Counts that follow the GZ DECaLS tree: smooth volunteers say round, featured ones a face-on two-armed spiral."""
    counts = dict.fromkeys(DECALS.columns, 0)
    counts.update({"smooth-or-featured_smooth": smooth, "smooth-or-featured_featured-or-disk": featured})
    counts.update({"how-rounded_round": smooth, "disk-edge-on_no": featured, "has-spiral-arms_yes": featured})
    counts.update({"bar_no": featured, "bulge-size_moderate": featured, "spiral-winding_tight": featured})
    counts.update({"spiral-arm-count_2": featured, "merging_none": smooth + featured})
    return counts


@pytest.fixture
def decals_catalog(tmp_path):
    """Ten galaxies, their PNGs in folders by the first four letters of their name (as GZ DECaLS ships them); one
    galaxy's spiral arms answered though nobody called it a face-on disk, one without an image."""
    rows = []
    for i, name in enumerate(NAMES):
        counts = decals_counts(smooth=i % 4, featured=3 + i)
        if name == OFF_TREE:
            counts["disk-edge-on_no"], counts["disk-edge-on_yes"] = 0, counts["disk-edge-on_no"]
        totals = {f"{q.key}_total-votes": sum(counts[c] for c in q.columns) for q in DECALS.questions}
        rows.append({"iauname": name, **counts, **totals})
        if name != NO_IMAGE:
            folder = tmp_path / "png" / name[:4]
            folder.mkdir(parents=True, exist_ok=True)
            pixels = np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{name}.png")
    path = tmp_path / "catalog.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path, rows


def preprocess_catalog(path, cache, *extra):
    args = ["run", "--campaign", "decals", "--data", str(path), "--cache", str(cache), "--valid", "2", "--jobs", "1"]
    return CliRunner().invoke(main, [*args, *extra])


def test_a_counts_catalog_keeps_its_counts_and_rejects_rows_by_name(decals_catalog, tmp_path):
    path, rows = decals_catalog
    result = preprocess_catalog(path, tmp_path / "cache", "--skip-bad")
    assert result.exit_code == 0, result.output
    assert f"iauname {OFF_TREE}: votes off the decision tree: has-spiral-arms has" in result.output
    assert f"{NO_IMAGE}.png" in result.output and "missing image" in result.output
    cache = Cache.open(tmp_path / "cache")
    assert cache.settings.campaign == "decals"
    stored = {}
    for split in ("train", "valid"):
        part = cache.read(split)
        stored.update(zip(part["ids"].tolist(), part["labels"]))
    expected = {galaxy_number(r["iauname"]): [r[c] for c in DECALS.columns] for r in rows}
    kept = [n for n in NAMES if n not in (OFF_TREE, NO_IMAGE)]
    assert sorted(stored) == sorted(galaxy_number(n) for n in kept)
    assert all(stored[i].tolist() == expected[i] for i in stored)
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["format_version"] == 4 and manifest["settings"]["campaign"] == "decals"


def test_a_parquet_catalog_is_read_as_its_csv(decals_catalog, tmp_path):
    """GZ DESI ships Parquet: the same rows as Parquet (numbers as numbers, as pyarrow writes them) give the same
    counts, the same rows set aside, the same images."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, rows = decals_catalog
    parquet = tmp_path / "catalog.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    from_csv, from_parquet = (read_catalog(p, DECALS, tmp_path / "png") for p in (path, parquet))
    assert from_parquet.names == from_csv.names and from_parquet.images == from_csv.images
    np.testing.assert_array_equal(from_parquet.counts, from_csv.counts)
    assert from_parquet.off_tree == from_csv.off_tree and from_parquet.missing == from_csv.missing
    assert table_header(parquet) == table_header(path) == list(rows[0])
    result = preprocess_catalog(parquet, tmp_path / "cache", "--skip-bad")
    assert result.exit_code == 0, result.output
    cache = Cache.open(tmp_path / "cache")
    assert cache.count("train") + cache.count("valid") == len(NAMES) - 2


def test_a_catalog_without_a_column_of_the_tree_is_refused_by_name(decals_catalog, tmp_path):
    path, rows = decals_catalog
    with open(path, "w", newline="") as f:
        fields = [k for k in rows[0] if k != "bar_weak"]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    result = preprocess_catalog(path, tmp_path / "cache")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "no column 'bar_weak' (campaign decals)" in result.output


def test_a_catalog_given_for_kaggle_or_a_folder_for_decals_is_refused(decals_catalog, tmp_path):
    path, _ = decals_catalog
    kaggle = CliRunner().invoke(main, ["run", "--data", str(path), "--cache", str(tmp_path / "c")])
    decals = preprocess_catalog(tmp_path, tmp_path / "c")
    assert kaggle.exit_code == 2 and "is a file: Kaggle's campaign reads a folder" in kaggle.output
    assert decals.exit_code == 2 and "is not a file: a campaign with vote counts reads its catalog" in decals.output


def test_a_kaggle_cache_is_written_as_format_3_wrote_it(small_cache):
    """Kaggle caches keep format 3's manifest (no campaign in the settings), so caches and runs from before open
    and their shards' fingerprints are unchanged."""
    manifest = json.loads((small_cache / "manifest.json").read_text())
    assert manifest["format_version"] == 3 and "campaign" not in manifest["settings"]
    assert Cache.open(small_cache).settings.campaign == "kaggle"
