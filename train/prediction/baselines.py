"""Reference predictions that need no model: all zeros, the training column means, Kaggle's central pixel.

Each is in the cache's campaign's columns, as vote fractions: Kaggle's labels as they are, a campaign's vote counts
as their fractions down its tree (split_fractions).
"""

import numpy as np

from preprocess.cache import Cache
from preprocess.schema import campaign
from train.scores import column_means

COLOUR_LEVELS = 8


def central_colours(cache: Cache, split: str) -> np.ndarray:
    """Mean colour (n, 3) of each galaxy's central 4x4 pixels, in the split's order."""
    centre = slice(cache.settings.size // 2 - 2, cache.settings.size // 2 + 2)
    blocks = cache.blocks(split, ("images",))
    return np.concatenate([b["images"][:, centre, centre, :].mean(axis=(1, 2)) for b in blocks])


class CentralPixel:
    """Kaggle's 'central pixel' benchmark: the mean labels of training galaxies of the same centre colour."""

    def __init__(self, colours: np.ndarray, labels: np.ndarray, min_count: int = 5):
        self.means = column_means(labels, 1)[0]
        bins = self._bins(colours)
        sums = np.zeros((COLOUR_LEVELS**3, labels.shape[1]))
        np.add.at(sums, bins, labels)
        counts = np.bincount(bins, minlength=COLOUR_LEVELS**3)[:, None]
        self.table = np.where(counts >= min_count, sums / np.maximum(counts, 1), self.means)

    @staticmethod
    def _bins(colours: np.ndarray) -> np.ndarray:
        levels = np.clip((colours / 256.0 * COLOUR_LEVELS).astype(int), 0, COLOUR_LEVELS - 1)
        return (levels[:, 0] * COLOUR_LEVELS + levels[:, 1]) * COLOUR_LEVELS + levels[:, 2]

    def predict(self, colours: np.ndarray) -> np.ndarray:
        return self.table[self._bins(colours)]


def split_fractions(cache: Cache, split: str) -> np.ndarray:
    """A split's labels as vote fractions (n, columns), in the split's order: Kaggle's as they are, a campaign's
    counts as the fractions down its tree."""
    return campaign(cache.settings.campaign).fractions(cache.read(split, ("labels",))["labels"])


def zeros_baseline(cache: Cache, split: str) -> np.ndarray:
    return np.zeros((cache.count(split), len(campaign(cache.settings.campaign).columns)))


def means_baseline(cache: Cache, split: str) -> np.ndarray:
    return column_means(split_fractions(cache, "train"), cache.count(split))


def central_pixel_baseline(cache: Cache, split: str) -> np.ndarray:
    table = CentralPixel(central_colours(cache, "train"), split_fractions(cache, "train"))
    return table.predict(central_colours(cache, split))


# name -> predictions for every galaxy of a split, in the split's order, fitted on the train split
BASELINES = {"zeros": zeros_baseline, "means": means_baseline, "central-pixel": central_pixel_baseline}
