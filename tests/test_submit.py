import csv
import gzip
import os
import signal
import time

import numpy as np
import pytest
from click.testing import CliRunner

from preprocess.labels import read_solutions, write_solutions
from preprocess.schema import HEADER, hierarchy_errors
from tests.helpers import python_module
from train.cli import main
from train.evaluate import rmse
from train.fit import FitConfig, fit


@pytest.fixture(scope="module")
def trained_run(small_cache, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    fit(small_cache, run, FitConfig(epochs=1, batch=16), verbose=0)
    return run


def test_submission_has_every_test_id_once_with_kaggle_header(kaggle_dir, small_cache, trained_run, tmp_path):
    out = tmp_path / "sub.csv"
    result = CliRunner().invoke(main, ["submit", "--cache", str(small_cache), "--run", str(trained_run),
                                       "--out", str(out), "--tta", "8"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == ",".join(HEADER)
    ids, values = read_solutions(out)
    test_ids, _ = read_solutions(kaggle_dir / "test_solutions.csv")
    assert sorted(ids.tolist()) == sorted(test_ids.tolist()) and list(ids) == sorted(ids)
    assert values.min() >= 0 and values.max() <= 1
    assert hierarchy_errors(values).max() < 2e-5  # averaged over 8 views, still on the tree (6 decimals)


def test_rejected_test_galaxies_still_get_a_row(small_cache, trained_run, tmp_path):
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    with open(cache / "rejects.csv", "a", newline="") as f:
        csv.writer(f).writerow([123456, "/data/images_test_rev1/123456.jpg", "truncated"])
    out = tmp_path / "sub.csv.gz"
    result = CliRunner().invoke(main, ["submit", "--cache", str(cache), "--run", str(trained_run),
                                       "--out", str(out), "--tta", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 test galaxies were rejected" in result.output and "123456" in result.output
    with gzip.open(out, "rt") as f:
        rows = {line.split(",")[0]: line for line in f}
    assert "123456" in rows


def test_killing_submit_never_leaves_a_partial_file(small_cache, trained_run, tmp_path):
    out = tmp_path / "sub.csv"
    for delay in (2.0, 4.0, 6.0):
        process = python_module("train", "submit", "--cache", str(small_cache), "--run", str(trained_run),
                                "--out", str(out), "--tta", "8")  # fmt: skip
        time.sleep(delay)
        process.kill()
        process.wait()
        if out.exists():
            assert len(read_solutions(out)[0]) == 40  # complete, or not there at all


def test_evaluate_reports_model_and_baselines(small_cache, trained_run):
    result = CliRunner().invoke(main, ["evaluate", "--cache", str(small_cache), "--run", str(trained_run)])
    assert result.exit_code == 0, result.output
    for name in ("model", "baseline: zeros", "baseline: means", "baseline: central-pixel", "tree violation"):
        assert name in result.output
    assert (trained_run / "report.json").exists() and (trained_run / "report.png").stat().st_size > 10_000


def test_score_truth_is_zero_and_zeros_match_hand_computation(kaggle_dir):
    truth = kaggle_dir / "test_solutions.csv"
    result = CliRunner().invoke(main, ["score", str(truth), str(kaggle_dir / "all_zeros_benchmark.csv"), str(truth)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert float(lines["test_solutions.csv"][1]) == 0.0
    _, values = read_solutions(truth)
    assert float(lines["all_zeros_benchmark.csv"][1]) == pytest.approx(
        np.sqrt(np.mean(values.astype(float) ** 2)), abs=1e-5
    )
    assert rmse(np.zeros_like(values), values) == pytest.approx(float(lines["all_zeros_benchmark.csv"][1]), abs=1e-5)


def with_field(line: str, index: int, text: str) -> str:
    fields = line.split(",")
    fields[index] = text
    return ",".join(fields)


def bad_submission(tmp_path, kaggle_dir, change):
    ids, values = read_solutions(kaggle_dir / "test_solutions.csv")
    path = write_solutions(tmp_path / "bad.csv", ids, values)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(change(lines)) + "\n")
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda ls: [ls[0].replace("Class1.1", "Class1.x"), *ls[1:]], "header is missing column 'Class1.1'"),
        (lambda ls: ls[:-1], "1 GalaxyID(s) of the solutions are missing"),
        (lambda ls: [*ls, "999999" + ls[1][6:]], "1 GalaxyID(s) are not in the solutions, e.g. [999999]"),
        (lambda ls: [*ls, ls[1]], "appears again"),
        (lambda ls: [ls[0], with_field(ls[1], 3, "nan"), *ls[2:]], "column Class1.3: 'nan' is not a finite number"),
        (lambda ls: [ls[0], with_field(ls[1], 5, "x"), *ls[2:]], "column Class2.2: 'x' is not a number"),
    ],
)
def test_score_refuses_bad_submissions(kaggle_dir, tmp_path, change, message):
    path = bad_submission(tmp_path, kaggle_dir, change)
    result = CliRunner().invoke(main, ["score", str(path), str(kaggle_dir / "test_solutions.csv")])
    assert result.exit_code == 1
    assert message in result.output


def test_ctrl_c_during_submit_leaves_no_partial_file(small_cache, trained_run, tmp_path):
    out = tmp_path / "sub.csv"
    process = python_module("train", "submit", "--cache", str(small_cache), "--run", str(trained_run),
                            "--out", str(out), "--tta", "8")  # fmt: skip
    deadline = time.time() + 120
    output = ""
    while process.poll() is None and "predicting" not in output and time.time() < deadline:
        output += process.stdout.read(1)
    os.killpg(process.pid, signal.SIGINT)
    output += process.communicate(timeout=60)[0]
    assert process.returncode in (0, 130), output[-2000:]  # interrupted, or finished just before
    assert "Traceback" not in output
    assert not out.exists() or len(read_solutions(out)[0]) == 40
    assert [p.name for p in tmp_path.iterdir()] in ([], ["sub.csv"])
