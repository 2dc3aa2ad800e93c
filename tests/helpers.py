"""Small tools shared by the tests."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

SOLUTIONS, TRAIN, TEST = "training_solutions_rev1.csv", "images_training_rev1", "images_test_rev1"


def shard_contents(cache: Path) -> dict[str, dict[str, np.ndarray]]:
    """Every dataset of every shard, by file name (to compare two caches)."""
    out = {}
    for path in sorted(cache.glob("*.h5")):
        with h5py.File(path, "r") as f:
            out[path.name] = {name: f[name][()] for name in f}
    return out


def assert_same_shards(a: Path, b: Path) -> None:
    left, right = shard_contents(a), shard_contents(b)
    assert left.keys() == right.keys()
    for name in left:
        assert left[name].keys() == right[name].keys(), name
        for dataset in left[name]:
            np.testing.assert_array_equal(left[name][dataset], right[name][dataset], err_msg=f"{name}/{dataset}")


def python_module(*args: str, **kwargs) -> subprocess.Popen:
    """Start `python -m ...` in its own process group, as a shell would, for signal tests."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, env=env, **kwargs,
    )  # fmt: skip


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
