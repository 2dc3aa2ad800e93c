"""Write files atomically: into a temporary name beside the target, renamed only when complete."""

import csv
import json
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path


def temporary_path(path: Path, suffix: str = "") -> Path:
    """A name in the same folder (so os.replace is atomic) that no reader mistakes for the final file."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")


@contextmanager
def replacing(path: Path, suffix: str = ""):
    """Yield a temporary path to write; on success it becomes `path`, on any failure it is removed.

    `suffix` keeps an extension that a writer needs to see (".gz", ".png", ".keras").
    """
    tmp = temporary_path(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: dict, default: Callable | None = None) -> None:
    """Write `data` as indented JSON, atomically (`default`: json.dumps's, for values JSON has no form for)."""
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=default) + "\n")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write a CSV (quoted as the csv module does, so any text survives a reader), atomically. Every rejects file
    of the project (a cache's, a catalog's, a finetune's) is written by this."""
    with replacing(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path
