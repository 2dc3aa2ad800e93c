"""The cache format: HDF5 shards, manifest.json and rejects.csv, the contract between the stages.

A shard `{split}-{index:05d}.h5` holds `images` uint8 (n, size, size, 3), `ids` int64 (n,) sorted
and, for train/valid, `labels` float32 (n, 37). `manifest.json` lists every shard (split, count,
first/last ID, sha256, the fingerprint of its inputs) and the settings; it is marked complete
only after `rejects.csv` (GalaxyID, split, path, reason) is written. Every file is written under
a temporary name and renamed when complete, so a crash never leaves a half file under a final
name. `Cache.open` is the only way in for readers: it checks what is cheap (every shard present with
its manifest's size and modification time, its shapes); `verify` re-hashes everything. `Cache.reader`
serves a shard's rows a few at a time (preprocess.cache_reader.ShardReader).
"""

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np

from preprocess.cache_reader import CacheError, ShardReader, open_hdf5
from preprocess.images import DECODER, MAX_BYTES
from preprocess.schema import KAGGLE, TREE_TOLERANCE, campaign
from preprocess.tree import Campaign

FORMAT_VERSION = 4  # 3: shards' size and modification time in the manifest; 4: a campaign's vote counts
KAGGLE_FORMAT = 3  # a Kaggle cache is what format 3 wrote, byte for byte, so caches from before still open
MANIFEST, REJECTS = "manifest.json", "rejects.csv"
SPLITS = ("train", "valid", "calibrate", "test")
LABELLED = ("train", "valid", "calibrate")
CHUNK_ROWS = 16  # rows of a compressed shard's HDF5 chunk; readers take runs of it, so none is decompressed twice


@dataclass(frozen=True)
class Settings:
    """How the images were made and split; every shard of a cache shares them."""

    crop: int = 212
    size: int = 106
    shard_size: int = 4096
    valid: int = 4000
    seed: int = 0
    calibrate: int = 0  # labelled galaxies held back from training and validation, for calibrated intervals
    compression: str | None = None
    method: str = "jpeg-draft-half+box"
    decoder: str = DECODER  # shards decoded by another Pillow or libjpeg are redone, never mixed
    max_bytes: int = MAX_BYTES  # larger image files are rejected unread
    campaign: str = KAGGLE.name  # whose tree the labels follow: Kaggle's fractions, or a campaign's vote counts

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.size, self.size, 3)


def settings_record(settings: Settings) -> dict:
    """The settings as the manifest keeps them: a Kaggle cache's without the campaign, as format 3 wrote them."""
    record = asdict(settings)
    if settings.campaign == KAGGLE.name:
        del record["campaign"]
    return record


def format_version(settings: Settings) -> int:
    return KAGGLE_FORMAT if settings.campaign == KAGGLE.name else FORMAT_VERSION


@dataclass(frozen=True)
class Shard:
    """One shard's manifest entry."""

    name: str
    split: str
    count: int
    first_id: int | None
    last_id: int | None
    sha256: str
    fingerprint: str
    bytes: int  # the file's size and modification time when written: a cheap sign that it is unchanged
    mtime_ns: int
    rejects: tuple[tuple[int, str, str], ...] = ()  # (GalaxyID, path, reason) of inputs left out of this shard


@dataclass(frozen=True)
class Reject:
    """An input that could not be used, and why."""

    galaxy_id: int
    split: str
    path: str
    reason: str


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.h5"


def is_cache(folder: Path) -> bool:
    """Whether `folder` holds a cache (finished or not)."""
    return (folder / MANIFEST).exists()


def rejects_path(folder: Path) -> Path:
    return folder / REJECTS


def file_sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def load_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise CacheError(
            f"cache folder {folder} does not exist: run `make preprocess` (python -m preprocess run) first"
        )
    if not path.is_file():
        raise CacheError(f"{path} is missing: {folder} is not a finished cache; run `make preprocess` first")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CacheError(f"{path} is not valid JSON ({error}); rerun `make preprocess` to rebuild it") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") not in (KAGGLE_FORMAT, FORMAT_VERSION):
        raise CacheError(f"{path}: not a format {FORMAT_VERSION} manifest; rerun `make preprocess` to rebuild it")
    return manifest


def shard_from_entry(entry: dict) -> Shard:
    return Shard(**{**entry, "rejects": tuple(tuple(r) for r in entry.get("rejects", ()))})


class Cache:
    """A finished cache, opened and validated once: settings, shards and rejects per split, reading."""

    def __init__(self, folder: Path, manifest: dict):
        self.folder = folder
        self.settings = Settings(**manifest["settings"])
        self.source: str = manifest["source"]
        self.complete: bool = manifest["complete"]
        self.shards = [shard_from_entry(entry) for entry in manifest["shards"]]
        self.sha256 = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()

    @classmethod
    def open(cls, folder: str | os.PathLike, check: bool = True) -> "Cache":
        """The cache in `folder`; CacheError unless it is complete and (with `check`) every shard is sound."""
        folder = Path(folder)
        cache = cls(folder, load_manifest(folder))
        if check:
            if not cache.complete:
                raise CacheError(f"{folder} is incomplete (an interrupted run): rerun `make preprocess` first")
            problems = [p for shard in cache.shards for p in cache.shard_problems(shard, rehash=False)]
            if problems:
                raise CacheError("the cache is damaged; rerun `make preprocess` to rebuild it:\n" + "\n".join(problems))
        return cache

    @classmethod
    def of(cls, cache: "Cache | str | os.PathLike") -> "Cache":
        """`cache` itself if it is open already, else the cache opened (and validated) from its folder."""
        return cache if isinstance(cache, Cache) else cls.open(cache)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.settings.image_shape

    def split(self, split: str) -> list[Shard]:
        """The non-empty shards of a split, in manifest order."""
        return [s for s in self.shards if s.split == split and s.count > 0]

    def count(self, split: str) -> int:
        return sum(s.count for s in self.split(split))

    def nbytes(self, split: str) -> int:
        return sum(self.path(s).stat().st_size for s in self.split(split) if self.path(s).exists())

    def path(self, shard: Shard) -> Path:
        return self.folder / shard.name

    def open_shard(self, shard: Shard) -> h5py.File:
        return open_hdf5(self.path(shard))

    def reader(self, shard: Shard) -> ShardReader:
        return ShardReader(self.path(shard))

    def split_ids(self, split: str) -> np.ndarray:
        """Every GalaxyID of a split, sorted."""
        parts = [np.zeros(0, np.int64)]
        for shard in self.split(split):
            with self.open_shard(shard) as f:
                parts.append(f["ids"][()])
        return np.sort(np.concatenate(parts))

    def read(self, split: str, names: tuple[str, ...] = ("ids", "labels"), limit: int | None = None) -> dict:
        """Datasets `names` of a split, shard after shard (contiguous reads); at most `limit` rows."""
        parts: dict[str, list] = {name: [] for name in names}
        left = self.count(split) if limit is None else limit
        for shard in self.split(split):
            if left <= 0:
                break
            with self.open_shard(shard) as f:
                for name in names:
                    parts[name].append(f[name][:left])
            left -= min(left, shard.count)
        return {name: np.concatenate(arrays) for name, arrays in parts.items() if arrays}

    def blocks(self, split: str, names: tuple[str, ...], rows: int = 4096) -> Iterator[dict]:
        """Contiguous blocks of at most `rows` rows of a split, for work that need not hold a split in memory."""
        for shard in self.split(split):
            with self.open_shard(shard) as f:
                for start in range(0, shard.count, rows):
                    yield {name: f[name][start : start + rows] for name in names}

    def rejects(self, split: str | None = None) -> list[Reject]:
        """Inputs that preprocessing could not use, of one split or of all."""
        path = rejects_path(self.folder)
        if not path.is_file():
            return []
        with open(path, newline="") as f:
            rows = [Reject(int(r["GalaxyID"]), r["split"], r["path"], r["reason"]) for r in csv.DictReader(f)]
        return [r for r in rows if split is None or r.split == split]

    def shard_problems(self, shard: Shard, rehash: bool = True) -> list[str]:
        """Problems with one shard against its manifest entry; an empty list means it is sound. Without
        `rehash`, only a file whose size or modification time changed is hashed, and labels are not read."""
        return check_shard(self.path(shard), shard, self.settings, rehash)

    def verify(self) -> list[str]:
        """Every problem: hashes, shapes, dtypes, labels, IDs repeated across shards or splits, stray shards."""
        problems = [] if self.complete else [f"{self.folder}: incomplete run; rerun `make preprocess` to finish"]
        seen: dict[int, str] = {}
        for shard in self.shards:
            shard_problems = self.shard_problems(shard)
            problems += shard_problems
            if shard_problems:
                continue
            with self.open_shard(shard) as f:
                ids = f["ids"][()]
            if len(np.unique(ids)) != len(ids):
                problems.append(f"{self.path(shard)}: repeats a GalaxyID within the shard")
            for galaxy_id in ids.tolist():
                if galaxy_id in seen:
                    problems.append(f"{self.path(shard)}: GalaxyID {galaxy_id} also in {seen[galaxy_id]}")
                seen[galaxy_id] = shard.name
        listed = {s.name for s in self.shards}
        for path in sorted(self.folder.glob("*.h5")):
            if path.name not in listed:
                problems.append(f"{path}: shard not listed in the manifest (from another run or cache?)")
        return problems


def check_shard(path: Path, shard: Shard, settings: Settings, rehash: bool = True) -> list[str]:
    """Problems with the shard file at `path` against its entry and the cache's settings."""
    if not path.is_file():
        return [f"{path}: missing"]
    stat = path.stat()
    if stat.st_size != shard.bytes:
        return [f"{path}: {stat.st_size} bytes, the manifest says {shard.bytes} (file changed or damaged)"]
    unchanged = stat.st_mtime_ns == shard.mtime_ns  # else copied or touched: the hash tells whether it changed
    if (rehash or not unchanged) and file_sha256(path) != shard.sha256:
        return [f"{path}: sha256 differs from the manifest (file changed or damaged)"]
    problems = []
    n, size = shard.count, settings.size
    expected = {"images": ((n, size, size, 3), np.uint8), "ids": ((n,), np.int64)}
    tree = campaign(settings.campaign)
    if shard.split in LABELLED:
        expected["labels"] = ((n, len(tree.columns)), np.float32)
    try:
        with h5py.File(path, "r") as f:
            for name, (shape, dtype) in expected.items():
                if name not in f:
                    problems.append(f"{path}: dataset {name!r} missing")
                elif f[name].shape != shape or f[name].dtype != dtype:
                    problems.append(
                        f"{path}: {name} is {f[name].dtype}{f[name].shape}, expected {np.dtype(dtype)}{shape}"
                    )
            for key in ("crop", "size"):
                if f.attrs.get(key) != getattr(settings, key):
                    problems.append(f"{path}: made with {key}={f.attrs.get(key)}, cache uses {getattr(settings, key)}")
            if rehash and not problems and "labels" in expected and n:
                problems += label_problems(path, f["labels"][()], tree)
    except OSError as error:
        problems.append(f"{path}: cannot be read as HDF5 ({error})")
    return problems


def label_problems(path: Path, labels: np.ndarray, tree: Campaign) -> list[str]:
    """Fractions outside [0, 1] or off the tree by more than TREE_TOLERANCE; counts that are not counts."""
    if tree.counts:
        sound = (labels >= 0).all() and (labels == np.round(labels)).all()
        return [] if sound else [f"{path}: vote counts that are negative or not whole"]
    problems = []
    if labels.min() < 0 or labels.max() > 1:
        problems.append(f"{path}: labels outside [0, 1]")
    if tree.hierarchy_errors(labels).max() > TREE_TOLERANCE:
        problems.append(f"{path}: labels break the decision tree by {tree.hierarchy_errors(labels).max():.2g}")
    return problems
