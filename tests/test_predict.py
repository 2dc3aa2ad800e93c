"""`train predict`: any images into a catalog that agrees with `submit`, averages runs and names broken files."""

import csv
import json
import shutil
import subprocess
import sys
from fractions import Fraction

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from preprocess.cache import Cache
from preprocess.images import load_cutout, load_galaxy
from preprocess.labels import read_solutions
from preprocess.listing import ImageListError, find_images
from preprocess.schema import COLUMNS, row_hierarchy_errors
from tests.helpers import ROOT
from train.cli import main
from train.prediction.catalog import GALLERY_PER_CLASS, InputError, predict_catalog
from train.prediction.morphology import GALLERY_CLASSES, describe
from train.prediction.submit import submit_models
from train.runs import Run


def read_catalog(path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def values(rows) -> np.ndarray:
    return np.array([[float(row[c]) for c in COLUMNS] for row in rows])


@pytest.fixture(scope="module")
def mixed_folder(kaggle_dir, tmp_path_factory):
    """Eight test galaxies as PNG and JPEG, grey and colour, 8 and 16 bit, square and not, 200 to 424 pixels, in
    two folder levels, plus an empty file and a text file named .png."""
    folder = tmp_path_factory.mktemp("mixed")
    (folder / "deeper").mkdir()
    sources = sorted((kaggle_dir / "images_test_rev1").glob("*.jpg"))[:8]
    for i, source in enumerate(sources):
        side = 200 + 32 * i
        image = Image.open(source).convert("RGB").resize((side, side))
        if i % 4 == 1:  # wider than tall: sky added left and right
            wide = Image.new("RGB", (side + 60, side))
            wide.paste(image, (30, 0))
            image = wide
        if i % 4 == 2:
            image = image.convert("L")
        if i % 4 == 3:
            image = Image.fromarray(np.asarray(image.convert("L"), np.uint16) * 257)
        suffix = ".JPG" if i % 4 in (0, 2) else ".png"
        image.save((folder / ("deeper" if i % 2 else "")) / f"{source.stem}{suffix}")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not an image\n")
    (folder / "readme.txt").write_text("ignored: not an image suffix\n")
    return folder


def test_find_images_walks_folders_reads_lists_and_refuses_what_is_neither(mixed_folder, tmp_path):
    found = find_images([mixed_folder])
    assert len(found) == 10 and all(p.suffix.lower() in (".jpg", ".png") for p in found)
    assert any(p.parent.name == "deeper" for p in found)
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two galaxies\n{found[0]}\n\n{found[1].relative_to(mixed_folder)}\n")
    shutil.copy(found[1], tmp_path / found[1].name)  # a relative entry is relative to the list's folder
    assert find_images([listing]) == [found[0], tmp_path / found[1].name]
    with pytest.raises(ImageListError, match="nowhere"):
        find_images([tmp_path / "nowhere"])
    binary = tmp_path / "image.fits"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(ImageListError, match="image.fits"):
        find_images([binary])


def test_the_crop_is_the_central_square_of_the_shorter_side(tmp_path):
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[50:150, 100:200] = 200  # the central square of half the shorter side
    path = tmp_path / "wide.png"
    Image.fromarray(frame).save(path)
    np.testing.assert_array_equal(load_cutout(path, 0.5, size=50), np.full((50, 50, 3), 200, np.uint8))
    whole = load_cutout(path, 1.0, size=50).astype(int)  # the 200x200 square: a bright half-size box inside
    assert whole[13:37, 13:37].min() == 200 and whole[:10].max() == 0 and whole[:, :10].max() == 0


def test_a_kaggle_image_gives_the_cache_pixels(kaggle_dir):
    path = sorted((kaggle_dir / "images_test_rev1").glob("*.jpg"))[0]
    np.testing.assert_array_equal(load_cutout(path, Fraction(1, 2)), load_galaxy(path))


def test_the_catalog_of_kaggle_test_images_equals_the_submission(kaggle_dir, small_cache, trained_run, tmp_path):
    submission = submit_models([trained_run], Cache.open(small_cache), tmp_path / "sub.csv", tta=2).path
    ids, expected = read_solutions(submission)
    images = find_images([kaggle_dir / "images_test_rev1"])
    result = predict_catalog([trained_run], images, tmp_path / "cat.csv", tta=2, batch=16, jobs=1, progress=False)
    rows = read_catalog(result.out)
    assert result.rows == len(rows) == len(ids) and not result.rejects
    order = np.argsort([int(row["GalaxyID"]) for row in rows])
    np.testing.assert_allclose(values(rows)[order], expected, atol=1e-5)


def test_two_runs_are_averaged_and_their_spread_given(mixed_folder, trained_run, second_run, tmp_path):
    images = find_images([mixed_folder])
    catalogs = {}
    for name, runs in (("a", [trained_run]), ("b", [second_run]), ("ab", [trained_run, second_run])):
        predict_catalog(runs, images, tmp_path / f"{name}.csv", tta=1, batch=4, jobs=1, progress=False)
        catalogs[name] = read_catalog(tmp_path / f"{name}.csv")
    np.testing.assert_allclose(values(catalogs["ab"]), (values(catalogs["a"]) + values(catalogs["b"])) / 2, atol=2e-6)
    assert "spread" not in catalogs["a"][0]
    spread = np.array([float(row["spread"]) for row in catalogs["ab"]])
    assert (spread > 0).all()


def test_every_image_kind_gets_a_row_on_the_tree_and_broken_files_are_named(mixed_folder, trained_run, tmp_path):
    out, gallery = tmp_path / "catalog.csv", tmp_path / "gallery.png"
    args = ["predict", "--run", str(trained_run), "--out", str(out), "--gallery", str(gallery), "--tta", "2"]
    result = CliRunner().invoke(main, [*args, str(mixed_folder)])
    assert result.exit_code == 3, result.output
    assert "empty.jpg: file is empty" in result.output and "notes.png: not a JPEG or PNG image" in result.output
    rows = read_catalog(out)
    assert len(rows) == 8 and all(row["morphology"] for row in rows)
    assert row_hierarchy_errors(values(rows)).max() < 1e-4
    assert {row["GalaxyID"] for row in rows} == {p.stem for p in mixed_folder.rglob("*") if p.stem.isdigit()}
    rejects = read_catalog(tmp_path / "catalog.rejects.csv")
    assert sorted(r["path"].rsplit("/", 1)[1] for r in rejects) == ["empty.jpg", "notes.png"]
    with Image.open(gallery) as image:
        assert image.format == "PNG"
    # the gallery shows, per class, the galaxies of highest share in the whole catalog, kept across batches of 3
    paths = [row["path"] for row in rows]
    shown = predict_catalog([trained_run], find_images([mixed_folder]), tmp_path / "again.csv", tta=2, batch=3, jobs=1)
    for name, share in GALLERY_CLASSES.items():
        scores = dict(zip(paths, share(values(rows))))
        kept = {path: score for score, path, _ in shown.best[name]}
        assert len(kept) == GALLERY_PER_CLASS and all(
            scores[path] == pytest.approx(kept[path], abs=1e-5) for path in kept
        )
        left_out = [score for path, score in scores.items() if path not in kept]
        assert min(kept.values()) >= max(left_out) - 1e-5, name  # none left out scores higher (ties aside)
    skipping = CliRunner().invoke(main, [*args, "--skip-bad", "--out", str(tmp_path / "c.h5"), str(mixed_folder)])
    assert skipping.exit_code == 0, skipping.output
    with h5py.File(tmp_path / "c.h5") as f:
        assert f["predictions"].shape == (8, 37) and list(f["predictions"].attrs["columns"]) == COLUMNS
        np.testing.assert_allclose(f["predictions"][()], values(rows), atol=1e-6)
        assert [s.decode() for s in f["morphology"][()]] == [row["morphology"] for row in rows]


def test_no_catalog_is_left_when_prediction_fails_midway(mixed_folder, trained_run, tmp_path, monkeypatch):
    calls = []

    def failing(models, images):
        calls.append(len(images))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return np.full((1, len(images), 37), 0.1)

    monkeypatch.setattr("train.prediction.catalog.predict_each_model", failing)
    with pytest.raises(KeyboardInterrupt):
        predict_catalog([trained_run], find_images([mixed_folder]), tmp_path / "c.csv", batch=3, jobs=1, progress=False)
    assert calls == [3, 3]  # the first batch was written, the second interrupted
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "answers, text",
    [
        (
            {"1.2": 0.9, "2.2": 0.9, "3.1": 0.6, "4.1": 0.8, "10.1": 0.5, "11.2": 0.6, "5.3": 0.5},
            "disk, not edge-on, barred, 2 tight spiral arms, obvious bulge",
        ),
        ({"1.1": 0.8, "7.3": 0.5, "6.1": 0.7, "8.6": 0.4}, "smooth, cigar-shaped; odd: merger"),
        ({"1.2": 0.9, "2.1": 0.8, "9.2": 0.5}, "disk, edge-on, boxy bulge"),
        ({"1.3": 0.9}, "star or artifact"),
        (
            {"1.2": 0.9, "2.2": 0.9, "3.2": 0.9, "4.1": 0.8, "10.3": 0.5, "11.6": 0.5, "5.2": 0.5},
            "disk, not edge-on, no bar, loose spiral arms, their number unclear, noticeable bulge",
        ),
        (
            {"1.2": 0.9, "2.2": 0.9, "3.2": 0.9, "4.2": 0.9, "5.1": 0.9},
            "disk, not edge-on, no bar, no spiral arms, no bulge",
        ),
    ],
)
def test_the_description_follows_the_most_likely_answers(answers, text):
    row = np.zeros(len(COLUMNS))
    row[COLUMNS.index("Class6.2")] = 0.5  # nothing odd, unless the case says otherwise
    for column, value in answers.items():
        row[COLUMNS.index(f"Class{column}")] = value
    assert describe(row) == text


def test_user_mistakes_give_one_line_and_status_2(trained_run, mixed_folder, tmp_path):
    runner = CliRunner()
    base = ["predict", "--run", str(trained_run)]
    for args, words in (
        ([*base, "--out", str(tmp_path / "c.txt"), str(mixed_folder)], "--out"),
        ([*base, "--out", str(tmp_path / "c.csv"), str(tmp_path / "nowhere")], "nowhere: no such file"),
        ([*base, "--out", str(tmp_path / "c.csv"), "--crop-fraction", "0", str(mixed_folder)], "--crop-fraction"),
        ([*base, "--out", str(tmp_path / "c.csv"), str(tmp_path)], "no .jpg, .jpeg, .png files"),
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output, result.output


def test_two_images_of_one_galaxy_are_refused_naming_both(mixed_folder, trained_run, tmp_path):
    folder = tmp_path / "images"
    shutil.copytree(mixed_folder, folder)
    first = next(p for p in sorted(folder.glob("*")) if p.stem.isdigit())
    twin = folder / f"0{first.stem}.png"  # a leading zero: the same GalaxyID
    shutil.copy(first, twin)
    result = CliRunner().invoke(
        main, ["predict", "--run", str(trained_run), "--out", str(tmp_path / "c.csv"), str(folder)]
    )
    assert result.exit_code == 2 and str(first) in result.output and str(twin) in result.output, result.output
    assert not (tmp_path / "c.csv").exists()


def test_runs_trained_on_other_crops_are_not_averaged(mixed_folder, trained_run, tmp_path):
    other = tmp_path / "other-run"
    shutil.copytree(trained_run, other)
    config = json.loads(Run(other).config.read_text())
    config["cache_settings"]["crop"] = 300
    Run(other).config.write_text(json.dumps(config))
    with pytest.raises(InputError, match="cropped or sized differently"):
        predict_catalog([trained_run, other], find_images([mixed_folder]), tmp_path / "c.csv", progress=False)


def test_decoding_processes_never_import_tensorflow(mixed_folder, trained_run, tmp_path, monkeypatch):
    """The tasks that predict sends to its decoding processes are functions of a module that imports no
    TensorFlow, so the processes (which import only that module) never load it."""
    from joblib import delayed

    from train.prediction import catalog

    sent = []
    monkeypatch.setattr(catalog, "delayed", lambda function: sent.append(function) or delayed(function))
    predict_catalog([trained_run], find_images([mixed_folder]), tmp_path / "c.csv", tta=1, jobs=2, progress=False)
    modules = {function.__module__ for function in sent}
    assert sent and modules == {"preprocess.images"}
    code = "import sys, preprocess.images; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"


def test_a_run_without_its_config_is_refused_not_guessed(mixed_folder, trained_run, tmp_path):
    """Nothing but config.json says how a run's images were cropped and what its model predicts."""
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    Run(run).config.unlink()
    out = tmp_path / "catalog.csv"
    result = CliRunner().invoke(main, ["predict", "--run", str(run), "--out", str(out), str(mixed_folder)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"{run} has no config.json" in " ".join(result.output.split()) and not out.exists()
