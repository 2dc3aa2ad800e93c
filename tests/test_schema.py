import numpy as np

from preprocess.schema import COLUMNS, HEADER, PARENT_INDEX, SLICES, hierarchy_errors


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
