"""Scaling out: preprocessing on a real dask.distributed cluster on loopback."""

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from preprocess.cache import Settings
from preprocess.cli import main
from preprocess.pipeline import run
from tests.helpers import assert_same_shards, free_port

pytest.importorskip("distributed")


@pytest.fixture
def dask_cluster():
    """A scheduler and two single-threaded worker processes, as `dask scheduler` / `dask worker` start them."""
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            **quiet,
        )
    ]
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dask",
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                **quiet,
            )
        )
    from distributed import Client

    client = Client(address, timeout=60)
    client.wait_for_workers(2, timeout=60)
    client.close()
    yield address
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_preprocess_on_a_dask_cluster_matches_a_local_run(kaggle_dir, tmp_path, dask_cluster):
    started = time.time()
    args = [
        "run",
        "--data",
        str(kaggle_dir),
        "--cache",
        str(tmp_path / "dask"),
        "--shard-size",
        "32",
        "--valid",
        "30",
        "--backend",
        "dask",
        "--scheduler",
        dask_cluster,
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    run(kaggle_dir, tmp_path / "local", Settings(shard_size=32, valid=30), jobs=2, progress=False)
    assert_same_shards(tmp_path / "dask", tmp_path / "local")
    assert time.time() - started < 120


def test_unreachable_scheduler_is_a_clear_error(kaggle_dir, tmp_path):
    args = [
        "run",
        "--data",
        str(kaggle_dir),
        "--cache",
        str(tmp_path / "c"),
        "--backend",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{free_port()}",
        "--scheduler-timeout",
        "2",
        "--valid",
        "30",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "cannot reach the dask scheduler" in result.output
