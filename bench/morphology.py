"""Non-parametric morphology of a cutout's central object, for `make framing`: real and synthetic galaxies of
each kind measured alike.

On the object's mask (bench/framing.py: connected pixels 3 noise sigmas above the sky), with its sky-subtracted
light in display units (the three channels' mean) about its light-weighted centre:
- concentration: 5 log10(r80 / r20), the radii holding 80% and 20% of the light (Conselice 2003, CAS);
- asymmetry: the sum of |light - light turned by 180 degrees| over twice the sum of the light;
- smoothness (clumpiness): the light above a copy of itself smoothed by a quarter of the half-light radius, over
  the light (Conselice 2003), outside the central quarter of the half-light radius;
- gini: how unequally the light is shared among the mask's pixels (Lotz et al. 2004: 0 all equal, 1 one pixel);
- m20: log10 of the second moment of the brightest 20% of the light over the whole second moment (Lotz et al.
  2004: about -2.5 for a bulge, -1 or more for several bright knots);
- bulge_colour, disk_colour: red minus blue over their sum (display units) within half the half-light radius,
  and between 1 and 2 half-light radii: positive is red. Real disks are bluer than their bulges.
"""

from dataclasses import dataclass

import numpy as np

from bench.look import smoothed


@dataclass(frozen=True)
class Morphology:
    concentration: float
    asymmetry: float
    smoothness: float
    gini: float
    m20: float
    bulge_colour: float
    disk_colour: float


def centre_and_radii(light: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The light-weighted centre (y, x) and each pixel's distance from it."""
    ys, xs = np.indices(light.shape)
    total = light.sum()
    cy, cx = (light * ys).sum() / total, (light * xs).sum() / total
    return cy, cx, np.hypot(ys - cy, xs - cx)


def radius_holding(light: np.ndarray, r: np.ndarray, share: float) -> float:
    """The radius (of the distances `r`) within which `share` of `light` lies."""
    order = np.argsort(r.ravel())
    cumulative = np.cumsum(light.ravel()[order]) / light.sum()
    return float(r.ravel()[order][np.searchsorted(cumulative, share)])


def gini(values: np.ndarray) -> float:
    x = np.sort(np.abs(values))
    n = x.size
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (x.mean() * n * (n - 1))) if n > 1 else 0.0


def m20(light: np.ndarray, r: np.ndarray) -> float:
    second = light * r**2
    order = np.argsort(light.ravel())[::-1]
    brightest = order[: np.searchsorted(np.cumsum(light.ravel()[order]), 0.2 * light.sum()) + 1]
    return float(np.log10(max(second.ravel()[brightest].sum(), 1e-12) / max(second.sum(), 1e-12)))


def colour(rgb: np.ndarray, where: np.ndarray, sky: np.ndarray) -> float:
    red, blue = (float(np.clip(rgb[..., k][where] - sky[k], 0, None).sum()) for k in (0, 2))
    return (red - blue) / max(red + blue, 1e-9)


def morphology(image: np.ndarray, galaxy: np.ndarray, sky: float) -> Morphology | None:
    """The morphology of one RGB image (424 x 424 x 3, uint8) whose central object is `galaxy` on `sky`; None
    when there is no object."""
    if galaxy.sum() < 20:
        return None
    rgb = image.astype(np.float64)
    grey = rgb.mean(axis=2)
    light = np.where(galaxy, np.clip(grey - sky, 0, None), 0.0)
    cy, cx, r = centre_and_radii(light)
    r20, half, r80 = (radius_holding(light, r, s) for s in (0.2, 0.5, 0.8))
    turned = np.rot90(light, 2)  # about the frame's centre: shift the light centre there first
    shift = (int(round(2 * cy - (light.shape[0] - 1))), int(round(2 * cx - (light.shape[1] - 1))))
    turned = np.roll(turned, shift, axis=(0, 1))
    asymmetry = float(np.abs(light - turned).sum() / (2 * light.sum()))
    blurred = smoothed(light, max(half / 4, 1.0))
    outer = galaxy & (r > half / 4)
    smoothness = float(np.clip(light - blurred, 0, None)[outer].sum() / max(light[outer].sum(), 1e-9))
    border = np.concatenate([rgb[:20].reshape(-1, 3), rgb[-20:].reshape(-1, 3)])
    sky_rgb = np.median(border, axis=0)
    return Morphology(
        concentration=float(5 * np.log10(r80 / max(r20, 0.5))),
        asymmetry=asymmetry,
        smoothness=smoothness,
        gini=gini(light[galaxy]),
        m20=m20(light, r),
        bulge_colour=colour(rgb, galaxy & (r < half / 2), sky_rgb),
        disk_colour=colour(rgb, galaxy & (r >= half) & (r < 2 * half), sky_rgb),
    )
