"""Intervals of the vote fractions that N volunteers would give, from a Dirichlet head's concentrations.

Under the Dirichlet-multinomial that the head predicts for a question reached by n volunteers, the votes for one
answer follow a beta-binomial (n, a, A - a), with a the answer's concentration and A the question's sum. Its
values 0..n are discrete, so no interval holds exactly 90% of them: the interval here is the most probable
counts, added in order of probability while that brings the mass nearer the level, from the lowest count taken to
the highest (a beta-binomial is unimodal, or J-shaped where a < 1 <= b; where both are below 1 it is U-shaped and
the interval spans 0..n). Over many galaxies such intervals
hold the level on average when the model is calibrated, where intervals holding at least the level would over-
cover at 5 votes.
"""

import numpy as np
from scipy.stats import betabinom

from preprocess.tree import Campaign


def count_intervals(
    concentrations: np.ndarray, volunteers: np.ndarray, tree: Campaign, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) vote counts of every cell (n, columns) for the number of volunteers who reached each question
    (n, questions): the interval of the counts whose probability is nearest `level`. A question nobody reached
    gets (0, 0)."""
    a = np.asarray(concentrations, np.float64)
    others = tree.per_answer(tree.answered(a)) - a
    return nearest_level_interval(tree.per_answer(volunteers).astype(np.int64), a, others, level)


def nearest_level_interval(n: np.ndarray, a: np.ndarray, b: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise over arrays of one shape: the counts of BetaBinomial(n, a, b) taken from the most probable down
    while that brings their total probability nearer `level`, as (lowest, highest) count."""
    top = int(n.max(initial=0))
    k = np.arange(top + 1).reshape((1,) * n.ndim + (-1,))
    pmf = np.where(k <= n[..., None], betabinom.pmf(k, n[..., None], a[..., None], b[..., None]), 0.0)
    order = np.argsort(-pmf, axis=-1, kind="stable")
    mass = np.cumsum(np.take_along_axis(pmf, order, axis=-1), axis=-1)
    before = np.concatenate([np.zeros(mass.shape[:-1] + (1,)), mass[..., :-1]], axis=-1)
    taken = (np.arange(mass.shape[-1]) == 0) | (np.abs(mass - level) < np.abs(before - level))
    taken &= np.cumprod(taken, axis=-1).astype(bool)  # stop at the first count that would move the mass away
    chosen = np.where(taken, order, -1)
    high = chosen.max(axis=-1)
    low = np.where(taken, order, top + 1).min(axis=-1)
    return low, high


def coverage(concentrations: np.ndarray, counts: np.ndarray, tree: Campaign, level: float) -> dict:
    """Share of the reached cells whose votes fall in their interval at `level` (the number of volunteers each
    question really had): overall, and in each third of the galaxies ranked by their number of volunteers."""
    answered = tree.answered(counts)
    low, high = count_intervals(concentrations, answered, tree, level)
    hit, asked = (counts >= low) & (counts <= high), tree.per_answer(answered) > 0
    volunteers = tree.volunteers(counts)
    thirds = np.array_split(np.argsort(volunteers, kind="stable"), 3)
    by_third = {
        f"{int(volunteers[rows].min())}-{int(volunteers[rows].max())} volunteers": float(hit[rows][asked[rows]].mean())
        for rows in thirds
    }
    return {"level": level, "all": float(hit[asked].mean()), "thirds": by_third}
