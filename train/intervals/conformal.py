"""Calibrated intervals for predicted vote fractions: split conformal prediction, normalised by a per-galaxy,
per-column difficulty and calibrated in bins of it (Mondrian conformal), so that coverage holds per bin.

A cell's score is |vote fraction - prediction| / max(difficulty, FLOOR). Over the n calibration cells of a bin,
the interval for coverage 1 - a is the prediction +- the ceil((n + 1)(1 - a))-th smallest score times the cell's
difficulty: it holds the vote fraction of a new galaxy like the calibration galaxies with probability at least
1 - a (Vovk et al. 2005; Lei et al. 2018, "Distribution-free predictive inference for regression").

A question's vote fractions mean something only where volunteers reached it (its parent's fraction above 0);
elsewhere they are 0 by construction. Calibration uses reached cells only; coverage is promised for them.

No TensorFlow here: `score` reads interval files with it.
"""

import math
from dataclasses import dataclass

import numpy as np

from preprocess.schema import COLUMNS, N_COLUMNS, PARENT_INDEX, SLICES

COVERAGE = 0.9
LEVELS = (0.5, 0.8, 0.9, 0.95)  # the coverages an interval file holds, and that `score` checks
# Galaxy Zoo 2 showed each galaxy to about 40 volunteers (Willett et al. 2013): the binomial term's N
VOLUNTEERS = 40
# difficulties below this (in vote fraction) count as this, so that a near-zero estimate cannot blow up the
# scores: fixed in advance at a quarter of one vote in 40
FLOOR = 0.25 / VOLUNTEERS
# the difficulty estimates `train calibrate` can normalise by; `auto` keeps the one giving the narrowest intervals
ESTIMATES = {
    "views": "the standard deviation of the prediction over the test-time views",
    "ensemble": "the standard deviation over the runs (two or more)",
    "binomial": f"the binomial noise of {VOLUNTEERS} volunteers answering as predicted",
    "error-head": "a ridge regression of the absolute error on the prediction, the views' spread and the binomial "
    "term, fitted on the validation split",
}
AUTO = "auto"
MAX_BINS, PER_BIN = 10, 100  # Mondrian bins per column: at most 10, of at least 100 calibration cells each

# each column's parent column (the share of volunteers its question reached), -1 for questions asked of all
PARENT_OF_COLUMN = np.array(
    [-1 if PARENT_INDEX[q] is None else PARENT_INDEX[q] for q, sl in SLICES.items() for _ in range(sl.start, sl.stop)]
)


class CoverageError(ValueError):
    """A coverage the calibration cannot honour: too few calibration cells in some bin."""


def reach(fractions: np.ndarray) -> np.ndarray:
    """(n, 37): the share of volunteers each column's question reached (1 for questions asked of all)."""
    fractions = np.asarray(fractions, np.float64)
    parents = np.where(PARENT_OF_COLUMN >= 0, PARENT_OF_COLUMN, 0)
    return np.where(PARENT_OF_COLUMN >= 0, fractions[:, parents], 1.0)


def reached(labels: np.ndarray) -> np.ndarray:
    """(n, 37) bool: the cells whose question some volunteer answered."""
    return reach(labels) > 0


def binomial_spread(predictions: np.ndarray, volunteers: int = VOLUNTEERS) -> np.ndarray:
    """(n, 37): the vote fraction's standard deviation if N volunteers answered as predicted, sqrt(y (r - y) /
    (N r)), with r the predicted share that reached the question: the noise no model can remove."""
    y = np.clip(np.asarray(predictions, np.float64), 0, 1)
    r = np.maximum(reach(y), y)
    return np.sqrt(np.clip(y * (r - y), 0, None) / (volunteers * np.maximum(r, 1e-9)))


def finite_quantile(sorted_scores: np.ndarray, coverage: float) -> float:
    """The ceil((n + 1) coverage)-th smallest of n scores: inf when n is too small for the coverage."""
    k = math.ceil((len(sorted_scores) + 1) * coverage)
    return float(sorted_scores[k - 1]) if k <= len(sorted_scores) else math.inf


def fewest_cells(coverage: float) -> int:
    """The fewest calibration cells a bin needs for a finite quantile at `coverage` (by finite_quantile's own
    arithmetic, so that the two never disagree by a rounding)."""
    n = max(1, math.floor(coverage / (1 - coverage)) - 1)
    while math.ceil((n + 1) * coverage) > n:
        n += 1
    return n


@dataclass(frozen=True)
class ColumnCalibration:
    """One column: the difficulty edges between its bins, and each bin's sorted scores."""

    edges: list[float]  # len(bins) - 1 inner edges
    bins: list[list[float]]

    def bin_of(self, difficulty: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.edges), difficulty, side="right")

    def multiplier(self, difficulty: np.ndarray, coverage: float) -> np.ndarray:
        quantiles = np.array([finite_quantile(np.asarray(scores), coverage) for scores in self.bins])
        return quantiles[self.bin_of(difficulty)]


def bin_edges(difficulty: np.ndarray) -> np.ndarray:
    """Inner edges of up to MAX_BINS bins of about equal count, each of at least PER_BIN cells. An edge lies only
    where the sorted difficulties change, so tied cells (many at the floor, say) share a bin: the edges are the
    distinct values nearest to the equal-count cuts, and a cut that would leave a bin under PER_BIN is dropped."""
    ordered = np.sort(difficulty)
    n = len(ordered)
    n_bins = max(1, min(MAX_BINS, n // PER_BIN))
    changes = np.flatnonzero(np.diff(ordered) > 0) + 1  # the positions where a new value starts
    cuts, last = [], 0
    for target in (b * n // n_bins for b in range(1, n_bins)):
        if not len(changes):
            break
        cut = int(changes[np.argmin(np.abs(changes - target))])
        if cut - last >= PER_BIN and n - cut >= PER_BIN:
            cuts.append(cut)
            last = cut
    return ordered[cuts]


def calibrate_column(difficulty: np.ndarray, scores: np.ndarray) -> ColumnCalibration:
    """Bins by difficulty (bin_edges), each with its sorted scores."""
    column = ColumnCalibration([float(e) for e in bin_edges(difficulty)], [])
    which = column.bin_of(difficulty)
    return ColumnCalibration(
        column.edges, [np.sort(scores[which == b]).round(6).tolist() for b in range(len(column.edges) + 1)]
    )


def conformal_scores(predictions: np.ndarray, labels: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(labels, np.float64) - predictions) / np.maximum(difficulty, FLOOR)


@dataclass(frozen=True)
class Calibration:
    """Every column's calibration, for the difficulty estimate `estimate`."""

    estimate: str
    columns: list[ColumnCalibration]
    galaxies: int

    def check(self, coverage: float) -> None:
        """CoverageError when some bin has too few calibration cells for a finite interval at `coverage`."""
        cells, j = min((len(scores), j) for j, column in enumerate(self.columns) for scores in column.bins)
        if cells < fewest_cells(coverage):
            raise CoverageError(
                f"coverage {coverage:g} needs at least {fewest_cells(coverage)} calibration cells per bin, and "
                f"{COLUMNS[j]} has a bin of {cells} (the calibration split has {self.galaxies} galaxies): ask for "
                "less coverage or calibrate on more galaxies"
            )

    def multipliers(self, difficulty: np.ndarray, coverage: float) -> np.ndarray:
        """(n, columns): each cell's half-width in units of its difficulty; inf in a bin with too few cells for
        `coverage` (its intervals are then [0, 1])."""
        return np.stack([c.multiplier(difficulty[:, j], coverage) for j, c in enumerate(self.columns)], axis=1)

    def intervals(self, predictions: np.ndarray, difficulty: np.ndarray, coverage: float) -> tuple[np.ndarray, ...]:
        """(low, high), each (n, columns): the prediction +- its calibrated half-width, within [0, 1]."""
        half = self.multipliers(difficulty, coverage) * np.maximum(difficulty, FLOOR)
        values = np.clip(predictions, 0, 1)
        return np.clip(values - half, 0, 1), np.clip(values + half, 0, 1)

    def as_dict(self) -> dict:
        columns = [{"edges": c.edges, "bins": c.bins} for c in self.columns]
        return {"estimate": self.estimate, "galaxies": self.galaxies, "columns": columns}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        columns = [ColumnCalibration(c["edges"], c["bins"]) for c in data["columns"]]
        return cls(data["estimate"], columns, data["galaxies"])


def calibrate(
    predictions: np.ndarray,
    labels: np.ndarray,
    difficulty: np.ndarray,
    estimate: str,
    keep: np.ndarray | None = None,
) -> Calibration:
    """The calibration of the 37 columns on galaxies that neither trained nor selected the model, on the cells
    `keep` (by default the reached cells, see the module's docstring)."""
    keep = reached(labels) if keep is None else keep
    scores = conformal_scores(predictions, labels, difficulty)
    columns = [calibrate_column(difficulty[keep[:, j], j], scores[keep[:, j], j]) for j in range(N_COLUMNS)]
    return Calibration(estimate, columns, len(labels))


def conditional(fractions: np.ndarray) -> np.ndarray:
    """(n, 37): each answer's share of the volunteers its question reached, e.g. barred given featured and not
    edge-on (Class3.1 / Class2.2); 0 where the question was not reached."""
    fractions = np.asarray(fractions, np.float64)
    r = reach(fractions)
    return np.divide(fractions, r, out=np.zeros_like(fractions), where=r > 0)


def confidence(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(n,): 1 minus the mean width of a galaxy's intervals (1: every vote fraction known exactly; 0: nothing known)."""
    return 1.0 - (high - low).mean(axis=1)
