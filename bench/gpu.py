"""`make bench-gpu`: does the loader keep an accelerator busy? Training img/s of each model fed by ShardDataset
through `model.fit` (Keras's shuffled batch order), against the same batches already in device memory
(`train_on_batch` on device tensors: no loader at all). Runs on whatever device TensorFlow finds; on a CPU it
measures the CPU.
"""

import time
from pathlib import Path

import click
import keras
import numpy as np
import tensorflow as tf

from bench.data import grown_dataset
from preprocess.atomic import write_json
from preprocess.cache import Settings
from preprocess.pipeline import run
from train.fitting.dataset import ShardDataset
from train.model.models import FEATURES, build_model

WORK = Path(__file__).parent / "work"
RESULTS = Path(__file__).parent / "results_gpu.json"


def device() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU (no GPU found)"
    return ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)


def in_memory_rate(model: keras.Model, dataset: ShardDataset, steps: int) -> float:
    """img/s of train_on_batch on batches copied to the device once, before timing."""
    with tf.device("/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"):
        batches = [tuple(tf.identity(tf.constant(a)) for a in dataset[i]) for i in range(min(8, len(dataset)))]
    for x, y in batches[:2]:  # warm-up: tracing
        model.train_on_batch(x, y)
    started = time.perf_counter()
    for step in range(steps):
        x, y = batches[step % len(batches)]
        loss = model.train_on_batch(x, y)
    float(np.asarray(loss))  # wait for the device
    return steps * dataset.batch_size / (time.perf_counter() - started)


def fed_rate(model: keras.Model, dataset: ShardDataset, epochs: int) -> float:
    """img/s of model.fit(dataset) as `train fit` runs it (Keras shuffles the batch order)."""
    model.fit(dataset, epochs=1, verbose=0)  # warm-up: a whole epoch, so the short last batch is traced too
    started = time.perf_counter()
    model.fit(dataset, epochs=epochs, verbose=0)
    return epochs * len(dataset) * dataset.batch_size / (time.perf_counter() - started)


def measure(models: list[str], batch: int, epochs: int, copies: int, precision: str) -> dict:
    data = grown_dataset(WORK, copies=copies)
    cache = WORK / f"cache-gpu-{copies}"
    run(data, cache, Settings(shard_size=1024, valid=250), jobs=2, progress=False)
    keras.mixed_precision.set_global_policy("mixed_float16" if precision == "mixed" else "float32")
    results = {"device": device(), "batch": batch, "precision": precision, "models": {}}
    for name in models:
        dataset = ShardDataset(cache, "train", batch_size=batch)
        rates = {}
        for feed in ("in_memory", "shard_dataset"):
            keras.utils.set_random_seed(0)
            model = build_model(name, "tree", dataset[0][0].shape[1:], augment=True)
            model.compile(optimizer="adam", loss="mse")
            if feed == "in_memory":
                rates[feed] = in_memory_rate(model, dataset, steps=epochs * len(dataset))
            else:
                rates[feed] = fed_rate(model, dataset, epochs)
        results["models"][name] = rates
        fed, resident = rates["shard_dataset"], rates["in_memory"]
        print(
            f"{name:<12} ShardDataset {fed:>7.0f} img/s, in device memory {resident:>7.0f} img/s: {fed / resident:.2f}"
        )
    return results


@click.command(help=__doc__)
@click.option(
    "--models",
    multiple=True,
    default=("compact", "centre", "viewpoints"),
    show_default=True,
    type=click.Choice(list(FEATURES)),
    help="A model to measure (again for more).",
)
@click.option("--batch", default=64, show_default=True, help="Images per batch.")
@click.option("--epochs", default=2, show_default=True, help="Timed epochs, after one to warm up.")
@click.option("--copies", default=4, show_default=True, help="The 1,000+250 synthetic galaxies, this many times.")
@click.option("--precision", type=click.Choice(["float32", "mixed"]), default="float32", show_default=True)
def main(models: tuple[str, ...], batch: int, epochs: int, copies: int, precision: str) -> None:
    print(f"device: {device()}", flush=True)
    results = measure(list(models), batch, epochs, copies, precision)
    write_json(RESULTS, results)
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
