"""Peak resident memory of one training epoch streamed from a cache: `python -m bench.memory CACHE`."""

import resource
from pathlib import Path

import click
import keras

from train.fitting.dataset import ShardDataset
from train.model.models import build_model


@click.command(help=__doc__)
@click.argument("cache", type=click.Path(exists=True, file_okay=False, path_type=Path))
def main(cache: Path) -> None:
    keras.utils.set_random_seed(0)
    dataset = ShardDataset(cache, "train", batch_size=64, shuffle=True)
    model = build_model("compact", "tree", dataset.cache.image_shape)
    model.compile(optimizer="adam", loss="mse")
    model.fit(dataset, epochs=1, verbose=0)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{dataset.size} {peak_kb / 1024:.1f}")


if __name__ == "__main__":
    main()
