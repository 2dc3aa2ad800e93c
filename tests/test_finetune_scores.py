"""Finetuning's held-out scores are `predict`'s, and its lower rates deeper in the trunk."""

import csv
import json
import shutil
from fractions import Fraction

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from train.cli import main
from train.finetuning.block_rates import BlockwiseAdam, block_multipliers
from train.finetuning.data import calibration_rows, held_out, read_labels
from train.runs import Run


@pytest.fixture(scope="module")
def size_run(kaggle_dir, finetuned_size):
    """The shared regression of the galaxies' sizes (10 held out), its labels, the sizes and the two parts."""
    with open(finetuned_size.labels, newline="") as f:
        sizes = {row["GalaxyID"]: row["size"] for row in csv.DictReader(f)}
    labelled = read_labels(finetuned_size.labels, kaggle_dir, Fraction(1, 2), 106, "regression")
    train, held = held_out(labelled, 10, 0)  # the draws finetune made with its default seed
    return finetuned_size.run, labelled, sizes, train, held


def test_held_out_scores_are_predict_s_on_the_held_out_galaxies_that_chose_nothing(kaggle_dir, size_run, tmp_path):
    run, labelled, sizes, _, held = size_run
    reported = json.loads(Run(run).finetune_report.read_text())
    _, scoring = calibration_rows(labelled, held, 0)  # the other half chose the epoch
    assert reported["held_out"] == len(scoring) == 5
    folder = tmp_path / "held_out"
    folder.mkdir()
    for i in scoring:
        shutil.copy(kaggle_dir / "images_training_rev1" / f"{labelled.galaxies[i]}.jpg", folder)
    out = tmp_path / "catalog.csv"
    assert CliRunner().invoke(main, ["predict", "--run", str(run), "--out", str(out), str(folder)]).exit_code == 0
    with open(out, newline="") as f:
        predicted = {row["GalaxyID"]: float(row["size"]) for row in csv.DictReader(f)}
    errors = [predicted[labelled.galaxies[i]] - float(sizes[labelled.galaxies[i]]) for i in scoring]
    rmse = float(np.sqrt(np.mean(np.square(errors))))
    assert rmse == pytest.approx(reported["scores"]["finetuned"]["rmse"], rel=1e-5)


def test_a_regression_is_scaled_by_its_training_labels_alone(size_run):
    run, labelled, _, train, held = size_run
    task = json.loads(Run(run).config.read_text())["task"]
    values = np.array([float(row[0]) for row in labelled.values])
    assert task["mean"] == pytest.approx([values[train].mean()]) and task["std"] == pytest.approx([values[train].std()])
    assert abs(values[train].mean() - values.mean()) > 1e-6  # the held-out labels would have moved it


def test_intervals_are_given_at_the_views_they_were_calibrated_at_and_never_at_a_coverage_too_high(
    kaggle_dir, size_run, tmp_path
):
    run = size_run[0]
    images = [str(kaggle_dir / "images_training_rev1" / f"{galaxy}.jpg") for galaxy in size_run[1].galaxies[:4]]
    out = tmp_path / "catalog.csv"
    result = CliRunner().invoke(main, ["predict", "--run", str(run), "--out", str(out), "--tta", "2", *images])
    assert result.exit_code == 0, result.output
    assert "calibrated at 16 view(s), not 2" in result.output
    with open(out, newline="") as f:
        assert "size_low" not in next(csv.reader(f))
    for coverage, status in (("0.95", 2), ("0.5", 0)):  # 5 calibration labels: too few for 0.95, enough for 0.5
        args = ["predict", "--run", str(run), "--out", str(out), "--coverage", coverage, *images]
        out.unlink(missing_ok=True)
        result = CliRunner().invoke(main, args)
        assert result.exit_code == status, result.output
        assert ("needs at least 19 calibration labels" in result.output) == (status == 2)
        assert out.exists() == (status == 0)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(float(row["size_low"]) <= float(row["size"]) <= float(row["size_high"]) < np.inf for row in rows)


def small_model() -> keras.Model:
    image = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", name="low")(image)
    x = keras.layers.MaxPooling2D(name="pool_1")(x)
    x = keras.layers.Conv2D(2, 3, padding="same", name="high")(x)
    x = keras.layers.MaxPooling2D(name="pool_2")(x)
    x = keras.layers.Flatten(name="flat")(x)
    return keras.Model(image, keras.layers.Dense(1, name="answer")(x))


def test_each_block_below_the_head_learns_at_decay_times_the_rate_above():
    multipliers = block_multipliers(small_model(), 0.5)
    assert multipliers["flat"] == 0.5  # after the last pooling
    assert multipliers["high"] == multipliers["pool_2"] == 0.25  # the block the last pooling closes
    assert multipliers["low"] == multipliers["pool_1"] == 0.125
    assert "answer" not in multipliers  # the head: the full rate


def test_a_layer_at_rate_zero_keeps_its_weights_while_the_others_learn():
    keras.utils.set_random_seed(0)
    model = small_model()
    model.compile(optimizer=BlockwiseAdam({"low": 0.0}, learning_rate=0.1), loss="mse")
    before = {layer.name: layer.get_weights()[0].copy() for layer in model.layers if layer.weights}
    images = np.random.default_rng(0).normal(size=(16, 8, 8, 1)).astype("float32")
    model.fit(images, np.ones((16, 1)), epochs=2, batch_size=8, verbose=0)
    after = {layer.name: layer.get_weights()[0] for layer in model.layers if layer.weights}
    assert np.array_equal(before["low"], after["low"])
    assert not np.array_equal(before["high"], after["high"]) and not np.array_equal(before["answer"], after["answer"])
    assert BlockwiseAdam.from_config(model.optimizer.get_config()).multipliers == {"low": 0.0}
