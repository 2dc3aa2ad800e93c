"""A benchmark's training runs: each trained and submitted once, reused while its settings and cache stand, so a
benchmark of several 20-minute runs that was stopped resumes where it stopped."""

from dataclasses import asdict
from pathlib import Path

from preprocess.cache import Cache
from train.backend import load_keras
from train.config import FitConfig
from train.runs import Run, RunError


def finished_with(run: Path, config: FitConfig, cache: Cache) -> bool:
    """Whether `run` holds a finished run of exactly these settings on exactly this cache. A setting added since
    the run was made counts as its default, which is what the run had."""
    try:
        record = Run(run).read_record()
    except (RunError, ValueError):  # none, or half-written by an older version
        return False
    return (
        bool(record.get("finished"))
        and {**asdict(FitConfig()), **record["config"]} == asdict(config)
        and record["manifest_sha256"] == cache.sha256
    )


def submitted(cache: Cache, run: Path, config: FitConfig) -> Path:
    """The run's submission with the default test-time views: trained and submitted unless made before."""
    load_keras()
    from train.fitting.fit import fit
    from train.prediction.submit import submit_models

    submission = Run(run).submission
    if not finished_with(run, config, cache):
        submission.unlink(missing_ok=True)
        fit(cache, run, config, overwrite=True, verbose=2)
    if not submission.exists():
        submit_models([run], cache, submission)
    return submission
