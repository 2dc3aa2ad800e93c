"""`preprocess run`: decode every galaxy of a Kaggle-layout folder once into the HDF5 cache.

The work is planned as shards (split, index, IDs); each shard is one joblib task that decodes
its images and writes its file, so memory stays bounded by jobs x shard size. The manifest is
rewritten after every finished shard, so an interrupted run resumes where it stopped: a shard
is skipped when its file verifies and its inputs and settings are unchanged.
"""

import hashlib
import json
import os
import signal
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from preprocess.cache import (
    LABELLED,
    SPLITS,
    Reject,
    Settings,
    Shard,
    check_shard,
    settings_record,
    shard_name,
)
from preprocess.cache_writer import previous_shards, remove_leftovers, write_manifest, write_rejects, write_shard
from preprocess.cluster import dask_workers
from preprocess.images import BadImage, load_galaxy
from preprocess.inputs import Inputs, read_inputs
from preprocess.schema import campaign
from preprocess.splits import assign_shards, held_out_ids


class SettingsError(ValueError):
    """Settings that cannot work for this data set; `option` names the command-line option to change."""

    def __init__(self, message: str, option: str):
        super().__init__(message)
        self.option = option


@dataclass
class ShardPlan:
    split: str
    index: int
    ids: np.ndarray
    paths: list[Path]
    labels: np.ndarray | None

    @property
    def name(self) -> str:
        return shard_name(self.split, self.index)


@dataclass
class RunResult:
    counts: dict[str, int]  # galaxies per split
    built: int  # shards written by this run
    skipped: int  # shards already done
    rejects: list[Reject]
    ignored: list[Path]
    unlabelled: list[int]


def fingerprint(plan: ShardPlan, settings: Settings) -> str:
    """Hash of everything a shard is made from: settings, file names, sizes, mtimes, labels. A cache without a
    calibration split hashes its settings as before the split existed, so its shards stay done."""
    made = settings_record(settings)
    if not settings.calibrate:
        del made["calibrate"]
    digest = hashlib.sha256(json.dumps(made, sort_keys=True).encode())
    for galaxy_id, path in zip(plan.ids.tolist(), plan.paths):
        try:
            stat = os.stat(path)
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:
            size = mtime = None
        digest.update(f"{galaxy_id}:{path.name}:{size}:{mtime};".encode())
    if plan.labels is not None:
        digest.update(np.ascontiguousarray(plan.labels, dtype=np.float32).tobytes())
    return digest.hexdigest()


def split_members(inputs: Inputs, settings: Settings) -> dict[str, list[int]]:
    """GalaxyIDs of each split: the validation and calibration splits are fixed by the IDs and the seed."""
    if settings.valid + settings.calibrate >= len(inputs.train_ids):
        message = (
            f"--valid {settings.valid} and --calibrate {settings.calibrate} leave no training galaxies out of "
            f"{len(inputs.train_ids)}"
        )
        raise SettingsError(message, "--valid" if settings.valid >= len(inputs.train_ids) else "--calibrate")
    held = held_out_ids(inputs.train_ids, settings.valid, settings.calibrate, settings.seed)
    valid, calibrate = (set(ids.tolist()) for ids in held)
    labelled = sorted(inputs.train_ids.tolist())
    return {
        "train": [i for i in labelled if i not in valid and i not in calibrate],
        "valid": [i for i in labelled if i in valid],
        "calibrate": [i for i in labelled if i in calibrate],
        "test": sorted(inputs.test_images),
    }


def plan_shards(inputs: Inputs, members: dict[str, list[int]], settings: Settings) -> list[ShardPlan]:
    label_of = dict(zip(inputs.train_ids.tolist(), inputs.train_labels))
    plans = []
    for split in SPLITS:
        images = inputs.test_images if split == "test" else inputs.train_images
        usable = [i for i in members[split] if i in images and i not in inputs.off_tree]
        for index, chunk in enumerate(assign_shards(usable, settings.shard_size)):
            width = inputs.train_labels.shape[1]
            labels = None if split == "test" else np.array([label_of[i] for i in chunk.tolist()]).reshape(-1, width)
            plans.append(ShardPlan(split, index, chunk, [images[i] for i in chunk.tolist()], labels))
    return plans


def build_shard(plan: ShardPlan, cache: Path, settings: Settings, source: str) -> Shard:
    """Decode one shard's images and write its file (runs in a worker process, which also takes the
    fingerprint: the stat of every input is then off the main process's path before the first task)."""
    made_from = fingerprint(plan, settings)
    images = np.empty((len(plan.paths), *settings.image_shape), np.uint8)
    keep, rejects = [], []
    for i, path in enumerate(plan.paths):
        try:
            images[len(keep)] = load_galaxy(path, settings.crop, settings.size, settings.max_bytes)
            keep.append(i)
        except BadImage as error:
            rejects.append((int(plan.ids[i]), str(path), error.reason))
    ids, labels = plan.ids[keep], None if plan.labels is None else plan.labels[keep]
    count, sha256 = write_shard(cache, plan.name, images[: len(keep)], ids, labels, settings, source)
    first, last = (int(ids[0]), int(ids[-1])) if count else (None, None)
    stat = (cache / plan.name).stat()
    return Shard(
        plan.name, plan.split, count, first, last, sha256, made_from, stat.st_size, stat.st_mtime_ns, tuple(rejects)
    )


def is_done(shard: Shard | None, plan: ShardPlan, cache: Path, settings: Settings) -> bool:
    if shard is None or shard.fingerprint != fingerprint(plan, settings):
        return False
    return not check_shard(cache / shard.name, shard, settings)


def worker_ready() -> None:
    """A task that does nothing: unpickling it makes a starting worker import this module (numpy, h5py, the
    decoders), the slow part of starting one, which `run` gets done while it plans."""


def ignore_interrupts() -> None:
    """Worker processes leave Ctrl-C to the main process, which stops them and reports once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def all_rejects(shards: list[Shard], inputs: Inputs, members: dict[str, list[int]]) -> list[Reject]:
    """Images that could not be decoded, CSV rows without an image, and CSV rows off the decision tree."""
    rejects = [Reject(galaxy_id, s.split, path, reason) for s in shards for galaxy_id, path, reason in s.rejects]
    split_of = {i: split for split in LABELLED for i in members[split]}
    for galaxy_id, path in inputs.missing.items():
        rejects.append(Reject(galaxy_id, split_of[galaxy_id], path, "missing image"))
    for galaxy_id, reason in inputs.off_tree.items():
        rejects.append(Reject(galaxy_id, split_of[galaxy_id], str(inputs.labels_file), reason))
    return rejects


def run(
    data: Path,
    cache: Path,
    settings: Settings,
    jobs: int = 1,
    progress: bool = True,
    backend: str = "local",
    scheduler: str | None = None,
    timeout: float = 30.0,
    image_column: str | None = None,
) -> RunResult:
    """Build or complete the cache from `data`: a Kaggle-layout folder, or the catalog CSV of `settings.campaign`
    when that campaign counts votes (its images below the catalog's folder, named in `image_column` or by ID).

    backend "local" runs `jobs` worker processes here; "dask" runs the same tasks on the dask
    cluster at `scheduler` (or on a local dask cluster of `jobs` processes when it is None), waiting
    `timeout` seconds for it.
    """
    data, cache = data.resolve(), cache.resolve()  # workers elsewhere need absolute paths
    if backend == "dask":
        workers, options, warm_up = dask_workers(scheduler, jobs, timeout), {"n_jobs": -1}, []
    else:
        workers, options = nullcontext(), {"n_jobs": jobs, "initializer": ignore_interrupts}
        # joblib dispatches a generator's first tasks at once: the workers start while this process plans
        warm_up = Parallel(return_as="generator_unordered", **options)(delayed(worker_ready)() for _ in range(jobs))
    try:
        inputs = read_inputs(data, campaign(settings.campaign), image_column)
        members = split_members(inputs, settings)
        plans = plan_shards(inputs, members, settings)
        cache.mkdir(parents=True, exist_ok=True)
        previous = previous_shards(cache)
        done = {p.name: previous[p.name] for p in plans if is_done(previous.get(p.name), p, cache, settings)}
    finally:  # exhausted, even after an error: joblib shuts down the workers of a generator collected mid-way
        list(warm_up)
    todo = sorted((p for p in plans if p.name not in done), key=lambda p: -len(p.ids))  # largest first: even load
    source = str(data)

    def finished() -> list[Shard]:
        return [done[p.name] for p in plans if p.name in done]

    def save_manifest(complete: bool = False) -> None:
        write_manifest(cache, settings, source, finished(), complete)

    remove_leftovers(cache, keep=set(done))
    save_manifest()
    total = sum(len(p.ids) for p in todo)
    try:
        with workers, tqdm(total=total, desc="decoding galaxies", unit="img", disable=not progress) as bar:
            tasks = (delayed(build_shard)(plan, cache, settings, source) for plan in todo)
            for shard in Parallel(return_as="generator_unordered", **options)(tasks):
                done[shard.name] = shard
                save_manifest()
                bar.update(shard.count + len(shard.rejects))
    except BaseException:  # Ctrl-C, a failed write: joblib has stopped the workers; drop their half files
        remove_leftovers(cache, keep={p.name for p in plans})
        raise
    shards = finished()
    rejects = all_rejects(shards, inputs, members)
    write_rejects(cache, rejects)
    save_manifest(complete=True)  # complete only once rejects.csv is written
    counts = {split: sum(s.count for s in shards if s.split == split) for split in SPLITS}
    return RunResult(counts, len(todo), len(plans) - len(todo), rejects, inputs.ignored, inputs.unlabelled)
