"""Predict any galaxy images (files, folders, lists of paths) into a morphology catalog, streamed in batches.

Images are decoded in parallel by the same code as `preprocess run` (the central square of
`fraction` of the shorter side, resized to the model's input), predicted by every run with TTA, and
written batch by batch, so memory does not grow with the number of images. The catalog appears only
when complete; files that cannot be read are skipped and listed in a rejects file beside it.
"""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import keras
import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from preprocess.images import load_cutout, load_cutouts
from preprocess.schema import campaign
from train.config import DECODE_JOBS, PREDICT_BATCH
from train.finetuning.calibration import applied
from train.finetuning.tasks import Task
from train.intervals.calibration import Intervals, load_intervals, load_task_calibration, predict_spread, spread_models
from train.intervals.conformal import COVERAGE
from train.intervals.votes import count_intervals
from train.prediction.catalog_files import CATALOG_SUFFIXES, bound_parts, catalog_writer, write_rejects
from train.prediction.inference import load_model, predict_each_model, with_views
from train.prediction.tta import DEFAULT_TTA
from train.runs import Run

GALLERY_PER_CLASS = 4


class InputError(ValueError):
    """Inputs that cannot make a catalog: a wrong output name, runs that see galaxies differently."""


def load_runs(runs: list[Path]) -> tuple[list[keras.Model], Task, Fraction, int]:
    """The runs' models, the task they all predict, and the crop fraction and image size they were trained on."""
    views = {run: Run(run).view() for run in runs}
    if len(set(views.values())) > 1:
        seen = "; ".join(f"{run}: crop {fraction} of the frame at {size} px" for run, (fraction, size) in views.items())
        raise InputError(f"the runs were trained on galaxies cropped or sized differently ({seen}); give runs of one")
    tasks = {run: Run(run).task() for run in runs}
    if any(task != tasks[runs[0]] for task in tasks.values()):
        seen = "; ".join(f"{run}: {task.kind} of {', '.join(task.columns[:3])}" for run, task in tasks.items())
        raise InputError(f"the runs predict different things ({seen}); give runs of one task")
    fraction, size = views[runs[0]]
    return [load_model(Run(run)) for run in runs], tasks[runs[0]], fraction, size


def decoded_batches(
    paths: list[Path], fraction: Fraction, size: int, batch: int, jobs: int
) -> Iterator[tuple[list[Path], list[np.ndarray | str]]]:
    """(paths, images or reasons) batch by batch, decoded by `jobs` processes a few batches ahead."""
    chunks = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    work = (delayed(load_cutouts)(chunk, fraction, size) for chunk in chunks)
    yield from zip(chunks, Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")(work))


@dataclass
class CatalogResult:
    out: Path
    rows: int
    rejects: list[tuple[str, str]]  # (path, reason)
    rejects_path: Path
    fraction: Fraction
    size: int
    best: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)  # class -> (score, path, text)
    intervals: bool = False  # whether the catalog holds calibrated intervals

    def gallery_images(self) -> dict[str, np.ndarray]:
        """The model's view of each galaxy in `best`, decoded again (a few dozen images)."""
        paths = {path for items in self.best.values() for _, path, _ in items}
        return {path: load_cutout(path, self.fraction, self.size) for path in paths}


def _keep_best(best: dict[str, list], scores: dict[str, np.ndarray], paths: list[str], texts: list[str]) -> None:
    """Keep, per gallery row, the GALLERY_PER_CLASS galaxies of highest score so far (heaps in `best`)."""
    for name, share in scores.items():
        heap = best.setdefault(name, [])
        for score, path, text in zip(share, paths, texts):
            item = (float(score), path, text)
            if len(heap) < GALLERY_PER_CLASS:
                heapq.heappush(heap, item)
            else:
                heapq.heappushpop(heap, item)


def predict_catalog(
    runs: list[Path],
    paths: list[Path],
    out: Path,
    fraction: Fraction | None = None,
    tta: int = DEFAULT_TTA,
    batch: int = PREDICT_BATCH,
    jobs: int = DECODE_JOBS,
    progress: bool = True,
    coverage: float = COVERAGE,
    given: bool = False,
    volunteers: int | None = None,
) -> CatalogResult:
    """Write the catalog of `paths` predicted by the runs' models (averaged, with their spread when several), with
    intervals at `coverage` (and with `given`, the conditional fractions') when the runs are calibrated at `tta`;
    for runs of a campaign's counts with a dirichlet head and `volunteers`, the interval of each answer's share of
    that many volunteers answering its question."""
    if out.suffix not in CATALOG_SUFFIXES:
        raise InputError(f"{out}: the catalog must end in {' or '.join(CATALOG_SUFFIXES)}")
    models, task, trained_fraction, size = load_runs(runs)
    if volunteers is not None and any(Run(run).head() != "dirichlet" for run in runs):
        raise InputError(
            "--volunteers needs runs trained on a campaign's vote counts with `--loss dirichlet`, whose head predicts "
            "how volunteers split; these runs predict fractions only"
        )
    fraction = trained_fraction if fraction is None else fraction
    calibrated = load_intervals(runs, tta) if task.kind == "kaggle" else None
    # a finetuned run's own calibration (train.finetuning.calibration), for that run alone
    tuned = load_task_calibration(runs[0], tta) if task.kind != "kaggle" and len(runs) == 1 else None
    viewing = spread_models(models, tta) if calibrated else [with_views(model, tta) for model in models]
    if calibrated:
        parts = bound_parts(True, True, given)
    else:
        parts = bound_parts((tuned is not None and not task.classifies) or volunteers is not None, False, False)
    rejects, best, rows = [], {}, 0
    bar = tqdm(total=len(paths), desc=f"predicting ({len(models)} run(s) x {tta} view(s))", disable=not progress)
    with catalog_writer(out, task.outputs, task.text_column, len(models) > 1, parts, task.id_column) as catalog:
        for chunk, decoded in decoded_batches(paths, fraction, size, batch, jobs):
            good = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
            rejects += [(str(chunk[i]), d) for i, d in enumerate(decoded) if isinstance(d, str)]
            bar.update(len(chunk))
            if not good:
                continue
            images = np.stack([decoded[i] for i in good])
            if volunteers is not None:
                values, spread, bounds = predicted_votes(viewing, images, task, volunteers, coverage)
            else:
                values, spread, bounds = predicted(viewing, images, task, calibrated, coverage, given)
            if tuned is not None:
                values, bounds = applied(task, tuned, values, coverage)
            good_paths = [str(chunk[i]) for i in good]
            texts = task.texts(values) if task.text_column else [""] * len(good)
            catalog.append([chunk[i].stem for i in good], good_paths, values, texts, spread, bounds)
            _keep_best(best, task.gallery(values), good_paths, texts)
            rows += len(good)
    bar.close()
    ranked = {name: sorted(items, reverse=True) for name, items in best.items()}
    rejects_file = write_rejects(out, rejects)
    return CatalogResult(out, rows, rejects, rejects_file, fraction, size, ranked, bool(parts))


def predicted(
    viewing: list[keras.Model],
    images: np.ndarray,
    task: Task,
    calibrated: Intervals | None,
    coverage: float,
    given: bool,
) -> tuple[np.ndarray, np.ndarray | None, dict | None]:
    """A batch's values, the runs' disagreement (root mean square over the columns of their standard deviation,
    with several runs) and, for calibrated runs, its intervals (Intervals.apply)."""
    if calibrated is not None:
        spread = predict_spread(viewing, images)
        values = task.values(spread.values)
        disagree = None if spread.members is None else np.sqrt((spread.members**2).mean(axis=1))
        return values, disagree, calibrated.apply(spread, coverage, given)
    each = np.stack([task.values(raw) for raw in predict_each_model(viewing, images)])
    disagree = np.sqrt((each.std(axis=0) ** 2).mean(axis=1)) if len(viewing) > 1 else None
    return each.mean(axis=0), disagree, None


def predicted_votes(
    viewing: list[keras.Model], images: np.ndarray, task: Task, volunteers: int, coverage: float
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """A batch's expected shares from the runs' mean concentrations, the runs' disagreement, and the interval of
    each answer's share among `volunteers` answering its question, at `coverage` (train.intervals.votes)."""
    each = predict_each_model(viewing, images)
    concentrations = np.mean(each, axis=0)
    shares = np.stack([task.values(raw) for raw in each])
    disagree = np.sqrt((shares.std(axis=0) ** 2).mean(axis=1)) if len(viewing) > 1 else None
    tree = campaign(task.campaign)
    asked = np.full((len(images), len(tree.questions)), volunteers)
    low, high = count_intervals(concentrations, asked, tree, coverage)
    return task.values(concentrations), disagree, {"low": low / volunteers, "high": high / volunteers}
