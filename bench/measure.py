"""One function per benchmark; each returns plain numbers (rates in items per second)."""

import platform
import shutil
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from preprocess import kaggle
from preprocess.cache import Cache, Settings
from preprocess.images import load_galaxy
from preprocess.pipeline import run


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def seed_decode(path: Path) -> np.ndarray:
    """The seed's per-image path: full JPEG decode, crop the central 212, bicubic resize to 106."""
    quarter = kaggle.FRAME // 4
    box = (quarter, quarter, kaggle.FRAME - quarter, kaggle.FRAME - quarter)
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").crop(box).resize((106, 106), Image.Resampling.BICUBIC))


def _draft_only(paths: list[Path]) -> int:
    for path in paths:
        load_galaxy(path)
    return len(paths)


def preprocess_throughput(data: Path, work: Path, n_images: int) -> dict:
    """img/s of `preprocess run --jobs 2`, of the seed's way in one process, and of bare draft decoding in 2."""
    cache = work / "cache-throughput"
    shutil.rmtree(cache, ignore_errors=True)
    paths = [p for folder in (kaggle.TRAIN_IMAGES, kaggle.TEST_IMAGES) for p in sorted((data / folder).glob("*.jpg"))]
    for path in paths:  # into the page cache: neither way should pay for the disk, whichever runs first
        path.read_bytes()
    ours, _ = timed(run, data, cache, Settings(shard_size=1024, valid=500), jobs=2, progress=False)
    seed, _ = timed(lambda: [seed_decode(p) for p in paths])
    with Pool(2) as pool:
        pool.map(_draft_only, [paths[:8], paths[8:16]])  # start the workers before timing
        limit, _ = timed(pool.map, _draft_only, [paths[0::2], paths[1::2]])
    return {
        "ours": rate(n_images, ours),
        "seed_one_process": rate(len(paths), seed),
        "draft_two_processes": rate(len(paths), limit),
    }


def repeated_rate(function, seconds: float = 1.0) -> float:
    """Items per second of `function` (which returns how many it served), called until `seconds` have passed."""
    served, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        served += function()
    return rate(served, elapsed)


def loader_throughput(caches: dict[str, Path], data: Path, batch: int = 64) -> dict:
    """img/s of ShardDataset per compression, its batches asked for in a random order (as `model.fit` asks
    for them) and in order, after a first epoch that opens the files; each shard's images in one read into
    one buffer, for reference; and a generator that decodes the JPEGs of each batch the seed's way."""
    from train.fitting.dataset import ShardDataset

    out = {}
    for name, folder in caches.items():
        cache = Cache.open(folder)
        dataset = ShardDataset(cache, "train", batch_size=batch, seed=1)
        orders = {"keras_order": np.random.default_rng(0).permutation(len(dataset)), "in_order": range(len(dataset))}

        def epoch(order, d=dataset) -> int:
            d.on_epoch_end()
            return sum(len(d[int(i)][0]) for i in order)

        epoch(orders["in_order"])
        rates = {order_name: repeated_rate(lambda o=order: epoch(o)) for order_name, order in orders.items()}
        buffer = np.empty((max(s.count for s in dataset.shards), *cache.image_shape), np.uint8)

        def pure_read(d=dataset, b=buffer) -> int:
            for k, shard in enumerate(d.shards):
                d.reader(k).read("images", 0, b[: shard.count])
            return d.size

        out[name] = {**rates, "pure_read": repeated_rate(pure_read)}
    ids = dataset.ids
    folder = data / kaggle.TRAIN_IMAGES

    def seed_epoch():
        count = 0
        for start in range(0, len(ids), batch):
            images = np.stack([seed_decode(folder / f"{i}.jpg") for i in ids[start : start + batch]])
            count += len(images)
        return count

    seconds, served = timed(seed_epoch)
    return {**out, "jpeg_generator": rate(served, seconds)}


def fit_feed(cache: Path, model_name: str | None, batch: int = 64, epochs: int = 4, rounds: int = 3) -> dict:
    """img/s of model.fit fed by ShardDataset and by the same images as numpy arrays in memory, the best of
    `rounds` taken in turns (these shared machines halve a rate for seconds at a time, either feed's).
    model_name None: a near-free model (rescale, average, one dense layer), so the loader's cost shows; else
    that model of train.model.models."""
    import keras

    from train.fitting.dataset import ShardDataset
    from train.model.models import build_model

    dataset = ShardDataset(cache, "train", batch_size=batch)
    images = np.concatenate([dataset[i][0] for i in range(len(dataset))])
    labels = np.concatenate([dataset[i][1] for i in range(len(dataset))])
    rates: dict[str, float] = {}
    for name in ("numpy", "shard_dataset") * rounds:
        keras.utils.set_random_seed(0)
        if model_name is None:
            free = [keras.layers.Rescaling(1 / 255), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(37)]
            model = keras.Sequential([keras.Input(images.shape[1:], dtype="uint8"), *free])
        else:
            model = build_model(model_name, "tree", images.shape[1:], augment=True)
        model.compile(optimizer="adam", loss="mse")
        feed = {"x": dataset} if name == "shard_dataset" else {"x": images, "y": labels, "batch_size": batch}
        model.fit(**feed, epochs=1, steps_per_epoch=4, verbose=0)  # warm-up: graph tracing
        seconds, _ = timed(model.fit, **feed, epochs=epochs, verbose=0)
        rates[name] = max(rates.get(name, 0.0), rate(epochs * len(images), seconds))
    return rates


def cache_cost(data: Path, work: Path) -> dict:
    """Bytes per image on disk and build seconds for each HDF5 compression; the caches stay for later steps."""
    out = {}
    for compression in (None, "lzf", "gzip"):
        cache = work / f"cache-{compression or 'none'}"
        shutil.rmtree(cache, ignore_errors=True)
        settings = Settings(shard_size=1024, valid=500, compression=compression)
        build, _ = timed(run, data, cache, settings, jobs=2, progress=False)
        opened = Cache.open(cache)
        out[compression or "none"] = {
            "bytes_per_image": opened.nbytes("train") / opened.count("train"),
            "build_s": build,
        }
    return out


def inference(cache: Path) -> dict:
    """Test predictions per second with 1 and with 16 views per galaxy."""
    from train.model.models import build_model
    from train.prediction.inference import predict_split

    cache = Cache.open(cache)
    model = build_model("compact", "tree", cache.image_shape)
    out = {}
    for tta in (1, 16):
        predict_split([model], cache, "test", tta=tta, progress=False)  # warm-up: the first batches trace the model
        seconds, (ids, _) = timed(predict_split, [model], cache, "test", tta=tta, progress=False)
        out[f"tta{tta}"] = rate(len(ids), seconds)
    return out


def model_cost(batch: int = 32, steps: int = 3) -> dict:
    """Training steps/s of the seed's vgg16 and of compact, batch 32, on random data."""
    import keras

    from train.model.models import build_model

    shape = Settings().image_shape
    images = np.random.default_rng(0).integers(0, 256, (batch, *shape), dtype=np.uint8)
    labels = np.full((batch, 37), 0.1, np.float32)
    out = {}
    for name in ("compact", "vgg16"):
        model = build_model(name, "sigmoid", shape)
        model.compile(optimizer=keras.optimizers.RMSprop(1e-6), loss="mse")
        model.train_on_batch(images, labels)
        seconds, _ = timed(lambda m=model: [m.train_on_batch(images, labels) for _ in range(steps)])
        out[name] = rate(steps, seconds)
    return out


def whole_frame_augmentation_model(shape: tuple[int, int, int]):
    """The default model as it was: the augmentation resampled the whole frame, then the central box was cut."""
    import keras

    from train.model.layers import RandomAffine, central_box
    from train.model.models import compact_features, tree_head

    box = central_box(shape[0])
    inputs = keras.Input(shape, dtype="uint8")
    x = keras.layers.CenterCrop(box, box)(RandomAffine(zoom=1.0)(keras.layers.Rescaling(1 / 255)(inputs)))
    return keras.Model(inputs, tree_head(compact_features(x)))


def with_keras_batch_normalization(model):
    """The model with Keras's own batch normalisation where it has the fused one, as it had before."""
    import keras

    from train.model.layers import FusedBatchNormalization

    def unfused(layer):
        kind = keras.layers.BatchNormalization if isinstance(layer, FusedBatchNormalization) else type(layer)
        return kind.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=unfused)


def default_step(cache: Path, batch: int = 64, epochs: int = 2, rounds: int = 3) -> dict:
    """img/s of the default model through model.fit and ShardDataset, from as it was (the augmentation resampling
    the whole frame, Keras's batch normalisation) to as it is (resampling only the central box, the fused batch
    normalisation), and that in bfloat16; best of `rounds` taken in turns."""
    import keras

    from train.fitting.dataset import ShardDataset
    from train.fitting.fit import computing_in
    from train.model.models import build_model

    def centre(shape):
        return build_model("centre", "tree", shape, augment=True)

    dataset, shape = ShardDataset(cache, "train", batch_size=batch), Cache.open(cache).image_shape
    builders = {
        "whole_frame_keras_bn": (
            "float32",
            lambda shape: with_keras_batch_normalization(whole_frame_augmentation_model(shape)),
        ),
        "central_box_keras_bn": ("float32", lambda shape: with_keras_batch_normalization(centre(shape))),
        "central_box_fused_bn": ("float32", centre),
        "central_box_fused_bn_bfloat16": ("bfloat16", centre),
    }
    rates: dict[str, float] = {}
    for name in list(builders) * rounds:
        precision, builder = builders[name]
        keras.utils.set_random_seed(0)
        with computing_in(precision):
            model = builder(shape)
        model.compile(optimizer="adam", loss="mse")
        model.fit(dataset, epochs=1, steps_per_epoch=4, verbose=0)  # warm-up: graph tracing
        seconds, _ = timed(model.fit, dataset, epochs=epochs, verbose=0)
        rates[name] = max(rates.get(name, 0.0), rate(epochs * dataset.size, seconds))
    return rates
