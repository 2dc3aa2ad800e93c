"""The training losses of the 37 columns, by `--loss` name."""

import keras
from keras import ops

from preprocess.schema import SLICES
from train.config import LOSSES

EPSILON = 1e-7  # keeps the logarithm finite where an answer's share rounds to zero


@keras.saving.register_keras_serializable(package="galaxy_zoo")
def tree_crossentropy(y_true, y_pred):
    """Question by question, the cross-entropy between the votes' answers and the model's, given that the question
    was reached, weighted by the share of the votes that reached it: minus the sum over the 37 columns of
    votes x log(answer / the sum of the answers to its question).

    For a galaxy, its expectation is least where each answer given its question is E[votes for it] / E[votes
    reaching the question], which down the tree makes every column E[votes]: the target of the squared error,
    the competition's metric. The squared error's gradient for a question shrinks with the square of the share
    that reaches it, so the deep, rarely reached questions (the number of arms, Q11; their winding, Q10) learned
    slowest; this one's shrinks with the share alone. With the tree head, answer / sum is that question's softmax.
    At 20 minutes on the quality set it closed 2 more points of the gap than the squared error, Q11 most
    (docs/experiments.md).
    """
    total = 0.0
    for columns in SLICES.values():
        answers = y_pred[:, columns]
        given = answers / (ops.sum(answers, axis=-1, keepdims=True) + EPSILON)
        total = total - ops.sum(y_true[:, columns] * ops.log(ops.clip(given, EPSILON, 1.0)), axis=-1)
    return total


LOSS_FUNCTIONS = {"crossentropy": tree_crossentropy, "mse": "mse"}
assert set(LOSS_FUNCTIONS) == set(LOSSES), "train.config names what is built here"
