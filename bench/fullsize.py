"""`make fullsize`: a rehearsal at Kaggle's size, 61,578 training and 79,975 test galaxies, under `ulimit -n 1024`.

A synthetic set grown by hard links, each split on its own, to exactly Kaggle's counts; then what a user runs,
each command in its own process under an open-files limit of 1024: `preprocess run --shard-size 64` (2,215
shards), one epoch of `fit`, `submit --tta 1` and `predict --tta 1` of 10,000 images. Prints the wall time and
peak memory of each step, how long `fit` took to reach its first training step and what opening the cache
costs, and saves bench/fullsize.json.
"""

import os
import resource
import runpy
import subprocess
import sys
import time
from pathlib import Path

from bench.data import grow, synthetic
from bench.measure import cpu_model
from preprocess import kaggle
from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.labels import read_solutions
from train.runs import Run

ROOT = Path(__file__).parent
WORK, RESULTS = ROOT / "work" / "fullsize", ROOT / "fullsize.json"
KAGGLE_TRAIN, KAGGLE_TEST = 61_578, 79_975
BASE = 2000  # distinct synthetic galaxies per split, repeated under new IDs
OPEN_FILES = 1024
PREDICTED = 10_000
FIRST_STEP = "first-step"  # `python -m bench.fullsize first-step FILE fit ...`: fit, noting when its first step ends


def limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def step(name: str, *args: str) -> dict:
    """Run `python -m ARGS` under the open-files limit; its wall time and the peak RSS of its largest process."""
    print(f"{name} ...", flush=True)
    log = WORK / f"{name}.log"
    started = time.time()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *args], stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit_open_files
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.time() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed; see {log}:\n{log.read_text()[-3000:]}")
    return {"seconds": round(seconds, 1), "peak_mb": round(usage.ru_maxrss / 1024), "started": started}


def data_set() -> Path:
    data = WORK / "data"
    if not (data / kaggle.ZEROS).exists():
        grow(synthetic(WORK / "base", BASE, BASE, seed=0), data, KAGGLE_TRAIN, KAGGLE_TEST)
    return data


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    data, cache, run = data_set(), WORK / "cache", WORK / "run"
    results: dict = {"cpu": cpu_model(), "cores": os.cpu_count(), "open_files": OPEN_FILES, "steps": {}}
    steps = results["steps"]
    steps["preprocess"] = step(
        "preprocess",
        "preprocess",
        "run",
        "--data",
        str(data),
        "--cache",
        str(cache),
        "--shard-size",
        "64",
        "--valid",
        "4000",
    )
    opened_at = time.perf_counter()
    opened = Cache.open(cache)
    results["cache_open_s"] = round(time.perf_counter() - opened_at, 2)
    results["shards"] = len(opened.shards)
    first = WORK / "first-step"
    first.unlink(missing_ok=True)
    steps["fit"] = step(
        "fit",
        "bench.fullsize",
        FIRST_STEP,
        str(first),
        "fit",
        "--cache",
        str(cache),
        "--run",
        str(run),
        "--epochs",
        "1",
        "--overwrite",
    )
    results["first_step_s"] = round(float(first.read_text()) - steps["fit"]["started"], 1)
    submission = Run(run).submission
    steps["submit"] = step(
        "submit", "train", "submit", "--cache", str(cache), "--run", str(run), "--out", str(submission), "--tta", "1"
    )
    results["submission_rows"] = len(read_solutions(submission)[0])
    listing = WORK / "images.txt"
    test_images = sorted((data / kaggle.TEST_IMAGES).iterdir())[:PREDICTED]
    listing.write_text("".join(f"{path}\n" for path in test_images))
    steps["predict"] = step(
        "predict", "train", "predict", "--run", str(run), "--out", str(WORK / "catalog.csv"), "--tta", "1", str(listing)
    )
    write_json(RESULTS, results)
    print(table(results))
    print(f"saved {RESULTS}")


def table(results: dict) -> str:
    lines = [
        f"{results['cpu']}, {results['cores']} cores; {KAGGLE_TRAIN:,} training and {KAGGLE_TEST:,} test galaxies; "
        f"ulimit -n {results['open_files']}",
        "",
        f"{'step':<46} {'time':>8} {'peak RSS':>10}",
    ]
    names = {
        "preprocess": f"preprocess run --shard-size 64 ({results['shards']:,} shards)",
        "fit": "fit --epochs 1",
        "submit": f"submit --tta 1 ({results['submission_rows']:,} rows)",
        "predict": f"predict --tta 1 ({PREDICTED:,} images)",
    }
    for key, name in names.items():
        entry = results["steps"][key]
        lines.append(f"{name:<46} {entry['seconds']:>7.0f}s {entry['peak_mb']:>7} MB")
    lines += [
        "",
        f"fit's first training step: {results['first_step_s']:.0f} s after the command started",
        f"opening the cache (Cache.open, every shard's size, time and shapes): {results['cache_open_s']:.1f} s",
    ]
    return "\n".join(lines)


def fit_noting_the_first_step(note: Path, args: list[str]) -> None:
    """`python -m train ARGS`, writing the time at which the first training step ends to `note`."""
    import keras

    from train.fitting import fit

    class FirstStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if not note.exists():
                note.write_text(f"{time.time()}\n")

    chosen = fit.callbacks
    fit.callbacks = lambda *a, **k: [FirstStep(), *chosen(*a, **k)]
    sys.argv = ["train", *args]
    runpy.run_module("train", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    if sys.argv[1:2] == [FIRST_STEP]:
        fit_noting_the_first_step(Path(sys.argv[2]), sys.argv[3:])
    else:
        main()
