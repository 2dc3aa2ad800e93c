"""The tree's cross-entropy: its value on hand-made votes, and its least value at the votes' own answers."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from scipy.stats import dirichlet_multinomial

from preprocess.schema import DECALS, N_COLUMNS, SLICES
from train.cli import main
from train.config import configure
from train.model.heads import TreeHead
from train.model.losses import DirichletMultinomial, tree_crossentropy


def test_each_question_counts_its_answers_given_it_was_reached_weighted_by_the_votes_that_reached_it():
    """Votes on Q1 (0.6, 0.4, 0) and, from the 0.4 of Class1.2, on Q2 (0.1, 0.3); every question predicted evenly:
    Q1 costs log 3, Q2 0.4 log 2 (its answers given Class1.2 are halves, not the sixths of the 37 columns); the
    questions nobody reached cost nothing."""
    votes = np.zeros((1, N_COLUMNS), np.float32)
    votes[0, SLICES[1]] = [0.6, 0.4, 0.0]
    votes[0, SLICES[2]] = [0.1, 0.3]
    even = TreeHead()(np.zeros((1, N_COLUMNS), np.float32))
    loss = keras.ops.convert_to_numpy(tree_crossentropy(votes, even))
    np.testing.assert_allclose(loss, [math.log(3.0) + 0.4 * math.log(2.0)], rtol=1e-5)


def test_the_loss_is_least_where_the_model_gives_the_votes_own_answers():
    """Votes that follow the tree (the tree head's outputs for some logits): at those logits the gradient vanishes,
    and any other logits cost more."""
    rng = np.random.default_rng(0)
    truth = rng.normal(0.0, 2.0, (8, N_COLUMNS)).astype(np.float32)
    votes = TreeHead()(truth)
    logits = tf.Variable(truth)
    with tf.GradientTape() as tape:
        least = tf.reduce_sum(tree_crossentropy(votes, TreeHead()(logits)))
    np.testing.assert_allclose(tape.gradient(least, logits), 0.0, atol=1e-5)
    for _ in range(5):
        other = truth + rng.normal(0.0, 0.5, truth.shape).astype(np.float32)
        assert float(tf.reduce_sum(tree_crossentropy(votes, TreeHead()(other)))) > float(least)


def test_the_cross_entropy_needs_the_tree_head():
    with pytest.raises(ValueError, match="--loss crossentropy needs the tree head"):
        configure("default", head="sigmoid")
    assert configure("default", head="sigmoid", loss="mse").loss == "mse"


def test_the_divisive_head_trains_on_the_squared_error():
    """The cross-entropy cannot revive an answer that the divisive head's clamp holds at zero for every galaxy."""
    assert configure("default", head="divisive").loss == "mse"
    with pytest.raises(ValueError, match="cannot train the divisive head"):
        configure("default", head="divisive", loss="crossentropy")


def test_fit_refuses_the_cross_entropy_with_the_sigmoid_head(small_cache, tmp_path):
    args = ["fit", "--cache", str(small_cache), "--run", str(tmp_path / "run"), "--head", "sigmoid"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--loss" in result.output and "use --loss mse" in result.output
    assert not (tmp_path / "run").exists()


def test_the_dirichlet_multinomial_loss_is_minus_the_votes_log_likelihood():
    """Hand-made counts of two galaxies on the GZ DECaLS tree against scipy's Dirichlet-multinomial, question by
    question; a question nobody reached (the second galaxy's spiral arms) adds nothing."""
    rng = np.random.default_rng(1)
    counts = np.zeros((2, len(DECALS.columns)), np.float32)
    slices = DECALS.slices
    counts[0, slices["smooth-or-featured"]] = [3, 1, 0]
    counts[0, slices["how-rounded"]] = [2, 1, 0]
    counts[0, slices["merging"]] = [4, 0, 0, 0]
    counts[1, slices["smooth-or-featured"]] = [5, 30, 5]
    counts[1, slices["disk-edge-on"]] = [10, 20]
    counts[1, slices["bar"]] = [2, 3, 15]
    concentrations = rng.uniform(0.5, 20.0, counts.shape).astype(np.float32)
    expected = [
        sum(
            dirichlet_multinomial.logpmf(c[s], concentrations[g, s], c[s].sum())
            for s in slices.values()
            if (c := counts[g])[s].sum() > 0
        )
        for g in range(2)
    ]
    loss = DirichletMultinomial("decals")
    per_galaxy = keras.ops.convert_to_numpy(loss.call(counts, keras.ops.convert_to_tensor(concentrations)))
    np.testing.assert_allclose(per_galaxy, -np.array(expected), rtol=1e-5)
    unreached = concentrations.copy()
    unreached[1, slices["has-spiral-arms"]] = [1000.0, 0.01]
    again = keras.ops.convert_to_numpy(loss.call(counts, keras.ops.convert_to_tensor(unreached)))
    np.testing.assert_allclose(again, per_galaxy, rtol=1e-6)


def test_the_dirichlet_multinomial_loss_survives_saving():
    loss = keras.losses.deserialize(keras.losses.serialize(DirichletMultinomial("gz2")))
    assert loss.campaign == "gz2" and len(loss.slices) == 11
