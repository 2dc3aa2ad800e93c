"""Run the per-shard tasks on a dask.distributed cluster through joblib's dask backend.

Workers need read access to DATA and write access to CACHE (a shared filesystem); each writes
its own shards, and the client (the `preprocess run` process) writes the manifest.
"""

from contextlib import contextmanager

from joblib import parallel_config


class ClusterUnavailable(RuntimeError):
    """dask is not installed, or the scheduler cannot be reached."""


@contextmanager
def dask_workers(scheduler: str | None, jobs: int, connect_timeout: float = 30.0):
    """joblib's dask backend on the cluster at `scheduler`, or on a local cluster of `jobs` processes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ClusterUnavailable("--backend dask needs dask.distributed: pip install -e '.[cluster]'") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, dashboard_address=None)
    try:
        client = Client(scheduler or cluster, timeout=connect_timeout)
    except OSError as error:
        raise ClusterUnavailable(f"cannot reach the dask scheduler at {scheduler}: {error}") from None
    try:
        with parallel_config(backend="dask", wait_for_workers_timeout=connect_timeout):
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
