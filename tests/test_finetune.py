"""`train finetune`: a new head on a trained run, from labels of a question of the user's own."""

import csv
import json
import os
import signal

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.helpers import parameters, paused_command, write_labels
from train.cli import main
from train.finetuning.calibration import scaled
from train.finetuning.data import LabelsError, held_out, read_labels
from train.finetuning.tasks import TaskError, infer_kind, make_task
from train.intervals.calibration import load_task_calibration
from train.prediction.tta import DEFAULT_TTA
from train.runs import Run


@pytest.mark.parametrize(
    "values, kind",
    [
        (["a", "b", "a"], "binary"),
        (["0", "1", "1"], "binary"),
        (["0.2", "0.7"], "binary"),  # two distinct values, whatever they are
        (["0", "0.5", "1"], "fraction"),
        ([str(i) for i in range(20)], "multiclass"),  # 20 distinct integers
        ([str(i) for i in range(21)], "regression"),  # 21
        (["1", "2", "3.5"], "regression"),
        (["1.5", "2", "-3"], "regression"),
        ([f"class{i}" for i in range(20)], "multiclass"),
        (["x", "y", "z"], "multiclass"),
    ],
)
def test_the_task_is_inferred_at_each_boundary(values, kind):
    assert infer_kind(values) == kind


def test_more_than_20_texts_or_a_second_column_for_classification_are_refused():
    with pytest.raises(TaskError, match="more than 20 classes"):
        infer_kind([f"class{i}" for i in range(21)])
    with pytest.raises(TaskError, match="takes one label column"):
        make_task("binary", ["a", "b"], [["0", "1"], ["1", "0"]])
    with pytest.raises(TaskError, match="outside"):
        make_task("fraction", ["f"], [["0.5"], ["1.5"]])
    regression = make_task(None, ["length"], [["2"], ["4.5"], ["8.5"]])
    assert regression.kind == "regression" and regression.mean == [5.0]
    np.testing.assert_allclose(regression.values(regression.targets([["2"], ["8.5"]])), [[2.0], [8.5]], atol=1e-6)


def test_bad_label_rows_are_set_aside_with_their_reason(kaggle_dir, tmp_path):
    rows = [f"{p['GalaxyID']},{p['size'] or 3}" for p in parameters(kaggle_dir)[:40]]
    rows[3] = "999999,5.0"  # no such galaxy
    rows[4] = rows[4].split(",")[0] + ","  # an empty value
    rows[5] = rows[5].split(",")[0] + ",big"  # not a number
    labels = write_labels(tmp_path / "sizes.csv", "GalaxyID,size", rows)
    read = read_labels(labels, kaggle_dir, 0.5, 106, kind="regression")
    reasons = {r.line: r.reason for r in read.rejects}
    assert reasons == {
        5: f"no image of GalaxyID '999999' in {kaggle_dir}",
        6: "empty value in column size",
        7: "not a number in column size",
    }
    assert len(read.values) == 37 and read.images.shape == (37, 106, 106, 3) and read.task.kind == "regression"


def test_labels_that_cannot_make_a_finetune_fail_in_one_line(kaggle_dir, tmp_path):
    ids = [p["GalaxyID"] for p in parameters(kaggle_dir)[:12]]
    lonely = write_labels(tmp_path / "lonely.csv", "GalaxyID,kind", [f"{i},a" for i in ids[:10]] + [f"{ids[10]},b"])
    read = read_labels(lonely, kaggle_dir, 0.5, 106)
    with pytest.raises(LabelsError, match=f"class 'b' of column kind has 1 example \\({ids[10]}\\)"):
        held_out(read, 0.2, 0)
    few = write_labels(tmp_path / "few.csv", "GalaxyID,size", [f"{i},{k}" for k, i in enumerate(ids[:3])])
    with pytest.raises(LabelsError, match="too few to hold out"):
        held_out(read_labels(few, kaggle_dir, 0.5, 106, kind="regression"), 0.5, 0)
    with pytest.raises(LabelsError, match="needs a column naming each galaxy \\(GalaxyID, "):
        read_labels(write_labels(tmp_path / "x.csv", "id,size", ["1,2"]), kaggle_dir, 0.5, 106)
    with pytest.raises(LabelsError, match="give --images"):
        read_labels(write_labels(tmp_path / "y.csv", "GalaxyID,size", [f"{ids[0]},2"]), None, 0.5, 106)


def finetune_args(trained_run, labels, run, *more) -> list[str]:
    return ["finetune", "--from", str(trained_run), "--labels", str(labels), "--run", str(run), *more]


def trunk_weights(model) -> list[np.ndarray]:
    """Every weight of the layers before the head, batch-normalisation statistics included."""
    return [w.copy() for layer in model.layers[:-1] for w in layer.get_weights()]


@pytest.mark.parametrize("unfreeze", ["none", "top", "all"])
def test_unfreezing_changes_the_trunk_s_kernels_and_never_its_batch_normalisation(
    kaggle_dir, trained_run, smooth_or_not, tmp_path, unfreeze
):
    import keras

    from train.config import FinetuneConfig
    from train.finetuning.finetune import train
    from train.finetuning.head import with_new_head
    from train.runs import Run

    labelled = read_labels(smooth_or_not, kaggle_dir, 0.5, 106)
    targets = labelled.task.targets(labelled.values)
    data = {"x": labelled.images[:96], "y": targets[:96], "validation_data": (labelled.images[96:], targets[96:])}
    source = keras.models.load_model(Run(trained_run).model)
    model = with_new_head(keras.models.load_model(Run(trained_run).model), labelled.task, labelled.images[:96])
    config = FinetuneConfig(unfreeze=unfreeze, epochs=3, patience=None)
    train(model, Run(tmp_path), labelled.task, config, data, verbose=0)
    before = {w.path: w.numpy() for layer in source.layers for w in layer.weights}
    after = [(w.path, w.numpy()) for layer in model.layers[:-1] for w in layer.weights]
    assert {path for path, _ in after} < set(before)  # the trunk's own weights; the source's dense layers gone
    assert not [layer for layer in model.layers[:-1] if isinstance(layer, keras.layers.Dense)]
    normalising = {
        w.path
        for layer in model.layers[:-1]
        if isinstance(layer, keras.layers.BatchNormalization)
        for w in layer.weights
    }
    assert {path for path in normalising if "moving" in path}, "batch normalisation statistics are in the trunk"
    changed = {path for path, value in after if not np.array_equal(value, before[path])}
    assert not changed & normalising  # statistics, scale and offset as trained, in every phase
    kernels = {path for path in changed if path.endswith("kernel")}
    first = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)).kernel.path
    if unfreeze == "none":
        assert changed == set()
    elif unfreeze == "top":  # the last convolution, not the first
        assert kernels and first not in changed
    else:
        assert first in kernels and len(kernels) > 2


def test_a_finetuned_run_predicts_its_own_columns_and_survives_save_and_load(kaggle_dir, finetuned_binary, tmp_path):
    import keras

    run = finetuned_binary.run
    assert "binary task on no, yes" in finetuned_binary.output and "from scratch" in finetuned_binary.output
    report = json.loads(Run(run).finetune_report.read_text())
    assert report["held_out"] == 5 and set(report["scores"]) == {"finetuned", "from scratch", "majority class"}
    assert set(report["scores"]["finetuned"]) == {"accuracy", "roc_auc", "average_precision"}
    calibration = load_task_calibration(run, DEFAULT_TTA)
    assert calibration["labels"] == 5 and 0 <= calibration["ece"] <= 1 and Run(run).reliability.exists()
    folder = tmp_path / "images"
    folder.mkdir()
    for i, source in enumerate(sorted((kaggle_dir / "images_test_rev1").glob("*.jpg"))[:6]):
        image = Image.open(source)
        image.save(folder / (f"{source.stem}.png" if i % 2 else source.name))
    out = tmp_path / "catalog.csv"
    args = ["predict", "--run", str(run), "--out", str(out), "--tta", "1", "--gallery", str(tmp_path / "g.png")]
    assert CliRunner().invoke(main, [*args, str(folder)]).exit_code == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["GalaxyID", "path", "P(smooth=no)", "P(smooth=yes)", "smooth"]
    model = keras.models.load_model(Run(run).model)
    from preprocess.images import load_cutout

    # calibrated at 16 views, the run applies its temperature at 16 alone: at one view, the model's own probability
    at_one_view = (load_task_calibration(run, 1) or {"temperature": 1.0})["temperature"]
    for row in rows:
        raw = float(model.predict_on_batch(load_cutout(row["path"], 0.5, 106)[None])[0, 0])
        expected = scaled(np.array([[1 - raw, raw]]), at_one_view)[0, 1]
        assert float(row["P(smooth=yes)"]) == pytest.approx(expected, abs=1e-5)
        assert row["smooth"] == ("yes" if expected > 0.5 else "no")


@pytest.mark.parametrize("kind", ["regression", "fraction"])
def test_numbers_come_out_in_the_labels_units(kaggle_dir, trained_run, finetuned_size, tmp_path, kind):
    if kind == "regression":
        column, run = "size", finetuned_size.run
    else:
        column, run = "visibility", tmp_path / "run"
        rows = [f"{p['GalaxyID']},{p[column]}" for p in parameters(kaggle_dir) if p[column]]
        labels = write_labels(tmp_path / "labels.csv", f"GalaxyID,{column}", rows)
        more = ["--images", str(kaggle_dir), "--epochs", "2", "--no-compare", "--task", kind]
        assert CliRunner().invoke(main, finetune_args(trained_run, labels, run, *more)).exit_code == 0
    out = tmp_path / "catalog.csv"
    images = kaggle_dir / "images_test_rev1"
    assert (
        CliRunner().invoke(main, ["predict", "--run", str(run), "--out", str(out), "--tta", "1", str(images)]).exit_code
        == 0
    )
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    values = np.array([float(row[column]) for row in rows])
    assert f"{column}_low" not in rows[0]  # calibrated at predict's 16 views, not at 1
    calibrated = tmp_path / "calibrated.csv"
    command = ["predict", "--run", str(run), "--out", str(calibrated), *(row["path"] for row in rows[:4])]
    assert CliRunner().invoke(main, command).exit_code == 0
    with open(calibrated, newline="") as f:
        at_16 = list(csv.DictReader(f))
    middle = np.array([float(row[column]) for row in at_16])
    low, high = (np.array([float(row[f"{column}_{side}"]) for row in at_16]) for side in ("low", "high"))
    assert (low <= middle + 1e-6).all() and (middle <= high + 1e-6).all() and (high > low).all()
    import keras

    from preprocess.images import load_cutout

    model = keras.models.load_model(Run(run).model)
    raw = model.predict_on_batch(np.stack([load_cutout(row["path"], 0.5, 106) for row in rows]))[:, 0]
    task = json.loads(Run(run).config.read_text())["task"]
    if kind == "fraction":  # sigmoid outputs, as they are
        np.testing.assert_allclose(values, raw, atol=1e-5)
    else:  # standardised targets, turned back into the labels' units (pixels)
        mean, std = task["mean"][0], task["std"][0]
        np.testing.assert_allclose(values, raw * std + mean, rtol=1e-5)
        assert mean > 5 and abs(np.median(values) - mean) < 2 * std


def test_rejected_rows_give_status_3_and_a_rejects_file(kaggle_dir, trained_run, smooth_or_not, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(smooth_or_not.read_text() + "999999,yes\n")
    run = tmp_path / "run"
    more = ["--images", str(kaggle_dir), "--epochs", "1", "--no-compare"]
    result = CliRunner().invoke(main, finetune_args(trained_run, labels, run, *more))
    assert result.exit_code == 3 and "1 label row(s) could not be used" in result.output
    assert "no image of GalaxyID '999999'" in Run(run).rejects.read_text()
    assert (
        CliRunner().invoke(main, finetune_args(trained_run, labels, run, *more, "--skip-bad", "--overwrite")).exit_code
        == 0
    )
    result = CliRunner().invoke(main, finetune_args(trained_run, labels, run, *more))
    assert result.exit_code == 2 and "already holds a run" in result.output


@pytest.mark.parametrize("how", ["kill -9", "Ctrl-C"])
def test_an_interrupted_finetune_leaves_no_run(kaggle_dir, trained_run, smooth_or_not, tmp_path, how):
    run = tmp_path / "runs" / "smooth"
    args = finetune_args(trained_run, smooth_or_not, run, "--images", str(kaggle_dir), "--epochs", "2", "--no-compare")
    # trained, not written
    process = paused_command(tmp_path / "paused", "train.finetuning.finetune:train", 1, "train", *args)
    if how == "kill -9":
        process.kill()
        process.wait()
    else:
        os.killpg(process.pid, signal.SIGINT)
        output = process.communicate(timeout=60)[0]
        assert process.returncode == 130 and "was not written" in output and "Traceback" not in output
        assert list(run.parent.iterdir()) == []  # not even the hidden work folder
    assert not run.exists()
