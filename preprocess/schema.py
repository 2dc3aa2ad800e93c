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


def hierarchy_errors(labels: np.ndarray) -> np.ndarray:
    """Per question (index 0 is Q1), the largest |sum of its answers - parent value| over all rows."""
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, N_COLUMNS)
    errors = np.zeros(len(QUESTIONS))
    if len(labels) == 0:
        return errors
    for i, (q, sl) in enumerate(SLICES.items()):
        parent = PARENT_INDEX[q]
        expected = 1.0 if parent is None else labels[:, parent]
        errors[i] = np.max(np.abs(labels[:, sl].sum(axis=1) - expected))
    return errors
