"""Scaling out: preprocessing on a real dask.distributed cluster on loopback."""

import json
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from preprocess.cache import Settings
from preprocess.cli import main
from preprocess.pipeline import run
from tests.helpers import assert_same_shards, refusing_port

pytest.importorskip("distributed")


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler on a port of its choosing (written to a scheduler file) and two single-threaded worker
    processes, as `dask scheduler` / `dask worker` start them."""
    scheduler_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask = [sys.executable, "-m", "dask"]
    processes = [
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(scheduler_file)],
            **quiet,
        )
    ]
    while not scheduler_file.exists() or not scheduler_file.read_text():  # bounded by the test's timeout
        assert processes[0].poll() is None, "the dask scheduler did not start"
        time.sleep(0.05)
    address = json.loads(scheduler_file.read_text())["address"]
    for _ in range(2):
        worker = ["worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]
        processes.append(subprocess.Popen([*dask, *worker], **quiet))
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


def test_unreachable_scheduler_is_a_clear_error(kaggle_dir, tmp_path):
    args = ["run", "--data", str(kaggle_dir), "--cache", str(tmp_path / "c"), "--valid", "30", "--backend", "dask"]
    with refusing_port() as port:
        options = ["--scheduler", f"tcp://127.0.0.1:{port}", "--scheduler-timeout", "2"]
        result = CliRunner().invoke(main, [*args, *options])
    assert result.exit_code == 1 and "cannot reach the dask scheduler" in result.output
