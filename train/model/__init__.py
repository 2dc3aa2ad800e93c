"""The model: its layers (augmentation, test-time views), its heads, the named architectures, the losses.

Importing the package registers every custom layer and loss, so `keras.models.load_model` finds them.
"""

from train.model import heads, layers, losses, metrics  # noqa: F401
