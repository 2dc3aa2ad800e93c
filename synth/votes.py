"""Crowd votes: ~40 simulated volunteers walk the decision tree, and the fractions they give on average.

A volunteer answers each question from the truth when the galaxy shows clearly and from a vague
prior when it does not, and misses a faint arm, bar or odd feature as often as its strength says;
a Dirichlet draw per galaxy makes volunteers disagree more than a multinomial would, as real
crowds do. The counts obey the tree exactly.
"""

import numpy as np

from preprocess.schema import N_COLUMNS, PARENT_INDEX, QUESTIONS, SLICES
from synth.galaxy import Galaxy, feature_seen, true_answers, without

# What volunteers answer when they cannot see the feature (one row per question).
UNSURE = {
    1: [0.62, 0.3, 0.08],
    2: [0.2, 0.8],
    3: [0.15, 0.85],
    4: [0.45, 0.55],
    5: [0.2, 0.55, 0.2, 0.05],
    6: [0.15, 0.85],
    7: [0.3, 0.5, 0.2],
    8: [0.1, 0.05, 0.15, 0.15, 0.3, 0.15, 0.1],
    9: [0.45, 0.15, 0.4],
    10: [0.3, 0.45, 0.25],
    11: [0.1, 0.3, 0.1, 0.05, 0.05, 0.4],
}
ORDINAL = {5, 7, 10}  # answers in order: confusion spills onto the neighbours
# How much visibility a question needs: seen ** sharpness, so fine details (arms, bars) need more.
SHARPNESS = {1: 0.5, 2: 0.7, 3: 1.3, 4: 1.0, 5: 0.8, 6: 0.8, 7: 0.3, 8: 1.0, 9: 1.0, 10: 1.5, 11: 1.5}
CONCENTRATION = 25.0  # of the per-galaxy Dirichlet: lower means more disagreement between crowds
# The questions about each faint feature (synth.galaxy.feature_seen): a volunteer who misses the feature answers
# them as for the galaxy without it. Each moves by at most the share who miss it; a column below two of them (the
# arms' number, the odd feature's kind) by at most twice that.
ABOUT = {3: "bar", 4: "arms", 10: "arms", 11: "arms", 6: "odd", 8: "odd"}
STAR_VISIBILITY = 0.97  # stars and artifacts are obvious whatever their size


def answer_probabilities(q: int, truth: int, seen: float) -> np.ndarray:
    n = QUESTIONS[q][0]
    sure = np.zeros(n)
    sure[truth] = 1.0
    if q in ORDINAL:
        for neighbour in (truth - 1, truth + 1):
            if 0 <= neighbour < n:
                sure[neighbour] = 0.15
        sure /= sure.sum()
    return seen * sure + (1.0 - seen) * np.asarray(UNSURE[q])


def dirichlet_alpha(g: Galaxy, q: int) -> np.ndarray:
    seen = (STAR_VISIBILITY if g.kind == "star" else g.visibility) ** SHARPNESS[q]
    p = answer_probabilities(q, g.truth[q], seen)
    shown = feature_seen(g, ABOUT[q]) if q in ABOUT else 1.0
    if shown < 1.0:
        missed = true_answers(without(g, ABOUT[q]))[q]
        p = shown * p + (1.0 - shown) * answer_probabilities(q, missed, seen)
    return p * CONCENTRATION + 1e-3


def simulate_votes(g: Galaxy, rng: np.random.Generator) -> np.ndarray:
    """Vote fractions (37,) of 30-55 volunteers; each question's counts sum to its parent's."""
    n_volunteers = int(rng.integers(30, 56))
    counts = np.zeros(N_COLUMNS, dtype=np.int64)
    for q in QUESTIONS:
        parent = PARENT_INDEX[q]
        asked = n_volunteers if parent is None else counts[parent]
        p = rng.dirichlet(dirichlet_alpha(g, q))
        counts[SLICES[q]] = rng.multinomial(asked, p / p.sum())
    return counts / n_volunteers


def expected_fractions(g: Galaxy) -> np.ndarray:
    """The mean of `simulate_votes` over its randomness: the best prediction any model can make.

    Each question's answer probabilities are a Dirichlet draw (mean alpha / sum(alpha)) independent of
    the draws above it, and its volunteers are those who gave the parent answer, so the expected
    fraction is the Dirichlet mean times the parent's expected fraction.
    """
    expected = np.zeros(N_COLUMNS)
    for q in QUESTIONS:
        alpha = dirichlet_alpha(g, q)
        parent = PARENT_INDEX[q]
        expected[SLICES[q]] = alpha / alpha.sum() * (1.0 if parent is None else expected[parent])
    return expected
