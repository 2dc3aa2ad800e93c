"""The synthetic GZ DECaLS-like campaign: counts down the tree, crowds of varied size, the floor as their mean."""

import csv

import numpy as np
from click.testing import CliRunner

from preprocess.catalog import read_catalog
from preprocess.schema import DECALS
from synth.campaign import (
    CATALOG,
    TEST_CATALOG,
    TEST_EXPECTED,
    TEST_LIST,
    VOLUNTEERS,
    expected_fractions,
    image_path,
    simulate_counts,
)
from synth.cli import main
from synth.galaxy import sample_galaxy


def test_counts_go_down_the_tree_from_crowds_of_every_size():
    """Each question's answers add up to the votes for the answer leading to it (to the crowd at the roots), the
    catalog check finds nothing, and the crowds span VOLUNTEERS."""
    rng = np.random.default_rng(0)
    for volunteers in (VOLUNTEERS[0], 17, VOLUNTEERS[1]):
        for _ in range(20):
            counts = simulate_counts(sample_galaxy(rng), volunteers, rng)
            answered = DECALS.answered(counts[None])[0]
            for q, question in enumerate(DECALS.questions):
                parent = DECALS.parent_index[question.key]
                assert answered[q] == (volunteers if parent is None else counts[parent])
            assert DECALS.count_errors(counts, answered) == []


def test_the_floor_is_the_mean_of_the_votes():
    """One galaxy voted on 3,000 times by 40 volunteers: the mean vote fractions down the tree are its expected
    fractions, column by column, within sampling noise."""
    rng = np.random.default_rng(1)
    g = next(g for g in (sample_galaxy(rng) for _ in range(200)) if g.kind == "disk" and g.arms)
    counts = np.stack([simulate_counts(g, 40, rng) for _ in range(3000)])
    mean = DECALS.tree_fractions(counts).mean(axis=0)
    np.testing.assert_allclose(mean, expected_fractions(g), atol=0.01)
    assert expected_fractions(g)[DECALS.columns.index("has-spiral-arms_yes")] > 0.1


def test_the_command_writes_a_campaign_that_preprocess_reads(tmp_path):
    result = CliRunner().invoke(main, ["--out", str(tmp_path), "--train", "12", "--test", "4", "--campaign", "decals"])
    assert result.exit_code == 0, result.output
    catalog = read_catalog(tmp_path / CATALOG, DECALS, tmp_path)
    assert len(catalog.names) == 12 and not catalog.off_tree and not catalog.missing
    assert catalog.images[0] == image_path(tmp_path, catalog.names[0])
    with open(tmp_path / TEST_EXPECTED, newline="") as f:
        expected = list(csv.DictReader(f))
    test = read_catalog(tmp_path / TEST_CATALOG, DECALS, tmp_path)
    assert [row["iauname"] for row in expected] == test.names
    shares = np.array([[float(row[f"{c}_fraction"]) for c in DECALS.columns] for row in expected])
    for columns in DECALS.slices.values():  # each answer's share of its question, as GZ DECaLS writes fractions
        np.testing.assert_allclose(shares[:, columns].sum(axis=1), 1.0, atol=1e-6)
    listed = (tmp_path / TEST_LIST).read_text().split()
    assert [tmp_path / path for path in listed] == [image_path(tmp_path, name) for name in test.names]
