"""What a run predicts: Kaggle's 37 columns, a campaign's vote fractions (a run trained on GZ2 or GZ DECaLS
counts), or a question of the user's own (binary, multiclass, fraction, regression) from labels they made. Its
columns, classes and scaling; turning labels into training targets and model outputs into the catalog's values,
text and gallery. No TensorFlow."""

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from preprocess.schema import COLUMNS, campaign
from train.prediction.morphology import GALLERY_CLASSES, describe

CLASSES = ("binary", "multiclass")  # the kinds that classify
KINDS = (*CLASSES, "fraction", "regression")
MAX_CLASSES = 20


class TaskError(ValueError):
    """Labels that fit no task (or not the one asked for); the message names the column and the row."""


@dataclass(frozen=True)
class Task:
    """A run's outputs. kind "kaggle": the 37 vote fractions; "votes": a campaign's vote fractions down its tree
    (from a tree head's fractions, or a dirichlet head's concentrations); else a question of the user's label
    columns."""

    kind: str
    columns: list[str]
    classes: list[str] = field(default_factory=list)  # binary and multiclass, sorted; binary's second is positive
    mean: list[float] = field(default_factory=list)  # regression: targets are (value - mean) / std
    std: list[float] = field(default_factory=list)
    campaign: str = ""  # "votes": whose tree

    @property
    def classifies(self) -> bool:
        return self.kind in CLASSES

    @property
    def units(self) -> int:
        """The model's outputs: one for binary (the positive class), one per class, one per column."""
        return {"binary": 1, "multiclass": len(self.classes)}.get(self.kind, len(self.columns))

    @property
    def id_column(self) -> str:
        """The catalog's first column, naming each galaxy: the campaign's own (GZ DECaLS's iauname), or GalaxyID."""
        return campaign(self.campaign).id_column if self.kind == "votes" else "GalaxyID"

    @property
    def outputs(self) -> list[str]:
        """The catalog's columns for this task (the most likely class is a text column of its own)."""
        if self.classifies:
            return [f"P({self.columns[0]}={c})" for c in self.classes]
        return list(self.columns)

    def targets(self, values: list[list[str]]) -> np.ndarray:
        """Training targets of rows of label texts (already checked)."""
        if self.kind == "binary":
            return np.array([[self.classes.index(row[0])] for row in values], np.float32)
        if self.kind == "multiclass":
            return np.array([self.classes.index(row[0]) for row in values], np.int64)
        numbers = np.array([[float(v) for v in row] for row in values], np.float32)
        if self.kind == "regression":
            numbers = (numbers - np.array(self.mean, np.float32)) / np.array(self.std, np.float32)
        return numbers

    def values(self, raw: np.ndarray) -> np.ndarray:
        """Model outputs (n, units) as the catalog's values (n, outputs): probabilities per class, fractions in
        [0, 1], or values in the labels' units."""
        raw = np.asarray(raw, np.float64)
        if self.kind == "binary":
            return np.concatenate([1.0 - raw, raw], axis=1)
        if self.kind == "regression":
            return raw * np.array(self.std) + np.array(self.mean)
        if self.kind == "votes":
            return campaign(self.campaign).question_shares(raw)
        return np.clip(raw, 0.0, 1.0)

    @property
    def text_column(self) -> str | None:
        """The catalog's text column: the morphology in words, the most likely class, or none."""
        return {"kaggle": "morphology", "binary": self.columns[0], "multiclass": self.columns[0]}.get(self.kind)

    def texts(self, values: np.ndarray) -> list[str]:
        """The text column's entry of each row of the catalog's `values`."""
        if self.kind == "kaggle":
            return [describe(row) for row in values]
        return [self.classes[i] for i in np.argmax(values, axis=1)]

    def gallery(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Gallery rows -> each galaxy's score for the row: eight morphologies for Kaggle's columns, each class's
        probability, or each column's value."""
        if self.kind == "kaggle":
            return {name: share(values) for name, share in GALLERY_CLASSES.items()}
        if self.kind == "votes":  # the answers of the questions always asked
            asked = [c for q in campaign(self.campaign).questions if q.parent is None for c in q.columns]
            return {f"{c}_fraction": values[:, i] for i, c in enumerate(campaign(self.campaign).columns) if c in asked}
        return {name: values[:, i] for i, name in enumerate(self.outputs)}

    def as_dict(self) -> dict:
        return asdict(self)


KAGGLE = Task("kaggle", list(COLUMNS))


def votes_task(name: str) -> Task:
    """The vote fractions of campaign `name`, as its catalogs give them: `{answer column}_fraction`, the answer's
    share of its question's votes (GZ DECaLS's convention)."""
    return Task("votes", [f"{c}_fraction" for c in campaign(name).columns], campaign=name)


def task_of(record: dict) -> Task:
    """The task a run's config.json records; for a run of `fit`, its cache's campaign's columns: Kaggle's 37, or a
    campaign's vote fractions."""
    if "task" in record:
        return Task(**record["task"])
    name = (record.get("cache_settings") or {}).get("campaign", KAGGLE.kind)
    return KAGGLE if name == KAGGLE.kind else votes_task(name)


def is_number(text: str) -> bool:
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False


def infer_kind(values: list[str]) -> str:
    """The task a column of label texts calls for: two distinct values binary; numbers all in [0, 1] with more
    than two distinct values fraction; up to MAX_CLASSES distinct integers or texts multiclass; other numbers
    regression."""
    distinct = set(values)
    if len(distinct) == 2:
        return "binary"
    if all(is_number(v) for v in distinct):
        numbers = [float(v) for v in distinct]
        if all(0.0 <= x <= 1.0 for x in numbers):
            return "fraction"
        if len(distinct) <= MAX_CLASSES and all(x.is_integer() for x in numbers):
            return "multiclass"
        return "regression"
    if len(distinct) <= MAX_CLASSES:
        return "multiclass"
    raise TaskError(f"{len(distinct)} distinct values that are not all numbers: more than {MAX_CLASSES} classes")


def make_task(kind: str | None, columns: list[str], values: list[list[str]]) -> Task:
    """The task for label rows `values` (texts, one per column; already free of empty cells): `kind`, or the one
    the first column calls for. Classification takes a single column."""
    kind = kind or infer_kind([row[0] for row in values])
    if kind in CLASSES:
        if len(columns) != 1:
            raise TaskError(f"a {kind} task takes one label column, not {len(columns)} ({', '.join(columns)})")
        classes = sorted({row[0] for row in values}, key=class_order)
        if kind == "binary" and len(classes) != 2:
            raise TaskError(f"column {columns[0]} has {len(classes)} distinct values; binary needs 2")
        if kind == "multiclass" and len(classes) > MAX_CLASSES:
            raise TaskError(f"column {columns[0]} has {len(classes)} classes, more than {MAX_CLASSES}")
        return Task(kind, columns, classes)
    numbers = np.array([[float(v) for v in row] for row in values])
    if kind == "fraction" and ((numbers < 0) | (numbers > 1)).any():
        raise TaskError(f"fractions must lie in [0, 1]; {', '.join(columns)} has values outside")
    return scaled_on(Task(kind, columns), values)


def scaled_on(task: Task, values: list[list[str]]) -> Task:
    """A regression's targets standardised by the mean and spread of `values` (the training part's labels alone:
    held-out labels that set the scale would leak into training); other tasks as they are."""
    if task.kind != "regression":
        return task
    numbers = np.array([[float(v) for v in row] for row in values])
    std = numbers.std(axis=0)
    return replace(task, mean=numbers.mean(axis=0).tolist(), std=np.where(std > 0, std, 1.0).tolist())


def class_order(text: str):
    """Numbers in numeric order, then texts alphabetically: for binary, the second class is the positive one
    (1 rather than 0, "yes" rather than "no" sorts last only by luck: pass 0/1 to be sure)."""
    return (0, float(text), "") if is_number(text) else (1, 0.0, text)
