"""`make pretrain`: a trunk worth finetuning, trained on as many galaxies as Kaggle gives.

The default recipe trained PRETRAIN_MINUTES (60) on PRETRAIN_TRAIN (61,578, Kaggle's count) distinct synthetic
training galaxies of seed PRETRAIN_SEED (72), 4,000 of them validating; 1,000 test galaxies. Each step is made
once and kept: rerun after an interruption and training resumes from its last finished epoch (fit's backup).
Prints the epochs and seconds per epoch. `FINETUNE_SOURCE=bench/work/pretrain/run make finetune-bench` finetunes
from it.
"""

import os
from pathlib import Path

from bench.data import preprocessed
from bench.measure import cpu_model, setting
from bench.runs import finished_with
from preprocess import kaggle
from synth.dataset import write_dataset
from train.backend import load_keras
from train.config import configure
from train.runs import Run, RunError

WORK = Path(__file__).parent / "work" / "pretrain"
TEST = 1_000


def main() -> None:
    n, seed = int(setting("PRETRAIN_TRAIN", 61_578)), int(setting("PRETRAIN_SEED", 72))
    minutes = setting("PRETRAIN_MINUTES", 60)
    data = WORK / f"data-{n}-{TEST}-{seed}"
    if not (data / kaggle.SOLUTIONS).exists():
        write_dataset(data, n, TEST, seed=seed, jobs=os.cpu_count() or 1)
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
