"""load_galaxy on damaged and unusual files: a (106, 106, 3) uint8 array or BadImage, nothing else."""

import io
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from preprocess.images import BadImage, load_galaxy

HANG_GUARD_S = 10.0  # a decode this slow counts as a hang


def real_jpeg(kaggle_dir) -> bytes:
    return sorted((kaggle_dir / "images_training_rev1").glob("*.jpg"))[0].read_bytes()


def corrupted_variants(data: bytes, rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """Truncations at random points and random byte flips in the header and in the body."""
    variants = []
    for cut in rng.integers(1, len(data) - 1, 40):
        variants.append((f"truncated at {cut}", data[:cut]))
    header_end = 600
    for region, low, high in (("header", 2, header_end), ("body", header_end, len(data))):
        for _ in range(35):
            damaged = bytearray(data)
            for position in rng.integers(low, high, rng.integers(1, 6)):
                damaged[position] ^= int(rng.integers(1, 256))
            variants.append((f"{region} flips", bytes(damaged)))
    return variants


def encoded(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **kwargs)
    return buffer.getvalue()


def unusual_files(data: bytes) -> list[tuple[str, bytes]]:
    galaxy = Image.open(io.BytesIO(data)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated 90 degrees
    deep = Image.fromarray((np.asarray(galaxy.convert("L")).astype(np.uint16) * 257))
    return [
        ("empty", b""),
        ("two bytes", data[:2]),
        ("gif", encoded(galaxy.convert("P"), format="GIF")),
        ("png", encoded(galaxy, format="PNG")),
        ("bmp", encoded(galaxy, format="BMP")),
        ("tiff", encoded(galaxy, format="TIFF")),
        ("1x1", encoded(Image.new("RGB", (1, 1)), format="JPEG")),
        ("5000x5000", encoded(galaxy.resize((5000, 5000)), format="JPEG", quality=50)),
        ("greyscale", encoded(galaxy.convert("L"), format="JPEG")),
        ("cmyk", encoded(galaxy.convert("CMYK"), format="JPEG")),
        ("rgba", encoded(galaxy.convert("RGBA"), format="PNG")),
        ("16-bit png", encoded(deep, format="PNG")),
        ("exif rotated", encoded(galaxy, format="JPEG", exif=exif)),
        ("progressive", encoded(galaxy, format="JPEG", progressive=True)),
        ("html", b"<html><body>404 Not Found</body></html>"),
        ("zeros", bytes(4096)),
    ]


def test_every_hostile_input_decodes_or_raises_bad_image(kaggle_dir, tmp_path):
    data = real_jpeg(kaggle_dir)
    cases = corrupted_variants(data, np.random.default_rng(0)) + unusual_files(data)
    assert len(cases) >= 100
    decoded, rejected = 0, 0
    for i, (name, content) in enumerate(cases):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(content)
        started = time.perf_counter()
        try:
            image = load_galaxy(path)
        except BadImage as error:
            assert str(path) in str(error), name
            rejected += 1
        else:
            assert image.shape == (106, 106, 3) and image.dtype == np.uint8, name
            decoded += 1
        assert time.perf_counter() - started < HANG_GUARD_S, f"{name} took too long"
    assert decoded + rejected == len(cases)
    assert decoded > 0 and rejected > 0
    print(f"hostile inputs: {len(cases)} tried, {decoded} decoded, {rejected} rejected, 0 crashes")


@pytest.mark.parametrize("size", [(8000, 8000), (30000, 30000), (65535, 65535)])
def test_decompression_bombs_are_refused_before_decoding(tmp_path, size):
    """A small PNG whose header claims a huge image: refused from the header, before any pixel is decoded."""
    png = bytearray(encoded(Image.new("1", (8, 8)), format="PNG"))
    png[16:24] = size[0].to_bytes(4, "big") + size[1].to_bytes(4, "big")  # IHDR width and height
    png[29:33] = zlib.crc32(bytes(png[12:29])).to_bytes(4, "big")  # IHDR checksum
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(png))
    with pytest.raises(BadImage, match="pixels"):
        load_galaxy(path)
