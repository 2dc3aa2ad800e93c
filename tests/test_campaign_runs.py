"""A run of a campaign's vote counts downstream: predict (the campaign's columns, intervals for N volunteers),
evaluate, calibrate (the check of the dirichlet head's intervals), score, and labels named by the campaign's IDs."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from preprocess.cache import Cache
from preprocess.catalog import read_votes
from preprocess.schema import DECALS
from synth.campaign import CATALOG, IMAGES, TEST_CATALOG, TEST_EXPECTED, TEST_LIST
from train.cli import main
from train.finetuning.data import locate, read_rows
from train.prediction.evaluate import evaluate_runs
from train.runs import Run
from train.scores import rmse, score_campaign


def read_rows_of(path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def shares_of(rows: list[dict[str, str]], suffix: str = "") -> np.ndarray:
    return np.array([[float(row[f"{c}_fraction{suffix}"]) for c in DECALS.columns] for row in rows])


def predicted(campaign_set, tmp_path, loss: str, *options: str):
    out = tmp_path / f"{loss}.csv"
    args = ["predict", "--run", str(campaign_set.runs[loss]), "--out", str(out), "--tta", "1", *options]
    return CliRunner().invoke(main, [*args, str(campaign_set.data / TEST_LIST)]), out


@pytest.mark.parametrize("loss", ["dirichlet", "crossentropy"])
def test_predict_writes_each_answer_s_share_of_its_question_named_by_the_campaign_s_ids(campaign_set, tmp_path, loss):
    assert Run(campaign_set.runs[loss]).task().kind == "votes"
    result, out = predicted(campaign_set, tmp_path, loss)
    assert result.exit_code == 0, result.output
    rows = read_rows_of(out)
    assert [row["iauname"] for row in rows] == read_votes(campaign_set.data / TEST_CATALOG, DECALS)[0].names
    shares = shares_of(rows)
    for columns in DECALS.slices.values():  # GZ DECaLS's fractions: an answer's votes over its question's
        np.testing.assert_allclose(shares[:, columns].sum(axis=1), 1.0, atol=1e-5)


def test_predict_gives_the_interval_of_the_share_of_n_volunteers(campaign_set, tmp_path):
    result, out = predicted(campaign_set, tmp_path, "dirichlet", "--volunteers", "10", "--coverage", "0.9")
    assert result.exit_code == 0, result.output
    rows = read_rows_of(out)
    low, high, shares = shares_of(rows, "_low"), shares_of(rows, "_high"), shares_of(rows)
    np.testing.assert_allclose(low * 10, np.round(low * 10), atol=1e-6)  # shares of 10 volunteers
    assert (low <= high).all() and (low >= 0).all() and (high <= 1).all()
    assert (high - low).mean() > 0.1 and ((low <= shares + 0.1) & (shares - 0.1 <= high)).mean() > 0.95
    refused, _ = predicted(campaign_set, tmp_path, "crossentropy", "--volunteers", "10")
    assert refused.exit_code == 2 and "--volunteers needs runs trained" in refused.output


def test_evaluate_scores_a_campaign_run_by_its_questions(campaign_set):
    run = campaign_set.runs["dirichlet"]
    report = evaluate_runs([run], Cache.open(campaign_set.cache))
    assert list(report.model.questions) == [q.key for q in DECALS.questions]
    best = min(float(row["val_rmse"]) for row in Run(run).history_rows())
    assert report.model.rmse == pytest.approx(best, abs=2e-3)  # the validation metric: fractions down the tree
    assert set(report.baselines) == {"zeros", "means", "central-pixel"} and report.tree_violation < 1e-5


def test_calibrate_checks_the_dirichlet_head_s_intervals_on_the_calibration_split(campaign_set):
    run = campaign_set.runs["dirichlet"]
    result = CliRunner().invoke(
        main, ["calibrate", "--cache", str(campaign_set.cache), "--run", str(run), "--tta", "1"]
    )
    assert result.exit_code == 0, result.output
    check = json.loads(Run(run).votes_coverage.read_text())
    assert check["galaxies"] == 32 and [c["level"] for c in check["coverage"]] == [0.5, 0.8, 0.9, 0.95]
    held = [c["all"] for c in check["coverage"]]
    assert held == sorted(held) and len(check["coverage"][0]["thirds"]) == 3
    other = ["calibrate", "--cache", str(campaign_set.cache), "--run", str(campaign_set.runs["crossentropy"])]
    refused = CliRunner().invoke(main, other)
    assert refused.exit_code == 2 and "predicts fractions only" in refused.output


def test_score_puts_the_floor_at_the_whole_gap_and_scores_down_the_tree(campaign_set):
    data = campaign_set.data
    rows = score_campaign([data / TEST_EXPECTED], data / TEST_CATALOG, DECALS, data / CATALOG)
    assert rows["floor"].gap_closed == pytest.approx(1.0) and rows["column means"].gap_closed == pytest.approx(0.0)
    votes = read_votes(data / TEST_CATALOG, DECALS)[0]
    expected = {row["iauname"]: row for row in read_rows_of(data / TEST_EXPECTED)}
    floor = DECALS.tree_fractions(shares_of([expected[name] for name in votes.names]))
    assert rows["floor"].rmse == pytest.approx(rmse(floor, DECALS.tree_fractions(votes.counts)))
    result = CliRunner().invoke(main, ["score", str(data / TEST_EXPECTED), str(data / TEST_CATALOG)])
    assert result.exit_code == 0 and "smooth-or-featured" in result.output, result.output


def test_labels_named_by_the_campaign_s_ids_find_their_images_in_nested_folders(campaign_set, tmp_path):
    names = read_votes(campaign_set.data / CATALOG, DECALS)[0].names[:3]
    labels = tmp_path / "labels.csv"
    labels.write_text("iauname,ring\n" + "".join(f"{name},{i % 2}\n" for i, name in enumerate(names)) + "J0,1\n")
    id_column, _, rows = read_rows(labels)
    found = locate(labels, id_column, rows, campaign_set.data / IMAGES)
    assert id_column == "iauname" and [p.stem for p in found[:3]] == names
    assert "no image named 'J0'" in found[3]


def test_submit_refuses_a_campaign_s_cache_by_name(campaign_set, tmp_path):
    args = ["submit", "--cache", str(campaign_set.cache), "--run", str(campaign_set.runs["dirichlet"])]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "kaggle.csv")])
    assert (
        result.exit_code == 2 and "is a cache of campaign decals" in result.output and "train predict" in result.output
    )
    assert not (tmp_path / "kaggle.csv").exists()
