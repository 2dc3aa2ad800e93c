import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from bench.data import replicate
from preprocess.cache import Cache
from preprocess.kaggle import SOLUTIONS, TEST_EXPECTED, TEST_SOLUTIONS, ZEROS
from preprocess.labels import read_solutions, write_solutions
from preprocess.pipeline import run
from tests.conftest import SMALL
from train.cli import main
from train.config import FitConfig
from train.fitting.fit import fit
from train.prediction.inference import predict_each_model
from train.runs import Run, RunError
from train.scores import score_submissions


def test_evaluate_reports_model_and_baselines(small_cache, trained_run):
    result = CliRunner().invoke(main, ["evaluate", "--cache", str(small_cache), "--run", str(trained_run)])
    assert result.exit_code == 0, result.output
    for name in ("model", "baseline: zeros", "baseline: means", "baseline: central-pixel", "tree violation"):
        assert name in result.output
    assert Run(trained_run).report()[1].stat().st_size > 10_000
    report = json.loads(Run(trained_run).report()[0].read_text())
    valid = Cache.open(small_cache).read("valid", ("labels",))["labels"].astype(np.float64)
    assert report["baselines"]["zeros"]["rmse"] == pytest.approx(np.sqrt(np.mean(valid**2)), rel=1e-6)
    means = Cache.open(small_cache).read("train", ("labels",))["labels"].mean(axis=0)
    assert report["baselines"]["means"]["rmse"] == pytest.approx(np.sqrt(np.mean((valid - means) ** 2)), rel=1e-5)
    assert report["galaxies"] == 30 and 0 < report["model"]["rmse"] < report["baselines"]["zeros"]["rmse"]


def test_score_truth_is_zero_and_zeros_match_hand_computation(kaggle_dir):
    truth = kaggle_dir / TEST_SOLUTIONS
    result = CliRunner().invoke(main, ["score", str(truth), str(kaggle_dir / ZEROS), str(truth)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert float(lines["test_solutions.csv"][1]) == 0.0
    _, values = read_solutions(truth)
    squares = sum(float(v) ** 2 for row in values for v in row)  # by hand: every (galaxy, column) pair
    assert float(lines["all_zeros_benchmark.csv"][1]) == pytest.approx((squares / values.size) ** 0.5, abs=1e-5)


def with_field(line: str, index: int, text: str) -> str:
    fields = line.split(",")
    fields[index] = text
    return ",".join(fields)


def bad_submission(tmp_path, kaggle_dir, change):
    ids, values = read_solutions(kaggle_dir / TEST_SOLUTIONS)
    path = write_solutions(tmp_path / "bad.csv", ids, values)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(change(lines)) + "\n")
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda ls: [ls[0].replace("Class1.1", "Class1.x"), *ls[1:]], "header is missing column 'Class1.1'"),
        (lambda ls: ls[:-1], "1 missing (e.g. ["),
        (lambda ls: [*ls, "999999" + ls[1][6:]], "1 not in it (e.g. [999999])"),
        (lambda ls: [*ls, ls[1]], "appears again"),
        (lambda ls: [ls[0], with_field(ls[1], 3, "nan"), *ls[2:]], "column Class1.3: 'nan' is not a finite number"),
        (lambda ls: [ls[0], with_field(ls[1], 5, "x"), *ls[2:]], "column Class2.2: 'x' is not a number"),
    ],
)
def test_score_refuses_bad_submissions(kaggle_dir, tmp_path, change, message):
    path = bad_submission(tmp_path, kaggle_dir, change)
    result = CliRunner().invoke(main, ["score", str(path), str(kaggle_dir / TEST_SOLUTIONS)])
    assert result.exit_code == 2
    assert message in result.output


def test_score_shows_the_floor_and_the_share_of_the_gap_closed(kaggle_dir, small_cache, tmp_path):
    """Beside a synthetic set, `score` adds the column means and the floor; no baseline beats the floor."""
    baselines = []
    for name in ("zeros", "means", "central-pixel"):
        out = tmp_path / f"{name}.csv"
        args = ["submit", "--cache", str(small_cache), "--baseline", name, "--out", str(out)]
        assert CliRunner().invoke(main, args).exit_code == 0
        baselines.append(out)
    scored = score_submissions([*baselines, kaggle_dir / TEST_EXPECTED], kaggle_dir / TEST_SOLUTIONS)
    floor, means = scored["floor"], scored["column means"]
    assert floor.gap_closed == pytest.approx(1.0) and means.gap_closed == pytest.approx(0.0)
    assert scored["test_expected.csv"].rmse == pytest.approx(floor.rmse)
    for path in baselines:
        assert scored[path.name].rmse > floor.rmse and scored[path.name].gap_closed < 0.5
    result = CliRunner().invoke(main, ["score", *map(str, baselines), str(kaggle_dir / TEST_SOLUTIONS)])
    assert result.exit_code == 0 and "floor" in result.output and "100.0%" in result.output


def test_evaluate_averages_several_runs(small_cache, trained_run, second_run):
    args = ["evaluate", "--cache", str(small_cache), "--run", str(trained_run), "--run", str(second_run)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(Run(trained_run).report(ensemble=True)[0].read_text())
    assert report["runs"] == [str(trained_run), str(second_run)] and report["galaxies"] == 30


@pytest.mark.parametrize("command", ["evaluate", "submit"])
def test_a_cache_with_another_validation_split_is_refused(kaggle_dir, small_cache, trained_run, tmp_path, command):
    """Another --seed puts galaxies the model trained on into the valid split: judging it there would flatter it."""
    other = tmp_path / "other-cache"
    run(kaggle_dir, other, replace(SMALL, seed=5), progress=False)
    args = [command, "--cache", str(other), "--run", str(trained_run)]
    result = CliRunner().invoke(main, args + (["--out", str(tmp_path / "s.csv")] if command == "submit" else []))
    assert result.exit_code == 2, result.output
    assert "seed=0" in result.output and "seed=5" in result.output and "Traceback" not in result.output
    assert str(other) in " ".join(result.output.split()) and str(small_cache.resolve()) in result.output.replace(
        "\n", ""
    )
    assert not (tmp_path / "s.csv").exists()


def test_a_cache_rebuilt_from_a_csv_with_rows_removed_is_refused(kaggle_dir, small_cache, trained_run, tmp_path):
    """Same settings, other split: the validation split is the IDs of smallest hash among all CSV rows, so
    removing rows moves galaxies the model trained on into it. evaluate, submit and fit's resume refuse it."""
    data = replicate(kaggle_dir, tmp_path / "data", 1)
    ids, labels = read_solutions(data / SOLUTIONS)
    valid = set(Cache.open(small_cache).split_ids("valid").tolist())
    removed = [i for i in ids.tolist() if i in valid][:10]  # ten validation galaxies gone: ten others move in
    keep = ~np.isin(ids, removed)
    write_solutions(data / SOLUTIONS, ids[keep], labels[keep], decimals=9)
    other = tmp_path / "other-cache"
    run(data, other, SMALL, progress=False)
    assert Cache.open(other).settings == Cache.open(small_cache).settings
    for command in ("evaluate", "submit"):
        args = [command, "--cache", str(other), "--run", str(trained_run)]
        result = CliRunner().invoke(main, args + (["--out", str(tmp_path / "s.csv")] if command == "submit" else []))
        assert result.exit_code == 2, result.output
        words = " ".join(result.output.split())
        assert "20 galaxies are in another split or missing" in words, words
        assert "10 of its validation galaxies trained the run" in words
    unfinished = tmp_path / "unfinished"
    shutil.copytree(trained_run, unfinished)
    config = json.loads(Run(unfinished).config.read_text())
    Run(unfinished).config.write_text(json.dumps({**config, "finished": False}))
    with pytest.raises(RunError, match="20 galaxies are in another split or missing"):
        fit(other, unfinished, FitConfig(**config["config"]), verbose=0)


def evaluate_args(cache, run) -> list[str]:
    return ["evaluate", "--cache", str(cache), "--run", str(run), "--batch", "10"]


def test_ctrl_c_during_evaluate_leaves_no_report(small_cache, trained_run, tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt, as Python raises it) after the first of three batches of the 30 validation galaxies
    is predicted."""
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("*report*"))
    predicted = []

    def first_batch_then_ctrl_c(models, images):
        if predicted:
            raise KeyboardInterrupt
        predicted.append(len(images))
        return predict_each_model(models, images)

    monkeypatch.setattr("train.prediction.inference.predict_each_model", first_batch_then_ctrl_c)
    result = CliRunner().invoke(main, evaluate_args(small_cache, run))
    assert result.exit_code == 130 and predicted == [10], result.output
    assert "report.json was not written" in result.output and "Traceback" not in result.output
    assert not list(run.glob("*report*")) and not list(run.glob(".*tmp*"))


def test_evaluate_unable_to_write_its_report_says_so_in_a_line(small_cache, trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    Run(run).report()[0].unlink(missing_ok=True)
    Run(run).report()[0].mkdir()  # in the way of the report
    result = CliRunner().invoke(main, evaluate_args(small_cache, run))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "failed writing" in result.output and "Is a directory" in result.output


def test_a_damaged_model_file_is_named(small_cache, trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    Run(run).model.write_bytes(b"not a model")
    result = CliRunner().invoke(main, evaluate_args(small_cache, run))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"{run / 'model.keras'} cannot be loaded as a model" in " ".join(result.output.split())


@pytest.mark.parametrize("command", ["evaluate", "submit"])
def test_a_finetuned_run_is_refused_by_evaluate_and_submit(small_cache, trained_run, tmp_path, command):
    """Its model predicts the user's question, not Kaggle's 37 columns: `predict` is the command for it."""
    run = tmp_path / "finetuned"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("*report*"))
    record = json.loads(Run(run).config.read_text())
    task = {"kind": "binary", "columns": ["bar"], "classes": ["0", "1"], "mean": [], "std": []}
    Run(run).config.write_text(json.dumps({**record, "kind": "finetune", "task": task}))
    out = tmp_path / "out.csv"
    args = [command, "--cache", str(small_cache), "--run", str(run)] + (
        ["--out", str(out)] if command == "submit" else []
    )
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "is finetuned to bar, not Kaggle's 37 columns: `train predict` writes its catalog" in " ".join(
        result.output.split()
    )
    assert not out.exists() and not list(run.glob("*report*"))
