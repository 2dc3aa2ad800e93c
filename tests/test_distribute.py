"""Scaling out training: two MultiWorkerMirroredStrategy workers on loopback, each on its own shards."""

import csv
import json
import os
import subprocess
import sys

from preprocess.cache import Settings
from preprocess.pipeline import run
from synth.dataset import replicate
from tests.helpers import free_port


def test_two_workers_train_together_on_disjoint_shards(kaggle_dir, tmp_path):
    cache = tmp_path / "cache"
    data = replicate(kaggle_dir, tmp_path / "data", 4)  # 450 train galaxies in 4 shards
    run(data, cache, Settings(shard_size=128, valid=30), progress=False)
    run_dir = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env = {**os.environ, "TF_CONFIG": tf_config, "PYTHONUNBUFFERED": "1"}
        args = [
            sys.executable,
            "-m",
            "train",
            "fit",
            "--cache",
            str(cache),
            "--run",
            str(run_dir),
            "--strategy",
            "multiworker",
            "--epochs",
            "2",
            "--batch",
            "16",
            "--no-augment",
        ]
        workers.append(subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [worker.communicate(timeout=500)[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    assert "worker 0 of 2 reads train shards train-00000.h5, train-00002.h5\n" in outputs[0]
    assert "worker 1 of 2 reads train shards train-00001.h5, train-00003.h5\n" in outputs[1]
    assert (run_dir / "model.keras").exists() and (run_dir / "curves.png").exists()
    with open(run_dir / "history.csv", newline="") as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert len(losses) == 2 and losses[1] < losses[0]
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == [
        "config.json",
        "curves.png",
        "history.csv",
        "model.keras",
    ]


def test_an_epoch_on_two_mirrored_replicas_is_one_pass_over_the_data(small_cache):
    """Two replicas split each global batch: an epoch is (train galaxies / global batch) steps, not twice that."""
    code = f"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from preprocess.cache import Cache
from train.distribute import WorkerRole, distributed_inputs
from train.recipes import FitConfig
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
cache = Cache.open({str(small_cache)!r})
inputs = distributed_inputs(strategy, cache, FitConfig(batch=16), WorkerRole(), log=lambda *a, **k: None)
print(strategy.num_replicas_in_sync, inputs["steps_per_epoch"], inputs["validation_steps"], cache.count("train"))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    replicas, steps, validation_steps, n_train = map(int, result.stdout.split()[-4:])
    assert replicas == 2 and steps == n_train // 16 and validation_steps == -(-30 // 16)
