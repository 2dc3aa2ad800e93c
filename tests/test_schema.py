from pathlib import Path

import numpy as np
import pytest

from preprocess.schema import (
    COLUMNS,
    DECALS,
    DECALS_DR12,
    GZ2,
    HEADER,
    KAGGLE,
    PARENT_INDEX,
    SLICES,
    campaign,
    hierarchy_errors,
)
from preprocess.tree import Campaign, Question


def test_columns_in_kaggle_order():
    assert len(COLUMNS) == 37
    assert HEADER[:4] == ["GalaxyID", "Class1.1", "Class1.2", "Class1.3"]
    assert COLUMNS[-1] == "Class11.6"
    assert [(s.start, s.stop) for s in SLICES.values()] == [
        (0, 3),
        (3, 5),
        (5, 7),
        (7, 9),
        (9, 13),
        (13, 15),
        (15, 18),
        (18, 25),
        (25, 28),
        (28, 31),
        (31, 37),
    ]


def test_parents_follow_the_decision_tree():
    names = {q: None if i is None else COLUMNS[i] for q, i in PARENT_INDEX.items()}
    assert names == {
        1: None,
        2: "Class1.2",
        3: "Class2.2",
        4: "Class2.2",
        5: "Class2.2",
        6: None,
        7: "Class1.1",
        8: "Class6.1",
        9: "Class2.1",
        10: "Class4.1",
        11: "Class4.1",
    }


def test_hierarchy_errors_names_the_broken_question():
    row = np.zeros(37)
    row[SLICES[1]] = [0.5, 0.5, 0.0]  # smooth 0.5, features 0.5
    row[SLICES[6]] = [0.0, 1.0]
    row[SLICES[7]] = [0.25, 0.25, 0.0]  # sums to Class1.1
    row[SLICES[2]] = [0.1, 0.3]  # sums to 0.4, parent Class1.2 is 0.5
    row[SLICES[3]] = [0.3, 0.0]
    row[SLICES[4]] = [0.0, 0.3]
    row[SLICES[5]] = [0.3, 0, 0, 0]
    row[SLICES[9]] = [0.1, 0, 0]
    errors = hierarchy_errors(row[None])
    assert np.isclose(errors[1], 0.1)
    assert np.allclose(np.delete(errors, 1), 0.0)


HEADERS = Path(__file__).parent / "data"


def test_kaggle_is_a_campaign_given_as_data():
    """The module's names are those of the Kaggle campaign built from its tree as data, and its checks are the
    campaign's: a row built off the tree on Q2 is found by both."""
    assert KAGGLE.columns == COLUMNS and KAGGLE.header == HEADER and KAGGLE.slices == SLICES
    assert campaign("kaggle") is KAGGLE and not KAGGLE.counts
    row = np.zeros(37)
    row[SLICES[1]] = [0.0, 1.0, 0.0]
    row[SLICES[6]] = [0.0, 1.0]
    row[SLICES[2]] = [0.0, 0.5]  # sums to 0.5, its parent Class1.2 is 1
    row[SLICES[3]] = row[SLICES[4]] = [0.0, 0.5]
    row[SLICES[5]] = [0.5, 0.0, 0.0, 0.0]
    assert np.flatnonzero(KAGGLE.hierarchy_errors(row[None]) > 1e-9).tolist() == [1]


def test_gz2_asks_kaggles_questions_in_hart16_columns():
    header = (HEADERS / "gz2_hart16.header.csv").read_text().strip().split(",")
    assert set(GZ2.columns) <= set(header) and GZ2.id_column in header
    assert len(GZ2.columns) == 37 and list(GZ2.slices.values()) == list(SLICES.values())
    assert list(GZ2.parent_index.values()) == list(PARENT_INDEX.values())


@pytest.mark.parametrize(
    ("campaign_", "header"),
    [(DECALS, "gz_decals_volunteers_5.header.csv"), (DECALS_DR12, "gz_decals_volunteers_1_and_2.header.csv")],
)
def test_decals_trees_name_the_catalogs_own_columns(campaign_, header):
    """Every answer and total of the tree is a column of the real catalog, and every count column of the catalog
    (`{question}_{answer}`, beside its `_fraction` and `_debiased`) is an answer of the tree."""
    columns = (HEADERS / header).read_text().strip().split(",")
    totals = [q.total for q in campaign_.questions]
    assert set(campaign_.columns) | set(totals) <= set(columns) and campaign_.id_column in columns
    counted = {c.removesuffix("_fraction") for c in columns if c.endswith("_fraction")}
    assert counted == set(campaign_.columns)


def test_a_tree_whose_parent_comes_later_is_refused():
    with pytest.raises(ValueError, match="q2's parent q1_yes is not an earlier answer"):
        second, first = Question("q2", ("q2_a",), ("a",), "q1_yes"), Question("q1", ("q1_yes",), ("yes",))
        Campaign("bad", "id", (second, first), True)


def test_count_errors_name_each_break_of_the_tree():
    """DECaLS counts: smooth 3, featured 2; edge-on asked 2 (fine); a spiral answered though nobody said
    edge-on no; a bar count of 1.5; merging answers above their total."""
    counts = np.zeros(len(DECALS.columns))
    totals = np.zeros(len(DECALS.questions))
    columns, keys = DECALS.columns, [q.key for q in DECALS.questions]

    def put(question: str, answers: dict[str, float], total: float) -> None:
        for answer, value in answers.items():
            counts[columns.index(f"{question}_{answer}")] = value
        totals[keys.index(question)] = total

    put("smooth-or-featured", {"smooth": 3, "featured-or-disk": 2}, 5)
    put("disk-edge-on", {"yes": 2}, 2)
    assert DECALS.count_errors(counts, totals) == []
    put("has-spiral-arms", {"yes": 1}, 1)
    put("edge-on-bulge", {"boxy": 1.5}, 2)
    put("merging", {"none": 4, "merger": 2}, 5)
    assert DECALS.count_errors(counts, totals) == [
        "edge-on-bulge_boxy = 1.5 is not a count",
        "has-spiral-arms has 1 votes, but nobody answered disk-edge-on_no",
        "merging's answers have 6 votes, its total 5",
    ]
