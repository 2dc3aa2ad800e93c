import numpy as np

from preprocess.schema import hierarchy_errors
from synth.galaxy import sample_galaxy
from synth.votes import expected_fractions, simulate_votes


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
