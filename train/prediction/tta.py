"""Test-time augmentation: which views of a galaxy are averaged (the views are made inside the model,
train.model.layers.TestTimeViews). Plain numbers, so the command line knows them without importing TensorFlow."""

import math

TTA_VIEWS = (1, 2, 4, 8, 16)
DEFAULT_TTA = 16


def tta_views(n: int) -> list[tuple[float, float]]:
    """(angle, flip) of n views: n/2 turns evenly spread over the circle, each as it is and mirrored."""
    if n not in TTA_VIEWS:
        raise ValueError(f"--tta must be one of {TTA_VIEWS}, not {n}")
    turns = max(1, n // 2)
    return [(2 * math.pi * k / turns, flip) for k in range(turns) for flip in ((1.0, -1.0) if n > 1 else (1.0,))]
