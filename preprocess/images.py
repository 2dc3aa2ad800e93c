"""Decode one galaxy JPEG into the model's input: the central crop, downsampled, as uint8 RGB."""

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

KAGGLE_FRAME = 424
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
    half_w, half_h = width * crop / KAGGLE_FRAME / 2, height * crop / KAGGLE_FRAME / 2
    return width / 2 - half_w, height / 2 - half_h, width / 2 + half_w, height / 2 + half_h


def _decode(path: str | os.PathLike, crop: int, size: int) -> np.ndarray:
    data = Path(path).read_bytes()  # one read: Pillow reads a file in many small pieces
    if not data:
        raise BadImage(path, "file is empty")
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
        if width < 1 or height < 1:
            raise BadImage(path, f"image has no pixels ({width}x{height})")
        if width * height > MAX_PIXELS:
            raise BadImage(path, f"image is {width}x{height}, larger than {MAX_PIXELS:,} pixels")
        if im.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale in the DCT: the draft keeps at least the asked size.
            scale = crop / size
            im.draft("RGB", (math.ceil(width / scale), math.ceil(height / scale)))
        box = _crop_box(*im.size, crop)
        im = _to_rgb(im)
        if all(float(v).is_integer() for v in box) and box[2] - box[0] == size and box[3] - box[1] == size:
            out = im.crop(tuple(int(v) for v in box))
        else:
            out = im.resize((size, size), Image.Resampling.BOX, box=box)
        array = np.asarray(out, dtype=np.uint8)
    if array.shape != (size, size, 3):
        raise BadImage(path, f"decoded to shape {array.shape}, expected {(size, size, 3)}")
    return np.ascontiguousarray(array)


def load_galaxy(path: str | os.PathLike, crop: int = 212, size: int = 106) -> np.ndarray:
    """The central `crop` pixels of a 424 frame (the same fraction of any other size), as size x size x 3 uint8.

    Raises BadImage, and nothing else, for any input that cannot be decoded.
    """
    path = Path(path)
    try:
        return _decode(path, crop, size)
    except BadImage:
        raise
    except MemoryError:
        raise BadImage(path, "not enough memory to decode") from None
    except Exception as error:  # Pillow raises many types for damaged files; all mean "unusable"
        reason = str(error) or type(error).__name__
        if isinstance(error, FileNotFoundError):
            reason = "file not found"
        raise BadImage(path, reason) from None
