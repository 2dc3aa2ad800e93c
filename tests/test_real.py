"""`make real`'s scores of real galaxies, and its resuming after an interruption (bench.real)."""

import numpy as np
import pytest

from bench import real
from preprocess.schema import COLUMNS


def columns_for(rings: list[int], edge_on: list[float], face_on: list[float]) -> np.ndarray:
    columns = np.random.default_rng(0).uniform(0.05, 0.3, (len(rings), len(COLUMNS)))
    columns[:, COLUMNS.index("Class8.1")] = [0.2 + 0.5 * r + 0.01 * i for i, r in enumerate(rings)]
    columns[:, COLUMNS.index("Class2.1")] = edge_on
    columns[:, COLUMNS.index("Class2.2")] = face_on
    return columns


def test_zero_shot_ranks_rings_by_class_8_1_and_compares_shares_among_disks():
    """The face-on share is Class2.2 / (Class2.1 + Class2.2): here it rises while Class2.2 alone falls."""
    rings = [0, 1, 0, 1, 1, 0]
    edge_on, face_on = [0.9, 0.5, 0.2, 0.05, 0.02, 0.01], [0.1, 0.2, 0.3, 0.2, 0.15, 0.12]
    columns = columns_for(rings, edge_on, face_on)
    shares = np.array(face_on) / (np.array(edge_on) + np.array(face_on))
    rows = [
        {
            "ring": str(r),
            "disk-edge-on_no_fraction": str(s),
            "smooth-or-featured_featured-or-disk_fraction": str(0.1 * i),
            "has-spiral-arms_no_fraction": str(0.1 * i),
        }
        for i, (r, s) in enumerate(zip(rings, shares))
    ]
    scores = real.zero_shot(columns, rows)
    assert scores["ring_auc"] == 1.0
    assert scores["spearman disk-edge-on_no_fraction"] == pytest.approx(1.0)


def test_an_interrupted_cross_validation_resumes_at_the_fold_it_stopped_in(monkeypatch):
    rows = [{"ring": str(i % 2)} for i in range(20)]
    trained, cells, saves = [], {}, []

    def fold_cell(trunk, work, rows, train, test, images):
        if len(trained) == 2 and not saves[2:]:
            raise KeyboardInterrupt  # mid-way: the third fold never finishes
        trained.append(test.tolist())
        return {"test": test.tolist()}

    monkeypatch.setattr(real, "fold_cell", fold_cell)
    with pytest.raises(KeyboardInterrupt):
        real.finetuning(cells, real.DEFAULT_TRUNK, rows, np.zeros((20, 1)), lambda: saves.append(dict(cells)))
    assert sorted(cells) == ["0", "1"] and len(saves) == 2
    first = list(trained)
    saves.append("resumed")
    real.finetuning(cells, real.DEFAULT_TRUNK, rows, np.zeros((20, 1)), lambda: saves.append(dict(cells)))
    assert sorted(cells) == ["0", "1", "2", "3", "4"] and trained[:2] == first and len(trained) == 5
    held = sorted(i for k in cells for i in cells[k]["test"])
    assert held == list(range(20))  # each galaxy held out once


def test_a_trunk_retrained_on_another_cache_is_measured_afresh(monkeypatch, tmp_path):
    """A cell measured on a trunk is kept while the trunk is the one measured; retrained on other galaxies (the
    cache's hash differs) its folds and scores start again instead of standing beside the new trunk's."""
    trained_on = {"manifest_sha256": "a"}
    monkeypatch.setattr(real, "Run", lambda trunk: type("Stub", (), {"read_record": lambda self: trained_on})())
    results = {"trunks": {}}
    real.measured_cell(results, tmp_path)["folds"] = {"0": "measured"}
    assert real.measured_cell(results, tmp_path)["folds"] == {"0": "measured"}
    trained_on["manifest_sha256"] = "b"
    cell = real.measured_cell(results, tmp_path)
    assert "folds" not in cell and cell["cache_sha256"] == "b" and cell["generator"] == real.GENERATOR
