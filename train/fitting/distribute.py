"""Training on several devices or machines with tf.distribute.

`mirrored` uses every local GPU (MirroredStrategy); `multiworker` reads the standard TF_CONFIG
and uses MultiWorkerMirroredStrategy. Each worker streams a disjoint subset of the train shards
(shard i goes to worker i mod n) and feeds its replicas global_batch / replicas galaxies a
step; gradients are all-reduced, so every worker holds the same model. Validation batches are
dealt out to the workers in turn, and the largest are cut in two until every replica has one in
every step, so every validation galaxy is scored exactly once per epoch.
"""

import json
import os
from dataclasses import dataclass

import tensorflow as tf

from preprocess.cache import Cache
from preprocess.schema import campaign
from train.fitting.dataset import ShardDataset


class DistributeError(RuntimeError):
    """A cluster set-up that cannot work (TF_CONFIG, shards, batch size); the message says what to change."""


EXAMPLE_TF_CONFIG = """'{"cluster": {"worker": ["m1:12345", "m2:12345"]}, "task": {"type": "worker", "index": 0}}'"""


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
        raise DistributeError(
            f"--strategy multiworker needs TF_CONFIG with cluster.worker and task.index ({type(error).__name__}: "
            f"{error}), e.g. {EXAMPLE_TF_CONFIG}"
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


STRATEGIES = {"mirrored": tf.distribute.MirroredStrategy, "multiworker": MultiWorkerStrategy}  # fit --strategy


def make_strategy(strategy: str) -> tf.distribute.Strategy:
    return STRATEGIES[strategy]()


def forget_strategy(model):
    """A model built in a strategy's scope, made to find the strategy from the scope it trains in.

    Keras 3.15 builds a model that remembers its strategy from a first batch averaged across workers,
    which fails for batches split over workers; a model whose private `_distribute_strategy` is None
    builds when its train step is traced instead (tests/test_distribute.py fails if Keras stops reading it).
    """
    model._distribute_strategy = None
    return model


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


def validation_steps(batches: int, role: WorkerRole, replicas: int) -> int:
    """Steps that score `batches` validation batches dealt out to the workers in turn, each step taking one
    batch per replica of every worker."""
    most = -(-batches // role.count)  # worker 0 gets the most
    return -(-most // replicas)


def cut_into(sizes: list[int], count: int) -> list[tuple[int, int, int]]:
    """(batch, first row, rows): batches of `sizes` cut into `count` pieces, the largest halved until there are
    enough. An empty batch would do instead, but TensorFlow's batch normalisation fails on one."""
    pieces = [(i, 0, n) for i, n in enumerate(sizes)]
    while len(pieces) < count:
        k = max(range(len(pieces)), key=lambda j: pieces[j][2])
        batch, start, rows = pieces[k]
        if rows < 2:
            raise DistributeError(f"too few validation galaxies ({sum(sizes)}) for {count} batches a worker")
        pieces[k : k + 1] = [(batch, start, rows // 2), (batch, start + rows // 2, rows - rows // 2)]
    return pieces


def every_validation_batch(dataset: ShardDataset, role: WorkerRole, replicas: int):
    """This worker's share of the validation batches (every role.count-th), cut into a whole number of steps,
    epoch after epoch: every galaxy is scored once per epoch, and all workers step together."""
    mine = list(range(role.index, len(dataset), role.count))
    steps = validation_steps(len(dataset), role, replicas)
    pieces = cut_into([sum(rows for _, _, rows in dataset.plan[i]) for i in mine], steps * replicas)
    while True:
        read = None
        for batch, start, rows in pieces:
            if read is None or read[0] != batch:
                read = (batch, dataset[mine[batch]])
            images, labels = read[1]
            yield images[start : start + rows], labels[start : start + rows]


def distributed(
    strategy: tf.distribute.Strategy, batches, global_batch: int, image_shape: tuple[int, int, int], columns: int
) -> tf.distribute.DistributedDataset:
    """One tf.data pipeline per worker, streaming the batches that batches(per-replica batch) generates."""

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        batch = context.get_per_replica_batch_size(global_batch)
        signature = (tf.TensorSpec((None, *image_shape), tf.uint8), tf.TensorSpec((None, columns), tf.float32))
        return tf.data.Dataset.from_generator(lambda: batches(batch), output_signature=signature).prefetch(2)

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

    replicas = strategy.num_replicas_in_sync // role.count  # on this worker

    def train_batches(batch: int):
        return endless(ShardDataset(cache, "train", batch, seed=config.seed + role.index, shards=shards))

    def valid_batches(batch: int):
        return every_validation_batch(ShardDataset(cache, "valid", batch, shuffle=False), role, replicas)

    valid_batch = config.batch // strategy.num_replicas_in_sync
    columns = len(campaign(cache.settings.campaign).columns)
    return {
        "x": distributed(strategy, train_batches, config.batch, cache.image_shape, columns),
        "steps_per_epoch": steps_per_epoch(cache, role.count, worker_batch),
        "validation_data": distributed(strategy, valid_batches, config.batch, cache.image_shape, columns),
        "validation_steps": validation_steps(len(ShardDataset(cache, "valid", valid_batch)), role, replicas),
    }
