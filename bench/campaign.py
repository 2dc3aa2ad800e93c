"""`make campaign-bench`: the likelihood of the votes against the best loss of fractions, on vote counts.

The synthetic GZ DECaLS-like campaign (synth.campaign; the quality set's size and seed: 6,000 training galaxies,
500 of them validating, 1,000 test) seen by 4 to 50 volunteers each. The default recipe trains for `--minutes`
on its counts twice per seed: with the Dirichlet-multinomial (`--loss dirichlet`, the dirichlet head) and with
the vote-weighted cross-entropy of the tree (`--loss crossentropy`, the tree head). Each predicts the 1,000 test
galaxies with the default test-time views; scored are the vote fractions down the tree (Kaggle's form) against
the volunteers', as RMSE and as the share of the gap between the training column means and the floor (each
galaxy's expected fractions) that it closes, overall and on the galaxies with 10 votes or fewer. For the
Dirichlet runs, the 90% intervals of each answer's votes (train.intervals.votes) are checked against the test
votes on every reached cell: overall, and in each third of the galaxies ranked by their number of volunteers.
A run already trained with the same settings on the same cache is reused. Saves bench/campaign.json.
"""

import csv
import os
from pathlib import Path

import click
import numpy as np

from bench.data import QUALITY_SEED, QUALITY_TEST, QUALITY_TRAIN, WORK, campaign_set
from bench.measure import cpu_model
from bench.runs import finished_with
from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.inputs import galaxy_number
from preprocess.labels import aligned
from preprocess.schema import DECALS
from synth import GENERATOR
from synth.campaign import CATALOG, TEST_EXPECTED, VOLUNTEERS
from train.backend import load_keras
from train.config import CONCENTRATION_FLOOR, configure
from train.intervals.votes import coverage
from train.prediction.tta import DEFAULT_TTA
from train.runs import Run
from train.scores import rmse

RESULTS = Path(__file__).parent / "campaign.json"
LOSSES = {"dirichlet": "Dirichlet-multinomial", "crossentropy": "vote-weighted cross-entropy"}
FEW_VOTES = 10
LEVEL = 0.9


def read_expected(data: Path, ids: np.ndarray) -> np.ndarray:
    """The test galaxies' expected fractions down the tree (the floor), in the order of the cache's `ids`."""
    with open(data / TEST_EXPECTED, newline="") as f:
        rows = {galaxy_number(r[DECALS.id_column]): r for r in csv.DictReader(f)}
    return DECALS.tree_fractions([[float(rows[i][f"{c}_fraction"]) for c in DECALS.columns] for i in ids.tolist()])


def predicted(run: Path, cache: Cache) -> tuple[np.ndarray, np.ndarray]:
    """(ids, outputs) of the run's model with the default views on every galaxy of the test cache."""
    from train.prediction.inference import load_model, predict_split

    return predict_split([load_model(Run(run))], cache, "train", DEFAULT_TTA)


def scored(outputs: np.ndarray, counts: np.ndarray, floor: np.ndarray, means: np.ndarray, loss: str) -> dict:
    """RMSE and gap closed overall and on the galaxies with few votes; for a Dirichlet run, its intervals' hits."""
    observed, fractions = DECALS.tree_fractions(counts), DECALS.tree_fractions(outputs)
    volunteers = DECALS.volunteers(counts)
    result = {}
    for part, rows in (("all", volunteers > 0), ("few", volunteers <= FEW_VOTES)):
        model, mean, best = (rmse(x[rows], observed[rows]) for x in (fractions, means, floor))
        result[part] = {"rmse": model, "means": mean, "floor": best, "gap_closed": (mean - model) / (mean - best)}
        result[part]["galaxies"] = int(rows.sum())
    if loss == "dirichlet":
        result["intervals"] = coverage(outputs, counts, DECALS, LEVEL)
    return result


@click.command(help=__doc__)
@click.option("--minutes", default=20.0, show_default=True, help="Minutes of training per run.")
@click.option("--seeds", default=2, show_default=True, help="Training seeds per loss (1, 2, ...).")
@click.option("--train", "n_train", default=QUALITY_TRAIN, show_default=True, help="Training galaxies.")
@click.option("--test", "n_test", default=QUALITY_TEST, show_default=True, help="Test galaxies.")
@click.option("--seed", default=QUALITY_SEED, show_default=True, help="The synthetic campaign's seed.")
def main(minutes: float, seeds: int, n_train: int, n_test: int, seed: int) -> None:
    data, train_cache, test_cache = campaign_set(n_train, n_test, seed)
    load_keras()
    from train.fitting.fit import fit

    test = test_cache.read("train")
    mean = DECALS.tree_fractions(train_cache.read("train")["labels"]).mean(axis=0)
    runs = {}
    for loss in LOSSES:
        for run_seed in range(1, seeds + 1):
            folder = WORK / "campaign" / "runs" / f"{loss}-{minutes:g}min-seed{run_seed}"
            config = configure("default", minutes=minutes, seed=run_seed, loss=loss)
            if not finished_with(folder, config, train_cache):
                fit(train_cache, folder, config, overwrite=True, verbose=2)
            ids, outputs = predicted(folder, test_cache)
            counts = aligned(test["labels"], test["ids"], ids)
            means = np.tile(mean, (len(ids), 1))
            rows = Run(folder).history_rows()
            runs[f"{loss} seed {run_seed}"] = {
                "loss": loss,
                "epochs": len(rows),
                "seconds_per_epoch": float(np.median([float(r["seconds"]) for r in rows])),
                **scored(outputs, counts, read_expected(data, ids), means, loss),
            }
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "generator": GENERATOR}
    settings = {"minutes": minutes, "train": n_train, "test": n_test, "seed": seed, "tta": DEFAULT_TTA}
    settings["dirichlet_floor"] = CONCENTRATION_FLOOR  # the least concentration the dirichlet head predicts
    results = {**machine, **settings, "catalog": CATALOG, "runs": runs}
    write_json(RESULTS, results)
    print(table(results))
    print(f"saved {RESULTS}")


def table(results: dict) -> str:
    lines = [
        f"{results['cpu']}, {results['cores']} cores; the synthetic GZ DECaLS-like campaign, {results['train']} "
        f"training and {results['test']} test galaxies (seed {results['seed']}), {VOLUNTEERS[0]}-{VOLUNTEERS[1]} "
        "volunteers each; "
        f"{results['minutes']:g} minutes of training each; {results['tta']}-view TTA",
        "",
        f"{'':<26} {'epochs':>6} {'s/epoch':>7} {'RMSE':>7} {'gap':>6} {'RMSE<=10':>8} {'gap<=10':>7}  "
        "90% intervals hold",
    ]
    for name, run in results["runs"].items():
        few, held = run["few"], run.get("intervals")
        intervals = (
            f"{held['all']:.1%} (" + ", ".join(f"{v:.1%}" for v in held["thirds"].values()) + ")" if held else ""
        )
        lines.append(
            f"{name:<26} {run['epochs']:>6} {run['seconds_per_epoch']:>7.1f} {run['all']['rmse']:>7.5f} "
            f"{run['all']['gap_closed']:>6.1%} {few['rmse']:>8.5f} {few['gap_closed']:>7.1%}  {intervals}"
        )
    first = next(iter(results["runs"].values()))
    for reference in ("means", "floor"):
        values = f"{first['all'][reference]:>7.5f} {'':>6} {first['few'][reference]:>8.5f}"
        lines.append(f"{reference:<26} {'':>6} {'':>7} {values}")
    thirds = ", ".join(next((r["intervals"]["thirds"] for r in results["runs"].values() if "intervals" in r), {}))
    lines.append(f"(intervals: all reached cells, then by thirds of the galaxies: {thirds})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
