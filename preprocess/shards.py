"""The cache format: HDF5 shards plus manifest.json, the contract between preprocess/ and train/.

A shard `{split}-{index:05d}.h5` holds `images` uint8 (n, size, size, 3), `ids` int64 (n,) and,
for train/valid, `labels` float32 (n, 37). Every file is written under a temporary name and
renamed when complete, so a crash never leaves a half file under a final name.
"""

import hashlib
import json
import os
import time
from pathlib import Path

import h5py
import numpy as np

from preprocess.atomic import replacing
from preprocess.schema import N_COLUMNS, hierarchy_errors

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REJECTS = "rejects.csv"
SPLITS = ("train", "valid", "test")
LABELLED = ("train", "valid")
TREE_TOLERANCE = 1e-3  # Kaggle's own labels are off the tree by up to ~1e-5 in a few rows


class CacheError(RuntimeError):
    """A cache that is missing, damaged or inconsistent; the message says what and where."""


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.h5"


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def write_shard(
    path: Path, images: np.ndarray, ids: np.ndarray, labels: np.ndarray | None, attrs: dict, compression=None
) -> dict:
    """Write one shard atomically and return its manifest entry (without split-specific fields)."""
    with replacing(path) as tmp:
        with h5py.File(tmp, "w") as f:
            chunks = (min(64, len(ids)), *images.shape[1:]) if compression and len(ids) else None
            f.create_dataset("images", data=images, dtype=np.uint8, compression=compression, chunks=chunks)
            f.create_dataset("ids", data=ids, dtype=np.int64)
            if labels is not None:
                f.create_dataset("labels", data=labels, dtype=np.float32)
            f.attrs.update({"format_version": FORMAT_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
            f.attrs.update({k: v for k, v in attrs.items() if v is not None})
        entry = {"name": path.name, "count": len(ids), "sha256": file_sha256(tmp)}
    entry.update(first_id=int(ids[0]) if len(ids) else None, last_id=int(ids[-1]) if len(ids) else None)
    return entry


def read_shard(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every dataset of a shard, in memory (for small shards and tests; training streams slices)."""
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in f}


def write_json(path: Path, data: dict) -> None:
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n")


def read_manifest(cache: str | os.PathLike) -> dict:
    """The cache's manifest; CacheError with the reason when it is missing or unreadable."""
    path = Path(cache) / MANIFEST
    if not Path(cache).is_dir():
        raise CacheError(f"cache folder {cache} does not exist: run `make preprocess` (python -m preprocess run) first")
    if not path.is_file():
        raise CacheError(f"{path} is missing: {cache} is not a finished cache; run `make preprocess` first")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CacheError(f"{path} is not valid JSON ({error}); rerun `make preprocess` to rebuild it") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise CacheError(f"{path}: not a format {FORMAT_VERSION} manifest; rerun `make preprocess` to rebuild it")
    return manifest


def split_entries(manifest: dict, split: str) -> list[dict]:
    return [entry for entry in manifest["shards"] if entry["split"] == split]


def check_shard(cache: Path, entry: dict, settings: dict, rehash: bool = True) -> list[str]:
    """Problems with one shard against its manifest entry; an empty list means it is sound."""
    path = cache / entry["name"]
    if not path.is_file():
        return [f"{path}: missing"]
    if rehash and file_sha256(path) != entry["sha256"]:
        return [f"{path}: sha256 differs from the manifest (file changed or damaged)"]
    problems = []
    size = settings["size"]
    try:
        with h5py.File(path, "r") as f:
            n = entry["count"]
            expected = {"images": ((n, size, size, 3), np.uint8), "ids": ((n,), np.int64)}
            if entry["split"] in LABELLED:
                expected["labels"] = ((n, N_COLUMNS), np.float32)
            for name, (shape, dtype) in expected.items():
                if name not in f:
                    problems.append(f"{path}: dataset {name!r} missing")
                elif f[name].shape != shape or f[name].dtype != dtype:
                    problems.append(
                        f"{path}: {name} is {f[name].dtype}{f[name].shape}, expected {np.dtype(dtype)}{shape}"
                    )
            for key in ("crop", "size"):
                if f.attrs.get(key) != settings[key]:
                    problems.append(f"{path}: made with {key}={f.attrs.get(key)}, cache uses {settings[key]}")
            if not problems and "labels" in expected and n:
                labels = f["labels"][()]
                if labels.min() < 0 or labels.max() > 1:
                    problems.append(f"{path}: labels outside [0, 1]")
                if hierarchy_errors(labels).max() > TREE_TOLERANCE:
                    problems.append(f"{path}: labels break the decision tree by {hierarchy_errors(labels).max():.2g}")
    except OSError as error:
        problems.append(f"{path}: cannot be read as HDF5 ({error})")
    return problems
