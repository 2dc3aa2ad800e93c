"""Finding galaxy images: the one place that lists image files, for `preprocess run`, `predict` and `finetune`.

A file's GalaxyID is its name without the suffix. Names that differ only in leading zeros or in the
suffix (`0123.jpg`, `123.JPG`, `123.jpeg`, `123.png`) are the same galaxy: two of them in one folder are
refused, naming both, rather than one silently taking the other's place.
"""

import os
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # what preprocess.images decodes, in any case


class ImageListError(ValueError):
    """A path that names no images, or two files for one galaxy; the message names them."""


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def galaxy_key(path: Path) -> int | str:
    """The galaxy a file shows: its stem as an integer GalaxyID where it is all digits, else the stem itself."""
    return int(path.stem) if path.stem.isdigit() else path.stem


def refuse_duplicates(paths: list[Path]) -> None:
    """ImageListError if two of `paths` in one folder show the same galaxy."""
    seen: dict[tuple[Path, int | str], Path] = {}
    for path in paths:
        key = (path.parent, galaxy_key(path))
        if key in seen:
            raise ImageListError(f"two images of galaxy {key[1]}: {seen[key]} and {path}; keep one of them")
        seen[key] = path


def list_images(folder: Path) -> tuple[dict[int, Path], list[Path]]:
    """GalaxyID -> path for the images in `folder` named `<digits>.jpg|.jpeg|.png` (sorted by ID), and every
    other entry found; ImageListError for two images of one galaxy."""
    images, ignored = [], []
    for entry in os.scandir(folder):
        path = Path(entry.path)
        if entry.is_file() and is_image_name(path) and path.stem.isdigit():
            images.append(path)
        else:
            ignored.append(path)
    refuse_duplicates(images)
    return dict(sorted((int(p.stem), p) for p in images)), sorted(ignored)


def _listed(list_file: Path) -> list[Path]:
    """The paths in a text file, one per line (blank lines and # comments skipped), relative to its folder."""
    try:
        lines = list_file.read_text().splitlines()
    except UnicodeDecodeError:
        raise ImageListError(
            f"{list_file}: not an image ({', '.join(IMAGE_SUFFIXES)}), a folder or a text list"
        ) from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [list_file.parent / entry for entry in entries]


def find_images(paths: list[Path]) -> list[Path]:
    """Every image named by `paths`: image files, folders (searched recursively) and text files listing paths.

    A listed or found file that is not a usable image is still returned: decoding names what is wrong with it.
    """
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if is_image_name(p) and p.is_file())
        elif is_image_name(path):
            if not path.exists():
                raise ImageListError(f"{path}: no such file")
            found.append(path)
        elif path.is_file():
            found += _listed(path)
        else:
            raise ImageListError(f"{path}: no such file or folder")
    refuse_duplicates(found)
    return found


def images_by_stem(folder: Path) -> dict[str, Path]:
    """Every image below `folder` by its file name without the suffix, as a catalog names its galaxies (GZ DECaLS
    ships them in nested folders); ImageListError for two images of one name, in one folder or in two."""
    found: dict[str, Path] = {}
    for path in find_images([folder]):
        if path.stem in found:
            raise ImageListError(f"two images of galaxy {path.stem}: {found[path.stem]} and {path}; keep one of them")
        found[path.stem] = path
    return found
