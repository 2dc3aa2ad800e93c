"""Draw one synthetic galaxy's light: its components (bulge, disk, bar, arms, rings, odd features) summed in
linear flux on a canvas around it. Parameters come from `synth.galaxy.sample_galaxy`; synth.cutout makes the
image of it."""

from dataclasses import replace

import numpy as np

from synth.galaxy import FAINT_ODD, Galaxy

RED = np.array([1.0, 0.78, 0.55], np.float32)  # old stars: bulges, ellipticals, bars
YELLOW = np.array([1.0, 0.9, 0.75], np.float32)
BLUE = np.array([0.62, 0.78, 1.0], np.float32)  # young stars: arms, rings, clumps
WHITE = np.array([1.0, 1.0, 1.0], np.float32)


WEBER = 0.3  # a feature that adds this share to the light beneath it shows as one sigma of noise on empty sky
REACH_ARMS, REACH_BAR = 1.5, 0.5  # where arms (in disk scale lengths) and bars (in their length) are read
# Knots of star formation strung along the arms (HII regions): real spiral arms are beaded, and their knots are
# among a disk's brightest pixels (which moves its M20 towards real galaxies', `make framing`).
KNOTS_PER_ARM = (2, 7)  # at stage 1/2; a disk at stage s has 0.5 + s times as many (synth.galaxy)
KNOT_PEAK = (1.0, 3.0)  # a knot's peak over the arm's crest where it sits (uniform)
KNOT_SIGMA = (1.2, 2.5)  # px, before the blur
INNER_RING_AXIS = 0.8  # inner rings are ovals along the bar
RING_WIDTH = 0.12  # a ring's Gaussian width in its radii
GAP = (0.7, 0.12, 0.05)  # an outer ring's gap: where (in ring radii), how wide, and its depth per unit strength


def disk_colour(g: Galaxy) -> np.ndarray:
    """A disk's mixed population, its rings' too: red in early disks, blue in late ones (synth.galaxy's stage)."""
    blue = 0.1 + 0.9 * g.stage
    return BLUE * blue + (RED + YELLOW) / 2.0 * (1.0 - blue)


class Canvas:
    """Coordinates of a square window of side `n` centred on the galaxy, and its flux (n, n, 3)."""

    def __init__(self, cx: float, cy: float, n: int):
        self.x0, self.y0 = int(round(cx)) - n // 2, int(round(cy)) - n // 2
        offsets = np.arange(n, dtype=np.float32)
        self.x = (offsets + self.x0 - cx)[None, :].repeat(n, axis=0)
        self.y = (offsets + self.y0 - cy)[:, None].repeat(n, axis=1)
        self.flux = np.zeros((n, n, 3), np.float32)

    def add(self, component: np.ndarray, colour: np.ndarray, brightness: float) -> None:
        self.flux += (brightness * component)[..., None] * colour

    def dim(self, factor: np.ndarray) -> None:
        self.flux *= factor[..., None]


def rotate(x: np.ndarray, y: np.ndarray, angle: float, axis_ratio: float = 1.0):
    """Coordinates along the major axis (u) and the minor axis stretched by 1/axis_ratio (v)."""
    c, s = np.cos(angle), np.sin(angle)
    return x * c + y * s, (-x * s + y * c) / axis_ratio


def sersic(r: np.ndarray, r_e: float, n: float) -> np.ndarray:
    b = 2.0 * n - 1.0 / 3.0
    return np.exp(-b * ((r / r_e + 1e-3) ** (1.0 / n) - 1.0))


def gaussian_blob(x, y, sigma: float) -> np.ndarray:
    return np.exp(-(x * x + y * y) / (2.0 * sigma * sigma))


def arc(x, y, radius: float, start: float, length: float, width: float) -> np.ndarray:
    """A band of the given width along a circle, over `length` radians from `start`."""
    r = np.hypot(x, y)
    theta = np.mod(np.arctan2(y, x) - start, 2 * np.pi)
    along = np.clip(1.0 - theta / length, 0.0, 1.0) * (theta < length)
    return np.exp(-((r - radius) ** 2) / (2 * width * width)) * along


def draw_spiral(cv: Canvas, g: Galaxy, u, v, rng: np.random.Generator) -> None:
    r = np.hypot(u, v) + 1e-3
    theta = np.arctan2(v, u)
    phase = g.arms * (theta - np.log(r / arm_start(g)) / np.tan(g.pitch))
    arms = ((1.0 + np.cos(phase)) / 2.0) ** 3
    brightness = g.arm_strength * feature_unit(g, "arms") / arm_envelope(g, REACH_ARMS * g.r_disk)
    cv.add(arms * arm_envelope(g, r), BLUE, brightness)
    for arm in range(g.arms):
        for _ in range(round((0.5 + g.stage) * rng.integers(*KNOTS_PER_ARM, endpoint=True))):
            radius = rng.uniform(arm_start(g), arm_start(g) + 2.0 * g.r_disk)
            angle = np.log(radius / arm_start(g)) / np.tan(g.pitch) + 2 * np.pi * arm / g.arms
            knot = gaussian_blob(u - radius * np.cos(angle), v - radius * np.sin(angle), rng.uniform(*KNOT_SIGMA))
            cv.add(knot, BLUE, rng.uniform(*KNOT_PEAK) * brightness * float(arm_envelope(g, radius)))


def arm_start(g: Galaxy) -> float:
    """The radius where the arms begin: past the bar, or the bulge."""
    return max(g.bar_length, 0.6 * g.r_disk)


def arm_envelope(g: Galaxy, r):
    """The arms' crest at radius r: rising past their start, then fading with the disk."""
    return 1.0 / (1.0 + np.exp(-(r - arm_start(g)) / 2.0)) * np.exp(-r / (1.4 * g.r_disk))


def draw_disk(cv: Canvas, g: Galaxy, x, y, rng: np.random.Generator) -> None:
    u, v = rotate(x, y, g.angle, g.axis_ratio)
    r = np.hypot(u, v)
    cv.add(np.exp(-r / g.r_disk), disk_colour(g), g.disk_flux * (0.35 if g.arms else 1.0))
    if g.arms and g.arm_strength > 0:
        draw_spiral(cv, g, u, v, rng)
    if g.bar and g.bar_strength > 0:
        bu, bv = rotate(u, v, g.bar_angle)
        cv.add(
            np.exp(-((np.abs(bu) / g.bar_length) ** 3) - (bv / (0.22 * g.bar_length)) ** 2),
            YELLOW,
            g.bar_strength * feature_unit(g, "bar") / np.exp(-(REACH_BAR**3)),
        )
    if g.bulge_flux > 0:
        cv.add(
            sersic(np.hypot(u, v * g.axis_ratio / max(g.axis_ratio, 0.7)), 0.35 * g.r_disk, 1.8),
            RED,
            g.bulge_flux,
        )


def draw_edge_on(cv: Canvas, g: Galaxy, x, y) -> None:
    u, v = rotate(x, y, g.angle)
    cv.add(
        np.exp(-np.abs(u) / g.r_disk - np.abs(v) / (0.09 * g.r_disk)),
        BLUE * 0.5 + YELLOW * 0.5,
        3.0 * g.disk_flux,
    )
    if g.edge_bulge == "rounded":
        cv.add(sersic(np.hypot(u, v / 0.8), 0.45 * g.r_disk, 2.0), RED, g.bulge_flux)
    elif g.edge_bulge == "boxy":
        box = ((np.abs(u) / 0.5) ** 4 + (np.abs(v) / 0.32) ** 4) ** 0.25
        cv.add(np.exp(-box / (0.28 * g.r_disk)), RED, 1.2 * g.bulge_flux)


def draw_irregular(cv: Canvas, g: Galaxy, x, y, rng: np.random.Generator) -> None:
    cv.add(gaussian_blob(x, y, g.r_disk), BLUE, 0.15 * g.disk_flux)
    for _ in range(rng.integers(5, 12)):
        px, py = rng.normal(0.0, g.r_disk * 0.8, 2)
        cv.add(gaussian_blob(x - px, y - py, rng.uniform(1.5, 4.0)), BLUE, rng.uniform(0.3, 1.2) * g.disk_flux)


def draw_odd_feature(cv: Canvas, g: Galaxy, x, y, rng: np.random.Generator) -> None:
    size, odd = g.size, g.odd_type
    u, v = rotate(x, y, g.angle, g.axis_ratio)
    crest = g.odd_strength * feature_unit(g, "odd") if odd in FAINT_ODD else 0.0
    if odd == "ring":
        draw_ring(cv, g, u, v, crest)
    elif odd == "lens":
        cv.add(0.5 - 0.5 * np.tanh((np.hypot(u, v) - 1.6 * size) / 3.0), YELLOW, crest)
    elif odd == "merger":
        d, a = rng.uniform(1.3, 2.4) * size, rng.uniform(0, 2 * np.pi)
        cx, cy = d * np.cos(a), d * np.sin(a)
        cv.add(sersic(np.hypot(x - cx, y - cy), 0.6 * size, 2.0), RED, rng.uniform(0.4, 1.0) * g.peak_flux)
        for sign in (1, -1):  # the tidal debris
            cv.add(
                arc(x - cx / 2, y - cy / 2, 1.2 * d, a + (0.3 if sign > 0 else np.pi + 0.3), 2.2, 0.18 * size),
                YELLOW,
                crest,
            )
    elif odd == "other":
        cv.add(arc(x, y, 2.6 * size, rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.4), 1.8), BLUE, crest)
    elif odd == "dust lane":
        du, dv = rotate(x, y, g.angle)
        depth = min(0.95, crest / max(light_beneath(g, "odd"), 1e-6))
        cv.dim(1.0 - depth * np.exp(-((dv - 0.05 * size) ** 2) / (2 * (0.12 * size + 1.0) ** 2)))


def draw_ring(cv: Canvas, g: Galaxy, u, v, crest: float) -> None:
    """An inner ring (an oval round the bar) or an outer ring past a gap, in the disk's light (`u`, `v`: the disk's
    plane)."""
    if g.inner_ring:
        u, v = rotate(u, v, g.bar_angle, INNER_RING_AXIS)
    r = np.hypot(u, v)
    if not g.inner_ring:
        where, width, depth = GAP
        gap = np.exp(-((r - where * g.ring_radius) ** 2) / (2 * (width * g.ring_radius) ** 2))
        cv.dim(1.0 - min(0.5, depth * g.odd_strength) * gap)
    cv.add(np.exp(-((r - g.ring_radius) ** 2) / (2 * (RING_WIDTH * g.ring_radius) ** 2)), disk_colour(g), crest)


def reach(g: Galaxy, feature: str) -> float:
    """Where a feature's crest is read, in px along the major axis from the centre."""
    if feature == "arms":
        return REACH_ARMS * g.r_disk
    if feature == "bar":
        return REACH_BAR * g.bar_length
    return {"ring": g.ring_radius, "lens": g.size, "merger": 2.0 * g.size, "other": 2.6 * g.size}.get(g.odd_type, 0.0)


def light_beneath(g: Galaxy, feature: str) -> float:
    """The galaxy's body's light (its features left out) on its major axis where `feature` is read."""
    point = Canvas(0.0, 0.0, 1)
    radius = reach(g, feature)
    point.x = np.array([[radius * np.cos(g.angle)]], np.float32)
    point.y = np.array([[radius * np.sin(g.angle)]], np.float32)
    body = replace(g, arm_strength=0.0, bar_strength=0.0, odd_type=None if g.odd_type in FAINT_ODD else g.odd_type)
    draw_galaxy(point, body, np.random.default_rng(0))
    return float(point.flux.mean())


def feature_unit(g: Galaxy, feature: str) -> float:
    """The crest at which `feature` shows as plainly as one sigma of noise on empty sky: the noise plus WEBER of
    the body's light beneath it, since a feature within a bright body must add a share of its light to be seen
    (Weber's law), not just rise above the noise. A feature's strength is its crest in this unit."""
    return g.noise + WEBER * light_beneath(g, feature)


def draw_star_or_artifact(cv: Canvas, g: Galaxy, x, y, rng: np.random.Generator) -> None:
    if g.artifact:
        u, v = rotate(x, y, rng.uniform(0, np.pi))
        colour = [RED, BLUE, np.array([0.4, 1.0, 0.4], np.float32)][rng.integers(3)]
        cv.add(np.exp(-(v**2) / 2.0), colour, rng.uniform(0.2, 0.8))
        cv.add(gaussian_blob(x, y, 3.0), colour, 1.5)
    else:
        cv.add(gaussian_blob(x, y, 2.0), WHITE * 0.7 + YELLOW * 0.3, g.peak_flux * 40)
        spikes = np.exp(-np.abs(x) / 0.8 - np.abs(y) / 12.0) + np.exp(-np.abs(y) / 0.8 - np.abs(x) / 12.0)
        cv.add(spikes, WHITE, g.peak_flux * 3)


def disturb(x, y, g: Galaxy):
    """The coordinates of a disturbed galaxy, bent by waves about three sizes long, so that its light wobbles
    within the galaxy. Waves of six to eight sizes bent only edge-on disks visibly: the other disturbed galaxies
    looked undisturbed while 50-90% of their volunteers called them odd, 70% of the default model's excess error
    on Q6 (quality set, seed 71)."""
    x = x + 0.35 * g.size * np.sin(y / (0.45 * g.size) + g.angle)
    return x, y + 0.3 * g.size * np.sin(x / (0.6 * g.size))


def draw_galaxy(cv: Canvas, g: Galaxy, rng: np.random.Generator) -> None:
    x, y = cv.x, cv.y
    if g.odd_type == "disturbed":
        x, y = disturb(x, y, g)
    kind = g.kind
    if kind == "star":
        draw_star_or_artifact(cv, g, x, y, rng)
    elif kind == "smooth":
        u, v = rotate(x, y, g.angle, g.axis_ratio)
        cv.add(sersic(np.hypot(u, v), 1.45 * g.size, g.sersic_n), RED, g.peak_flux * 0.03)
    elif kind == "irregular":
        draw_irregular(cv, g, x, y, rng)
    elif kind == "edge_on":
        draw_edge_on(cv, g, x, y)
    else:
        draw_disk(cv, g, x, y, rng)
    if g.odd_type not in ("disturbed", None):
        draw_odd_feature(cv, g, x, y, rng)
