"""`make finetune-bench`: how many labels finetuning saves, on synthetic galaxies whose truth is known.

The source run is the default recipe trained FINETUNE_SOURCE_MINUTES (20) on the quality set (6,000 training and
1,000 test galaxies, seed 71; or the run in FINETUNE_SOURCE). The "new survey" is another synthetic set, 20,000
training and 5,000 test galaxies of its own seed, preprocessed once. Three questions from its
true_parameters.csv, none of them one of Kaggle's 37 columns: rings (binary: labels drawn half rings, half not,
scored on every test galaxy at its natural prevalence), the bar length of barred galaxies and the Sersic index
of smooth galaxies (regressions, scored by RMSE on the test galaxies of their kind). For each, 100, 300 and 1,000
labels, three random draws, a fifth of them held out for early stopping; the source's
trunk with a new head (head only, and unfrozen) against the same model from scratch, each for the same minutes;
and the source model's own Class8.1 as a zero-shot ring score. Saves bench/finetune.json after every model
and docs/finetune.png at the end, prints a table; run again after an interruption, it trains only the models
that bench/finetune.json lacks (for the same source and minutes).
"""

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np

from bench.data import preprocessed
from bench.measure import cpu_model, setting
from bench.runs import finished_with
from preprocess.cache import Cache
from synth.dataset import TRUE_PARAMETERS, write_dataset
from train.runs import Run
from train.tasks import Task, held_out_scores, make_task

ROOT = Path(__file__).parent
WORK, RESULTS, FIGURE = ROOT / "work" / "finetune", ROOT / "finetune.json", ROOT.parent / "docs" / "finetune.png"
SURVEY_TRAIN, SURVEY_TEST, SURVEY_SEED = 20_000, 5_000, 72
DRAWS = 3
LABELS = (100, 300, 1000)
METHODS = ("head only", "unfrozen", "from scratch")


def prepared(data: Path, cache: Path, n_train: int, n_test: int, seed: int, valid: int) -> Cache:
    """A synthetic set and its cache, made once and reused by later runs."""
    if not (data / TRUE_PARAMETERS).exists():
        write_dataset(data, n_train, n_test, seed=seed, jobs=os.cpu_count() or 1)
    return preprocessed(data, cache, valid)


def source_run(minutes: float) -> Path:
    """FINETUNE_SOURCE, or the default recipe trained `minutes` on the quality set (made once)."""
    if os.environ.get("FINETUNE_SOURCE"):
        return Path(os.environ["FINETUNE_SOURCE"])
    from train.config import configure
    from train.fit import fit

    folder, config = WORK / "source", configure("default", minutes=minutes)
    cache = prepared(WORK / "quality-data", WORK / "quality-cache", 6000, 1000, 71, 500)
    if not finished_with(folder, config, cache):
        fit(cache, folder, config, overwrite=True, verbose=2)
    return folder


def survey() -> tuple[dict[int, np.ndarray], dict[str, list[dict]]]:
    """The survey's images by GalaxyID (train and test splits) and its true parameters by split."""
    data = WORK / "survey-data"
    cache = prepared(data, WORK / "survey-cache", SURVEY_TRAIN, SURVEY_TEST, SURVEY_SEED, 1)
    images = {}
    for split in ("train", "valid", "test"):
        rows = cache.read(split, ("ids", "images"))
        images.update(zip(rows["ids"].tolist(), rows["images"]))
    with open(data / TRUE_PARAMETERS, newline="") as f:
        truth = list(csv.DictReader(f))
    return images, {split: [row for row in truth if row["split"] == split] for split in ("train", "test")}


def questions(truth: dict[str, list[dict]]) -> dict[str, tuple[str, list[dict], list[dict]]]:
    """Question -> (the truth column, candidate training rows, test rows)."""
    barred = {split: [r for r in rows if r["bar_length"]] for split, rows in truth.items()}
    smooth = {split: [r for r in rows if r["sersic_index"]] for split, rows in truth.items()}
    return {
        "rings": ("ring", truth["train"], truth["test"]),
        "bar length": ("bar_length", barred["train"], barred["test"]),
        "Sersic index": ("sersic_index", smooth["train"], smooth["test"]),
    }


def label(row: dict, column: str) -> str:
    return str(int(row["odd_feature"] == "ring")) if column == "ring" else row[column]


def draw_labels(rows: list[dict], column: str, n: int, rng: np.random.Generator) -> list[dict]:
    """n labelled rows at random; for rings, half rings and half not."""
    if column != "ring":
        return [rows[i] for i in rng.choice(len(rows), n, replace=False)]
    rings = [r for r in rows if r["odd_feature"] == "ring"]
    others = [r for r in rows if r["odd_feature"] != "ring"]
    half = min(n // 2, len(rings))
    return [rings[i] for i in rng.choice(len(rings), half, replace=False)] + [
        others[i] for i in rng.choice(len(others), n - half, replace=False)
    ]


def trained_scores(
    source: Path,
    task: Task,
    method: str,
    images: np.ndarray,
    targets: np.ndarray,
    test: tuple,
    minutes: float,
    seed: int,
) -> dict[str, float]:
    """Train one model (`method`) on the labelled images for `minutes`; its scores on the test galaxies."""
    import keras

    from train.config import FinetuneConfig
    from train.finetune import from_scratch, held_out_values, train, with_new_head
    from train.inference import load_model

    rng = np.random.default_rng(seed)
    held = rng.permutation(len(images))[: len(images) // 5]
    fit_rows = np.setdiff1d(np.arange(len(images)), held)
    data = {"x": images[fit_rows], "y": targets[fit_rows], "validation_data": (images[held], targets[held])}
    folder = WORK / "runs" / "current"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    run = Run(folder)
    config = FinetuneConfig(
        unfreeze="all" if method == "unfrozen" else "none", minutes=minutes, epochs=10_000, patience=None, seed=seed
    )
    keras.utils.set_random_seed(seed)
    model = with_new_head(load_model(Run(source)), task, images[fit_rows])
    if method == "from scratch":
        keras.utils.set_random_seed(seed)
        model = from_scratch(model)
    train(model, run, task, config, data, verbose=0, scratch=method == "from scratch")
    return held_out_scores(task, test[1], held_out_values(run, task, test[0]))


def zero_shot_rings(source: Path, test_images: np.ndarray, positive: np.ndarray) -> dict[str, float]:
    """The source model's Class8.1 (ring) share of the votes as a ring score."""
    from preprocess.schema import COLUMNS
    from train.inference import load_model
    from train.scores import average_precision, roc_auc

    model = load_model(Run(source))
    scores = np.concatenate([model.predict_on_batch(test_images[i : i + 64]) for i in range(0, len(test_images), 64)])
    ring = scores[:, COLUMNS.index("Class8.1")]
    return {"roc_auc": roc_auc(positive, ring), "average_precision": average_precision(positive, ring)}


def earlier_results(minutes: float, source: Path) -> dict:
    """bench/finetune.json of an interrupted run with the same source and minutes, else a fresh record."""
    fresh = {"cpu": cpu_model(), "cores": os.cpu_count(), "minutes": minutes, "source": str(source), "tasks": {}}
    if not RESULTS.exists():
        return fresh
    earlier = json.loads(RESULTS.read_text())
    same = (earlier["minutes"], earlier["source"], earlier["cpu"]) == (minutes, str(source), fresh["cpu"])
    return earlier if same else fresh


def main() -> None:
    minutes = setting("FINETUNE_MINUTES", 1.0)
    source = source_run(setting("FINETUNE_SOURCE_MINUTES", 20))
    images, truth = survey()
    results = earlier_results(minutes, source)
    for name, (column, candidates, test_rows) in questions(truth).items():
        test_images = np.stack([images[int(r["GalaxyID"])] for r in test_rows])
        test_labels = [[label(r, column)] for r in test_rows]
        kind = "binary" if column == "ring" else "regression"
        entry = results["tasks"].setdefault(name, {"scores": {}})
        entry["test galaxies"] = len(test_rows)
        if column == "ring" and "zero-shot Class8.1" not in entry:
            positive = np.array([row[0] == "1" for row in test_labels])
            entry["zero-shot Class8.1"] = zero_shot_rings(source, test_images, positive)
        for n in LABELS:
            for draw in range(DRAWS):
                done = [m for m in METHODS if len(entry["scores"].get(m, {}).get(str(n), [])) > draw]
                if len(done) == len(METHODS):
                    continue
                rng = np.random.default_rng([SURVEY_SEED, n, draw])
                rows = draw_labels(candidates, column, n, rng)
                values = [[label(r, column)] for r in rows]
                task = make_task(kind, [column], values)
                labelled = np.stack([images[int(r["GalaxyID"])] for r in rows])
                test = (test_images, task.targets(test_labels))
                for method in METHODS[len(done) :]:
                    scores = trained_scores(source, task, method, labelled, task.targets(values), test, minutes, draw)
                    entry["scores"].setdefault(method, {}).setdefault(str(n), []).append(scores)
                    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
                    print(f"{name}, {n} labels, draw {draw + 1}, {method}: {scores}", flush=True)
    plot(results, FIGURE)
    print(table(results))
    print(f"saved {RESULTS} and {FIGURE}")


HEADLINE = {"rings": "roc_auc", "bar length": "rmse", "Sersic index": "rmse"}


def mean_and_spread(runs: list[dict], metric: str) -> tuple[float, float]:
    values = [r[metric] for r in runs]
    return float(np.mean(values)), float(np.std(values))


def labels_to_match(entry: dict, metric: str, n: int = 300) -> str:
    """How many labels from scratch reach what finetuning (head only) reaches with n: interpolated in log labels."""
    target = mean_and_spread(entry["scores"]["head only"][str(n)], metric)[0]
    better = (lambda a, b: a >= b) if metric == "roc_auc" else (lambda a, b: a <= b)
    counts = sorted(int(k) for k in entry["scores"]["from scratch"])
    means = [mean_and_spread(entry["scores"]["from scratch"][str(k)], metric)[0] for k in counts]
    for (k0, m0), (k1, m1) in zip(zip(counts, means), zip(counts[1:], means[1:])):
        if better(m1, target) and not better(m0, target):
            t = (target - m0) / (m1 - m0) if m1 != m0 else 1.0
            return f"about {round(np.exp(np.log(k0) + t * (np.log(k1) - np.log(k0)))):,}"
    return f"{counts[0]} or fewer" if better(means[0], target) else f"more than {counts[-1]:,}"


def table(results: dict) -> str:
    lines = [
        f"{results['cpu']}, {results['cores']} cores; {results['minutes']:g} min of training per model; "
        f"mean +- spread over {DRAWS} draws"
    ]
    for name, entry in results["tasks"].items():
        metric = HEADLINE[name]
        lines += ["", f"{name}: {metric} on {entry['test galaxies']:,} test galaxies"]
        counts = list(entry["scores"]["head only"])
        lines.append(f"{'labels':<16}" + "".join(f"{int(n):>16,}" for n in counts))
        for method, by_count in entry["scores"].items():
            cells = [mean_and_spread(by_count[n], metric) for n in counts]
            lines.append(f"{method:<16}" + "".join(f"{m:>10.3f} +-{s:.3f}" for m, s in cells))
        if "zero-shot Class8.1" in entry:
            lines.append(f"{'zero-shot Class8.1':<16} {entry['zero-shot Class8.1'][metric]:.3f}")
        lines.append(f"labels from scratch that match the head only on 300: {labels_to_match(entry, metric)}")
    return "\n".join(lines)


def plot(results: dict, out: Path) -> None:
    from train.plots import plt, save_figure

    tasks = results["tasks"]
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4))
    for axis, (name, entry) in zip(np.atleast_1d(axes), tasks.items()):
        metric = HEADLINE[name]
        for method, by_count in entry["scores"].items():
            counts = [int(n) for n in by_count]
            stats = [mean_and_spread(by_count[str(n)], metric) for n in counts]
            axis.errorbar(
                counts, [m for m, _ in stats], yerr=[s for _, s in stats], marker="o", ms=3, capsize=2, label=method
            )
        if "zero-shot Class8.1" in entry:
            axis.axhline(entry["zero-shot Class8.1"][metric], color="grey", ls="--", lw=1, label="zero-shot Class8.1")
        axis.set(xscale="log", xlabel="labels", ylabel=metric.replace("_", " ").upper(), title=name)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    save_figure(figure, out)


if __name__ == "__main__":
    main()
