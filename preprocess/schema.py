"""The 37 Galaxy Zoo answer columns and the decision tree that links them.

This module is the single source of the column schema: every other module
(preprocessing, training, scoring) takes names, slices and parents from here.
"""

import numpy as np

# question number -> (number of answers, parent column or None for the root questions)
QUESTIONS: dict[int, tuple[int, str | None]] = {
    1: (3, None),
    2: (2, "Class1.2"),
    3: (2, "Class2.2"),
    4: (2, "Class2.2"),
    5: (4, "Class2.2"),
    6: (2, None),
    7: (3, "Class1.1"),
    8: (7, "Class6.1"),
    9: (3, "Class2.1"),
    10: (3, "Class4.1"),
    11: (6, "Class4.1"),
}

# The answers of each question, in column order (Willett et al. 2013, Galaxy Zoo 2, table 2).
ANSWERS: dict[int, tuple[str, ...]] = {
    1: ("smooth", "features or disk", "star or artifact"),
    2: ("edge-on", "not edge-on"),
    3: ("barred", "no bar"),
    4: ("spiral", "no spiral arms"),
    5: ("no bulge", "noticeable bulge", "obvious bulge", "dominant bulge"),
    6: ("odd", "nothing odd"),
    7: ("completely round", "in between", "cigar-shaped"),
    8: ("ring", "lens or arc", "disturbed", "irregular", "other", "merger", "dust lane"),
    9: ("rounded bulge", "boxy bulge", "no bulge"),
    10: ("tight", "medium", "loose"),
    11: ("1", "2", "3", "4", "more than 4", "can't tell"),
}

COLUMNS: list[str] = [f"Class{q}.{a}" for q, (n, _) in QUESTIONS.items() for a in range(1, n + 1)]
HEADER: list[str] = ["GalaxyID", *COLUMNS]
N_COLUMNS = len(COLUMNS)


def _slices() -> dict[int, slice]:
    slices, start = {}, 0
    for q, (n, _) in QUESTIONS.items():
        slices[q] = slice(start, start + n)
        start += n
    return slices


SLICES: dict[int, slice] = _slices()
# question -> index of its parent column in COLUMNS, or None
PARENT_INDEX: dict[int, int | None] = {
    q: None if parent is None else COLUMNS.index(parent) for q, (_, parent) in QUESTIONS.items()
}


# Kaggle's own labels are off the tree by up to ~1e-5 in a few rows; a row off by more is an error.
TREE_TOLERANCE = 1e-3


def row_hierarchy_errors(labels: np.ndarray) -> np.ndarray:
    """(n, 11): for each row and question (column 0 is Q1), |sum of the question's answers - its parent value|."""
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, N_COLUMNS)
    errors = np.zeros((len(labels), len(QUESTIONS)))
    for i, (q, sl) in enumerate(SLICES.items()):
        parent = PARENT_INDEX[q]
        expected = 1.0 if parent is None else labels[:, parent]
        errors[:, i] = np.abs(labels[:, sl].sum(axis=1) - expected)
    return errors


def hierarchy_errors(labels: np.ndarray) -> np.ndarray:
    """Per question (index 0 is Q1), the largest |sum of its answers - parent value| over all rows."""
    errors = row_hierarchy_errors(labels)
    return errors.max(axis=0) if len(errors) else np.zeros(len(QUESTIONS))
