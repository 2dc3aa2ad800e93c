from dataclasses import replace

import numpy as np
import pytest

from preprocess.schema import COLUMNS, hierarchy_errors
from synth.galaxy import FAINT_ODD, FEATURE_STRENGTH, sample_galaxy, seen_share, true_answers, without
from synth.votes import expected_fractions, simulate_votes
from tests.helpers import featured


def test_expected_fractions_obey_the_tree():
    rng = np.random.default_rng(0)
    expected = np.array([expected_fractions(sample_galaxy(rng)) for _ in range(200)])
    assert hierarchy_errors(expected).max() < 1e-12
    assert expected.min() > 0 and expected.max() < 1


def test_expected_fractions_are_the_mean_of_the_votes():
    """Many crowds voting on the same galaxy average to its expected fractions (4000 seeded crowds)."""
    rng = np.random.default_rng(1)
    for _ in range(3):
        galaxy = sample_galaxy(rng)
        votes = np.mean([simulate_votes(galaxy, rng) for _ in range(4000)], axis=0)
        assert np.abs(votes - expected_fractions(galaxy)).max() < 0.015


FEATURES = ["arms", "bar", *FAINT_ODD]
ANSWER = {"arms": "Class4.1", "bar": "Class3.1"}  # the column of the feature's answer; Class6.1 for odd ones


@pytest.mark.parametrize("feature", FEATURES)
def test_each_feature_s_vote_share_falls_with_its_contrast(feature):
    """A feature the image hardly shows must not be labelled as plainly as a bright one."""
    column = COLUMNS.index(ANSWER.get(feature, "Class6.1"))
    shares = [expected_fractions(featured(feature, strength))[column] for strength in (10.0, 3.0, 1.0, 0.5, 0.3)]
    assert all(later < earlier for earlier, later in zip(shares, shares[1:])), shares
    assert shares[0] - shares[-1] > 0.5, shares


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_below_the_threshold_moves_neither_the_votes_nor_the_floor_beyond_the_rule_s_share(feature):
    """Drawn at the weakest strength, a feature moves each expected vote fraction (the floor's prediction, and the
    votes' mean) by at most twice the share of volunteers who see it: once per question about it on the path."""
    threshold = FEATURE_STRENGTH[0]
    faint = featured(feature, threshold)
    part = {"arms": "arms", "bar": "bar"}.get(feature, "odd")
    plain = replace(without(faint, part), truth=true_answers(without(faint, part)))
    moved = np.abs(expected_fractions(faint) - expected_fractions(plain)).max()
    assert 0 < moved <= 2 * seen_share(threshold) < 0.06
