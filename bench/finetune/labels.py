"""Part `labels`: for each question and trunk, finetuned models at 100 to 3,000 labels against the same model
from scratch (see bench.finetune)."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.finetune.cells import DRAWS, LABELS, METHODS, brief, save, scored, small_source, trained
from bench.finetune.report import BIG, SMALL
from bench.finetune.survey import QUESTIONS, Survey, candidates, draw, task_kind, test_set
from train.config import FinetuneConfig


def label_counts(results: dict, place: Survey, big: Path, counts: list[int], questions: list[str]) -> None:
    """Every source, label count, question and draw that `results` lacks, saved as each finishes: the Kaggle-sized
    source first, 300 labels first (the done-when's count); the 6,000-galaxy source at 300 alone (what the
    trunk's size buys). The head alone is trained beside for the regressions (is it ever worse than the mean?)."""
    tests = {question: test_set(place, column, big) for question, column in QUESTIONS.items()}
    for source_name in (BIG, SMALL):
        for n in sorted(counts, key=lambda n: (n != 300, n)) if source_name == BIG else set(counts) & {300}:
            for question, column in QUESTIONS.items():
                if question not in questions:
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
