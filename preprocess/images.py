"""Decode one galaxy image into the model's input: the central square, downsampled, as uint8 RGB."""

import io
import os
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import PIL
import simplejpeg
from PIL import Image, UnidentifiedImageError, features

from preprocess.kaggle import FRAME

LIBJPEG = features.version("libjpeg_turbo") or features.version("jpg")
# part of a cache's settings: shards decoded by other versions are redone, never mixed
DECODER = f"simplejpeg {simplejpeg.__version__}, Pillow {PIL.__version__} (libjpeg {LIBJPEG})"
JPEG_START = b"\xff\xd8"
FORMATS = ("JPEG", "PNG")
MAX_BYTES = 4_000_000  # Kaggle's largest galaxy JPEG is far below 1 MB
MAX_PIXELS = 40_000_000  # larger claims are refused before decoding (decompression bombs)
HIGH_BIT_MODES = ("I", "I;16", "I;16B", "I;16L")  # 16-bit PNGs (Pillow opens some as 32-bit "I")
# What Pillow raises for a damaged or hostile file: OSError (truncated data, a decoder's error), SyntaxError (a
# broken PNG chunk), ValueError, EOFError, struct.error and zlib.error (its plugins parse headers and chunks with
# them), DecompressionBombError. Anything else is a bug here and is not turned into a rejected image.
DECODING_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)


class BadImage(ValueError):
    """An input that cannot be used as a galaxy image; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in HIGH_BIT_MODES:  # 16-bit greyscale: the same scale for every image, so brightness compares
        values = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(np.rint(values * (255.0 / 65535.0)), 0, 255).astype(np.uint8))
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (0, 0, 0, 255))  # transparent pixels become sky
        im = Image.alpha_composite(background, im)
    return im.convert("RGB")


def _crop_box(width: int, height: int, fraction: Fraction) -> tuple[float, float, float, float]:
    """The central square whose side is `fraction` of the shorter side, in pixel coordinates. Integer
    arithmetic, exact (Kaggle's 212 of 424 is a whole-pixel box) and faster than Fraction's."""
    # every length times the denominator, so all is integer until the final correctly rounded division
    scale = fraction.denominator
    side, wide, high = min(width, height) * fraction.numerator, width * scale, height * scale
    return (
        (wide - side) / (2 * scale),
        (high - side) / (2 * scale),
        (wide + side) / (2 * scale),
        (high + side) / (2 * scale),
    )


def _draft_size(width: int, height: int, fraction: Fraction, size: int) -> tuple[int, int]:
    """The smallest decoded size whose central box still has `size` pixels: the JPEG DCT may scale to it."""
    box = min(width, height) * fraction.numerator  # the box's side, times the denominator
    scaled = size * fraction.denominator
    return -(-width * scaled // box), -(-height * scaled // box)


def _central(array: np.ndarray, fraction: Fraction, size: int) -> np.ndarray:
    """The central box of a decoded RGB array, resized to size x size (a plain slice when it fits)."""
    box = _crop_box(array.shape[1], array.shape[0], fraction)
    if all(float(v).is_integer() for v in box) and box[2] - box[0] == size and box[3] - box[1] == size:
        return np.ascontiguousarray(array[int(box[1]) : int(box[3]), int(box[0]) : int(box[2])])
    return np.asarray(Image.fromarray(array).resize((size, size), Image.Resampling.BOX, box=box))


def _decode_jpeg(data: bytes, fraction: Fraction, size: int) -> np.ndarray | None:
    """libjpeg-turbo through simplejpeg, scaled in the DCT to at least the size needed, as Pillow's draft
    mode does (the same pixels, with less overhead). None where it cannot (CMYK, damaged or huge files):
    Pillow then decodes the file, or says what is wrong with it."""
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        if width * height > MAX_PIXELS:
            return None
        min_width, min_height = _draft_size(width, height, fraction, size)
        array = simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=min_width, min_height=min_height)
    except ValueError:  # simplejpeg's one error for data it refuses: Pillow then names the problem
        return None
    return _central(array, fraction, size)


def _decode(path: Path, fraction: Fraction, size: int, max_bytes: int) -> np.ndarray:
    length = path.stat().st_size
    if length > max_bytes:  # refused before reading: a huge file must not fill a worker's memory
        raise BadImage(path, f"file is {length:,} bytes, more than the {max_bytes:,} allowed (--max-bytes)")
    data = path.read_bytes()  # one read: Pillow reads a file in many small pieces
    if not data:
        raise BadImage(path, "file is empty")
    if data.startswith(JPEG_START) and (array := _decode_jpeg(data, fraction, size)) is not None:
        return array
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)  # no other decoder (PostScript, ...) is ever run
    except UnidentifiedImageError:
        raise BadImage(path, f"not a {' or '.join(FORMATS)} image") from None
    with im:
        width, height = im.size
        if width < 1 or height < 1:
            raise BadImage(path, f"image has no pixels ({width}x{height})")
        if width * height > MAX_PIXELS:
            raise BadImage(path, f"image is {width}x{height}, larger than {MAX_PIXELS:,} pixels")
        if im.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale in the DCT: the draft keeps at least the asked size.
            im.draft("RGB", _draft_size(width, height, fraction, size))
        array = _central(np.asarray(_to_rgb(im), dtype=np.uint8), fraction, size)
    if array.shape != (size, size, 3):
        raise BadImage(path, f"decoded to shape {array.shape}, expected {(size, size, 3)}")
    return np.ascontiguousarray(array)


def load_galaxy(path: str | os.PathLike, crop: int = 212, size: int = 106, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The central `crop` pixels of a 424 frame (the same fraction of any other image), as size x size x 3 uint8.

    Only JPEG and PNG files of at most `max_bytes` are decoded. Raises BadImage, and nothing else, for any
    input that cannot be used.
    """
    return load_cutout(path, Fraction(crop, FRAME), size, max_bytes)


def load_cutout(
    path: str | os.PathLike, fraction: Fraction | float = 0.5, size: int = 106, max_bytes: int = MAX_BYTES
) -> np.ndarray:
    """The central square of `fraction` of the shorter side of any image, as size x size x 3 uint8.

    Grey, colour, 8 or 16 bit, square or not. Raises BadImage, and nothing else, for any input that cannot be used.
    """
    path = Path(path)
    try:
        return _decode(path, Fraction(fraction), size, max_bytes)
    except BadImage:
        raise
    except MemoryError:
        raise BadImage(path, "not enough memory to decode") from None
    except DECODING_ERRORS as error:
        reason = str(error) or type(error).__name__
        if isinstance(error, FileNotFoundError):
            reason = "file not found"
        raise BadImage(path, reason) from None


def load_cutouts(paths: list[Path], fraction: Fraction, size: int) -> list[np.ndarray | str]:
    """Each image of `paths` as load_cutout gives it, or the reason it cannot be used. A task for decoding
    processes: this module imports no TensorFlow, so neither do they."""
    decoded = []
    for path in paths:
        try:
            decoded.append(load_cutout(path, fraction, size))
        except BadImage as error:
            decoded.append(error.reason)
    return decoded
