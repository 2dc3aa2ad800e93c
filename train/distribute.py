"""Training on several devices or machines with tf.distribute.

`mirrored` uses every local GPU (MirroredStrategy); `multiworker` reads the standard TF_CONFIG
and uses MultiWorkerMirroredStrategy. Each worker streams a disjoint subset of the train shards
(shard i goes to worker i mod n) and feeds its replicas global_batch / replicas galaxies a
step; gradients are all-reduced, so every worker holds the same model.
"""

import json
import os
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from preprocess.cache import Cache
from preprocess.schema import N_COLUMNS
from train.dataset import ShardDataset

STRATEGIES = ("none", "mirrored", "multiworker")


class DistributeError(RuntimeError):
    """A cluster set-up that cannot work (TF_CONFIG, shards, batch size); the message says what to change."""


@dataclass(frozen=True)
class WorkerRole:
    index: int = 0
    count: int = 1

    @property
    def is_chief(self) -> bool:
        return self.index == 0


def worker_role(strategy: str) -> WorkerRole:
    """This process's place in the cluster, from TF_CONFIG (worker 0 is the chief)."""
    if strategy != "multiworker":
        return WorkerRole()
    try:
        config = json.loads(os.environ["TF_CONFIG"])
        return WorkerRole(int(config["task"]["index"]), len(config["cluster"]["worker"]))
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(
            f"--strategy multiworker needs TF_CONFIG with cluster.worker and task.index ({error})"
        ) from None


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy whose reduce accepts scalars along axis 0.

    Keras 3.15's fit() averages each step's logs (scalars) across workers with axis=0, which
    TensorFlow refuses for rank-0 values; averaging scalars needs no axis.
    """

    def reduce(self, reduce_op, value, axis):
        if axis is not None and all(t.shape.rank == 0 for t in self.experimental_local_results(value)):
            axis = None
        return super().reduce(reduce_op, value, axis)


def make_strategy(strategy: str) -> tf.distribute.Strategy:
    return MultiWorkerStrategy() if strategy == "multiworker" else tf.distribute.MirroredStrategy()


def worker_shards(cache: Cache, role: WorkerRole) -> list[str]:
    """The train shards this worker reads: every role.count-th, starting at its index."""
    names = [shard.name for shard in cache.split("train")]
    if len(names) < role.count:
        raise DistributeError(
            f"{len(names)} train shards cannot feed {role.count} workers: rerun preprocess with a smaller --shard-size"
        )
    return names[role.index :: role.count]


def steps_per_epoch(cache: Cache, role_count: int, worker_batch: int) -> int:
    """Full steps every worker can serve, so all workers step together and one epoch is one pass over the data.

    A worker feeds each of its replicas a per-replica batch a step: `worker_batch` galaxies in all.
    """
    counts = [shard.count for shard in cache.split("train")]
    per_worker = [sum(counts[i::role_count]) for i in range(role_count)]
    return max(1, min(per_worker) // worker_batch)


def endless(dataset: ShardDataset):
    """Every batch of every epoch, reshuffled per epoch, for a tf.data pipeline that outlives epochs."""
    epoch = 0
    while True:
        dataset.set_epoch(epoch)
        for i in range(len(dataset)):
            yield dataset[i]
        epoch += 1


def distributed(
    strategy: tf.distribute.Strategy, make_dataset, global_batch: int, image_shape: tuple[int, int, int]
) -> tf.distribute.DistributedDataset:
    """One tf.data pipeline per worker, streaming the ShardDataset that make_dataset(per-replica batch) returns."""

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        source = make_dataset(context.get_per_replica_batch_size(global_batch))
        signature = (tf.TensorSpec((None, *image_shape), tf.uint8), tf.TensorSpec((None, N_COLUMNS), tf.float32))
        return tf.data.Dataset.from_generator(lambda: endless(source), output_signature=signature).prefetch(2)

    return strategy.distribute_datasets_from_function(dataset_fn)


def distributed_inputs(strategy, cache: Cache, config, role: WorkerRole, log=print) -> dict:
    """fit() keyword arguments (x, validation_data and their step counts) for a tf.distribute strategy."""
    if config.batch % strategy.num_replicas_in_sync:
        raise DistributeError(
            f"--batch {config.batch} must be a multiple of the {strategy.num_replicas_in_sync} replicas"
        )
    worker_batch = config.batch // role.count  # the global batch is split evenly over the workers
    shards = worker_shards(cache, role)
    log(f"worker {role.index} of {role.count} reads train shards {', '.join(shards)}", flush=True)

    def train_source(batch: int) -> ShardDataset:
        return ShardDataset(cache, "train", batch, seed=config.seed + role.index, shards=shards)

    def valid_source(batch: int) -> ShardDataset:
        return ShardDataset(cache, "valid", batch, shuffle=False)

    return {
        "x": distributed(strategy, train_source, config.batch, cache.image_shape),
        "steps_per_epoch": steps_per_epoch(cache, role.count, worker_batch),
        "validation_data": distributed(strategy, valid_source, config.batch, cache.image_shape),
        "validation_steps": int(np.ceil(cache.count("valid") / worker_batch)),
    }
