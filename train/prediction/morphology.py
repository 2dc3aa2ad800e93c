"""Plain-English morphology from the 37 vote fractions: the most likely path through the decision tree, and
how strongly a galaxy belongs to each of the gallery's classes."""

import numpy as np

from preprocess.schema import ANSWERS, COLUMNS, SLICES


def _answer(row: np.ndarray, question: int) -> str:
    return ANSWERS[question][int(np.argmax(row[SLICES[question]]))]


def _face_on_disk(row: np.ndarray) -> list[str]:
    words = ["disk", "not edge-on", _answer(row, 3)]
    if _answer(row, 4) == "spiral":
        count, tightness = _answer(row, 11), _answer(row, 10)
        if count == ANSWERS[11][-1]:  # can't tell
            words.append(f"{tightness} spiral arms, their number unclear")
        else:
            words.append(f"{count} {tightness} spiral arm{'' if count == '1' else 's'}")
    else:
        words.append("no spiral arms")
    words.append(_answer(row, 5))
    return words


def describe(row: np.ndarray) -> str:
    """The most likely answer to each question on the way down the tree, e.g.
    "disk, not edge-on, barred, 2 tight spiral arms, obvious bulge" or "smooth, cigar-shaped; odd: merger"."""
    kind = _answer(row, 1)
    if kind == "smooth":
        words = ["smooth", _answer(row, 7)]
    elif kind == "star or artifact":
        words = [kind]
    elif _answer(row, 2) == "edge-on":
        words = ["disk", "edge-on", _answer(row, 9)]
    else:
        words = _face_on_disk(row)
    text = ", ".join(words)
    if _answer(row, 6) == "odd":
        text += f"; odd: {_answer(row, 8)}"
    return text


def _column(predictions: np.ndarray, name: str) -> np.ndarray:
    return predictions[:, COLUMNS.index(name)]


def _spiral(predictions: np.ndarray, bar: str) -> np.ndarray:
    """Spiral and (un)barred: Q3 and Q4 are both asked of face-on disks, so their joint share is estimated as
    the product of their shares of those disks."""
    disks = np.maximum(_column(predictions, "Class2.2"), 1e-9)
    return _column(predictions, bar) * _column(predictions, "Class4.1") / disks


# Gallery class -> its share of the votes, from the (n, 37) predictions.
GALLERY_CLASSES = {
    "smooth round": lambda p: _column(p, "Class7.1"),
    "smooth cigar": lambda p: _column(p, "Class7.3"),
    "edge-on disk": lambda p: _column(p, "Class2.1"),
    "barred spiral": lambda p: _spiral(p, "Class3.1"),
    "unbarred spiral": lambda p: _spiral(p, "Class3.2"),
    "merger": lambda p: _column(p, "Class8.6"),
    "odd (not a merger)": lambda p: _column(p, "Class6.1") - _column(p, "Class8.6"),
    "star or artifact": lambda p: _column(p, "Class1.3"),
}
