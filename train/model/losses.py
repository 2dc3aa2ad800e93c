"""The training losses: of Kaggle's 37 fractions by `--loss` name, and of any campaign's vote counts."""

import keras
import tensorflow as tf
from keras import ops

from preprocess import schema
from preprocess.schema import SLICES
from preprocess.tree import Campaign
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
    return crossentropy_by_question(y_true, y_pred, SLICES.values())


def crossentropy_by_question(y_true, y_pred, slices):
    """Minus the sum over the columns of y_true x log(the predicted answer / the sum of its question's answers)."""
    total = 0.0
    for columns in slices:
        answers = y_pred[:, columns]
        given = answers / (ops.sum(answers, axis=-1, keepdims=True) + EPSILON)
        total = total - ops.sum(y_true[:, columns] * ops.log(ops.clip(given, EPSILON, 1.0)), axis=-1)
    return total


def dirichlet_multinomial_log_likelihood(counts, concentrations, slices):
    """Per galaxy, the sum over questions of log DirMult(the question's answer counts | its concentrations):

        log n! - sum log c_i! + log Gamma(A) - log Gamma(n + A) + sum [log Gamma(c_i + a_i) - log Gamma(a_i)]

    with n the votes the question received (the sum of its answers' counts) and A the sum of its concentrations.
    A question nobody reached (n = 0) adds exactly 0, so the tree needs no mask: volunteers who never saw a
    question say nothing about it. A galaxy seen by 40 volunteers weighs more than one seen by 5."""
    counts = ops.cast(counts, concentrations.dtype)
    total = 0.0
    for columns in slices:
        c, a = counts[:, columns], concentrations[:, columns]
        n, big_a = ops.sum(c, axis=-1), ops.sum(a, axis=-1)
        total = total + (
            tf.math.lgamma(n + 1.0)
            - ops.sum(tf.math.lgamma(c + 1.0), axis=-1)
            + tf.math.lgamma(big_a)
            - tf.math.lgamma(n + big_a)
            + ops.sum(tf.math.lgamma(c + a) - tf.math.lgamma(a), axis=-1)
        )
    return total


class CampaignLoss(keras.losses.Loss):
    """A loss of a campaign's vote counts (`y_true`: the answers' counts in the campaign's column order)."""

    def __init__(self, campaign: str = "decals", name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.campaign = campaign
        self.slices = list(schema.campaign(campaign).slices.values())

    def get_config(self) -> dict:
        return {**super().get_config(), "campaign": self.campaign}


@keras.saving.register_keras_serializable(package="galaxy_zoo")
class DirichletMultinomial(CampaignLoss):
    """Minus the log-likelihood of a galaxy's vote counts, question by question, under the Dirichlet-multinomial
    whose concentrations the model outputs (Walmsley et al. 2022, section 4.2): the model predicts how volunteers
    split, not only the mean split. For catalogs with counts (GZ2, GZ DECaLS)."""

    def __init__(self, campaign: str = "decals", name: str = "dirichlet_multinomial", **kwargs):
        super().__init__(campaign, name=name, **kwargs)

    def call(self, y_true, y_pred):
        return -dirichlet_multinomial_log_likelihood(y_true, y_pred, self.slices)


@keras.saving.register_keras_serializable(package="galaxy_zoo")
class VoteCrossEntropy(CampaignLoss):
    """The tree's cross-entropy on a campaign's vote counts: minus the sum over answers of votes x log(answer / the
    sum of its question's answers). Each question counts as often as volunteers answered it, so a galaxy seen by
    40 volunteers weighs 8 times one seen by 5: the vote-weighted form of `tree_crossentropy`, the best loss of
    fractions, against which the Dirichlet-multinomial is measured."""

    def __init__(self, campaign: str = "decals", name: str = "vote_crossentropy", **kwargs):
        super().__init__(campaign, name=name, **kwargs)

    def call(self, y_true, y_pred):
        return crossentropy_by_question(ops.cast(y_true, y_pred.dtype), y_pred, self.slices)


LOSS_FUNCTIONS = {"crossentropy": tree_crossentropy, "mse": "mse"}  # of Kaggle's fractions
COUNT_LOSSES = {"crossentropy": VoteCrossEntropy, "dirichlet": DirichletMultinomial}  # of a campaign's vote counts
assert set(LOSS_FUNCTIONS) | set(COUNT_LOSSES) == set(LOSSES), "train.config names what is built here"


def training_loss(name: str, tree: Campaign):
    """The loss `name` for labels of `tree`: Kaggle's fractions, or a campaign's vote counts."""
    if tree.counts and name not in COUNT_LOSSES:
        raise ValueError(f"--loss {name} needs fractions; a {tree.name} cache holds vote counts: use dirichlet")
    if not tree.counts and name not in LOSS_FUNCTIONS:
        raise ValueError(f"--loss {name} needs vote counts; this cache holds Kaggle's fractions")
    return COUNT_LOSSES[name](tree.name) if tree.counts else LOSS_FUNCTIONS[name]
