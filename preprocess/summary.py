"""Look at a cache from the shell: what `inspect` prints and draws."""

from pathlib import Path

import numpy as np

from preprocess.cache import LABELLED, SPLITS, Cache, rejects_path
from preprocess.schema import ANSWERS, COLUMNS, SLICES
from preprocess.sheet import contact_sheet


def describe_cache(cache: Cache) -> str:
    """A plain-text table: shards, galaxies, shapes and bytes per split; label means per question; rejects."""
    lines = [f"cache {cache.folder}  (from {cache.source}; settings {cache.settings})"]
    if not cache.complete:
        lines.append("INCOMPLETE: an interrupted run; rerun `make preprocess` to finish it")
    lines.append(f"{'split':<6} {'shards':>6} {'galaxies':>9} {'MB':>8}  images / labels")
    labels = []
    for split in SPLITS:
        shards = cache.split(split)
        if not shards:
            continue
        shapes = f"uint8{cache.image_shape}" + (f" / float32({len(COLUMNS)},)" if split in LABELLED else "")
        lines.append(f"{split:<6} {len(shards):>6} {cache.count(split):>9} {cache.nbytes(split) / 1e6:>8.1f}  {shapes}")
        if split in LABELLED:
            labels.append(cache.read(split, ("labels",))["labels"])
    if labels:
        means = np.concatenate(labels).mean(axis=0)
        lines.append("label means per question (train+valid):")
        for q, sl in SLICES.items():
            lines.append(f"  Q{q:<2} " + " ".join(f"{COLUMNS[i]}={means[i]:.3f}" for i in range(sl.start, sl.stop)))
    rejects = cache.rejects()
    lines.append(f"rejects: {len(rejects)}" + (f" (listed in {rejects_path(cache.folder)})" if rejects else ""))
    for reject in rejects[:5]:
        lines.append(f"  {reject.galaxy_id} ({reject.split}): {reject.reason}")
    return "\n".join(lines)


def cache_sheet(cache: Cache, out: Path, n: int = 64) -> Path:
    """Contact sheet of the first n galaxies of the train (else valid, else test) split, with ID and top Q1 answer."""
    split = next((s for s in SPLITS if cache.split(s)), None)
    if split is None:
        raise ValueError(f"{cache.folder} holds no galaxies")
    names = ("images", "ids", "labels") if split in LABELLED else ("images", "ids")
    rows = cache.read(split, names, limit=n)
    captions = []
    for i, galaxy_id in enumerate(rows["ids"]):
        caption = str(galaxy_id)
        if "labels" in rows:
            top = int(np.argmax(rows["labels"][i, SLICES[1]]))
            caption += f" {ANSWERS[1][top].split()[0]} {rows['labels'][i, top]:.2f}"
        captions.append(caption)
    return contact_sheet(list(rows["images"]), captions, out)
