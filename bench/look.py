"""How a cutout looks beyond its framing, for `make framing`: the sky's noise per channel and its grain, the JPEG
compression, and how plainly the galaxy shows structure against that noise.

The noise is read in the four 60x60 corners of the 424 frame, each with its best-fitting plane removed (a smooth
background: SDSS skies have gradients), as 1.4826 times the median absolute deviation (robust to a star in a
corner), the median over the corners. The grain is the luminance's autocorrelation at 1, 2 and 4 pixels along
rows and columns. The feature contrast is the galaxy's departure from a smooth elliptical model of itself (the
median of its light on ellipses of its own shape, from its second moments) over the noise, both smoothed by a
2-pixel Gaussian: about 1 for a galaxy without structure, more the plainer its arms, bars or rings.
"""

from dataclasses import dataclass

import numpy as np

from synth.cutout import psf_blur

CORNER = 60
LAGS = (1, 2, 4)
SMOOTHING = 2.0  # px, the Gaussian that the feature contrast is read through
LUMA = np.array([0.299, 0.587, 0.114])  # JPEG's luminance (ITU-R BT.601)


@dataclass(frozen=True)
class Look:
    noise_red: float  # grey levels
    noise_green: float
    noise_blue: float
    grain_1: float  # the luminance noise's autocorrelation at 1 px
    grain_2: float
    grain_4: float
    jpeg_luma: float  # the mean of the JPEG luminance quantisation table (0: not a JPEG)
    contrast: float  # the feature contrast (see the module's docstring)


def corners(image: np.ndarray) -> list[np.ndarray]:
    c = CORNER
    return [image[:c, :c], image[:c, -c:], image[-c:, :c], image[-c:, -c:]]


def plane_removed(patch: np.ndarray) -> np.ndarray:
    """`patch` (n, n) less its least-squares plane."""
    ys, xs = np.indices(patch.shape)
    design = np.c_[np.ones(patch.size), xs.ravel(), ys.ravel()]
    coefficients, *_ = np.linalg.lstsq(design, patch.ravel(), rcond=None)
    return patch - (design @ coefficients).reshape(patch.shape)


def robust_std(values: np.ndarray) -> float:
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def autocorrelation(residual: np.ndarray, lag: int) -> float:
    r = residual - residual.mean()
    along = (r[:, lag:] * r[:, :-lag]).mean() + (r[lag:] * r[:-lag]).mean()
    return float(along / 2 / r.var())


def smoothed(grey: np.ndarray, sigma: float = SMOOTHING) -> np.ndarray:
    """`grey` through a Gaussian of `sigma` px."""
    return psf_blur(grey[..., None].astype(np.float32), sigma)[..., 0].astype(np.float64)


def feature_contrast(grey: np.ndarray, galaxy: np.ndarray, sky: float) -> float:
    """The galaxy's departure from a smooth elliptical model of itself over the noise (see the module)."""
    light = np.where(galaxy, np.clip(grey - sky, 0, None), 0.0)
    ys, xs = np.indices(grey.shape)
    total = light.sum()
    cy, cx = (light * ys).sum() / total, (light * xs).sum() / total
    dy, dx = ys - cy, xs - cx
    moments = np.array([[(light * dx * dx).sum(), (light * dx * dy).sum()], [0.0, (light * dy * dy).sum()]]) / total
    moments[1, 0] = moments[0, 1]
    values, vectors = np.linalg.eigh(moments)
    u = dx * vectors[0, 1] + dy * vectors[1, 1]  # along the major axis
    v = (dx * vectors[0, 0] + dy * vectors[1, 0]) * np.sqrt(values[1] / max(values[0], 1e-9))
    ring = np.round(np.hypot(u, v)).astype(int)
    model = np.zeros(ring.max() + 1)
    for radius in np.unique(ring[galaxy]):
        model[radius] = np.median(grey[galaxy & (ring == radius)])
    residual = smoothed(np.where(galaxy, grey - model[ring], 0.0))
    noise = np.median([np.std(plane_removed(c)) for c in corners(smoothed(grey))])
    return float(np.std(residual[galaxy]) / max(noise, 1e-6))


def look(image: np.ndarray, grey: np.ndarray, quantisation: dict | None, galaxy: np.ndarray, sky: float) -> Look:
    """The look of one RGB image (424 x 424 x 3, uint8; `grey` its channels' mean) whose central object is `galaxy`
    (a mask) on `sky`."""
    rgb = image.astype(np.float64)
    noise = [np.median([robust_std(plane_removed(c[..., k])) for c in corners(rgb)]) for k in range(3)]
    luma = [plane_removed(c) for c in corners(rgb @ LUMA)]
    grain = [float(np.median([autocorrelation(r, lag) for r in luma])) for lag in LAGS]
    jpeg = float(np.mean(quantisation[0])) if quantisation else 0.0
    contrast = feature_contrast(grey, galaxy, sky) if galaxy.any() else 0.0
    return Look(*(float(n) for n in noise), *grain, jpeg, contrast)
