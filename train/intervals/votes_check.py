"""`train calibrate` for a run of a campaign's vote counts with a dirichlet head: its intervals of the votes come
from the predicted Dirichlet-multinomial, not from a calibration, so here they are checked: how often each level's
intervals hold the votes of the calibration split's galaxies (which neither trained the run nor chose its epoch)."""

from pathlib import Path

import numpy as np

from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.labels import aligned
from preprocess.lock import shared
from preprocess.schema import campaign
from train.config import PREDICT_BATCH
from train.intervals.calibration import require_calibration_split
from train.intervals.votes import coverage
from train.prediction.inference import load_models, predict_split
from train.runs import Run, RunError

LEVELS = (0.5, 0.8, 0.9, 0.95)


def check_vote_intervals(runs: list[Path], cache: Cache, tta: int, batch: int = PREDICT_BATCH) -> dict:
    """Coverage of the runs' (averaged) intervals of the votes at each of LEVELS on the calibration split; stored
    in the first run's votes_coverage.json."""
    heads = {run: Run(run).head() for run in runs}
    if any(head != "dirichlet" for head in heads.values()):
        raise RunError(
            "calibrate checks the intervals of a campaign run with the dirichlet head (`fit --loss dirichlet`); "
            f"{', '.join(str(r) for r, h in heads.items() if h != 'dirichlet')} predicts fractions only"
        )
    require_calibration_split(cache)
    with shared(cache.folder, "python -m train calibrate"):
        ids, concentrations = predict_split(load_models(runs, cache), cache, "calibrate", tta, batch)
        votes = cache.read("calibrate")
    counts = aligned(votes["labels"], votes["ids"], ids).astype(np.float64)
    tree = campaign(cache.settings.campaign)
    result = {
        "runs": [str(run) for run in runs],
        "tta": tta,
        "galaxies": len(ids),
        "coverage": [coverage(concentrations, counts, tree, level) for level in LEVELS],
    }
    write_json(Run(runs[0]).votes_coverage, result)
    return result
