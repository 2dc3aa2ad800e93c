"""`make bench-cpu`: the default recipe on this CPU under each of TensorFlow's start-up settings, and how far its
training step is from what the CPU can do.

Each setting runs in a fresh process (TensorFlow reads them as it starts), three times, the settings in turns
(every other round in reverse order) so that a slow spell of a shared machine strikes them alike; each process
trains the default model through `model.fit` and ShardDataset, in Keras's order, for three epochs, and times
epochs 2 and 3 (the first traces the graph), then predicts the test split with 16 views. The table gives the
median of the rounds. Then, in one process with the project's settings: each model's achieved floating-point rate
in training against the CPU's peak and a large matrix product's, and where the default's step goes, by taking its
parts away one at a time. Saves bench/results_cpu.json.

The project's default against the best row is also given round by round: each round's ratio of the two, the
median over the rounds, so that a slow spell of a shared machine cancels out of it. `--rows` (names separated by ";")
and `--rounds` measure only those rows, that many rounds, and skip the limit: e.g. the best row and the project's
default, six rounds, for the verdict alone.
"""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import click

import train  # noqa: F401  TensorFlow's start-up settings (train.startup), before anything imports it
from bench.cpu_limit import limit, limit_table
from bench.data import grown_dataset
from bench.measure import cpu_model
from preprocess.atomic import write_json
from preprocess.cache import Settings
from preprocess.pipeline import run

WORK = Path(__file__).parent / "work"
RESULTS = Path(__file__).parent / "results_cpu.json"
EPOCHS = 3
COPIES = 3  # the 1,000 + 250 synthetic galaxies, this many times: epochs of a few seconds
# name -> (TensorFlow's variables, the project's settings applied: "allocator", "threads"). Every row but the last
# leaves TensorFlow's start-up to the row (GALAXY_ZOO_STARTUP=tensorflow), then applies what it names.
ONEDNN = {
    "TensorFlow's default": {},
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "oneDNN, AVX2 only": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "oneDNN in full": {"TF_ENABLE_ONEDNN_OPTS": "1"},
}
BOTH = ("allocator", "threads")
ROWS = {f"{name}{', tuned' if parts else ''}": (v, parts) for name, v in ONEDNN.items() for parts in ((), BOTH)}
ROWS.update(
    {
        "oneDNN off, allocator only": (ONEDNN["oneDNN off"], ("allocator",)),
        "oneDNN off, threads only": (ONEDNN["oneDNN off"], ("threads",)),
        "oneDNN off, TensorFlow's BFC allocator": ({**ONEDNN["oneDNN off"], "TF_CPU_ALLOCATOR_USE_BFC": "1"}, ()),
    }
)
PROJECT = "the project's default, nothing set"
ROWS[PROJECT] = (None, ())  # train.startup.configure, as any command runs it
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16")


def processors() -> list[dict[str, str]]:
    """/proc/cpuinfo's fields, one dict per logical processor (none where there is no such file)."""
    path = Path("/proc/cpuinfo")
    blocks = (
        [dict(re.findall(r"^(.+?)\s*:\s*(.*)$", b, re.M)) for b in path.read_text().split("\n\n")]
        if path.exists()
        else []
    )
    return [block for block in blocks if "processor" in block]


def cpu_flags() -> list[str]:
    found = set(processors()[0].get("flags", "").split()) if processors() else set()
    return [flag for flag in CPU_FLAGS if flag in found]


def peak_flops(flags: list[str]) -> dict:
    """Physical cores x all-core clock x FMA units x float32 lanes x 2: the clock is what /proc/cpuinfo says (a
    virtual machine's nominal one), and 2 FMA units per core is what AVX2 and AVX-512 server cores since Haswell and
    Zen 2 have."""
    blocks = processors()
    cores = len({(block.get("physical id"), block.get("core id")) for block in blocks}) or os.cpu_count()
    clock = float(blocks[0]["cpu MHz"]) * 1e6
    lanes = 16 if "avx512f" in flags else 8
    peak = cores * clock * 2 * lanes * 2
    return {"cores": cores, "clock_ghz": clock / 1e9, "lanes": lanes, "fma_units": 2, "flops": peak}


def child_rates(cache: Path, parts: tuple[str, ...]) -> dict:
    """In a fresh process: apply the row's project settings, then train and predict (see the module's docstring)."""
    from train import startup

    if "allocator" in parts:
        startup.tune_allocator()
    if "threads" in parts:
        startup.set_threads()
    from train.backend import load_keras

    load_keras()
    import keras
    from tensorflow.python.util import _pywrap_util_port

    from preprocess.cache import Cache
    from train.config import FitConfig
    from train.fitting.dataset import ShardDataset
    from train.fitting.fit import compiled_model
    from train.prediction.inference import predict_split

    class EpochTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.started)

    seconds: list[float] = []
    opened = Cache.open(cache)
    keras.utils.set_random_seed(0)
    dataset = ShardDataset(opened, "train", FitConfig().batch)
    model = compiled_model(FitConfig(), opened.image_shape)
    model.fit(dataset, epochs=EPOCHS, verbose=0, callbacks=[EpochTimes()])
    predict_split([model], opened, "test", tta=16, progress=False, batch=16)  # warm-up: tracing
    started = time.perf_counter()
    ids, _ = predict_split([model], opened, "test", tta=16, progress=False)
    return {
        "onednn": bool(_pywrap_util_port.IsMklEnabled()),
        "train_img_s": dataset.size * (EPOCHS - 1) / sum(seconds[1:]),
        "predict16_img_s": len(ids) / (time.perf_counter() - started),
        "threads": [os.environ.get("TF_NUM_INTRAOP_THREADS"), os.environ.get("TF_NUM_INTEROP_THREADS")],
    }


def in_child(row: str, cache: Path) -> dict:
    variables, parts = ROWS[row]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ONEDNN_", "MALLOC_", "GALAXY_ZOO_"))}
    if variables is not None:
        env.update(variables, GALAXY_ZOO_STARTUP="tensorflow")
    code = f"import json, bench.cpu as b; print(json.dumps(b.child_rates(b.Path({str(cache)!r}), {parts!r})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=WORK.parent.parent)
    if done.returncode:
        raise RuntimeError(f"{row}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def settings_table(cache: Path, rows: list[str], rounds: int) -> dict:
    runs: dict[str, list[dict]] = {row: [] for row in rows}
    for round_ in range(rounds):
        for row in rows if round_ % 2 == 0 else rows[::-1]:  # ABBA: a steady drift cancels out of the pairs
            print(f"round {round_ + 1}/{rounds}: {row} ...", flush=True)
            runs[row].append(in_child(row, cache))
    return {
        row: {
            "onednn": measured[0]["onednn"],
            "threads": measured[0]["threads"],
            "train_img_s": statistics.median(m["train_img_s"] for m in measured),
            "predict16_img_s": statistics.median(m["predict16_img_s"] for m in measured),
            "train_img_s_each": [m["train_img_s"] for m in measured],
        }
        for row, measured in runs.items()
    }


def table(results: dict) -> str:
    lines = [
        f"{results['cpu']} ({results['machine']}); flags: {' '.join(results['flags'])}",
        "",
        f"{'setting':<40} {'oneDNN':>6} {'train img/s':>12} {'16-view img/s':>14}   (median of {results['rounds']})",
    ]
    rows = results["rows"]
    best = max(rows, key=lambda name: rows[name]["train_img_s"])
    for name, row in rows.items():
        lines.append(
            f"{name:<40} {'on' if row['onednn'] else 'off':>6} {row['train_img_s']:>12.0f} "
            f"{row['predict16_img_s']:>14.1f}   {row['train_img_s'] / rows[best]['train_img_s']:.2f}x the best"
        )
    others = [name for name in rows if name != PROJECT]
    if PROJECT in rows and others:
        rival = max(others, key=lambda name: rows[name]["train_img_s"])
        pairs = zip(rows[PROJECT]["train_img_s_each"], rows[rival]["train_img_s_each"])
        ratios = [mine / theirs for mine, theirs in pairs]
        lines += [
            "",
            f"{PROJECT} against the best other row ({rival}), round by round: "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + f"; median {statistics.median(ratios):.2f}x",
        ]
    if results["limit"]:
        lines += limit_table(results["limit"])
    return "\n".join(lines)


@click.command(help=__doc__)
@click.option("--rounds", default=3, show_default=True, help="Rounds of every row.")
@click.option("--rows", default="", help='Rows to measure, separated by ";" (default: all, and the limit).')
def main(rounds: int, rows: str) -> None:
    chosen = [row for row in rows.split(";") if row] or list(ROWS)
    unknown = sorted(set(chosen) - set(ROWS))
    if unknown:
        raise click.BadParameter(f"no such row {unknown}; the rows are {list(ROWS)}", param_hint="--rows")
    WORK.mkdir(exist_ok=True)
    data = grown_dataset(WORK, copies=COPIES)
    cache = WORK / f"cache-cpu-{COPIES}"
    run(data, cache, Settings(shard_size=1024, valid=200), jobs=2, progress=False)
    flags = cpu_flags()
    results = {"cpu": cpu_model(), "machine": platform.machine(), "flags": flags, "rounds": rounds}
    results["rows"] = settings_table(cache, chosen, rounds)
    results["limit"] = limit(cache, peak_flops(flags)) if chosen == list(ROWS) else None
    write_json(RESULTS, results)
    print(table(results))
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
