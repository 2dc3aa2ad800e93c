"""`make pretrain`: a trunk worth finetuning, trained on as many galaxies as Kaggle gives.

The default recipe trained `--minutes` (60) on `--train` (61,578, Kaggle's count) distinct synthetic training
galaxies of `--seed` (72), 4,000 of them validating; 1,000 test galaxies. Each step is made
once and kept: rerun after an interruption and training resumes from its last finished epoch (fit's backup).
Prints the epochs and seconds per epoch. `make finetune-bench` finetunes from it.
"""

from pathlib import Path

import click

from bench.data import preprocessed, synthetic
from bench.measure import cpu_model
from bench.runs import finished_with
from train.backend import load_keras
from train.config import configure
from train.runs import Run, RunError

WORK = Path(__file__).parent / "work" / "pretrain"
TEST = 1_000


@click.command(help=__doc__)
@click.option("--train", "n", default=61_578, show_default=True, help="Training galaxies (Kaggle's count).")
@click.option("--seed", default=72, show_default=True, help="The synthetic set's seed.")
@click.option("--minutes", default=60.0, show_default=True, help="Minutes of training.")
def main(n: int, seed: int, minutes: float) -> None:
    data = synthetic(WORK / f"data-{n}-{TEST}-{seed}", n, TEST, seed)
    cache = preprocessed(data, WORK / f"cache-{n}-{TEST}-{seed}", min(4_000, n // 10))
    load_keras()
    from train.fitting.fit import fit

    run, config = WORK / "run", configure("default", minutes=minutes, seed=1)
    if not finished_with(run, config, cache):
        try:
            fit(cache, run, config, verbose=2)  # resumes an interrupted run of the same settings
        except RunError as error:
            raise SystemExit(f"{error} (remove {run} to train it anew with these settings)") from None
    rows = Run(run).history_rows()
    seconds = sum(float(row["seconds"]) for row in rows) / max(1, len(rows))
    print(f"{run}: {len(rows)} epochs of {seconds:.1f} s on {n} galaxies ({cpu_model()})")


if __name__ == "__main__":
    main()
