"""Small tools shared by the tests."""

import csv
import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from synth.dataset import TRUE_PARAMETERS
from synth.galaxy import Galaxy, true_answers


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


ROOT = Path(__file__).parent.parent


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
        cwd=ROOT,
        **kwargs,
    )


def paused_command(flag: Path, target: str, calls: int, *command: str, timeout: float = 240) -> subprocess.Popen:
    """Start `python -m COMMAND...` (tests.pause) and wait until it has paused mid-work: right after its
    `calls`-th call of `target` ("module:function" or "module:Class.method") returned. Fails if it ends first."""
    process = python_module("tests.pause", target, str(calls), str(flag), *command)
    deadline = time.monotonic() + timeout
    while not flag.exists():
        if process.poll() is not None:
            raise AssertionError(f"ended before pausing: {process.communicate()[0][-3000:]}")
        assert time.monotonic() < deadline, "did not pause in time"
        time.sleep(0.05)
    return process


@contextmanager
def refusing_port():
    """A loopback TCP port where nothing listens, and nothing can start to while the block runs: it is bound
    here without listening, so every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def free_port() -> int:
    """A loopback TCP port that nothing uses now, below the kernel's ephemeral range: the kernel never hands
    such a port to another program's connection or bind(0), so it stays free until a server binds it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.Random().sample(range(20000, low), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def parameters(kaggle_dir: Path) -> list[dict]:
    """The rows of a synthetic data set's true_parameters.csv."""
    with open(kaggle_dir / TRUE_PARAMETERS, newline="") as f:
        return list(csv.DictReader(f))


def write_labels(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


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
    assert option in result.output and "Traceback" not in result.output and "No such option" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error:")


def ringed(body: Galaxy, strength: float) -> Galaxy:
    return replace(body, odd_type="ring", ring_radius=2.0 * body.size, odd_strength=strength)


def featured(feature: str, strength: float, **changes) -> Galaxy:
    """A disk of the quality set's typical size, seen clearly, with `feature` ("arms", "bar" or one of FAINT_ODD)
    drawn at `strength`; its truth follows."""
    disk = {"kind": "disk", "disk_flux": 0.2, "bulge": 1, "bulge_flux": 0.1, "visibility": 1.0}
    body = smooth_galaxy(**{**disk, **changes})
    if feature == "arms":
        g = replace(body, arms=2, pitch=0.4, arm_strength=strength)
    elif feature == "bar":
        g = replace(body, bar=True, bar_length=30.0, bar_angle=0.3, bar_strength=strength)
    else:
        g = replace(body, odd_type=feature, ring_radius=2.0 * body.size, odd_strength=strength)
    return replace(g, truth=true_answers(g))


def smooth_galaxy(**changes) -> Galaxy:
    """A plain smooth galaxy of the quality set's typical size, at the centre, with `changes`."""
    galaxy = Galaxy(
        kind="smooth",
        odd_type=None,
        size=24.0,
        r_disk=24.0,
        angle=0.5,
        dx=0.0,
        dy=0.0,
        psf=2.0,
        sky=0.0,
        gradient=np.zeros(2),
        noise=0.005,
        peak_flux=5.0,
        sersic_n=2.0,
        artifact=False,
        axis_ratio=0.6,
    )
    return replace(galaxy, **changes)


def measured_autocorrelation(noise: np.ndarray, lag: int) -> float:
    r = noise - noise.mean(axis=(0, 1))
    along = (r[:, lag:] * r[:, :-lag]).mean(axis=(0, 1)) + (r[lag:] * r[:-lag]).mean(axis=(0, 1))
    return float(np.mean(along / 2 / r.var(axis=(0, 1))))
