"""`make bench`: every benchmark on one synthetic set, one table, bench/results.json."""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench import measure
from bench.data import grown_dataset
from preprocess.pipeline import Settings, run

WORK = Path(__file__).parent / "work"
RESULTS = Path(__file__).parent / "results.json"
BASE_TRAIN, BASE_TEST, COPIES = 1000, 250, 4
PREPROCESS_COPIES = 16  # 20,000 images: long enough that starting the worker processes is a small part


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def peak_rss_mb(cache: Path) -> tuple[int, float]:
    output = subprocess.run([sys.executable, "-m", "bench.memory", str(cache)], capture_output=True, text=True,
                            check=True).stdout.split()  # fmt: skip
    return int(output[0]), float(output[1])


def main() -> None:
    WORK.mkdir(exist_ok=True)
    started = time.perf_counter()
    print("making the data (reused by later runs) ...", flush=True)
    small = grown_dataset(WORK, BASE_TRAIN, BASE_TEST, copies=1)
    large = grown_dataset(WORK, BASE_TRAIN, BASE_TEST, copies=COPIES)
    largest = grown_dataset(WORK, BASE_TRAIN, BASE_TEST, copies=PREPROCESS_COPIES)
    n_large = (BASE_TRAIN + BASE_TEST) * COPIES
    small_cache, large_cache = WORK / "cache-small", WORK / "cache-large"
    run(small, small_cache, Settings(shard_size=256, valid=100), jobs=2, progress=False)
    run(large, large_cache, Settings(shard_size=1024, valid=500), jobs=2, progress=False)
    results: dict = {"cpu": cpu_model(), "cores": os.cpu_count(), "images": n_large}
    steps = [
        ("preprocess", lambda: measure.preprocess_throughput(largest, WORK, n_large * PREPROCESS_COPIES // COPIES)),
        ("sequence", lambda: measure.sequence_throughput(large_cache, large)),
        ("input_stall", lambda: measure.input_stall(small_cache)),
        ("memory", lambda: {"small": peak_rss_mb(small_cache), "large": peak_rss_mb(large_cache)}),
        ("cache", lambda: measure.cache_cost(large, WORK)),
        ("inference", lambda: measure.inference(large_cache)),
        ("models", measure.model_cost),
    ]
    for name, step in steps:
        print(f"measuring {name} ...", flush=True)
        results[name] = step()
    results["seconds"] = time.perf_counter() - started
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    print(f"saved {RESULTS}")


def table(r: dict) -> str:
    p, s, st, m, c, i, md = (r[k] for k in ("preprocess", "sequence", "input_stall", "memory", "cache", "inference",
                                            "models"))  # fmt: skip
    (n_small, rss_small), (n_large, rss_large) = m["small"], m["large"]
    rows = [
        ("preprocess run --jobs 2", f"{p['ours']:.0f} img/s", ""),
        (
            "  vs seed's decode, 1 process",
            f"{p['seed_one_process']:.0f} img/s",
            f"{p['ours'] / p['seed_one_process']:.1f}x (target >= 4x)",
        ),
        (
            "  vs draft decode, 2 processes",
            f"{p['draft_two_processes']:.0f} img/s",
            f"{p['ours'] / p['draft_two_processes']:.2f}x (target >= 0.8x)",
        ),
        ("ShardDataset epoch (shuffle+aug)", f"{s['shard_dataset']:.0f} img/s", ""),
        (
            "  vs JPEG-decoding generator",
            f"{s['jpeg_generator']:.0f} img/s",
            f"{s['shard_dataset'] / s['jpeg_generator']:.0f}x (target >= 30x)",
        ),
        (
            "ShardDataset epoch (shuffle only)",
            f"{s['shard_dataset_no_augment']:.0f} img/s",
            f"{s['shard_dataset_no_augment'] / s['jpeg_generator']:.0f}x the generator",
        ),
        ("fit fed by ShardDataset (batch 64)", f"{st['shard_dataset']:.2f} steps/s", ""),
        (
            "  vs fed from numpy in memory",
            f"{st['numpy']:.2f} steps/s",
            f"{st['shard_dataset'] / st['numpy']:.2f}x (target >= 0.9x)",
        ),
        (f"peak RSS, epoch of {n_small} images", f"{rss_small:.0f} MB", ""),
        (
            f"peak RSS, epoch of {n_large} images",
            f"{rss_large:.0f} MB",
            f"+{rss_large - rss_small:.0f} MB (target <= 150 MB)",
        ),
    ]
    for name, entry in c.items():
        rows.append((f"cache, compression={name}", f"{entry['bytes_per_image'] / 1024:.1f} KiB/img",
                     f"read {entry['read_img_per_s']:.0f} img/s"))  # fmt: skip
    rows += [
        ("test predictions, --tta 1", f"{i['tta1']:.0f} img/s", ""),
        ("test predictions, --tta 8", f"{i['tta8']:.0f} img/s", f"{i['tta1'] / i['tta8']:.1f}x slower"),
        ("train steps/s (batch 32), compact", f"{md['compact']:.2f}", ""),
        ("train steps/s (batch 32), vgg16", f"{md['vgg16']:.3f}", f"{md['compact'] / md['vgg16']:.0f}x slower"),
    ]
    lines = [f"{r['cpu']}, {r['cores']} cores; {r['images']} images ({r['images'] * PREPROCESS_COPIES // COPIES} "
             f"for preprocessing); {r['seconds']:.0f} s", ""]  # fmt: skip
    lines += [f"{a:<38} {b:>16}  {c}" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
