"""`make bench`: every benchmark on one synthetic set, one table, bench/results.json."""

import os
import subprocess
import sys
import time
from pathlib import Path

from bench import measure
from bench.data import GROWN_TEST, GROWN_TRAIN, grown_dataset
from bench.measure import cpu_model
from preprocess.atomic import write_json
from preprocess.cache import Settings
from preprocess.pipeline import run

WORK = Path(__file__).parent / "work"
RESULTS = Path(__file__).parent / "results.json"
COPIES = 4
COMPRESSIONS = ("none", "lzf", "gzip")
PREPROCESS_COPIES = 16  # 20,000 images: long enough that starting the worker processes is a small part


def peak_rss_mb(cache: Path) -> tuple[int, float]:
    command = [sys.executable, "-m", "bench.memory", str(cache)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    return int(output[0]), float(output[1])


def main() -> None:
    WORK.mkdir(exist_ok=True)
    started = time.perf_counter()
    print("making the data (reused by later runs) ...", flush=True)
    small = grown_dataset(WORK, copies=1)
    large = grown_dataset(WORK, copies=COPIES)
    largest = grown_dataset(WORK, copies=PREPROCESS_COPIES)
    n_large = (GROWN_TRAIN + GROWN_TEST) * COPIES
    small_cache, large_cache = WORK / "cache-small", WORK / "cache-large"
    run(small, small_cache, Settings(shard_size=256, valid=100), jobs=2, progress=False)
    run(large, large_cache, Settings(shard_size=1024, valid=500), jobs=2, progress=False)
    results: dict = {"cpu": cpu_model(), "cores": os.cpu_count(), "images": n_large}
    steps = [
        ("preprocess", lambda: measure.preprocess_throughput(largest, WORK, n_large * PREPROCESS_COPIES // COPIES)),
        ("cache", lambda: measure.cache_cost(large, WORK)),
        ("loader", lambda: measure.loader_throughput({c: WORK / f"cache-{c}" for c in COMPRESSIONS}, large)),
        ("fit_free", lambda: measure.fit_feed(large_cache, None)),
        ("fit_compact", lambda: measure.fit_feed(small_cache, "compact", epochs=1)),
        ("default_step", lambda: measure.default_step(large_cache)),
        ("memory", lambda: {"small": peak_rss_mb(small_cache), "large": peak_rss_mb(large_cache)}),
        ("inference", lambda: measure.inference(large_cache)),
        ("models", measure.model_cost),
    ]
    for name, step in steps:
        print(f"measuring {name} ...", flush=True)
        results[name] = step()
    results["seconds"] = time.perf_counter() - started
    write_json(RESULTS, results)
    print(table(results))
    print(f"saved {RESULTS}")


def ratio_row(name: str, value: float, unit: str, reference: float, note: str) -> tuple[str, str, str]:
    return (name, f"{value:.0f} {unit}", f"{value / reference:.2f}x {note}")


def table(r: dict) -> str:
    p, loader, m, c, i, md = (r[k] for k in ("preprocess", "loader", "memory", "cache", "inference", "models"))
    (n_small, rss_small), (n_large, rss_large) = m["small"], m["large"]
    seed_decode = p["seed_one_process"]
    rows = [
        ("seed's decode, 1 process", f"{seed_decode:.0f} img/s", ""),
        ratio_row("preprocess run --jobs 2", p["ours"], "img/s", seed_decode, "the seed's decode (target >= 4x)"),
        ratio_row("  bare decoding, 2 processes", p["draft_two_processes"], "img/s", seed_decode, "the seed's decode"),
        ("seed's way: JPEGs decoded per batch", f"{loader['jpeg_generator']:.0f} img/s", ""),
    ]
    for name in COMPRESSIONS:
        entry, target = loader[name], {"none": 30, "lzf": 5, "gzip": 5}[name]
        rows += [
            ratio_row(
                f"ShardDataset, Keras's order, {name}",
                entry["keras_order"],
                "img/s",
                loader["jpeg_generator"],
                f"the seed's way (target >= {target}x)",
            ),
            ratio_row("  in order", entry["in_order"], "img/s", entry["keras_order"], "Keras's order"),
            ratio_row("  a shard in one read", entry["pure_read"], "img/s", entry["keras_order"], "Keras's order"),
        ]
    for name, key in (("near-free model", "fit_free"), ("compact model", "fit_compact")):
        fed = r[key]
        rows += [
            (f"model.fit, {name}, from numpy", f"{fed['numpy']:.0f} img/s", ""),
            ratio_row("  fed by ShardDataset", fed["shard_dataset"], "img/s", fed["numpy"], "numpy (target >= 0.9x)"),
        ]
    step = r["default_step"]
    was = step["whole_frame_keras_bn"]
    rows += [
        ("model.fit, default model, as it was", f"{was:.0f} img/s", "augmenting the whole frame, Keras's BN"),
        ratio_row("  augmenting the central box", step["central_box_keras_bn"], "img/s", was, "as it was"),
        ratio_row("  and fused BN (the default)", step["central_box_fused_bn"], "img/s", was, "as it was"),
        ratio_row("  and bfloat16", step["central_box_fused_bn_bfloat16"], "img/s", was, "as it was"),
    ]
    rows += [
        (f"peak RSS, epoch of {n_small} images", f"{rss_small:.0f} MB", ""),
        (f"peak RSS, epoch of {n_large} images", f"{rss_large:.0f} MB", f"+{rss_large - rss_small:.0f} MB"),
    ]
    rows += [(f"cache, compression={name}", f"{e['bytes_per_image'] / 1024:.1f} KiB/img", "") for name, e in c.items()]
    rows += [
        ("test predictions, --tta 1", f"{i['tta1']:.0f} img/s", ""),
        ("test predictions, --tta 16", f"{i['tta16']:.0f} img/s", f"{i['tta1'] / i['tta16']:.1f}x slower"),
        ("train steps/s (batch 32), compact", f"{md['compact']:.2f}", ""),
        ("train steps/s (batch 32), vgg16", f"{md['vgg16']:.3f}", f"{md['compact'] / md['vgg16']:.0f}x slower"),
    ]
    preprocessed = r["images"] * PREPROCESS_COPIES // COPIES
    lines = [
        f"{r['cpu']}, {r['cores']} cores; {r['images']} images ({preprocessed} for preprocessing); "
        f"{r['seconds']:.0f} s",
        "",
    ]
    lines += [f"{a:<38} {b:>16}  {c}" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
