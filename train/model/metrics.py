"""The metric that picks a run's best epoch (`rmse`, monitored as `val_rmse`) for any campaign's labels."""

import keras

from preprocess.schema import campaign
from train.model.heads import shares_on_the_tree


@keras.saving.register_keras_serializable(package="galaxy_zoo")
class VoteFractionRMSE(keras.metrics.RootMeanSquaredError):
    """The RMSE of the vote fractions down the tree (Kaggle's form: each answer's share of its question times its
    parent's), from a campaign's vote counts and a model's outputs: fractions from a tree head, or the expected
    fractions of a Dirichlet head's concentrations (`concentrations`)."""

    def __init__(self, campaign: str, concentrations: bool, name: str = "rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.campaign, self.concentrations = campaign, concentrations

    def update_state(self, y_true, y_pred, sample_weight=None):
        tree = campaign(self.campaign)
        observed = shares_on_the_tree(keras.ops.cast(y_true, y_pred.dtype), tree)
        predicted = shares_on_the_tree(y_pred, tree) if self.concentrations else y_pred
        return super().update_state(observed, predicted, sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "campaign": self.campaign, "concentrations": self.concentrations}


def rmse_metric(tree, head: str) -> keras.metrics.Metric:
    """`rmse` of the 37 fractions for Kaggle's labels; of the vote fractions for a campaign's counts."""
    if not tree.counts:
        return keras.metrics.RootMeanSquaredError("rmse")
    return VoteFractionRMSE(tree.name, concentrations=head == "dirichlet")
