"""Part `rounds` of `make finetune-bench`: a user's labelling rounds. From START ring labels drawn at random
from a pool of POOL training galaxies (redrawn until they hold 2 rings), ROUNDS rounds each add STEP labels picked
one of three ways, the run finetuned anew (the shipped `finetune()`, its defaults) after each: `train suggest`,
at random (at the rings' natural prevalence), or by the finetuned head's ring probability alone. The pool never
holds a test galaxy. Each round's run is scored on every test galaxy; the rings among the labels are counted.
Part `ceiling` bounds what any choice of labels from the pool can reach: 300 labels holding every ring of the pool
beside others at random (2 draws), and every galaxy of the pool labelled (one run)."""

from dataclasses import replace

import numpy as np

from bench.finetune.cells import DRAWS, METHODS, WORK, brief, save, scored, trained
from bench.finetune.survey import Survey, draw, label, test_set

START, STEP, ROUNDS, POOL = 50, 50, 5, 5_000
STRATEGIES = ("suggest", "random", "ring probability")


def picked(strategy: str, place: Survey, pool: list[dict], labelled: list[dict], rng: np.random.Generator) -> list:
    """STEP more rows of the pool, none already labelled, picked by `strategy` for the run just finetuned."""
    from train.finetuning.suggest import scored_pool, suggest

    known = {row["GalaxyID"] for row in labelled}
    left = [row for row in pool if row["GalaxyID"] not in known]
    if strategy == "random":
        return [left[i] for i in rng.choice(len(left), STEP, replace=False)]
    by_id = {row["GalaxyID"]: row for row in left}
    run, labels = WORK / "runs" / "current", WORK / "runs" / "labels.csv"
    if strategy == "suggest":  # the whole pool, as a user points it at their images: the labelled count as covered
        return [by_id[pick.galaxy] for pick in suggest(run, [place.image(r) for r in pool], STEP, labels)]
    scores = scored_pool(run, [place.image(r) for r in left])
    ring = scores.values[:, 1]  # the classes are "0" and "1"
    return [by_id[scores.paths[i].stem] for i in np.argsort(-ring, kind="stable")[:STEP]]


def rounds(results: dict, place: Survey, source) -> None:
    pool = place.train[:POOL]
    test = test_set(place, "ring", source)
    seed = results["survey seed"]
    for d in range(DRAWS):
        start = draw(pool, "ring", START, np.random.default_rng([seed, START, d]))
        for strategy in STRATEGIES:
            done = results.setdefault("rounds", {}).setdefault(strategy, [])
            if len(done) > d:
                continue
            labelled, steps, rng = list(start), [], np.random.default_rng([seed, STEP, d])
            for step in range(ROUNDS + 1):
                config = replace(METHODS["finetuned"], seed=d, compare=False)
                scores = scored(trained(source, place, "ring", labelled, config), test)["finetuned"]
                rings = sum(label(row, "ring") == "1" for row in labelled)
                steps.append({"labels": len(labelled), "rings": rings, **scores})
                print(f"rounds, draw {d + 1}, {strategy}: {len(labelled)} labels, {rings} rings, {scores}", flush=True)
                if step < ROUNDS:
                    labelled += picked(strategy, place, pool, labelled, rng)
            done.append(steps)
            save(results)


def ceiling(results: dict, place: Survey, source) -> None:
    pool = place.train[:POOL]
    test = test_set(place, "ring", source)
    seed = results["survey seed"]
    rings = [row for row in pool if label(row, "ring") == "1"]
    others = [row for row in pool if label(row, "ring") == "0"]
    n = START + ROUNDS * STEP
    choices = {
        f"every ring of the pool and others at random, {n} labels": [
            rings + [others[i] for i in np.random.default_rng([seed, n, d]).choice(len(others), n - len(rings), False)]
            for d in range(2)
        ],
        f"the whole pool, {len(pool):,} labels": [pool],
    }
    for name, draws in choices.items():
        done = results.setdefault("ceiling", {}).setdefault(name, [])
        for d, labelled in enumerate(draws[len(done) :], start=len(done)):
            config = replace(METHODS["finetuned"], seed=d, compare=False)
            scores = scored(trained(source, place, "ring", labelled, config), test)["finetuned"]
            done.append(
                {"labels": len(labelled), "rings": sum(label(row, "ring") == "1" for row in labelled), **scores}
            )
            save(results)
            print(f"ceiling, {name}, draw {d + 1}: {brief({'finetuned': scores})}", flush=True)
