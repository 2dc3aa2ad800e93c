"""Small tools shared by the tests."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np


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


def listen_to_ctrl_c() -> None:
    """A shell starts background jobs with Ctrl-C ignored, and children inherit that (a test suite run with `&`
    or `nohup`): give the command the terminal's default back, as a user's shell would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def python_module(*args: str, **kwargs) -> subprocess.Popen:
    """Start `python -m ...` in its own process group, as a shell would, for signal tests."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=listen_to_ctrl_c,
        env=env,
        **kwargs,
    )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def disk_full(*args, **kwargs):
    """A stand-in for a write that fails as on a full disk."""
    raise OSError(errno.ENOSPC, "No space left on device", "cache/train-00001.h5")


def read_manifest(cache: Path) -> dict:
    return json.loads((cache / "manifest.json").read_text())


def assert_usage_error(main, args: list[str], option: str, values: dict) -> None:
    """A user mistake at a command line: status 2, one `Error:` line naming the option, no traceback."""
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [a.format(**values) for a in args])
    assert result.exit_code == 2, result.output
    assert option in result.output and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error:")
