from dataclasses import replace

import numpy as np

from preprocess.schema import COLUMNS, hierarchy_errors
from synth.galaxy import sample_galaxy, true_answers
from synth.votes import expected_fractions, simulate_votes
from tests.helpers import ringed, smooth_galaxy


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


def test_fewer_volunteers_call_a_faint_ring_a_ring():
    """A ring the image hardly shows must not be labelled as plainly as a bright one (Class8.1: the ring answer)."""
    body = smooth_galaxy(visibility=1.0)
    body = replace(body, truth=true_answers(ringed(body, 1.0)))
    shares = [expected_fractions(ringed(body, strength))[COLUMNS.index("Class8.1")] for strength in (0.5, 1.0, 8.0)]
    assert shares[0] < 0.5 * shares[1] and shares[1] < 0.7 * shares[2]
