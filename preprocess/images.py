"""Decode one galaxy JPEG into the model's input: the central crop, downsampled, as uint8 RGB."""

import io
import math
import os
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
HIGH_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "F")


class BadImage(ValueError):
    """An input that cannot be used as a galaxy image; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in HIGH_BIT_MODES:  # 16-bit or float greyscale: scale to 8 bits rather than clip
        values = np.asarray(im, dtype=np.float64)
        top = 65535.0 if values.max() > 255 else 255.0
        im = Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8))
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (0, 0, 0, 255))  # transparent pixels become sky
        im = Image.alpha_composite(background, im)
    return im.convert("RGB")


def _crop_box(width: int, height: int, crop: int) -> tuple[float, float, float, float]:
    """The central crop/424 of the frame, in pixel coordinates of a width x height image."""
    half_w, half_h = width * crop / FRAME / 2, height * crop / FRAME / 2
    return width / 2 - half_w, height / 2 - half_h, width / 2 + half_w, height / 2 + half_h


def _central(array: np.ndarray, crop: int, size: int) -> np.ndarray:
    """The central crop/424 of a decoded RGB array, resized to size x size (a plain slice when it fits)."""
    box = _crop_box(array.shape[1], array.shape[0], crop)
    if all(float(v).is_integer() for v in box) and box[2] - box[0] == size and box[3] - box[1] == size:
        return np.ascontiguousarray(array[int(box[1]) : int(box[3]), int(box[0]) : int(box[2])])
    return np.asarray(Image.fromarray(array).resize((size, size), Image.Resampling.BOX, box=box))


def _decode_jpeg(data: bytes, crop: int, size: int) -> np.ndarray | None:
    """libjpeg-turbo through simplejpeg, scaled in the DCT to at least the size needed, as Pillow's draft
    mode does (the same pixels, with less overhead). None where it cannot (CMYK, damaged or huge files):
    Pillow then decodes the file, or says what is wrong with it."""
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        if width * height > MAX_PIXELS:
            return None
        scale = crop / size
        array = simplejpeg.decode_jpeg(
            data, colorspace="RGB", min_width=math.ceil(width / scale), min_height=math.ceil(height / scale)
        )
    except Exception:  # anything simplejpeg refuses goes to Pillow, which names the problem
        return None
    return _central(array, crop, size)


def _decode(path: Path, crop: int, size: int, max_bytes: int) -> np.ndarray:
    length = path.stat().st_size
    if length > max_bytes:  # refused before reading: a huge file must not fill a worker's memory
        raise BadImage(path, f"file is {length:,} bytes, more than the {max_bytes:,} allowed (--max-bytes)")
    data = path.read_bytes()  # one read: Pillow reads a file in many small pieces
    if not data:
        raise BadImage(path, "file is empty")
    if data.startswith(JPEG_START) and (array := _decode_jpeg(data, crop, size)) is not None:
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
            scale = crop / size
            im.draft("RGB", (math.ceil(width / scale), math.ceil(height / scale)))
        array = _central(np.asarray(_to_rgb(im), dtype=np.uint8), crop, size)
    if array.shape != (size, size, 3):
        raise BadImage(path, f"decoded to shape {array.shape}, expected {(size, size, 3)}")
    return np.ascontiguousarray(array)


def load_galaxy(path: str | os.PathLike, crop: int = 212, size: int = 106, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The central `crop` pixels of a 424 frame (the same fraction of any other size), as size x size x 3 uint8.

    Only JPEG and PNG files of at most `max_bytes` are decoded. Raises BadImage, and nothing else, for any
    input that cannot be used.
    """
    path = Path(path)
    try:
        return _decode(path, crop, size, max_bytes)
    except BadImage:
        raise
    except MemoryError:
        raise BadImage(path, "not enough memory to decode") from None
    except Exception as error:  # Pillow raises many types for damaged files; all mean "unusable"
        reason = str(error) or type(error).__name__
        if isinstance(error, FileNotFoundError):
            reason = "file not found"
        raise BadImage(path, reason) from None
