"""One function per benchmark; each returns plain numbers (rates in items per second)."""

import shutil
import time
from multiprocessing import Pool
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from preprocess.images import load_galaxy
from preprocess.pipeline import Settings, run
from preprocess.shards import read_manifest, split_entries


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def seed_decode(path: Path) -> np.ndarray:
    """The seed's per-image path: full JPEG decode, crop the central 212, bicubic resize to 106."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").crop((106, 106, 318, 318)).resize((106, 106), Image.Resampling.BICUBIC))


def _draft_only(paths: list[Path]) -> int:
    for path in paths:
        load_galaxy(path)
    return len(paths)


def preprocess_throughput(data: Path, work: Path, n_images: int) -> dict:
    """img/s of `preprocess run --jobs 2`, of the seed's way in one process, and of bare draft decoding in 2."""
    cache = work / "cache-throughput"
    shutil.rmtree(cache, ignore_errors=True)
    ours, _ = timed(run, data, cache, Settings(shard_size=1024, valid=500), jobs=2, progress=False)
    paths = sorted((data / "images_training_rev1").glob("*.jpg")) + sorted((data / "images_test_rev1").glob("*.jpg"))
    seed, _ = timed(lambda: [seed_decode(p) for p in paths])
    with Pool(2) as pool:
        pool.map(_draft_only, [paths[:8], paths[8:16]])  # start the workers before timing
        limit, _ = timed(pool.map, _draft_only, [paths[0::2], paths[1::2]])
    return {"ours": rate(n_images, ours), "seed_one_process": rate(len(paths), seed),
            "draft_two_processes": rate(len(paths), limit)}  # fmt: skip


def sequence_throughput(cache: Path, data: Path, batch: int = 64) -> dict:
    """img/s over one epoch of ShardDataset (shuffled, with and without augmentation) and of a generator
    that decodes the JPEGs of each batch the seed's way."""
    from train.dataset import ShardDataset

    rates = {}
    for name, augment in (("shard_dataset", True), ("shard_dataset_no_augment", False)):
        dataset = ShardDataset(cache, "train", batch_size=batch, shuffle=True, augment=augment, seed=1)
        seconds, served = timed(lambda d=dataset: sum(len(d[i][0]) for i in range(len(d))))
        rates[name] = rate(served, seconds)
    ids = dataset.ids
    folder = data / "images_training_rev1"

    def seed_epoch():
        count = 0
        for start in range(0, len(ids), batch):
            images = np.stack([seed_decode(folder / f"{i}.jpg") for i in ids[start : start + batch]])
            count += len(images)
        return count

    seed_seconds, seed_served = timed(seed_epoch)
    return {**rates, "jpeg_generator": rate(seed_served, seed_seconds)}


def input_stall(cache: Path, batch: int = 64) -> dict:
    """Training steps/s of the compact model fed by ShardDataset and by the same images in memory (batch 64)."""
    import keras

    from train.dataset import ShardDataset
    from train.models import build_model

    dataset = ShardDataset(cache, "train", batch_size=batch, shuffle=True, augment=False)
    images = np.concatenate([dataset[i][0] for i in range(len(dataset))])
    labels = np.concatenate([dataset[i][1] for i in range(len(dataset))])
    results = {}
    for name in ("numpy", "shard_dataset", "numpy_again", "shard_dataset_again"):
        keras.utils.set_random_seed(0)
        model = build_model("compact", "tree")
        model.compile(optimizer="adam", loss="mse")
        feed = {"x": dataset} if name.startswith("shard") else {"x": images, "y": labels, "batch_size": batch}
        model.fit(**feed, epochs=1, steps_per_epoch=4, verbose=0)  # warm-up: graph tracing
        seconds, _ = timed(model.fit, **feed, epochs=3, verbose=0)
        results[name] = rate(3 * len(dataset), seconds)  # steps (batches) per second
    return {"numpy": max(results["numpy"], results["numpy_again"]),
            "shard_dataset": max(results["shard_dataset"], results["shard_dataset_again"])}  # fmt: skip


def read_images(cache: Path, entries: list[dict], block: int = 512) -> None:
    for entry in entries:
        with h5py.File(cache / entry["name"], "r") as f:
            for start in range(0, entry["count"], block):
                f["images"][start : start + block]


def cache_cost(data: Path, work: Path) -> dict:
    """Bytes per image on disk and sequential read img/s for each HDF5 compression."""
    out = {}
    for compression in (None, "lzf", "gzip"):
        cache = work / f"cache-{compression or 'none'}"
        shutil.rmtree(cache, ignore_errors=True)
        build, _ = timed(run, data, cache, Settings(shard_size=1024, valid=500, compression=compression), jobs=2,
                         progress=False)  # fmt: skip
        entries = split_entries(read_manifest(cache), "train")
        size = sum((cache / e["name"]).stat().st_size for e in entries)
        count = sum(e["count"] for e in entries)

        seconds, _ = timed(read_images, cache, entries)
        out[compression or "none"] = {"bytes_per_image": size / count, "read_img_per_s": rate(count, seconds),
                                      "build_s": build}  # fmt: skip
    return out


def inference(cache: Path) -> dict:
    """Test predictions per second with 1 and with 8 views per galaxy."""
    from train.models import build_model
    from train.submit import predict

    model = build_model("compact", "tree")
    predict(model, cache, "test", tta=1, progress=False)  # warm-up
    out = {}
    for tta in (1, 8):
        seconds, (ids, _) = timed(predict, model, cache, "test", tta=tta, progress=False)
        out[f"tta{tta}"] = rate(len(ids), seconds)
    return out


def model_cost(batch: int = 32, steps: int = 3) -> dict:
    """Training steps/s of the seed's vgg16 and of compact, batch 32, on random data."""
    import keras

    from train.models import build_model

    images = np.random.default_rng(0).integers(0, 256, (batch, 106, 106, 3), dtype=np.uint8)
    labels = np.full((batch, 37), 0.1, np.float32)
    out = {}
    for name in ("compact", "vgg16"):
        model = build_model(name, "sigmoid")
        model.compile(optimizer=keras.optimizers.RMSprop(1e-6), loss="mse")
        model.train_on_batch(images, labels)
        seconds, _ = timed(lambda m=model: [m.train_on_batch(images, labels) for _ in range(steps)])
        out[name] = rate(steps, seconds)
    return out
