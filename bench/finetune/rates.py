"""`make finetune-rates`: the unfrozen trunk's rate, with and without a lower rate per block
(train.finetuning.block_rates), chosen on the choosing survey (seed 73) and never on the reporting one. One draw at
300 labels per question; the trunk unfrozen whole (`--unfreeze all`) so that every variant is the unfrozen model,
beside the head alone. The chosen rate goes into bench.finetune.cells.CHOSEN. Part `head starts` (on the survey of
24,000): how the head's weights start (train.finetuning.head.HEAD_INIT), the bar length's head alone at 100 and 300
labels, 3 draws, from zeros or from Glorot's random weights."""

from dataclasses import replace

import numpy as np

import train.finetuning.head
from bench.finetune.cells import CHOSEN, DRAWS, METHODS, brief, save, scored, trained
from bench.finetune.survey import QUESTIONS, Survey, candidates, draw, test_set

COUNTS = (300,)
VARIANTS = {  # name -> (rate once unfrozen, decay per block); None: the head alone
    "head only": None,
    "1e-4": (1e-4, 1.0),
    "1e-5": (1e-5, 1.0),
    "1e-4, x0.75 a block": (1e-4, 0.75),
    "1e-5, x0.75 a block": (1e-5, 0.75),
}


def rates(results: dict, place: Survey, source) -> None:
    for question, column in QUESTIONS.items():
        pool = candidates(place.train, column)
        test = test_set(place, column, source)
        for n in COUNTS:
            rows = draw(pool, column, n, np.random.default_rng([results["survey seed"], n, 0]))
            cell = results.setdefault("rates", {}).setdefault(question, {}).setdefault(str(n), {})
            for name, variant in VARIANTS.items():
                if name in cell:
                    continue
                lr, decay = variant or (CHOSEN.unfreeze_lr, 1.0)
                config = replace(
                    CHOSEN, unfreeze="none" if variant is None else "all", unfreeze_lr=lr, unfreeze_decay=decay
                )
                cell[name] = scored(trained(source, place, column, rows, replace(config, compare=False)), test)[
                    "finetuned"
                ]
                save(results)
                print(f"rates: {question}, {n} labels, {name}: {brief({name: cell[name]})}", flush=True)


HEAD_STARTS, HEAD_COUNTS = ("zeros", "glorot_uniform"), (100, 300)


def head_starts(results: dict, place: Survey, source) -> None:
    """The head alone on bar length (the question where it ended worse than the mean), each start in turn."""
    pool = candidates(place.train, "bar_length")
    test = test_set(place, "bar_length", source)
    shipped = train.finetuning.head.HEAD_INIT
    try:
        for start in HEAD_STARTS:
            train.finetuning.head.HEAD_INIT = start
            for n in HEAD_COUNTS:
                runs = results.setdefault("head starts", {}).setdefault(start, {}).setdefault(str(n), [])
                for d in range(len(runs), DRAWS):
                    rows = draw(pool, "bar_length", n, np.random.default_rng([results["survey seed"], n, d]))
                    config = replace(METHODS["head only"], seed=d, compare=False)
                    runs.append(scored(trained(source, place, "bar_length", rows, config), test)["finetuned"])
                    save(results)
                    print(f"head starts: {start}, {n} labels, draw {d + 1}: {brief({start: runs[-1]})}", flush=True)
    finally:
        train.finetuning.head.HEAD_INIT = shipped
