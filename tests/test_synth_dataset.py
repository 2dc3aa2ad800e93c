import csv
import filecmp
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from preprocess.kaggle import SOLUTIONS, TEST_SOLUTIONS, TRAIN_IMAGES, ZEROS
from preprocess.labels import read_solutions
from preprocess.schema import HEADER, SLICES, hierarchy_errors
from synth.dataset import TRUE_PARAMETERS, make_galaxy, write_dataset
from synth.drawing import WEBER, Canvas, disk_colour, draw_galaxy, feature_unit
from synth.galaxy import FAINT_ODD, Galaxy, describe
from synth.noise import autocorrelation, sky_noise
from tests.conftest import N_TEST, N_TRAIN
from tests.helpers import featured, measured_autocorrelation, ringed, smooth_galaxy


def image_ids(folder):
    return sorted(int(p.stem) for p in folder.glob("*.jpg"))


def test_kaggle_layout_headers_and_ids(kaggle_dir):
    for name in ("training_solutions_rev1.csv", "test_solutions.csv", "all_zeros_benchmark.csv", "test_expected.csv"):
        assert (kaggle_dir / name).read_text().splitlines()[0] == ",".join(HEADER)
    train_ids, _ = read_solutions(kaggle_dir / SOLUTIONS)
    test_ids, _ = read_solutions(kaggle_dir / TEST_SOLUTIONS)
    zero_ids, zeros = read_solutions(kaggle_dir / ZEROS)
    assert image_ids(kaggle_dir / TRAIN_IMAGES) == sorted(train_ids) and len(train_ids) == N_TRAIN
    assert image_ids(kaggle_dir / "images_test_rev1") == sorted(test_ids) and len(test_ids) == N_TEST
    assert not set(train_ids) & set(test_ids)
    assert np.array_equal(zero_ids, test_ids) and not zeros.any()
    assert all(100000 <= i <= 999999 for i in np.concatenate([train_ids, test_ids]))


KAGGLE_TABLES = (29.03125, 43.4375)  # the means of the quantisation tables of every real Kaggle image (make framing)


def test_images_are_424_rgb_jpegs_compressed_as_kaggle_s(kaggle_dir):
    for path in sorted((kaggle_dir / TRAIN_IMAGES).glob("*.jpg"))[:10]:
        with Image.open(path) as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (424, 424))
            assert tuple(float(np.mean(im.quantization[k])) for k in (0, 1)) == KAGGLE_TABLES
            assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0


def test_the_sky_noise_has_the_requested_grain():
    """SDSS noise is correlated over several pixels; the drawn noise has the autocorrelation synth.noise asks."""
    for seed in range(3):
        noise = sky_noise(np.random.default_rng(seed))
        for lag in (1, 2, 4):
            assert measured_autocorrelation(noise, lag) == pytest.approx(autocorrelation(lag), abs=0.05)


def test_labels_obey_the_tree_and_look_like_votes(kaggle_dir):
    _, train = read_solutions(kaggle_dir / SOLUTIONS)
    _, test = read_solutions(kaggle_dir / TEST_SOLUTIONS)
    labels = np.concatenate([train, test])
    assert hierarchy_errors(labels).max() < 1e-6
    assert labels.min() >= 0 and labels.max() <= 1
    q1 = labels[:, SLICES[1]].mean(axis=0)
    assert 0.3 < q1[0] < 0.55 and 0.4 < q1[1] < 0.65 and q1[2] < 0.15
    # crowd votes are rarely unanimous: most galaxies have a split Q1
    assert np.mean(labels[:, SLICES[1]].max(axis=1) < 0.95) > 0.5


def test_labels_are_predictable_from_pixels(kaggle_dir):
    """Smooth galaxies are red ellipticals, featured ones bluish disks: centre colour must tell them apart."""
    ids, labels = read_solutions(kaggle_dir / SOLUTIONS)
    redness = []
    for galaxy_id in ids:
        centre = np.asarray(Image.open(kaggle_dir / TRAIN_IMAGES / f"{galaxy_id}.jpg"))[200:224, 200:224]
        red, _, blue = centre.reshape(-1, 3).astype(float).mean(axis=0)
        redness.append((red - blue) / (red + blue + 1))
    assert np.corrcoef(redness, labels[:, 0])[0, 1] > 0.3


def test_same_seed_same_bytes_whatever_the_jobs(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write_dataset(one, 12, 6, seed=5, jobs=1)
    write_dataset(two, 12, 6, seed=5, jobs=2)
    for folder in ("images_training_rev1", "images_test_rev1"):
        names = sorted(p.name for p in (one / folder).iterdir())
        match, mismatch, errors = filecmp.cmpfiles(one / folder, two / folder, names, shallow=False)
        assert not mismatch and not errors and len(match) == len(names)
    for name in ("training_solutions_rev1.csv", "test_solutions.csv", "all_zeros_benchmark.csv", "test_expected.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes()


def test_true_parameters_agree_with_the_captions_and_apply_where_they_should(kaggle_dir):
    with open(kaggle_dir / TRUE_PARAMETERS, newline="") as f:
        rows = list(csv.DictReader(f))
    train_ids, test_ids = read_solutions(kaggle_dir / SOLUTIONS)[0], read_solutions(kaggle_dir / TEST_SOLUTIONS)[0]
    assert [int(r["GalaxyID"]) for r in rows] == [*train_ids.tolist(), *test_ids.tolist()]
    assert [r["split"] for r in rows] == ["train"] * N_TRAIN + ["test"] * N_TEST
    for row in rows:
        g = make_galaxy(int(row["GalaxyID"]), seed=3)[2]  # the conftest set's seed
        words = [row["kind"].replace("_", "-")]
        words += [f"{row['arms']} arms"] if row["arms"] not in ("", "0") else []
        words += ["bar"] if row["bar"] == "1" else []
        words += [row["odd_feature"]] if row["odd_feature"] not in ("", "irregular") else []
        assert " ".join(words) == describe(g), row
        assert (row["pitch_degrees"] == "") == (row["arms"] in ("", "0"))
        assert (row["bar_length"] == "") == (row["bar"] != "1")
        assert (row["sersic_index"] == "") == (row["kind"] != "smooth")
        assert (row["odd_strength"] == "") == (row["odd_feature"] not in FAINT_ODD)
        assert (row["bar_strength"] == "") == (row["bar"] != "1")
        if row["bar"] == "1":
            assert float(row["bar_length"]) == pytest.approx(g.bar_length, rel=1e-5)
        assert 0 <= float(row["visibility"]) <= 1


def light(galaxy: Galaxy) -> np.ndarray:
    canvas = Canvas(0.0, 0.0, 256)
    draw_galaxy(canvas, galaxy, np.random.default_rng(0))
    return canvas.flux.mean(axis=-1)


def test_a_ring_rises_by_its_strength_over_the_noise_and_a_share_of_the_light_beneath_it():
    """Volunteers see a feature by how far it stands out, so a ring's crest is its strength in units of the noise
    plus WEBER of the galaxy's light where the ring crosses its major axis; a brighter body needs a brighter ring."""
    body = smooth_galaxy()
    crest = (light(ringed(body, 3.0)) - light(body)).max() / disk_colour(body).mean()
    radius = ringed(body, 3.0).ring_radius  # where the ring crosses the major axis, in px from the canvas's centre
    beneath = light(body)[128 + round(radius * np.sin(body.angle)), 128 + round(radius * np.cos(body.angle))]
    assert crest == pytest.approx(3.0 * (body.noise + WEBER * beneath), rel=0.05)
    brighter = smooth_galaxy(peak_flux=10.0)
    assert feature_unit(ringed(brighter, 1.0), "odd") > 1.5 * feature_unit(ringed(body, 1.0), "odd")


@pytest.mark.parametrize("feature", ["arms", "bar", "lens", "other", "dust lane"])
def test_a_feature_s_light_grows_with_its_strength(feature):
    changes = {"kind": "edge_on", "axis_ratio": 0.15} if feature == "dust lane" else {}
    plain = light(featured(feature, 0.0, **changes))  # the same galaxy, the feature drawn at no strength
    excess = [np.abs(light(featured(feature, s, **changes)) - plain).max() for s in (0.3, 1.0, 3.0)]
    assert 0 < excess[0] < excess[1] < excess[2]


def asymmetry(galaxy) -> float:
    """How far the galaxy's light is from symmetric under a half turn about its centroid (0: symmetric)."""
    flux = light(galaxy)
    rows, columns = np.indices(flux.shape)
    centroid = [int(round((c * flux).sum() / flux.sum())) for c in (rows, columns)]
    flux = np.roll(flux, (128 - centroid[0], 128 - centroid[1]), axis=(0, 1))
    return float(np.abs(flux - flux[::-1, ::-1]).sum() / flux.sum())


def test_a_disturbed_galaxy_is_visibly_asymmetric():
    """Volunteers call disturbed galaxies odd, so their images must show it: a bend much longer than the galaxy
    only moves it, and leaves it as symmetric as before."""
    smooth = smooth_galaxy(noise=0.0)
    assert asymmetry(replace(smooth, odd_type="disturbed")) > 2 * asymmetry(smooth)
