"""Predict any galaxy images (files, folders, lists of paths) into a morphology catalog, streamed in batches.

Images are decoded in parallel by the same code as `preprocess run` (the central square of
`fraction` of the shorter side, resized to the model's input), predicted by every run with TTA, and
written batch by batch, so memory does not grow with the number of images. The catalog appears only
when complete; files that cannot be read are skipped and listed in a rejects file beside it.
"""

import csv
import heapq
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import h5py
import keras
import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from preprocess.atomic import replacing
from preprocess.images import BadImage, load_cutout
from preprocess.kaggle import FRAME
from preprocess.schema import COLUMNS
from train.morphology import GALLERY_CLASSES, describe
from train.predict import DEFAULT_TTA, predict_each_model, tta_views
from train.runs import CONFIG, MODEL

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CATALOG_SUFFIXES = (".csv", ".h5")
GALLERY_PER_CLASS = 4


class InputError(ValueError):
    """A PATH argument that is neither an image, a folder nor a text file listing paths."""


def _listed(list_file: Path) -> list[Path]:
    """The paths in a text file, one per line (blank lines and # comments skipped), relative to its folder."""
    try:
        lines = list_file.read_text().splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{list_file}: not an image ({', '.join(IMAGE_SUFFIXES)}), a folder or a text list") from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [list_file.parent / entry for entry in entries]


def find_images(paths: list[Path]) -> list[Path]:
    """Every image named by `paths`: image files, folders (searched recursively) and text files listing paths.

    A listed or found file that is not a usable image is still returned: decoding names what is wrong with it.
    """
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            if not path.exists():
                raise InputError(f"{path}: no such file")
            found.append(path)
        elif path.is_file():
            found += _listed(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found


def load_runs(runs: list[Path]) -> tuple[list[keras.Model], int, Fraction]:
    """The runs' models, their common input size and the crop fraction the first was trained on."""
    models = [keras.models.load_model(run / MODEL) for run in runs]
    sizes = {model.input_shape[1] for model in models}
    if len(sizes) > 1:
        raise InputError(f"the runs' models take different image sizes ({sorted(sizes)}); give runs of one size")
    config = runs[0] / CONFIG
    settings = json.loads(config.read_text()).get("cache_settings", {}) if config.is_file() else {}
    return models, sizes.pop(), Fraction(settings.get("crop", FRAME // 2), FRAME)


def _decode(paths: list[Path], fraction: Fraction, size: int) -> list[np.ndarray | str]:
    """Each image decoded, or the reason it cannot be."""
    decoded = []
    for path in paths:
        try:
            decoded.append(load_cutout(path, fraction, size))
        except BadImage as error:
            decoded.append(error.reason)
    return decoded


def decoded_batches(
    paths: list[Path], fraction: Fraction, size: int, batch: int, jobs: int
) -> Iterator[tuple[list[Path], list[np.ndarray | str]]]:
    """(paths, images or reasons) batch by batch, decoded by `jobs` processes a few batches ahead."""
    chunks = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    work = (delayed(_decode)(chunk, fraction, size) for chunk in chunks)
    yield from zip(chunks, Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")(work))


class CsvCatalog:
    def __init__(self, path: Path, spread: bool):
        self.file = open(path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(["GalaxyID", "path", *COLUMNS, "morphology", *(["spread"] if spread else [])])

    def append(self, ids, paths, predictions, morphology, spread) -> None:
        for i, row in enumerate(predictions):
            extra = [f"{spread[i]:.6f}"] if spread is not None else []
            self.writer.writerow([ids[i], paths[i], *(f"{v:.6f}" for v in row), morphology[i], *extra])

    def close(self) -> None:
        self.file.close()


class H5Catalog:
    """Datasets GalaxyID, path, predictions (n, 37; attribute `columns`), morphology and, with runs, spread."""

    def __init__(self, path: Path, spread: bool):
        self.file = h5py.File(path, "w")
        text = h5py.string_dtype()
        names = ["GalaxyID", "path", "morphology", *(["spread"] if spread else [])]
        for name in names:
            self.file.create_dataset(name, (0,), maxshape=(None,), dtype="f4" if name == "spread" else text)
        self.file.create_dataset("predictions", (0, len(COLUMNS)), maxshape=(None, len(COLUMNS)), dtype="f4")
        self.file["predictions"].attrs["columns"] = COLUMNS

    def append(self, ids, paths, predictions, morphology, spread) -> None:
        values = {"GalaxyID": ids, "path": paths, "morphology": morphology, "predictions": predictions}
        if spread is not None:
            values["spread"] = spread
        for name, data in values.items():
            dataset = self.file[name]
            start = dataset.shape[0]
            dataset.resize(start + len(data), axis=0)
            dataset[start:] = data if name in ("predictions", "spread") else [str(v) for v in data]

    def close(self) -> None:
        self.file.close()


@contextmanager
def catalog_writer(out: Path, spread: bool):
    """A CSV or HDF5 catalog (by `out`'s suffix) that appears at `out` only once complete."""
    kind = {".csv": CsvCatalog, ".h5": H5Catalog}[out.suffix]
    with replacing(out, suffix=out.suffix) as tmp:
        catalog = kind(tmp, spread)
        try:
            yield catalog
        finally:
            catalog.close()


@dataclass
class CatalogResult:
    out: Path
    rows: int
    rejects: list[tuple[str, str]]  # (path, reason)
    rejects_path: Path
    fraction: Fraction
    size: int
    best: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)  # class -> (score, path, text)

    def gallery_images(self) -> dict[str, np.ndarray]:
        """The model's view of each galaxy in `best`, decoded again (a few dozen images)."""
        paths = {path for items in self.best.values() for _, path, _ in items}
        return {path: load_cutout(path, self.fraction, self.size) for path in paths}


def rejects_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.rejects.csv")


def _keep_best(best: dict[str, list], predictions: np.ndarray, paths: list[str], morphology: list[str]) -> None:
    for name, share in GALLERY_CLASSES.items():
        for score, path, text in zip(share(predictions), paths, morphology):
            item = (float(score), path, text)
            if len(best[name]) < GALLERY_PER_CLASS:
                heapq.heappush(best[name], item)
            else:
                heapq.heappushpop(best[name], item)


def predict_catalog(
    runs: list[Path],
    paths: list[Path],
    out: Path,
    fraction: Fraction | None = None,
    tta: int = DEFAULT_TTA,
    batch: int = 64,
    jobs: int = 2,
    progress: bool = True,
) -> CatalogResult:
    """Write the catalog of `paths` predicted by the runs' models (averaged, with their spread when several)."""
    if out.suffix not in CATALOG_SUFFIXES:
        raise InputError(f"{out}: the catalog must end in {' or '.join(CATALOG_SUFFIXES)}")
    models, size, trained_fraction = load_runs(runs)
    fraction = trained_fraction if fraction is None else fraction
    views = tta_views(tta)
    rejects, best, rows = [], {name: [] for name in GALLERY_CLASSES}, 0
    bar = tqdm(total=len(paths), desc=f"predicting ({len(models)} run(s) x {tta} view(s))", disable=not progress)
    with catalog_writer(out, spread=len(models) > 1) as catalog:
        for chunk, decoded in decoded_batches(paths, fraction, size, batch, jobs):
            good = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
            rejects += [(str(chunk[i]), d) for i, d in enumerate(decoded) if isinstance(d, str)]
            bar.update(len(chunk))
            if not good:
                continue
            each = predict_each_model(models, np.stack([decoded[i] for i in good]), views)
            predictions = np.clip(each.mean(axis=0), 0.0, 1.0)
            # the runs' disagreement: root mean square over the columns of their standard deviation
            spread = np.sqrt((each.std(axis=0) ** 2).mean(axis=1)) if len(models) > 1 else None
            good_paths = [str(chunk[i]) for i in good]
            morphology = [describe(row) for row in predictions]
            catalog.append([chunk[i].stem for i in good], good_paths, predictions, morphology, spread)
            _keep_best(best, predictions, good_paths, morphology)
            rows += len(good)
    bar.close()
    with replacing(rejects_path(out)) as tmp, open(tmp, "w", newline="") as file:
        csv.writer(file).writerows([("path", "reason"), *rejects])
    ranked = {name: sorted(items, reverse=True) for name, items in best.items()}
    return CatalogResult(out, rows, rejects, rejects_path(out), fraction, size, ranked)
