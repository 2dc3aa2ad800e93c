"""The metric that picks a run's best epoch (`rmse`, monitored as `val_rmse`) for any campaign's labels."""

import keras

from preprocess.schema import campaign
from preprocess.tree import Campaign
from train.model.heads import shares_on_the_tree


@keras.saving.register_keras_serializable(package="galaxy_zoo")
class VoteFractionRMSE(keras.metrics.RootMeanSquaredError):
    """The RMSE of the vote fractions down the tree (Kaggle's form: each answer's share of its question times its
    parent's), from a campaign's vote counts and a model's outputs, both taken down the tree alike: a Dirichlet
    head's concentrations become their expected fractions, and a tree head's fractions stay as they are."""

    def __init__(self, campaign: str, name: str = "rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.campaign = campaign

    def update_state(self, y_true, y_pred, sample_weight=None):
        tree = campaign(self.campaign)
        observed = shares_on_the_tree(keras.ops.cast(y_true, y_pred.dtype), tree)
        return super().update_state(observed, shares_on_the_tree(y_pred, tree), sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "campaign": self.campaign}


def rmse_metric(tree: Campaign) -> keras.metrics.Metric:
    """`rmse` of the 37 fractions for Kaggle's labels; of the vote fractions for a campaign's counts."""
    return VoteFractionRMSE(tree.name) if tree.counts else keras.metrics.RootMeanSquaredError("rmse")
