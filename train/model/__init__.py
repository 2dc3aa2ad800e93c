"""The model: its layers (augmentation, test-time views, the heads), the named architectures, the losses."""
