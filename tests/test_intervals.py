"""Calibrated intervals: the conformal arithmetic on data made for it, and the commands that make and use them."""

import csv

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from preprocess.cache import Cache, Settings
from preprocess.kaggle import TEST_IMAGES, TEST_SOLUTIONS
from preprocess.pipeline import run
from preprocess.schema import COLUMNS, N_COLUMNS
from train.cli import main
from train.config import FitConfig
from train.finetuning.calibration import choose_temperature, expected_calibration_error, scaled
from train.fitting.fit import fit
from train.intervals.conformal import (
    FLOOR,
    LEVELS,
    PER_BIN,
    Calibration,
    calibrate,
    calibrate_column,
    conditional,
    reach,
    reached,
)
from train.intervals.report import calibration_report
from train.runs import Run

CALIBRATED = Settings(shard_size=32, valid=20, calibrate=40)


def heteroscedastic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions, labels and a difficulty estimate whose errors grow faster than the estimate (as the square),
    so that one quantile for all cells would cover easy cells too often and hard ones too rarely."""
    rng = np.random.default_rng(seed)
    predictions = rng.uniform(0.4, 0.6, (n, N_COLUMNS))
    difficulty = rng.uniform(0.005, 0.05, (n, N_COLUMNS))
    labels = predictions + rng.standard_normal((n, N_COLUMNS)) * difficulty**2 * 60
    return predictions, labels, difficulty


def coverage(calibration: Calibration, predictions, labels, difficulty, level) -> np.ndarray:
    low, high = calibration.intervals(predictions, difficulty, level)
    return (low <= labels) & (labels <= high)


def test_coverage_is_at_least_nominal_at_every_level_and_in_every_bin_of_difficulty():
    calibration = calibrate(*heteroscedastic(50000, seed=1), "test")
    predictions, labels, difficulty = heteroscedastic(50000, seed=2)
    for level in LEVELS:
        hits = coverage(calibration, predictions, labels, difficulty, level)
        assert hits.mean() >= level - 0.005, level
        for j in (0, 20, 36):
            tenths = np.array_split(np.argsort(difficulty[:, j]), 10)
            assert min(hits[part, j].mean() for part in tenths) >= level - 0.03, (level, j)


@pytest.mark.filterwarnings("ignore:the no. of calibration examples is too small")
def test_intervals_equal_an_independent_mondrian_normalised_conformal_regressor():
    """crepes' ConformalRegressor (Bostrom et al.), given our difficulties as its sigmas, our bins as its Mondrian
    categories and the same reached cells, must give the same intervals."""
    crepes = pytest.importorskip("crepes")
    predictions, labels, difficulty = heteroscedastic(2000, seed=4)
    calibration = calibrate(predictions, labels, difficulty, "test")
    new_predictions, _, new_difficulty = heteroscedastic(500, seed=5)
    keep = reached(labels)
    for level in (*LEVELS, 0.999):  # 0.999 is more than 2000 cells in 10 bins can give: [0, 1] in both
        low, high = calibration.intervals(new_predictions, new_difficulty, level)
        for j in (0, 20, 36):
            column, cells = calibration.columns[j], keep[:, j]
            regressor = crepes.ConformalRegressor().fit(
                (labels - predictions)[cells, j],
                sigmas=np.maximum(difficulty[cells, j], FLOOR),
                bins=column.bin_of(difficulty[cells, j]),
            )
            # crepes truncates (1 - confidence)(n + 1) in floating point, one rank off where it is a whole number
            # (39.99999999999999 for n = 199 at 0.8): a nudge of 1e-9 gives it the exact rank
            theirs = regressor.predict_int(
                new_predictions[:, j],
                sigmas=np.maximum(new_difficulty[:, j], FLOOR),
                bins=column.bin_of(new_difficulty[:, j]),
                confidence=level - 1e-9,
                y_min=0,
                y_max=1,
            )
            np.testing.assert_allclose(low[:, j], theirs[:, 0], atol=1e-5)
            np.testing.assert_allclose(high[:, j], theirs[:, 1], atol=1e-5)


@pytest.mark.parametrize("tied", [0.0, 0.3, 0.55, 0.95])
def test_tied_difficulties_never_leave_a_bin_empty_or_under_its_promised_size(tied):
    rng = np.random.default_rng(0)
    n = 1000
    difficulty = np.where(np.arange(n) < tied * n, FLOOR, rng.uniform(FLOOR, 0.2, n))  # a share tied at the floor
    column = calibrate_column(rng.permutation(difficulty), rng.random(n))
    sizes = [len(scores) for scores in column.bins]
    assert sum(sizes) == n and min(sizes) >= PER_BIN, sizes
    assert len(sizes) >= min(10, round((1 - tied) * 10)), sizes  # the untied cells still get their bins


def test_every_interval_holds_its_prediction_within_zero_and_one():
    predictions, labels, difficulty = heteroscedastic(400, seed=3)
    calibration = calibrate(predictions, labels, difficulty, "test")
    extremes = np.tile(np.array([0.0, 1.0, -1e-7, 1 + 1e-7, 0.5]), (N_COLUMNS, 1)).T
    for cells in (np.zeros_like(extremes), np.full_like(extremes, 5.0)):
        for level in (*LEVELS, 0.999):  # 0.999 is more than 400 cells can give: those intervals are [0, 1]
            low, high = calibration.intervals(extremes, cells, level)
            value = np.clip(extremes, 0, 1)
            assert (0 <= low).all() and (low <= value).all() and (value <= high).all() and (high <= 1).all()


def test_conditional_fractions_divide_by_the_share_that_reached_the_question():
    fractions = np.zeros((1, N_COLUMNS))
    featured, not_edge_on, barred = COLUMNS.index("Class1.2"), COLUMNS.index("Class2.2"), COLUMNS.index("Class3.1")
    fractions[0, [featured, not_edge_on, barred]] = 0.8, 0.5, 0.2
    assert reach(fractions)[0, barred] == 0.5
    assert conditional(fractions)[0, barred] == pytest.approx(0.4)
    assert conditional(fractions)[0, featured] == pytest.approx(0.8)


@pytest.fixture(scope="module")
def calibrated_run(kaggle_dir, tmp_path_factory):
    """A cache with a calibration split, a run trained on it for one epoch, and its calibration at 2 views."""
    cache = tmp_path_factory.mktemp("calibrated_cache")
    run(kaggle_dir, cache, CALIBRATED, progress=False)
    folder = tmp_path_factory.mktemp("calibrated_run")
    fit(cache, folder, FitConfig(epochs=1, batch=16), verbose=0)
    result = CliRunner().invoke(main, ["calibrate", "--cache", str(cache), "--run", str(folder), "--tta", "2"])
    assert result.exit_code == 0, result.output
    return cache, folder


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_calibration_split_trained_and_validated_nothing(calibrated_run):
    cache = Cache.open(calibrated_run[0])
    trained = np.load(Run(calibrated_run[1]).galaxies)
    calibration = cache.split_ids("calibrate")
    assert len(calibration) == 40
    assert not np.intersect1d(calibration, trained["train"]).size
    assert not np.intersect1d(calibration, trained["valid"]).size


def test_intervals_survive_the_hdf5_catalog_and_hold_their_predictions(kaggle_dir, calibrated_run, tmp_path):
    images = kaggle_dir / TEST_IMAGES
    for out in ("catalog.csv", "catalog.h5"):
        command = ["predict", str(images), "--run", str(calibrated_run[1]), "--tta", "2", "--out", str(tmp_path / out)]
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
        assert "with 0.9 intervals" in result.output
    rows = read_csv(tmp_path / "catalog.csv")
    low = np.array([[float(row[f"{c}_low"]) for c in COLUMNS] for row in rows])
    high = np.array([[float(row[f"{c}_high"]) for c in COLUMNS] for row in rows])
    values = np.array([[float(row[c]) for c in COLUMNS] for row in rows])
    assert (0 <= low).all() and (low <= values + 1e-6).all() and (values <= high + 1e-6).all() and (high <= 1).all()
    assert (high > low).any()
    with h5py.File(tmp_path / "catalog.h5") as h5:
        order = [str(i) for i in h5["GalaxyID"].asstr()[:]] == [row["GalaxyID"] for row in rows]
        assert order
        np.testing.assert_allclose(h5["low"][:], low, atol=1e-6)
        np.testing.assert_allclose(h5["high"][:], high, atol=1e-6)
        np.testing.assert_allclose(h5["confidence"][:], [float(row["confidence"]) for row in rows], atol=1e-6)


def test_a_run_without_calibration_predicts_and_says_how_to_calibrate(kaggle_dir, trained_run, tmp_path):
    out = tmp_path / "catalog.csv"
    result = CliRunner().invoke(
        main, ["predict", str(kaggle_dir / TEST_IMAGES), "--run", str(trained_run), "--tta", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "no intervals" in result.output and "train calibrate" in result.output
    assert not any(name.endswith("_low") for name in read_csv(out)[0])


def test_a_coverage_the_calibration_cannot_honour_is_refused_before_any_work(kaggle_dir, calibrated_run, tmp_path):
    out = tmp_path / "catalog.csv"
    command = [
        "predict",
        str(kaggle_dir / TEST_IMAGES),
        "--run",
        str(calibrated_run[1]),
        "--tta",
        "2",
        "--out",
        str(out),
    ]
    for coverage in ("0.999", "1.5", "0"):
        result = CliRunner().invoke(main, [*command, "--coverage", coverage])
        assert result.exit_code == 2 and "--coverage" in result.output, result.output
    assert not out.exists()


def test_calibrating_on_a_cache_without_a_calibration_split_says_how_to_make_one(small_cache, trained_run):
    result = CliRunner().invoke(
        main, ["calibrate", "--cache", str(small_cache), "--run", str(trained_run), "--tta", "1"]
    )
    assert result.exit_code == 2 and "--calibrate" in result.output
    assert not Run(trained_run).calibration.exists()


def test_submit_writes_intervals_that_score_reads(kaggle_dir, calibrated_run, tmp_path):
    cache, folder = calibrated_run
    submission, intervals = tmp_path / "sub.csv", tmp_path / "intervals.csv"
    command = ["submit", "--cache", str(cache), "--run", str(folder), "--tta", "2", "--out", str(submission)]
    result = CliRunner().invoke(main, [*command, "--intervals", str(intervals)])
    assert result.exit_code == 0, result.output
    report = calibration_report(submission, kaggle_dir / TEST_SOLUTIONS, intervals)
    assert set(report.overall) == set(LEVELS)
    assert all(0 <= value <= 1 for value in report.overall.values())
    assert list(report.overall.values()) == sorted(report.overall.values())  # wider intervals cover more
    result = CliRunner().invoke(
        main, ["score", str(submission), str(kaggle_dir / TEST_SOLUTIONS), "--intervals", str(intervals)]
    )
    assert result.exit_code == 0 and "by decile" in result.output and "most confident 50%" in result.output


def classifier_outputs(n: int, sharpness: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of two classes and the true classes, drawn from probabilities `sharpness` times less sharp
    than the outputs claim (above 1: overconfident; 1: calibrated)."""
    rng = np.random.default_rng(seed)
    logit = rng.normal(0, 2, n)
    truth = (rng.random(n) < 1 / (1 + np.exp(-logit / sharpness))).astype(int)
    p = 1 / (1 + np.exp(-logit))
    return np.stack([1 - p, p], axis=1), truth


def test_temperature_scaling_never_raises_the_error_on_labels_it_was_not_fitted_on():
    kept = []
    for seed in range(12):
        for sharpness in (1.0, 3.0):
            probabilities, truth = classifier_outputs(60, sharpness, seed)
            chosen = choose_temperature(probabilities, truth, seed)
            kept.append(chosen["kept"])
            if chosen["kept"]:
                assert chosen["ece_unseen_scaled"] < chosen["ece_unseen"]
    assert any(kept) and not all(kept)  # both cases happen: the rule is what keeps the error from rising


def test_temperature_scaling_softens_an_overconfident_classifier():
    probabilities, truth = classifier_outputs(2000, 3.0, seed=0)
    chosen = choose_temperature(probabilities, truth)
    assert chosen["kept"] and 2 < chosen["temperature"] < 4.5
    scaled_error = expected_calibration_error(scaled(probabilities, chosen["temperature"]), truth)
    assert scaled_error < expected_calibration_error(probabilities, truth) / 2


def test_given_adds_each_answer_s_share_of_its_question_with_its_interval(kaggle_dir, calibrated_run, tmp_path):
    out = tmp_path / "catalog.csv"
    command = ["predict", str(kaggle_dir / TEST_IMAGES), "--run", str(calibrated_run[1]), "--tta", "2"]
    result = CliRunner().invoke(main, [*command, "--given", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    barred, not_edge_on = "Class3.1", "Class2.2"
    for row in rows:
        share = float(row[barred]) / float(row[not_edge_on]) if float(row[not_edge_on]) > 0 else 0.0
        assert float(row[f"{barred}_given"]) == pytest.approx(share, abs=2e-5)
        low, high = float(row[f"{barred}_given_low"]), float(row[f"{barred}_given_high"])
        assert 0 <= low <= float(row[f"{barred}_given"]) + 1e-6 <= high + 1e-6 <= 1 + 1e-6
