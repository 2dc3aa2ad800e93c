"""`make finetune-bench`: how many labels finetuning saves, through the shipped `train.finetuning.finetune.finetune`.

Sources: the Kaggle-sized trunk of `make pretrain` (61,578 galaxies, or FINETUNE_SOURCE) and the default recipe
trained 20 minutes on the 6,000-galaxy quality set. The new survey (bench.finetune_survey) is FINETUNE_TRAIN
(24,000) training and 3,000 test galaxies of seed FINETUNE_SEED: 74 reports; settings were chosen on 73
(`make finetune-rates`). For rings, bar length and the Sersic index, at 100, 300, 1,000 and 3,000 labels drawn at
random (ring draws redrawn until they hold 2 rings), 3 draws each, `finetune()` trains with its defaults but for
up to EPOCHS with PATIENCE, so that every model stops when its held-out loss stops improving: `auto` (the
finetuned model, and with it the same model from scratch, `--compare`) and, for the regressions, the head alone
(`--unfreeze none`); at 3,000 the head alone and the model from scratch (methods).
Each is scored on the survey's test galaxies with `predict`'s views (FINETUNE_COUNTS=300,1000 and
FINETUNE_QUESTIONS=rings,Sersic index run those alone). Part `rounds` (bench.finetune_rounds) adds a user's
labelling rounds, part `ceiling` what any labels from the rounds' pool reach. Results go to bench/finetune-SEED.json
after every model; rerun after an interruption and only what it lacks is trained. Prints the tables;
bench.finetune_report draws docs/finetune.png.
"""

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.cpu import cpu_flags
from bench.finetune_report import BIG, SMALL
from bench.finetune_survey import (
    QUESTIONS,
    Survey,
    TestSet,
    candidates,
    draw,
    survey,
    task_kind,
    test_scores,
    test_set,
    write_labels,
)
from bench.measure import cpu_model, setting
from preprocess.atomic import write_json
from train.config import FinetuneConfig
from train.runs import Run

ROOT = Path(__file__).parent
WORK = ROOT / "work" / "finetune"
PRETRAINED = ROOT / "work" / "pretrain" / "run"
TEST, DRAWS, LABELS = 3_000, 3, (100, 300, 1000, 3000)
EPOCHS, PATIENCE = 300, 15  # up to EPOCHS: every model stops PATIENCE epochs after its best held-out loss
CHOSEN = FinetuneConfig(epochs=EPOCHS, patience=PATIENCE, unfreeze_lr=1e-4, unfreeze_decay=1.0)
METHODS = {"finetuned": replace(CHOSEN, unfreeze="auto"), "head only": replace(CHOSEN, unfreeze="none")}


def results_file(seed: int) -> Path:
    return ROOT / f"finetune-{seed}.json"


def load_results(seed: int) -> dict:
    path = results_file(seed)
    results = json.loads(path.read_text()) if path.exists() else {}
    return {**results, "survey seed": seed}


def machine() -> str:
    """Where a model was trained, stamped on each: a resumed benchmark may finish on another kind of CPU."""
    return f"{cpu_model()}, {os.cpu_count()} cores, {' '.join(cpu_flags())}"


def save(results: dict) -> None:
    write_json(results_file(results["survey seed"]), results)


def finished(run: Path) -> bool:
    return Run(run).config.exists() and bool(Run(run).read_record().get("finished"))


def small_source() -> Path:
    """The default recipe trained 20 minutes on the 6,000-galaxy quality set (trained once; kept as long as it is
    finished, the quality cache's manifest may be rewritten by later versions)."""
    from bench.quality import data_set
    from train.config import configure
    from train.fitting.fit import fit

    folder = WORK / "source-6000"
    if not finished(folder):
        _, cache = data_set(6000, 1000, 71)
        fit(cache, folder, configure("default", minutes=20, seed=1), overwrite=True, verbose=2)
    return folder


def big_source() -> Path:
    big = Path(os.environ.get("FINETUNE_SOURCE", PRETRAINED))
    if not finished(big):
        raise SystemExit(f"{big} holds no finished run: run `make pretrain` first (or set FINETUNE_SOURCE)")
    return big


def the_survey(seed: int) -> Survey:
    n = int(setting("FINETUNE_TRAIN", 24_000))
    return survey(WORK / f"survey-{n}-{TEST}-{seed}", n, TEST, seed)


def trained(source: Path, place: Survey, column: str, rows: list[dict], config: FinetuneConfig) -> dict:
    """`finetune()` on these labels; its runs' scores on the test galaxies, epochs and seconds per epoch."""
    from train.finetuning.finetune import finetune

    folder = WORK / "runs" / "current"
    folder.parent.mkdir(parents=True, exist_ok=True)
    labels = write_labels(WORK / "runs" / "labels.csv", rows, column)
    started = time.monotonic()
    result = finetune(source, labels, folder, config, place.data, task_kind(column), overwrite=True, verbose=0)
    out = {"finetuned": {"kept": result.kept, "wall seconds": round(time.monotonic() - started, 1)}}
    if config.compare:
        out["from scratch"] = {}
    where = machine()
    for scores in out.values():
        scores["machine"] = where
    out["finetuned"]["trunk"] = str(source)  # which trunk ran the cell (the scratch model has none)
    for name, run in zip(out, (folder, folder / "scratch")):
        out[name].update(epochs_and_speed(Run(run)))
    return out


def epochs_and_speed(run: Run) -> dict:
    seconds = [float(row["seconds"]) for row in run.history_rows()]
    return {"epochs": len(seconds), "seconds per epoch": round(float(np.mean(seconds)), 3)}


def scored(outcome: dict, test: TestSet) -> dict:
    folder = WORK / "runs" / "current"
    for name, run in (("finetuned", folder), ("from scratch", folder / "scratch")):
        if name in outcome:
            outcome[name].update(test_scores(run, Run(folder).task(), test))
    return outcome


def label_counts(results: dict, place: Survey, big: Path) -> None:
    """Every source, label count, question and draw that `results` lacks, saved as each finishes: the Kaggle-sized
    source first, 300 labels first (the done-when's count); the 6,000-galaxy source at 300 alone (what the
    trunk's size buys). The head alone is trained beside for the regressions (is it ever worse than the mean?)."""
    tests = {question: test_set(place, column, big) for question, column in QUESTIONS.items()}
    counts = [int(n) for n in os.environ.get("FINETUNE_COUNTS", ",".join(map(str, LABELS))).split(",")]
    for source_name in (BIG, SMALL):
        for n in sorted(counts, key=lambda n: (n != 300, n)) if source_name == BIG else set(counts) & {300}:
            for question, column in QUESTIONS.items():
                if question not in os.environ.get("FINETUNE_QUESTIONS", ",".join(QUESTIONS)).split(","):
                    continue
                pool = candidates(place.train, column)
                for d in range(DRAWS if n <= len(pool) else 0):
                    rows = draw(pool, column, n, np.random.default_rng([results["survey seed"], n, d]))
                    cell = results.setdefault("labels", {}).setdefault(source_name, {}).setdefault(question, {})
                    runs = cell.setdefault(str(n), [])
                    if len(runs) > d:
                        continue
                    out, source = {}, big if source_name == BIG else small_source()
                    for method, config in methods(column, n, source_name == BIG).items():
                        config = replace(config, seed=d)
                        outcome = scored(trained(source, place, column, rows, config), tests[question])
                        out.update({method if k == "finetuned" else k: v for k, v in outcome.items()})
                    runs.append(out)
                    save(results)
                    print(f"{source_name}, {question}, {n} labels, draw {d + 1}: {brief(out)}", flush=True)


def methods(column: str, n: int, with_scratch: bool) -> dict[str, FinetuneConfig]:
    """What is trained on one draw: `auto`, and the head alone for regressions (is it ever worse than the mean?);
    the model from scratch beside the first (the same for both sources: trained beside the big one's). At the
    largest count only the head alone and the model from scratch: the multiplier needs the scratch curve, and
    unfreezing on 3,000 labels would double the benchmark's time."""
    chosen = {"finetuned": METHODS["finetuned"]} if n < max(LABELS) else {}
    if task_kind(column) == "regression" or not chosen:
        chosen["head only"] = METHODS["head only"]
    first = next(iter(chosen))
    return {method: replace(config, compare=with_scratch and method == first) for method, config in chosen.items()}


def brief(out: dict) -> str:
    return "; ".join(
        f"{method} "
        + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in scores.items()
            if k not in ("machine", "trunk")
        )
        for method, scores in out.items()
    )


def main() -> None:
    seed = int(setting("FINETUNE_SEED", 74))
    part = os.environ.get("FINETUNE_PART", "labels")
    results = load_results(seed)
    big = big_source()
    place = the_survey(seed)
    if part == "rates":
        from bench.finetune_rates import rates

        rates(results, place, big)
    elif part == "head starts":
        from bench.finetune_rates import head_starts

        head_starts(results, place, big)
    elif part == "rounds":
        from bench.finetune_rounds import rounds

        rounds(results, place, big)
    elif part == "ceiling":
        from bench.finetune_rounds import ceiling

        ceiling(results, place, big)
    else:
        label_counts(results, place, big)
    shutil.rmtree(WORK / "runs" / "current", ignore_errors=True)
    from bench.finetune_report import table

    print(table(results))


if __name__ == "__main__":
    main()
