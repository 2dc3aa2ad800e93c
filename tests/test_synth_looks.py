"""Each synthetic look and kind moves the statistic it was drawn to move (synth.looks, synth.drawing)."""

from dataclasses import replace

import numpy as np
import pytest

from bench.morphology import colour, gini
from synth import drawing
from synth.cutout import render
from synth.drawing import RED, Canvas, draw_galaxy
from synth.galaxy import sample_galaxy
from synth.looks import LOOKS, stretch
from synth.noise import sky_noise
from tests.helpers import featured, measured_autocorrelation, ringed


def light(galaxy, side: int = 256) -> np.ndarray:
    canvas = Canvas(0.0, 0.0, side)
    draw_galaxy(canvas, galaxy, np.random.default_rng(0))
    return canvas.flux.mean(axis=-1)


def test_a_red_core_brighter_than_white_stays_red():
    """Lupton et al.'s stretch scales the three channels alike; stretched one by one, a bright red core saturates
    to white."""
    core = (40.0 * RED)[None, None, :].astype(np.float32)
    shown = stretch(core.copy(), LOOKS["SDSS"]).astype(float)[0, 0]
    assert shown.max() == 255
    assert shown[2] / shown[0] == pytest.approx(RED[2] / RED[0], abs=0.01)


def test_decals_grain_is_finer_than_sdss_s():
    """DECaLS's sky noise is nearly independent from pixel to pixel beyond the next (0.65 and 0.16 at 1 and 2 px
    in the development galaxies, against SDSS's 0.87 and 0.62)."""
    grains = {survey: sky_noise(np.random.default_rng(0), LOOKS[survey].grain) for survey in ("SDSS", "DECaLS")}
    lag_1, lag_2 = ({s: measured_autocorrelation(noise, lag) for s, noise in grains.items()} for lag in (1, 2))
    assert lag_1["DECaLS"] == pytest.approx(0.65, abs=0.05) and lag_2["DECaLS"] < 0.5 * lag_2["SDSS"]


def shown(galaxy, survey: str) -> np.ndarray:
    return render(replace(galaxy, survey=survey), np.random.default_rng(1)).astype(float)


def test_decals_look_shares_the_light_more_equally_and_in_greyer_colours():
    """DECaLS's cutouts show the outer disk nearly as bright as the centre (lower Gini) in nearly grey colours."""
    galaxy = featured("bar", 3.0, disk_flux=0.3, bulge=2, bulge_flux=0.4)
    seen = {survey: shown(galaxy, survey) for survey in ("SDSS", "DECaLS")}
    sky = {survey: np.median(image[:20].reshape(-1, 3), axis=0) for survey, image in seen.items()}
    centre = np.zeros((424, 424), bool)
    centre[182:242, 182:242] = True
    ginis = {s: gini(np.clip(image.mean(axis=2) - sky[s].mean(), 0, None)[centre]) for s, image in seen.items()}
    colours = {s: colour(image, centre, sky[s]) for s, image in seen.items()}
    assert ginis["DECaLS"] < ginis["SDSS"] - 0.05
    assert abs(colours["DECaLS"]) < 0.5 * abs(colours["SDSS"])


def test_arms_carry_knots():
    """Knots of star formation are small bright blobs on the arms' crests, as bright as the crest or brighter."""
    spiral, disk = featured("arms", 3.0), featured("arms", 0.0)
    arms = light(spiral) - light(disk)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drawing, "KNOTS_PER_ARM", (0, 0))
        crests = light(spiral) - light(disk)
    knots = arms - crests
    assert knots.min() >= 0 and knots.max() > 0.5 * crests.max()
    brightest = np.unravel_index(np.argmax(knots), knots.shape)
    assert crests[brightest] > 0.3 * crests.max()  # on an arm


def test_an_inner_ring_is_an_oval_round_the_bar_and_an_outer_ring_lies_past_a_gap():
    barred = featured("bar", 3.0)
    inner = replace(ringed(barred, 3.0), inner_ring=True, ring_radius=1.1 * barred.bar_length, angle=0.0)
    barred, outer = replace(barred, angle=0.0), replace(ringed(barred, 3.0), angle=0.0)
    excess = light(inner) - light(barred)
    along = np.array([np.cos(barred.bar_angle), np.sin(barred.bar_angle) * barred.axis_ratio])
    across = np.array([-np.sin(barred.bar_angle), np.cos(barred.bar_angle) * barred.axis_ratio])

    def at(image, direction, radius):
        x, y = 128 + radius * direction
        return image[int(round(y)), int(round(x))]

    ring = inner.ring_radius
    assert at(excess, along, ring) > 3 * at(excess, along, 0.8 * ring)  # the crest lies at the ring along the bar
    assert at(excess, across, 0.8 * ring) > at(excess, across, ring)  # and nearer across it: an oval
    gap = light(outer) - light(barred)
    assert at(gap, np.array([1.0, 0.0]), drawing.GAP[0] * outer.ring_radius) < 0  # dimmer inside an outer ring


def test_rings_come_with_bars_more_often_and_a_look_is_drawn_for_each_galaxy():
    drawn = [sample_galaxy(np.random.default_rng([5, i])) for i in range(12000)]
    disks = [g for g in drawn if g.kind == "disk"]
    ringed_bars = np.mean([g.bar for g in disks if g.odd_type == "ring"])
    plain_bars = np.mean([g.bar for g in disks if g.odd_type is None])
    assert ringed_bars > plain_bars + 0.1
    assert any(g.inner_ring for g in disks) and all(not g.inner_ring or g.bar for g in drawn)
    assert 0.3 < np.mean([g.survey == "DECaLS" for g in drawn]) < 0.5


def drawn_colour(galaxy) -> float:
    """(red - blue) / (red + blue) of the galaxy's light as drawn, before any survey's look."""
    canvas = Canvas(0.0, 0.0, 256)
    draw_galaxy(canvas, galaxy, np.random.default_rng(0))
    red, blue = canvas.flux[..., 0].sum(), canvas.flux[..., 2].sum()
    return float((red - blue) / (red + blue))


def test_early_disks_are_red_with_few_knots_and_late_ones_blue_with_many():
    early, late = (replace(featured("arms", 3.0), stage=stage) for stage in (0.0, 1.0))
    assert drawn_colour(early) > drawn_colour(late) + 0.15
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drawing, "KNOTS_PER_ARM", (0, 0))
        knotless = {g.stage: light(g) for g in (early, late)}
    knots = {g.stage: (light(g) - knotless[g.stage]).sum() for g in (early, late)}
    assert knots[1.0] > 2 * knots[0.0] > 0


def test_early_disks_have_bigger_bulges_fewer_arms_and_most_of_the_rings():
    """Along the Hubble sequence (synth.galaxy's stage), and rings several times as frequent in early disks."""
    disks = [g for g in (sample_galaxy(np.random.default_rng([6, i])) for i in range(12000)) if g.kind == "disk"]
    early, late = [g for g in disks if g.stage < 1 / 3], [g for g in disks if g.stage > 2 / 3]
    assert np.mean([g.bulge for g in early]) > np.mean([g.bulge for g in late]) + 0.5
    assert np.mean([g.arms > 0 for g in early]) < np.mean([g.arms > 0 for g in late]) - 0.2
    assert np.mean([g.stage for g in disks if g.odd_type == "ring"]) < 0.3
    assert 0.45 < np.mean([g.stage for g in disks if g.odd_type is None]) < 0.55
