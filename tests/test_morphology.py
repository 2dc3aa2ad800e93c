import numpy as np

from bench.morphology import gini, m20, morphology


def blob(centre: tuple[float, float], radius: float, n: int = 101) -> np.ndarray:
    ys, xs = np.indices((n, n))
    return np.exp(-((ys - centre[0]) ** 2 + (xs - centre[1]) ** 2) / (2 * radius**2))


def rgb(light: np.ndarray) -> np.ndarray:
    return np.clip(np.repeat(light[..., None] * 200, 3, axis=2), 0, 255).astype(np.uint8)


def test_gini_is_zero_for_equal_light_and_near_one_for_a_single_pixel():
    assert gini(np.ones(100)) == 0.0
    single = np.zeros(100)
    single[3] = 1.0
    assert gini(single) > 0.98


def test_m20_is_lower_for_a_central_bulge_than_for_a_distant_knot():
    centred = blob((50, 50), 5)
    ys, xs = np.indices(centred.shape)
    r = np.hypot(ys - 50, xs - 50)
    knotted = centred + 3 * blob((50, 80), 2)
    assert m20(centred, r) < -1.5 < m20(knotted, r)


def test_asymmetry_concentration_and_colour_move_as_drawn():
    mask = np.ones((101, 101), bool)
    round_galaxy = morphology(rgb(blob((50, 50), 10)), mask, 0.0)
    lopsided = morphology(rgb(blob((50, 50), 10) + 0.5 * blob((50, 70), 4)), mask, 0.0)
    assert round_galaxy.asymmetry < 0.02 < 0.1 < lopsided.asymmetry
    peaked = morphology(rgb(blob((50, 50), 3) + 0.05 * blob((50, 50), 20)), mask, 0.0)
    assert peaked.concentration > round_galaxy.concentration + 1
    bulge, disk = blob((50, 50), 4)[..., None], 0.05 * blob((50, 50), 20)[..., None]
    red_bulge = (200 * (bulge * np.array([1.0, 0.7, 0.4]) + disk * np.array([0.4, 0.7, 1.0]))).astype(np.uint8)
    coloured = morphology(red_bulge, mask, 0.0)
    assert coloured.bulge_colour > 0.1 and coloured.disk_colour < -0.1


def test_no_object_gives_no_morphology():
    assert morphology(np.zeros((50, 50, 3), np.uint8), np.zeros((50, 50), bool), 0.0) is None
