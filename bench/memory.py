"""Peak resident memory of one training epoch streamed from a cache: `python -m bench.memory CACHE`."""

import resource
import sys
from pathlib import Path

import keras

from train.fitting.dataset import ShardDataset
from train.model.models import build_model


def main(cache: Path) -> None:
    dataset = ShardDataset(cache, "train", batch_size=64, shuffle=True)
    model = build_model("compact", "tree", dataset.cache.image_shape)
    model.compile(optimizer="adam", loss="mse")
    model.fit(dataset, epochs=1, verbose=0)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{dataset.size} {peak_kb / 1024:.1f}")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    main(Path(sys.argv[1]))
