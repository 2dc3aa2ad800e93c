"""Training on a campaign's vote counts: the losses and metric by hand, and the intervals of the votes."""

import math

import keras
import numpy as np

from preprocess.schema import DECALS
from train.intervals.votes import count_intervals
from train.model.heads import DirichletHead, shares_on_the_tree
from train.model.losses import VoteCrossEntropy
from train.model.metrics import VoteFractionRMSE


def test_the_vote_weighted_crossentropy_counts_each_vote():
    """3 smooth and 1 featured vote against a prediction of 0.5 / 0.25 / 0.25: 3 log 2 + log 4; 2 votes for "round"
    of an even split: 2 log 3; the questions nobody answered cost nothing."""
    counts = np.zeros((1, len(DECALS.columns)), np.float32)
    counts[0, DECALS.slices["smooth-or-featured"]] = [3, 1, 0]
    counts[0, DECALS.slices["how-rounded"]] = [2, 0, 0]
    predicted = np.full((1, len(DECALS.columns)), 0.1, np.float32)
    predicted[0, DECALS.slices["smooth-or-featured"]] = [0.5, 0.25, 0.25]
    loss = VoteCrossEntropy("decals").call(counts, keras.ops.convert_to_tensor(predicted))
    expected = 3 * math.log(2) + math.log(4) + 2 * math.log(3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), [expected], rtol=1e-5)


def test_the_metric_is_the_rmse_of_the_fractions_down_the_tree():
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 6, (5, len(DECALS.columns))).astype(np.float32)
    concentrations = rng.uniform(1, 50, counts.shape).astype(np.float32)
    metric = VoteFractionRMSE("decals")
    metric.update_state(counts, keras.ops.convert_to_tensor(concentrations))
    expected = np.sqrt(np.mean((DECALS.tree_fractions(counts) - DECALS.tree_fractions(concentrations)) ** 2))
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    on_the_tree = keras.ops.convert_to_numpy(shares_on_the_tree(keras.ops.convert_to_tensor(counts), DECALS))
    np.testing.assert_allclose(on_the_tree, DECALS.tree_fractions(counts), rtol=1e-5, atol=1e-7)


def test_intervals_of_the_votes_hold_their_level_when_the_concentrations_are_true():
    """Votes drawn from known Dirichlet-multinomials (5 to 40 volunteers, seeded): their 90% intervals hold
    88-92% of the reached cells; 50% intervals far fewer (more than half: a question reached by one volunteer has
    no interval of 50%)."""
    rng = np.random.default_rng(3)
    n = 3000
    concentrations = rng.uniform(1.0, 30.0, (n, len(DECALS.columns)))
    counts = np.zeros_like(concentrations)
    volunteers = rng.integers(5, 41, n)
    for key, columns in DECALS.slices.items():
        parent = DECALS.parent_index[key]
        asked = volunteers if parent is None else counts[:, parent].astype(int)
        shares = np.stack([rng.dirichlet(a) for a in concentrations[:, columns]])
        counts[:, columns] = np.stack([rng.multinomial(k, p) for k, p in zip(asked, shares)])
    answered = DECALS.answered(counts)
    reached = DECALS.per_answer(answered) > 0
    held = {}
    for level in (0.9, 0.5):
        low, high = count_intervals(concentrations, answered, DECALS, level)
        held[level] = ((counts >= low) & (counts <= high))[reached].mean()
    assert 0.88 <= held[0.9] <= 0.92 and held[0.5] < 0.7, held


def test_the_dirichlet_head_keeps_its_floor_and_models_saved_before_keep_zoobot_s():
    head = DirichletHead(0.01)
    assert DirichletHead.from_config(head.get_config()).floor == 0.01
    before = {k: v for k, v in head.get_config().items() if k != "floor"}  # saved before the floor was a setting
    assert DirichletHead.from_config(before).floor == 1.0
    lowest = keras.ops.convert_to_numpy(head(keras.ops.full((1, 3), -30.0)))
    assert 0.01 <= lowest.min() < 0.011  # an answer's share can go far below 1 / (its question's sum)
