"""A Galaxy Zoo campaign's decision tree as data: its questions, their answers' columns, which answer leads where.

`preprocess.schema` holds the campaigns themselves (Kaggle's 37 columns the default); every stage takes column
names, slices and parents from a `Campaign` instead of spelling a tree of its own.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Question:
    """One question: `key` names it in reports (Kaggle's 1..11, a campaign's own name elsewhere), `columns` are its
    answers' columns in the campaign's catalog, `parent` the answer column that leads to it (None: always asked)
    and `total` the column counting the votes it received (None: the sum of its answers, or no counts at all)."""

    key: int | str
    columns: tuple[str, ...]
    answers: tuple[str, ...]
    parent: str | None = None
    total: str | None = None

    @property
    def label(self) -> str:
        return f"Q{self.key}" if isinstance(self.key, int) else self.key


@dataclass(frozen=True)
class Campaign:
    """A campaign: its name, the column naming its galaxies, its questions in column order, and whether its
    catalogs carry vote counts (GZ2, GZ DECaLS) or only the fractions (Kaggle's 2014 challenge)."""

    name: str
    id_column: str
    questions: tuple[Question, ...]
    counts: bool

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for question in self.questions:
            if question.parent is not None and question.parent not in seen:
                raise ValueError(f"{self.name}: {question.label}'s parent {question.parent} is not an earlier answer")
            if len(question.columns) != len(question.answers):
                raise ValueError(f"{self.name}: {question.label} has {len(question.columns)} columns for answers")
            seen.update(question.columns)

    @cached_property
    def columns(self) -> list[str]:
        return [column for question in self.questions for column in question.columns]

    @cached_property
    def header(self) -> list[str]:
        return [self.id_column, *self.columns]

    @cached_property
    def slices(self) -> dict[int | str, slice]:
        slices, start = {}, 0
        for question in self.questions:
            slices[question.key] = slice(start, start + len(question.columns))
            start += len(question.columns)
        return slices

    @cached_property
    def parent_index(self) -> dict[int | str, int | None]:
        """Question -> the index of its parent answer's column, or None for a question always asked."""
        return {q.key: None if q.parent is None else self.columns.index(q.parent) for q in self.questions}

    def question(self, key: int | str) -> Question:
        return next(question for question in self.questions if question.key == key)

    def row_hierarchy_errors(self, labels: np.ndarray) -> np.ndarray:
        """(n, questions): for each row of fractions and each question, |sum of its answers - its parent's value|."""
        labels = np.asarray(labels, dtype=np.float64).reshape(-1, len(self.columns))
        errors = np.zeros((len(labels), len(self.questions)))
        for i, (key, columns) in enumerate(self.slices.items()):
            parent = self.parent_index[key]
            expected = 1.0 if parent is None else labels[:, parent]
            errors[:, i] = np.abs(labels[:, columns].sum(axis=1) - expected)
        return errors

    def hierarchy_errors(self, labels: np.ndarray) -> np.ndarray:
        """Per question, the largest |sum of its answers - its parent's value| over all rows."""
        errors = self.row_hierarchy_errors(labels)
        return errors.max(axis=0) if len(errors) else np.zeros(len(self.questions))

    def count_errors(self, counts: np.ndarray, totals: np.ndarray) -> list[str]:
        """What breaks the tree in one galaxy's vote counts (its answers' counts and each question's total): a
        count that is negative or not whole, answers adding up to more votes than their question received, a
        question answered although nobody gave the answer that leads to it. Empty when the row is sound.

        Answers may add up to fewer votes than the total: GZ DECaLS counts votes for answers a campaign later
        dropped (Walmsley et al. 2022, section 3), and only the answers kept here enter the likelihood."""
        broken = []
        columns = self.columns
        named = [*zip(columns, counts), *((q.total, t) for q, t in zip(self.questions, totals) if q.total)]
        for column, value in named:
            if not (value >= 0 and float(value).is_integer()):
                broken.append(f"{column} = {value:g} is not a count")
        for question, total in zip(self.questions, totals):
            answered = counts[self.slices[question.key]].sum()
            if answered > total:
                broken.append(f"{question.label}'s answers have {answered:g} votes, its total {total:g}")
            parent = self.parent_index[question.key]
            if answered > 0 and parent is not None and counts[parent] == 0:
                broken.append(f"{question.label} has {answered:g} votes, but nobody answered {columns[parent]}")
        return broken

    def question_shares(self, values: np.ndarray) -> np.ndarray:
        """Each question's values as shares of their sum (0 where they sum to 0): vote counts as a GZ DECaLS
        catalog's `_fraction` columns (an answer's votes over its question's), a Dirichlet's concentrations as its
        expected shares."""
        values = np.asarray(values, np.float64).reshape(-1, len(self.columns))
        shares = np.zeros_like(values)
        for columns in self.slices.values():
            total = values[:, columns].sum(axis=1, keepdims=True)
            np.divide(values[:, columns], total, out=shares[:, columns], where=total > 0)
        return shares

    def tree_fractions(self, values: np.ndarray) -> np.ndarray:
        """Each question's shares (question_shares) times the fraction of the answer leading to the question: the
        fractions Kaggle gives (answers' votes over all volunteers, where the tree is kept exactly), from vote
        counts, a Dirichlet's concentrations, or a catalog's shares alike."""
        fractions = self.question_shares(values)
        for key, columns in self.slices.items():
            parent = self.parent_index[key]
            if parent is not None:
                fractions[:, columns] *= fractions[:, parent : parent + 1]
        return fractions

    def fractions(self, values: np.ndarray) -> np.ndarray:
        """The campaign's labels or model outputs in Kaggle's form: a counts campaign's down the tree
        (tree_fractions), a fractions campaign's (Kaggle's) as they are."""
        return self.tree_fractions(values) if self.counts else values

    def answered(self, counts: np.ndarray) -> np.ndarray:
        """(n, questions): the votes each question received, as the sum of its answers' counts."""
        return np.stack([np.asarray(counts)[:, columns].sum(axis=1) for columns in self.slices.values()], axis=1)

    def volunteers(self, counts: np.ndarray) -> np.ndarray:
        """(n,): the volunteers who saw each galaxy, the votes of its first question (asked of everyone)."""
        first = next(iter(self.slices.values()))
        return np.asarray(counts)[:, first].sum(axis=1)

    def per_answer(self, per_question: np.ndarray) -> np.ndarray:
        """(n, questions) -> (n, columns): each question's value repeated for each of its answers."""
        widths = [columns.stop - columns.start for columns in self.slices.values()]
        return np.repeat(np.asarray(per_question), widths, axis=1)
