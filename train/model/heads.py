"""The models' heads: logits -> vote fractions on a campaign's decision tree, or a Dirichlet's concentrations.

Registered for saving in `.keras` files; built from `keras.ops`.
"""

import keras
from keras import layers, ops

from preprocess.schema import KAGGLE, campaign
from preprocess.tree import Campaign

register = keras.saving.register_keras_serializable(package="galaxy_zoo")


def on_the_tree(answers_per_question, tree: Campaign = KAGGLE) -> keras.KerasTensor:
    """Each question's answers (summing to 1), times the value of the answer that leads to the question.

    Questions come in file order and a parent always belongs to an earlier question, so one pass suffices.
    """
    columns = [None] * len(tree.columns)
    for q, answers in answers_per_question:
        parent = tree.parent_index[q]
        if parent is not None:
            answers = answers * columns[parent]
        for j in range(tree.slices[q].stop - tree.slices[q].start):
            columns[tree.slices[q].start + j] = answers[:, j : j + 1]
    return ops.concatenate(columns, axis=-1)


def shares_on_the_tree(values, tree: Campaign = KAGGLE) -> keras.KerasTensor:
    """Each question's values divided by their sum (0 where they sum to 0), on the tree: a campaign's vote counts
    as the fractions Kaggle would give, or a Dirichlet head's concentrations as its expected fractions."""
    shares = []
    for q, sl in tree.slices.items():
        total = ops.sum(values[:, sl], axis=-1, keepdims=True)
        shares.append((q, ops.where(total > 0, values[:, sl] / ops.maximum(total, 1e-12), 0.0)))
    return on_the_tree(shares, tree)


@register
class TreeHead(layers.Layer):
    """Logits -> vote fractions that obey the campaign's decision tree exactly (Kaggle's 37 by default): a softmax
    per question, times its parent."""

    def __init__(self, campaign: str = KAGGLE.name, **kwargs):
        super().__init__(**kwargs)
        self.campaign = campaign

    def call(self, logits):
        tree = campaign(self.campaign)
        return on_the_tree(((q, ops.softmax(logits[:, sl], axis=-1)) for q, sl in tree.slices.items()), tree)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        return config if self.campaign == KAGGLE.name else {**config, "campaign": self.campaign}


@register
class DirichletHead(layers.Layer):
    """Logits -> the concentrations of a Dirichlet-multinomial per question, in [floor, floor + 100] (Zoobot's
    1 + 100 sigmoid; train.config.CONCENTRATION_FLOOR): the likelihood of the votes
    (train.model.losses.DirichletMultinomial) trains them, and their share of the question's sum is the expected
    vote fraction. Models saved before the floor was a setting load with Zoobot's 1."""

    def __init__(self, floor: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.floor = floor

    def call(self, logits):
        return self.floor + 100.0 * ops.sigmoid(logits)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}


@register
class DivisiveHead(layers.Layer):
    """The Kaggle winner's output layer (benanne/kaggle-galaxies, `custom.py`, DivisiveGalaxyOutputLayer):
    each answer clamped at zero and divided by its question's sum, times its parent.

    Unlike a softmax it reaches hard 0s and 1s, which matter for RMSE. One change to his layer: he divided
    by sum + 1e-12, so a question whose answers all clamp to zero predicted zeros, off the tree; here every
    answer gets `floor` added first, so such a question predicts a uniform split and every prediction obeys
    the tree. A clamp passes no gradient below zero, so an answer whose logit is negative for every galaxy
    is dead; his remedies are here too: the first training images go through the clipped logits instead
    (`warming`, train.fitting.callbacks.WarmUp) and the logits start at a bias of 0.1
    (train.model.models.divisive_head).
    """

    def __init__(self, floor: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.floor = floor

    def build(self, input_shape):
        # 1 while warming up (train.fitting.callbacks.WarmUp): the outputs are the logits clipped to [0, 1], his first
        # chunk of training "with MSE on clip(z, 0, 1)", before the normalisation
        self.warming = self.add_weight(shape=(), initializer="zeros", trainable=False, name="warming")

    def call(self, logits):
        clamped = ops.relu(logits) + self.floor
        divided = on_the_tree(
            (q, clamped[:, sl] / ops.sum(clamped[:, sl], axis=-1, keepdims=True)) for q, sl in KAGGLE.slices.items()
        )
        return ops.where(self.warming > 0.5, ops.clip(logits, 0.0, 1.0), divided)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}
