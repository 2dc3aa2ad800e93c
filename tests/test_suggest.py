"""`train suggest`: which galaxies to label next for a finetuned run."""

import csv
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import train.finetuning.suggest
from preprocess.kaggle import TRAIN_IMAGES
from tests.helpers import assert_usage_error
from train.cli import main
from train.finetuning.suggest import SHORTLIST, Pool, labelled_keys, spread_out
from train.runs import Run


def picks(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def suggest(run, images, out, n, *more) -> list[dict]:
    args = ["suggest", "--run", str(run), "--images", str(images), "--n", str(n), "--out", str(out), "--tta", "2"]
    result = CliRunner().invoke(main, [*args, *more])
    assert result.exit_code == 0, result.output
    return picks(out)


def test_suggest_returns_n_distinct_galaxies_none_of_them_labelled(kaggle_dir, finetuned_binary, tmp_path):
    labels = finetuned_binary.labels
    labelled = {row["GalaxyID"] for row in picks(labels)}
    rows = suggest(finetuned_binary.run, kaggle_dir / TRAIN_IMAGES, tmp_path / "picks.csv", 20, "--labels", str(labels))
    ids = [row["GalaxyID"] for row in rows]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert not set(ids) & labelled
    assert all(row["reason"] for row in rows)
    assert [float(row["score"]) for row in rows] == sorted((float(row["score"]) for row in rows), reverse=True)


def test_five_copies_of_the_most_uncertain_galaxy_give_one_pick(kaggle_dir, finetuned_binary, tmp_path):
    pool = tmp_path / "pool"
    shutil.copytree(kaggle_dir / TRAIN_IMAGES, pool)
    first = suggest(finetuned_binary.run, pool, tmp_path / "first.csv", 1)[0]
    original = pool / f"{first['GalaxyID']}.jpg"
    copies = [f"{990000 + i}" for i in range(5)]
    for name in copies:
        shutil.copy(original, pool / f"{name}.jpg")
    original.unlink()
    ids = [row["GalaxyID"] for row in suggest(finetuned_binary.run, pool, tmp_path / "picks.csv", 10)]
    assert len(ids) == 10
    assert len(set(ids) & set(copies)) == 1


def test_a_wrong_n_or_run_is_one_line_with_status_2(kaggle_dir, finetuned_binary, tmp_path):
    args = ["suggest", "--images", str(kaggle_dir / TRAIN_IMAGES), "--out", str(tmp_path / "p.csv")]
    for n in ("0", "-3", "many"):
        assert_usage_error(main, [*args, "--run", str(finetuned_binary.run), "--n", n], "--n", {})
    assert_usage_error(main, [*args, "--run", str(tmp_path), "--n", "5"], "--run", {})
    assert not (tmp_path / "p.csv").exists()


def test_picks_cover_what_the_labels_do_not_show():
    """Galaxies like the labelled ones score higher, yet a galaxy of a kind no label shows is taken first; a near
    copy of a labelled galaxy is never taken."""
    labelled_kind, new_kind = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    features = np.array([[0.9, 0.1, 0.0], [0.8, 0.0, 0.2], new_kind, labelled_kind])
    score = np.array([0.9, 0.8, 0.5, 1.0])
    picks = spread_out(score, features, np.array([labelled_kind]), 5)
    assert [i for i, _ in picks] == [2, 1, 0]
    worth = [score[i] * distance for i, distance in picks]
    assert worth == sorted(worth, reverse=True)


def test_a_galaxy_that_teaches_little_is_not_taken_for_its_distance_alone():
    features = np.array([[0.9, 0.1], [0.8, 0.2], [0.0, 1.0]])
    score = np.array([0.9, 0.8, 0.1])
    picks = spread_out(score, features, np.array([[1.0, 0.0]]), 1)
    assert len(picks) == 1 and picks[0][0] in (0, 1)  # not the far galaxy of score 0.1


def test_near_copies_filling_the_shortlist_still_leave_n_picks():
    n = 3
    copies = np.tile([1.0, 0.0, 0.0, 0.0], (SHORTLIST * n, 1))  # the best scored, all one galaxy
    others = np.eye(4)[1:]  # three distinct galaxies, scored lower
    features = np.concatenate([copies, others])
    score = np.r_[np.full(SHORTLIST * n, 0.9), 0.5, 0.4, 0.3]
    picks = [i for i, _ in spread_out(score, features, np.zeros((0, 4)), n)]
    assert len(picks) == n and picks[0] < SHORTLIST * n
    assert set(picks[1:]) <= {SHORTLIST * n, SHORTLIST * n + 1, SHORTLIST * n + 2}
    assert len(spread_out(score, features, np.zeros((0, 4)), 10)) == 4  # all the pool holds that are not copies


def rare_ring_pool(n: int, prevalence: float, seed: int = 0) -> tuple[Pool, np.ndarray]:
    """A pool where a head sees rings (class 1 of no/ring) as rare: rings get P(ring) about 0.7, others about 0.1."""
    rng = np.random.default_rng(seed)
    ring = rng.random(n) < prevalence
    p_ring = np.clip(np.where(ring, 0.7, 0.1) + rng.normal(0, 0.08, n), 0.01, 0.99)
    values = np.stack([1 - p_ring, p_ring], axis=1)
    features = rng.normal(size=(n, 16))
    paths = [Path(f"{100000 + i}.jpg") for i in range(n)]
    return Pool(paths, values, np.zeros(n), features, np.zeros((0, 16))), ring


def test_balanced_labels_still_steer_the_picks_to_the_rare_class_of_the_pool(tmp_path, monkeypatch):
    """150 rings and 150 others labelled: the pool (3% rings) says which class is rare, not the labels' counts."""
    pool, ring = rare_ring_pool(3000, 0.03)
    run = Run(tmp_path / "run")
    run.folder.mkdir()
    task = {"kind": "binary", "columns": ["ring"], "classes": ["no", "ring"], "mean": [], "std": []}
    run.write_record({"kind": "finetune", "task": task, "class_counts": [150, 150]})
    monkeypatch.setattr(train.finetuning.suggest, "scored_pool", lambda *args, **kwargs: pool)
    picks = train.finetuning.suggest.suggest(run.folder, [], 200)
    picked = [int(pick.galaxy) - 100000 for pick in picks]
    assert len(picked) == 200
    assert ring[picked].mean() >= 3 * ring.mean(), (ring[picked].mean(), ring.mean())


def test_labels_saved_with_a_byte_order_mark_and_spaced_ids_are_known(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("\ufeffGalaxyID ,ring\n 123,1\n456 ,0\n", encoding="utf-8")
    assert labelled_keys(labels) == {123, 456}
