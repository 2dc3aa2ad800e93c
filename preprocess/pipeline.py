"""`preprocess run`: decode every galaxy of a Kaggle-layout folder once into the HDF5 cache.

The work is planned as shards (split, index, IDs); each shard is one joblib task that decodes
its images and writes its file, so memory stays bounded by jobs x shard size. The manifest is
rewritten after every finished shard, so an interrupted run resumes where it stopped: a shard
is skipped when its file verifies and its inputs and settings are unchanged.
"""

import csv
import hashlib
import json
import os
import signal
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from preprocess.atomic import replacing
from preprocess.cluster import dask_workers
from preprocess.images import BadImage, load_galaxy
from preprocess.labels import read_solutions
from preprocess.shards import (
    FORMAT_VERSION,
    MANIFEST,
    REJECTS,
    SPLITS,
    CacheError,
    check_shard,
    shard_name,
    write_json,
    write_shard,
)  # fmt: skip

TRAIN_IMAGES, TEST_IMAGES = "images_training_rev1", "images_test_rev1"
SOLUTIONS = "training_solutions_rev1.csv"


@dataclass(frozen=True)
class Settings:
    crop: int = 212
    size: int = 106
    shard_size: int = 4096
    valid: int = 4000
    seed: int = 0
    compression: str | None = None
    method: str = "jpeg-draft-half+box"


@dataclass
class ShardPlan:
    split: str
    index: int
    ids: np.ndarray
    paths: list[Path]
    labels: np.ndarray | None
    fingerprint: str = ""
    rejects: list[list] = field(default_factory=list)

    @property
    def name(self) -> str:
        return shard_name(self.split, self.index)


@dataclass
class Inputs:
    """What a data folder holds: training labels, image paths by GalaxyID, and what was set aside."""

    train_ids: np.ndarray
    train_labels: np.ndarray
    train_images: dict[int, Path]
    test_images: dict[int, Path]
    ignored: list[Path]  # files whose name is not a GalaxyID
    unlabelled: list[int]  # training images without a CSV row
    missing: list[int]  # CSV rows without an image


def list_images(folder: Path) -> tuple[dict[int, Path], list[Path]]:
    """GalaxyID -> path for `<digits>.jpg` files, and every other file found."""
    images, ignored = {}, []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        stem, ext = os.path.splitext(entry.name)
        if entry.is_file() and ext.lower() in (".jpg", ".jpeg") and stem.isdigit():
            images[int(stem)] = Path(entry.path)
        else:
            ignored.append(Path(entry.path))
    return images, ignored


def read_inputs(data: Path) -> Inputs:
    """List and validate a Kaggle-layout folder; raise LabelError/CacheError before any work is done."""
    if (data / MANIFEST).exists():
        raise CacheError(f"{data} holds {MANIFEST}: it looks like a cache; pass the Kaggle data folder as --data")
    for name in (TRAIN_IMAGES, SOLUTIONS):
        if not (data / name).exists():
            raise CacheError(f"{data / name} not found: --data must be a folder in Kaggle's layout (see README)")
    train_ids, train_labels = read_solutions(data / SOLUTIONS)
    train_images, ignored = list_images(data / TRAIN_IMAGES)
    test_images, test_ignored = list_images(data / TEST_IMAGES) if (data / TEST_IMAGES).is_dir() else ({}, [])
    labelled = set(train_ids.tolist())
    unlabelled = sorted(set(train_images) - labelled)
    missing = [i for i in train_ids.tolist() if i not in train_images]
    ignored += test_ignored
    return Inputs(train_ids, train_labels, train_images, test_images, ignored, unlabelled, missing)


def id_hash(ids: np.ndarray, seed: int) -> np.ndarray:
    """A well-mixed 64-bit hash of each GalaxyID (splitmix64), the same for an ID whatever else is in the set."""
    with np.errstate(over="ignore"):
        z = np.asarray(ids, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def validation_ids(train_ids: np.ndarray, n_valid: int, seed: int) -> np.ndarray:
    """The n_valid labelled IDs of smallest hash: fixed by the seed, and one added or removed
    CSV row changes the membership of at most one other galaxy."""
    order = np.argsort(id_hash(train_ids, seed + 1), kind="stable")
    return np.sort(np.asarray(train_ids)[order[:n_valid]])


def assign_shards(ids: list[int], shard_size: int) -> list[np.ndarray]:
    """About shard_size IDs per shard, each ID's shard fixed by its hash: adding or removing an image
    changes one shard only (unless the number of shards changes). IDs are sorted within a shard."""
    ids = np.array(sorted(ids), dtype=np.int64)
    n_shards = -(-len(ids) // shard_size)
    shard_of = id_hash(ids, 0) % np.uint64(max(n_shards, 1))
    return [ids[shard_of == k] for k in range(n_shards)]


def fingerprint(plan: ShardPlan, settings: Settings) -> str:
    """Hash of everything a shard is made from: settings, file names, sizes, mtimes, labels."""
    digest = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode())
    for galaxy_id, path in zip(plan.ids.tolist(), plan.paths):
        stat = path.stat() if path.exists() else None
        digest.update(f"{galaxy_id}:{path.name}:{stat and stat.st_size}:{stat and stat.st_mtime_ns};".encode())
    if plan.labels is not None:
        digest.update(np.ascontiguousarray(plan.labels, dtype=np.float32).tobytes())
    return digest.hexdigest()


def plan_shards(inputs: Inputs, settings: Settings) -> list[ShardPlan]:
    if settings.valid >= len(inputs.train_ids):
        raise ValueError(f"--valid {settings.valid} leaves no training galaxies out of {len(inputs.train_ids)}")
    valid = set(validation_ids(inputs.train_ids, settings.valid, settings.seed).tolist())
    label_of = dict(zip(inputs.train_ids.tolist(), inputs.train_labels))
    usable = sorted(i for i in label_of if i in inputs.train_images)
    members = {
        "train": [i for i in usable if i not in valid],
        "valid": [i for i in usable if i in valid],
        "test": sorted(inputs.test_images),
    }
    plans = []
    for split in SPLITS:
        images = inputs.test_images if split == "test" else inputs.train_images
        for index, chunk in enumerate(assign_shards(members[split], settings.shard_size)):
            labels = None if split == "test" else np.stack([label_of[i] for i in chunk.tolist()])
            plan = ShardPlan(split, index, chunk, [images[i] for i in chunk.tolist()], labels)
            plan.fingerprint = fingerprint(plan, settings)
            plans.append(plan)
    return plans


def build_shard(plan: ShardPlan, cache: Path, settings: Settings, source: str) -> dict:
    """Decode one shard's images and write its file (runs in a worker process)."""
    images, keep, rejects = [], [], []
    for i, path in enumerate(plan.paths):
        try:
            images.append(load_galaxy(path, settings.crop, settings.size))
            keep.append(i)
        except BadImage as error:
            rejects.append([int(plan.ids[i]), str(path), error.reason])
    stacked = np.stack(images) if images else np.zeros((0, settings.size, settings.size, 3), np.uint8)
    labels = None if plan.labels is None else plan.labels[keep]
    attrs = {"crop": settings.crop, "size": settings.size, "method": settings.method, "source": source}
    entry = write_shard(cache / plan.name, stacked, plan.ids[keep], labels, attrs, settings.compression)
    return {**entry, "split": plan.split, "fingerprint": plan.fingerprint, "rejects": rejects}


def is_done(entry: dict | None, plan: ShardPlan, cache: Path, settings: Settings) -> bool:
    if entry is None or entry.get("fingerprint") != plan.fingerprint:
        return False
    return not check_shard(cache, entry, asdict(settings))


def load_previous(cache: Path) -> dict[str, dict]:
    """Entries of an earlier (possibly interrupted) run, by shard name; {} when there is none usable."""
    try:
        manifest = json.loads((cache / MANIFEST).read_text())
        return {e["name"]: e for e in manifest["shards"]} if manifest.get("format_version") == FORMAT_VERSION else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_manifest(cache: Path, settings: Settings, source: str, entries: dict[str, dict], order: list[str]) -> None:
    shards = [entries[name] for name in order if name in entries]
    counts = {split: sum(e["count"] for e in shards if e["split"] == split) for split in SPLITS}
    manifest = {"format_version": FORMAT_VERSION, "settings": asdict(settings), "source": source}
    manifest.update(complete=len(shards) == len(order), counts=counts, shards=shards)
    write_json(cache / MANIFEST, manifest)


def write_rejects(cache: Path, rows: list[list]) -> None:
    with replacing(cache / REJECTS) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["GalaxyID", "path", "reason"])
        writer.writerows(sorted(rows))


def remove_leftovers(cache: Path, keep: set[str]) -> None:
    """Temporary files of killed runs, and shards that the current plan no longer has."""
    for path in cache.iterdir():
        stale_shard = path.suffix == ".h5" and path.name.split("-")[0] in SPLITS and path.name not in keep
        if path.name.endswith(".tmp") or stale_shard:
            path.unlink(missing_ok=True)


def ignore_interrupts() -> None:
    """Worker processes leave Ctrl-C to the main process, which stops them and reports once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(data: Path, cache: Path, settings: Settings, jobs: int = 1, progress: bool = True, backend: str = "local",
        scheduler: str | None = None, scheduler_timeout: float = 30.0) -> dict:  # fmt: skip
    """Build or complete the cache; returns counts, done/skipped shards and every reject.

    backend "local" runs `jobs` worker processes here; "dask" runs the same tasks on the dask
    cluster at `scheduler` (or on a local dask cluster of `jobs` processes when it is None).
    """
    data, cache = data.resolve(), cache.resolve()  # workers elsewhere need absolute paths
    inputs = read_inputs(data)
    plans = plan_shards(inputs, settings)
    cache.mkdir(parents=True, exist_ok=True)
    source, order = str(data.resolve()), [p.name for p in plans]
    previous = load_previous(cache)
    entries = {p.name: previous[p.name] for p in plans if is_done(previous.get(p.name), p, cache, settings)}
    todo = sorted((p for p in plans if p.name not in entries), key=lambda p: -len(p.ids))  # largest first: even load
    remove_leftovers(cache, keep=set(entries))
    write_manifest(cache, settings, source, entries, order)
    if backend == "dask":
        workers, options = dask_workers(scheduler, jobs, scheduler_timeout), {"n_jobs": -1}
    else:
        workers, options = nullcontext(), {"n_jobs": jobs, "initializer": ignore_interrupts}
    total = sum(len(p.ids) for p in todo)
    try:
        with workers, tqdm(total=total, desc="decoding galaxies", unit="img", disable=not progress) as bar:
            tasks = (delayed(build_shard)(plan, cache, settings, source) for plan in todo)
            for entry in Parallel(return_as="generator_unordered", **options)(tasks):
                entries[entry["name"]] = entry
                write_manifest(cache, settings, source, entries, order)
                bar.update(entry["count"] + len(entry["rejects"]))
    except BaseException:  # Ctrl-C, a failed write: joblib has stopped the workers; drop their half files
        remove_leftovers(cache, keep=set(order))
        raise
    rejects = [r for e in entries.values() for r in e["rejects"]]
    rejects += [[i, str(data / TRAIN_IMAGES / f"{i}.jpg"), "missing image"] for i in inputs.missing]
    write_rejects(cache, rejects)
    counts = {s: sum(e["count"] for e in entries.values() if e["split"] == s) for s in SPLITS}
    return {"counts": counts, "built": len(todo), "skipped": len(plans) - len(todo), "rejects": rejects,
            "ignored": inputs.ignored, "unlabelled": inputs.unlabelled}  # fmt: skip
