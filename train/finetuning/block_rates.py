"""Lower rates deeper in the trunk while finetuning: each block below the head learns at `decay` times the rate of
the block above it (Zoobot 2 uses 0.75; Howard and Ruder's ULMFiT discriminative rates, 1/2.6). The features of
the first blocks (edges, blobs) serve any question; those of the top blocks are the old question's."""

import keras


@keras.saving.register_keras_serializable(package="galaxy_zoo")
class BlockwiseAdam(keras.optimizers.Adam):
    """Adam whose rate for a variable is scaled by its layer's entry in `multipliers` (1 where it has none)."""

    def __init__(self, multipliers: dict[str, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.multipliers = dict(multipliers or {})

    def build(self, variables):
        super().build(variables)
        self.scales = [self.multipliers.get(variable.path.split("/")[0], 1.0) for variable in variables]

    def update_step(self, gradient, variable, learning_rate):
        # TensorFlow hands over its own variable, which has no path: the index finds the Keras one
        scale = self.scales[self._get_variable_index(variable)]
        super().update_step(gradient, variable, learning_rate * scale)

    def get_config(self) -> dict:
        return {**super().get_config(), "multipliers": self.multipliers}


def block_multipliers(model: keras.Model, decay: float) -> dict[str, float]:
    """Each layer's rate multiplier: 1 for the head (the last layer), `decay` for the trunk's layers after its last
    pooling, `decay`**2 for those between the last two poolings, and so on down to the input."""
    multipliers, power = {}, 1
    for layer in reversed(model.layers[:-1]):
        if isinstance(layer, keras.layers.MaxPooling2D):
            power += 1
        multipliers[layer.name] = decay**power
    return multipliers
