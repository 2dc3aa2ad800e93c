"""What every part of the finetuning benchmark shares: its settings (CHOSEN, METHODS), its two trunks, one cell
trained through the shipped `train.finetuning.finetune.finetune` and scored on the survey's test galaxies, and the
results file, saved atomically after every cell."""

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.cpu import cpu_flags
from bench.data import quality_set
from bench.finetune.survey import Survey, TestSet, survey, task_kind, test_scores, write_labels
from bench.measure import cpu_model
from preprocess.atomic import write_json
from synth import GENERATOR
from train.config import FinetuneConfig
from train.runs import Run

ROOT = Path(__file__).parent.parent
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
    return {**results, "survey seed": seed, "generator": GENERATOR}


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
    from train.config import configure
    from train.fitting.fit import fit

    folder = WORK / "source-6000"
    if not finished(folder):
        _, cache = quality_set()
        fit(cache, folder, configure("default", minutes=20, seed=1), overwrite=True, verbose=2)
    return folder


def the_survey(n_train: int, seed: int) -> Survey:
    return survey(WORK / f"survey-{n_train}-{TEST}-{seed}", n_train, TEST, seed)


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
