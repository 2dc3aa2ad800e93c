"""The 424x424 colour cutout of a drawn galaxy: its light blurred by a Gaussian PSF, placed on a noisy sky with
off-centre neighbours and faint background galaxies, and shown with its survey look's asinh stretch (synth.looks)."""

import numpy as np

from preprocess.kaggle import FRAME
from synth.drawing import BLUE, RED, WHITE, YELLOW, Canvas, draw_galaxy, gaussian_blob, rotate
from synth.galaxy import Galaxy
from synth.looks import LOOKS, stretch
from synth.noise import sky_noise

NEIGHBOUR = 33  # px: the window of a neighbouring star or galaxy (blurred stars fade within it)
BACKGROUND = 24  # px: the window of a faint background galaxy
FFT_SIZES = (64, 80, 96, 128, 160, 192, 240, 256, 320, 360, 384, 400)  # fast FFT lengths


def psf_blur(flux: np.ndarray, sigma: float) -> np.ndarray:
    """Convolve each channel with a Gaussian of the given sigma (pixels), in Fourier space."""
    h, w = flux.shape[:2]
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx * fx + fy * fy))
    spectrum = np.fft.rfft2(flux, axes=(0, 1)) * transfer[..., None]
    return np.fft.irfft2(spectrum, s=(h, w), axes=(0, 1)).astype(np.float32)


def add_neighbours(sky: np.ndarray, rng: np.random.Generator, blur: float) -> None:
    """A few stars and small galaxies away from the centre, as in any survey cut-out, blurred like the galaxy."""
    for _ in range(rng.integers(0, 6)):
        r, a = rng.uniform(45, 200), rng.uniform(0, 2 * np.pi)
        cx, cy = FRAME / 2 + r * np.cos(a), FRAME / 2 + r * np.sin(a)
        x0, y0 = int(cx) - NEIGHBOUR // 2, int(cy) - NEIGHBOUR // 2
        if x0 < 0 or y0 < 0 or x0 + NEIGHBOUR > FRAME or y0 + NEIGHBOUR > FRAME:
            continue
        ys, xs = np.mgrid[0:NEIGHBOUR, 0:NEIGHBOUR].astype(np.float32)
        xs, ys = xs + x0 - cx, ys + y0 - cy
        if rng.random() < 0.6:
            blob, colour = gaussian_blob(xs, ys, blur), WHITE * 0.6 + [RED, BLUE][rng.integers(2)] * 0.4
            flux = rng.uniform(0.05, 2.0)
        else:
            u, v = rotate(xs, ys, rng.uniform(0, np.pi), rng.uniform(0.4, 1.0))
            blob, colour, flux = (
                np.exp(-np.hypot(u, v) / rng.uniform(1.2, 3.0)),
                [RED, YELLOW][rng.integers(2)],
                rng.uniform(0.05, 0.4),
            )
        sky[y0 : y0 + NEIGHBOUR, x0 : x0 + NEIGHBOUR] += (flux * blob)[..., None] * colour


def add_background(sky: np.ndarray, rng: np.random.Generator, blur: float) -> None:
    """Faint, small galaxies far behind, anywhere in the frame, some on the galaxy itself: a blotch or two in the
    noise, as in SDSS cutouts."""
    n = BACKGROUND
    for _ in range(rng.integers(5, 25)):
        x0, y0 = rng.integers(0, FRAME - n, 2)
        ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) - n / 2 + rng.uniform(-0.5, 0.5, 2)[:, None, None]
        u, v = rotate(xs, ys, rng.uniform(0, np.pi), rng.uniform(0.5, 1.0))
        blob = gaussian_blob(u, v, np.hypot(rng.uniform(0.8, 2.5), blur))  # small and blurred: nearly a Gaussian
        flux = np.exp(rng.uniform(np.log(0.002), np.log(0.03)))
        sky[y0 : y0 + n, x0 : x0 + n] += (flux * blob)[..., None] * [RED, YELLOW, BLUE][rng.integers(3)]


def render(g: Galaxy, rng: np.random.Generator) -> np.ndarray:
    """The FRAME x FRAME x 3 uint8 image of galaxy `g`."""
    wanted = 28 + 4.5 * g.extent
    n = next((size for size in FFT_SIZES if size >= wanted), FFT_SIZES[-1])
    cv = Canvas(FRAME / 2 + g.dx, FRAME / 2 + g.dy, n)
    draw_galaxy(cv, g, rng)
    galaxy = psf_blur(cv.flux, g.psf)
    ramp = np.linspace(-0.5, 0.5, FRAME, dtype=np.float32)
    gradient = g.sky * (1.0 + 0.6 * (g.gradient[0] * ramp[None, :] + g.gradient[1] * ramp[:, None]))
    look = LOOKS[g.survey]
    sky = sky_noise(rng, look.grain) * np.float32(g.noise)
    sky += gradient[..., None]
    add_neighbours(sky, rng, g.psf)
    add_background(sky, rng, g.psf)
    y0, x0 = cv.y0, cv.x0
    sky[y0 : y0 + galaxy.shape[0], x0 : x0 + galaxy.shape[1]] += galaxy
    return stretch(sky, look)
