"""The true parameters of a synthetic galaxy, drawn at random, and the answers they imply."""

from dataclasses import dataclass, field, replace

import numpy as np

from synth.looks import LOOKS, sample_survey

ODD_TYPES = ["ring", "lens", "disturbed", "irregular", "other", "merger", "dust lane"]
KINDS = ["smooth", "disk", "edge_on", "star"]  # "irregular" comes from the odd feature
TIGHTNESS_DEGREES = np.array([12.0, 22.0, 34.0])  # pitch angles of tight, medium and loose arms
SIZE = (21.5, 30.0)  # the galaxy's scale length in the 424 frame, log-uniform (see sample_galaxy)
BLUR = (1.5, 4.0)  # the Gaussian blur's sigma in px for the nearest and the farthest galaxies
RESOLVED = 8.0  # galaxies this many blur sigmas across are half-way to clearly resolved
RING_RADIUS = (1.5, 2.4)  # an outer ring's radius in scale lengths (uniform)
# Real rings (Buta & Combes 1996; Comeron et al. 2014, ARRAKIS): most barred galaxies' rings are inner rings that
# enclose the bar, oval and aligned with it, their radius about the bar's length; outer rings lie at about twice
# it, broad, past a fainter gap. A disk with a ring has a bar twice as often as one without (Comeron et al. 2014).
INNER_RING = (1.0, 1.25)  # an inner ring's radius in bar lengths (uniform)
INNER_RING_SHARE = 0.6  # of the rings of barred galaxies
BAR_SHARE = {"ring": 0.6, None: 0.35}  # the share of disks with a bar, by odd feature (other features: None's)
# A faint feature's strength (log-uniform): its crest in units of what makes it as plain as one sigma of noise on
# empty sky (synth.drawing.feature_unit). Real arms, bars, rings, lanes and tidal debris range from invisible in
# the noise to plain; 15% are drawn below half that unit, and a quarter above four times it.
FEATURE_STRENGTH = (0.3, 10.0)
SEEN = 1.0  # the strength at which half the volunteers who look for a feature see it
SLOPE = 3.0  # how sharply seeing turns on with strength: contrast detection's psychometric slope is about 3-4
FAINT_ODD = ("ring", "lens", "merger", "other", "dust lane")  # odd features drawn as light (or dust) on the body
# The Hubble sequence of disks: early disks (S0/a-Sab) are red, bulge-heavy, their arms few, smooth or absent; late
# ones (Sc-Sd) blue, small-bulged, their arms beaded with knots of star formation (Roberts & Haynes 1994). Rings are
# most frequent in early disks (Buta & Combes 1996; Comeron et al. 2014: outer rings peak at S0/a-Sab, several times as
# frequent as in Sc-Sd), so a ringed disk's stage leans early. A disk's stage, 0 (early) to 1 (late), sets its colour,
# bulge, arms and knots.
RING_STAGE_POWER = 3.0  # a ringed disk's stage is uniform**3 (4 times as likely at 0.1 as at 0.9); others' uniform
ARMS_SHARE = (0.45, 0.5)  # the share of disks with arms: 0.45 at stage 0, rising by 0.5 to stage 1 (0.7 overall)
BULGE_SHARE = np.array([0.15, 0.4, 0.3, 0.15])  # none, noticeable, obvious, dominant at stage 1/2


@dataclass
class Galaxy:
    """What a galaxy really is; the image and the votes both follow from it. Lengths in pixels of the 424 frame."""

    kind: str
    odd_type: str | None
    size: float
    r_disk: float  # scale length of the disk
    angle: float  # position angle of the major axis, radians
    dx: float  # offset of the centre from the frame's centre
    dy: float
    psf: float  # Gaussian blur sigma
    sky: float
    gradient: np.ndarray  # sky gradient along x and y
    noise: float
    peak_flux: float
    sersic_n: float
    artifact: bool  # a "star" that is an artifact (a satellite trail) instead
    survey: str = "SDSS"  # whose cutouts it looks like (synth.looks)
    stage: float = 0.5  # a disk's place on the Hubble sequence: 0 early (S0/a), 1 late (Sd)
    axis_ratio: float = 1.0
    arms: int = 0
    pitch: float = 0.3  # radians
    arm_strength: float = 0.0
    bar: bool = False
    bar_length: float = 0.0
    bar_angle: float = 0.0
    bulge: int = 3  # none, noticeable, obvious, dominant
    edge_bulge: str = "none"  # rounded, boxy or none (edge-on disks)
    disk_flux: float = 0.0
    bulge_flux: float = 0.0
    extent: float = 0.0  # radius that the drawing must cover
    truth: dict[int, int] = field(default_factory=dict)  # question -> the answer a perfect observer gives
    visibility: float = 0.0  # 0..1: how clearly the details show
    ring_radius: float = 0.0
    inner_ring: bool = False  # an oval ring round the bar instead of an outer ring
    bar_strength: float = 0.0
    odd_strength: float = 0.0  # of an odd feature of FAINT_ODD


def sample_galaxy(rng: np.random.Generator) -> Galaxy:
    """True parameters of one galaxy, including the true answer to every question."""
    kind = str(rng.choice(KINDS, p=[0.42, 0.41, 0.1, 0.07]))
    odd = rng.random() < (0.05 if kind == "star" else 0.2)
    odd_type = str(rng.choice(ODD_TYPES, p=[0.16, 0.08, 0.16, 0.12, 0.1, 0.25, 0.13])) if odd else None
    if odd_type == "irregular":
        kind = "irregular"
    if odd_type == "dust lane" and kind == "disk":
        kind = "edge_on"
    # Kaggle's framing: Galaxy Zoo 2 cut each galaxy out at a scale set by its Petrosian radius (Willett et al.
    # 2013, section 2.2), so its apparent size varies little; how far away it is shows instead as blur, the
    # seeing spread over more pixels of a more distant, more zoomed-in galaxy. Ranges from bench/framing.py on six
    # Kaggle and three GZ2 images: half-light radius 29-42 px, 90% radius 50-78 px, point sources 4-8 px FWHM.
    size = float(np.exp(rng.uniform(np.log(SIZE[0]), np.log(SIZE[1]))))
    distance = rng.uniform(0.0, 1.0)  # 0: near and sharp, 1: far and blurred
    g = Galaxy(
        kind=kind,
        odd_type=odd_type,
        size=size,
        r_disk=size,
        angle=rng.uniform(0, np.pi),
        dx=rng.uniform(-3, 3),
        dy=rng.uniform(-3, 3),
        psf=BLUR[0] * (BLUR[1] / BLUR[0]) ** distance,
        sky=rng.uniform(0.0015, 0.006),
        gradient=rng.uniform(-1, 1, 2),
        noise=rng.uniform(0.0018, 0.0062),
        peak_flux=float(np.exp(rng.uniform(np.log(2.5), np.log(7.5)))),
        sersic_n=rng.uniform(1.2, 2.5),
        artifact=bool(rng.random() < 0.3),
    )
    g.survey = sample_survey(rng)
    g.noise *= LOOKS[g.survey].depth  # a deeper survey: less noise under the same galaxy, so more is seen
    g.disk_flux = 0.04 * g.peak_flux * rng.uniform(0.5, 1.5)
    if kind == "smooth":
        g.axis_ratio = rng.uniform(0.3, 1.0)
    elif kind in ("disk", "irregular"):
        g.axis_ratio = rng.uniform(0.45, 1.0)
        g.stage = float(rng.random() ** (RING_STAGE_POWER if odd_type == "ring" else 1.0)) if kind == "disk" else 1.0
        g.bulge = int(rng.choice(4, p=bulge_odds(g.stage))) if kind == "disk" else 0
        if kind == "disk" and rng.random() < ARMS_SHARE[0] + ARMS_SHARE[1] * g.stage:
            g.arms = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.07, 0.5, 0.18, 0.12, 0.08, 0.05]))
            g.pitch = np.radians(rng.choice(TIGHTNESS_DEGREES) + rng.uniform(-3, 3))
            g.arm_strength = strength(rng)
        if kind == "disk" and rng.random() < BAR_SHARE.get(odd_type, BAR_SHARE[None]):
            g.bar, g.bar_length, g.bar_angle = True, rng.uniform(0.9, 1.5) * size, rng.uniform(0, np.pi)
            g.bar_strength = strength(rng)
    elif kind == "edge_on":
        g.axis_ratio, g.r_disk = 0.15, 1.5 * size
        g.edge_bulge = str(rng.choice(["rounded", "boxy", "none"], p=[0.5, 0.2, 0.3]))
        g.bulge = {"rounded": 2, "boxy": 2, "none": 0}[g.edge_bulge]
    g.bulge_flux = [0.0, 0.3, 0.8, 2.0][g.bulge] * g.disk_flux * 1.5
    g.extent = g.r_disk * (3.0 if odd_type in ("ring", "merger", "other") or kind == "smooth" else 2.2)
    g.truth = true_answers(g)
    g.visibility = float(visibility(g))
    if odd_type == "ring":
        g.inner_ring = g.bar and rng.random() < INNER_RING_SHARE
        scale = g.bar_length if g.inner_ring else g.r_disk
        g.ring_radius = rng.uniform(*(INNER_RING if g.inner_ring else RING_RADIUS)) * scale
    if odd_type in FAINT_ODD:
        g.odd_strength = strength(rng)
    return g


def bulge_odds(stage: float) -> np.ndarray:
    """The odds of each bulge class at a Hubble stage: bigger bulges the earlier the disk."""
    odds = BULGE_SHARE * np.exp((1.0 - 2.0 * stage) * (np.arange(4) - 1.5))
    return odds / odds.sum()


def strength(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(FEATURE_STRENGTH[0]), np.log(FEATURE_STRENGTH[1]))))


def true_answers(g: Galaxy) -> dict[int, int]:
    """The answer a volunteer who sees everything would give to each of the 11 questions."""
    roundness = 0 if g.axis_ratio > 0.8 else (1 if g.axis_ratio > 0.5 else 2)
    tightness = int(np.argmin(np.abs(np.degrees(g.pitch) - TIGHTNESS_DEGREES)))
    return {
        1: {"smooth": 0, "star": 2}.get(g.kind, 1),
        2: 0 if g.kind == "edge_on" else 1,
        3: 0 if g.bar else 1,
        4: 0 if g.arms else 1,
        5: g.bulge,
        6: 0 if g.odd_type else 1,
        7: roundness,
        8: ODD_TYPES.index(g.odd_type) if g.odd_type else 4,
        9: {"rounded": 0, "boxy": 1, "none": 2}[g.edge_bulge],
        10: tightness,
        11: min(g.arms, 5) - 1 if g.arms else 5,
    }


def visibility(g: Galaxy) -> float:
    """How clearly details show, 0..1: a galaxy many blur widths across (near), bright and above the noise is
    easy to classify; a blurred (distant) or faint one gets vaguer votes (Galaxy Zoo's redshift bias)."""
    size_term = 1.0 / (1.0 + np.exp(-(np.log(g.size / g.psf) - np.log(RESOLVED)) * 4.0))
    brightness = g.disk_flux / g.noise if g.kind != "smooth" else g.peak_flux
    bright_term = 1.0 / (1.0 + np.exp(-(np.log(brightness) - np.log(4.0)) * 2.5))
    return size_term * bright_term


def feature_strength(g: Galaxy, feature: str) -> float | None:
    """The strength of `feature` ("arms", "bar" or "odd") as drawn; None where the galaxy lacks it or it is not
    faint."""
    drawn = {"arms": g.arms > 0, "bar": g.bar, "odd": g.odd_type in FAINT_ODD}[feature]
    return {"arms": g.arm_strength, "bar": g.bar_strength, "odd": g.odd_strength}[feature] if drawn else None


def seen_share(strength: float) -> float:
    """The share of the volunteers looking for a feature who see it, s^k / (s^k + SEEN^k) with k = SLOPE: one rule
    for every feature, so that a feature lost in the noise or in the galaxy's light is not called one and its votes
    stay within what the image shows. Below strength t the share is under t^k / (t^k + 1): 2.6% at 0.3."""
    return strength**SLOPE / (strength**SLOPE + SEEN**SLOPE)


def without(g: Galaxy, feature: str) -> Galaxy:
    """`g` as a volunteer who misses `feature` sees it."""
    if feature == "arms":
        return replace(g, arms=0, arm_strength=0.0)
    if feature == "bar":
        return replace(g, bar=False, bar_strength=0.0)
    return replace(g, odd_type=None, odd_strength=0.0)


def feature_seen(g: Galaxy, feature: str) -> float:
    """0..1: the share of volunteers who see `feature`; 1 where there is nothing faint to miss."""
    drawn = feature_strength(g, feature)
    return 1.0 if drawn is None else seen_share(drawn)


def describe(g: Galaxy) -> str:
    """A short caption of the true morphology, e.g. 'disk 2 arms bar' or 'smooth merger'."""
    words = [g.kind.replace("_", "-")]
    if g.arms:
        words.append(f"{g.arms} arms")
    if g.bar:
        words.append("bar")
    if g.odd_type and g.odd_type != "irregular":
        words.append(g.odd_type)
    return " ".join(words)


BULGES = ("none", "noticeable", "obvious", "dominant")


def parameters(g: Galaxy) -> dict[str, str | int | float | None]:
    """The true parameters of `g`, everything sample_galaxy draws, by name; None where one does not apply (the
    pitch of a galaxy without arms, the length of a bar that is not there, the Sersic index of anything but a
    smooth galaxy)."""
    disk, star, ring = g.kind == "disk", g.kind == "star", g.odd_type == "ring"
    spiral = disk and g.arms > 0

    def given(condition: bool, value):
        return value if condition else None

    return {
        "kind": g.kind,
        "odd_feature": g.odd_type,
        "arms": given(disk, g.arms),
        "pitch_degrees": given(spiral, float(np.degrees(g.pitch))),
        "arm_strength": given(spiral, g.arm_strength),
        "bar_strength": given(g.bar, g.bar_strength),
        "bar": given(disk, int(g.bar)),
        "bar_length": given(g.bar, g.bar_length),
        "bar_angle_degrees": given(g.bar, float(np.degrees(g.bar_angle))),
        "stage": given(disk, g.stage),
        "bulge": given(disk, BULGES[g.bulge]),
        "edge_on_bulge": given(g.kind == "edge_on", g.edge_bulge),
        "axis_ratio": given(not star, g.axis_ratio),
        "size": given(not star, g.size),
        "disk_scale": given(g.kind in ("disk", "edge_on", "irregular"), g.r_disk),
        "sersic_index": given(g.kind == "smooth", g.sersic_n),
        "angle_degrees": given(not star, float(np.degrees(g.angle))),
        "survey": g.survey,
        "offset_x": g.dx,
        "offset_y": g.dy,
        "blur": g.psf,
        "sky": g.sky,
        "noise": g.noise,
        "peak_flux": given(g.kind in ("smooth", "star"), g.peak_flux),
        "disk_flux": given(g.kind not in ("smooth", "star"), g.disk_flux),
        "bulge_flux": given(g.bulge_flux > 0, g.bulge_flux),
        "artifact": given(star, int(g.artifact)),
        "ring_radius": given(ring, g.ring_radius),
        "inner_ring": given(ring, int(g.inner_ring)),
        "odd_strength": given(g.odd_type in FAINT_ODD, g.odd_strength),
        "visibility": g.visibility,
    }
