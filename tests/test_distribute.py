"""Scaling out training: two MultiWorkerMirroredStrategy workers on loopback, each on its own shards."""

import csv
import json
import os
import subprocess
import sys

from click.testing import CliRunner

from bench.data import replicate
from preprocess.cache import Settings
from preprocess.pipeline import run
from tests.helpers import free_port
from train.cli import main
from train.runs import Run


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
    assert Run(run_dir).model.exists() and Run(run_dir).curves.exists()
    with open(Run(run_dir).history, newline="") as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert len(losses) == 2 and losses[1] < losses[0]
    folder = Run(run_dir)
    written = (folder.config, folder.curves, folder.galaxies, folder.history, folder.model)
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == sorted(p.name for p in written)


TWO_REPLICAS = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
"""


def test_every_validation_galaxy_is_scored_once_per_epoch_on_two_replicas(kaggle_dir, tmp_path):
    """With the model frozen (learning rate 0), each epoch's val_rmse is the model's RMSE over the whole valid
    split, whatever the batch: valid shards of about 10 galaxies make short batches, an odd number of them."""
    cache = tmp_path / "cache"
    run(kaggle_dir, cache, Settings(shard_size=10, valid=30), progress=False)
    code = (
        TWO_REPLICAS
        + f"""
import keras
from preprocess.cache import Cache
from train.fitting.dataset import ShardDataset
from train.fitting.distribute import WorkerRole, distributed_inputs, forget_strategy
from train.model.models import build_model
from train.config import FitConfig
cache = Cache.open({str(cache)!r})
valid = cache.read("valid", ("labels",))["labels"]
for batch in (16, 32):
    inputs = distributed_inputs(strategy, cache, FitConfig(batch=batch), WorkerRole(), log=lambda *a, **k: None)
    with strategy.scope():
        model = forget_strategy(build_model("compact", "tree", cache.image_shape))
        for layer in model.layers:  # frozen batch normalisation keeps its statistics: the model never changes
            layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
        model.compile(keras.optimizers.SGD(0.0), "mse", metrics=[keras.metrics.RootMeanSquaredError("rmse")])
        history = model.fit(**inputs, epochs=3, verbose=0)
    batches = ShardDataset(cache, "valid", 16, shuffle=False)
    predictions = np.concatenate([model.predict_on_batch(batches[i][0]) for i in range(len(batches))])
    expected = np.sqrt(np.mean((predictions - valid) ** 2))
    print(len(ShardDataset(cache, "valid", batch // 2)), *(abs(v - expected) for v in history.history["val_rmse"]))
"""
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split() for line in result.stdout.splitlines()]
    assert any(int(line[0]) % 2 for line in lines), "an odd number of batches: one is cut to even the steps"
    for line in lines:
        assert max(map(float, line[1:])) < 1e-5, line


def test_keras_still_reads_the_strategy_that_forget_strategy_clears():
    """forget_strategy sets Keras's private `_distribute_strategy`; if Keras stopped reading it, the model would
    still report the strategy it was built in."""
    code = (
        TWO_REPLICAS
        + """
from train.fitting.distribute import forget_strategy
from train.model.models import build_model
with strategy.scope():
    model = build_model("compact", "tree", (106, 106, 3))
remembered = model.distribute_strategy is strategy
forget_strategy(model)
print(remembered, model.distribute_strategy is strategy)
"""
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-2:] == ["True", "False"]


def test_a_malformed_tf_config_is_one_line_and_status_2(small_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    args = ["fit", "--cache", str(small_cache), "--run", str(tmp_path / "r"), "--strategy", "multiworker"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "TF_CONFIG" in result.output and "Traceback" not in result.output, result.output
