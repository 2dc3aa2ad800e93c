"""Look at a cache from the shell: `inspect` (what is in it) and `verify` (is it sound)."""

import csv
from pathlib import Path

import h5py
import numpy as np

from preprocess.schema import COLUMNS, SLICES
from preprocess.shards import LABELLED, REJECTS, SPLITS, check_shard, read_manifest, split_entries
from preprocess.sheet import contact_sheet

Q1_ANSWERS = ("smooth", "features", "star")


def read_rejects(cache: Path) -> list[dict]:
    path = cache / REJECTS
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def describe_cache(cache: Path) -> str:
    """A plain-text table: shards, galaxies, shapes and bytes per split; label means per question; rejects."""
    manifest = read_manifest(cache)
    lines = [f"cache {cache}  (from {manifest['source']}; settings {manifest['settings']})"]
    if not manifest.get("complete"):
        lines.append("INCOMPLETE: an interrupted run; rerun `make preprocess` to finish it")
    lines.append(f"{'split':<6} {'shards':>6} {'galaxies':>9} {'MB':>8}  images / labels")
    label_sums, label_count = np.zeros(len(COLUMNS)), 0
    for split in SPLITS:
        entries = split_entries(manifest, split)
        if not entries:
            continue
        size = sum((cache / e["name"]).stat().st_size for e in entries if (cache / e["name"]).exists())
        with h5py.File(cache / entries[0]["name"], "r") as f:
            shapes = " / ".join(f"{f[k].dtype}{f[k].shape[1:]}" for k in ("images", "labels") if k in f)
        for e in entries if split in LABELLED else []:
            with h5py.File(cache / e["name"], "r") as f:
                label_sums += f["labels"][()].sum(axis=0)
            label_count += e["count"]
        count = sum(e["count"] for e in entries)
        lines.append(f"{split:<6} {len(entries):>6} {count:>9} {size / 1e6:>8.1f}  {shapes}")
    if label_count:
        means = label_sums / label_count
        lines.append("label means per question (train+valid):")
        for q, sl in SLICES.items():
            lines.append(f"  Q{q:<2} " + " ".join(f"{COLUMNS[i]}={means[i]:.3f}" for i in range(sl.start, sl.stop)))
    rejects = read_rejects(cache)
    lines.append(f"rejects: {len(rejects)}" + (f" (listed in {cache / REJECTS})" if rejects else ""))
    for row in rejects[:5]:
        lines.append(f"  {row['GalaxyID']}: {row['reason']}")
    return "\n".join(lines)


def cache_sheet(cache: Path, out: Path, n: int = 64) -> Path:
    """Contact sheet of the first n galaxies of the first labelled (else test) shard, with ID and top Q1 answer."""
    manifest = read_manifest(cache)
    entries = split_entries(manifest, "train") or split_entries(manifest, "valid") or split_entries(manifest, "test")
    if not entries:
        raise ValueError(f"{cache} holds no galaxies")
    with h5py.File(cache / entries[0]["name"], "r") as f:
        images, ids = f["images"][:n], f["ids"][:n]
        labels = f["labels"][:n] if "labels" in f else None
    captions = []
    for i, galaxy_id in enumerate(ids):
        caption = str(galaxy_id)
        if labels is not None:
            top = int(np.argmax(labels[i, SLICES[1]]))
            caption += f" {Q1_ANSWERS[top]} {labels[i, top]:.2f}"
        captions.append(caption)
    return contact_sheet(list(images), captions, out)


def verify_cache(cache: Path) -> list[str]:
    """Every problem found: hashes, shapes, dtypes, labels, IDs repeated across shards or splits, stray shards."""
    manifest = read_manifest(cache)
    problems = [] if manifest.get("complete") else [f"{cache}: incomplete run; rerun `make preprocess` to finish"]
    seen: dict[int, str] = {}
    listed = {e["name"] for e in manifest["shards"]}
    for entry in manifest["shards"]:
        shard_problems = check_shard(cache, entry, manifest["settings"])
        problems += shard_problems
        if shard_problems:
            continue
        with h5py.File(cache / entry["name"], "r") as f:
            ids = f["ids"][()]
        if len(np.unique(ids)) != len(ids):
            problems.append(f"{cache / entry['name']}: repeats a GalaxyID within the shard")
        for galaxy_id in ids.tolist():
            if galaxy_id in seen:
                problems.append(f"{cache / entry['name']}: GalaxyID {galaxy_id} also in {seen[galaxy_id]}")
            seen[galaxy_id] = entry["name"]
    for path in sorted(cache.glob("*.h5")):
        if path.name not in listed:
            problems.append(f"{path}: shard not listed in the manifest (from another run or cache?)")
    return problems
