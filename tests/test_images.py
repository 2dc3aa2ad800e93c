"""load_galaxy: the central crop at half scale matches a full decode; damaged and unusual files give BadImage."""

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from preprocess.images import BadImage, load_galaxy
from preprocess.kaggle import TRAIN_IMAGES


def full_decode_reference(path) -> np.ndarray:
    """The plain way: full decode, crop rows/columns 106:318, 2x2 box average."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)[106:318, 106:318]
    return pixels.reshape(106, 2, 106, 2, 3).mean(axis=(1, 3))


def test_draft_decode_matches_full_decode(kaggle_dir):
    paths = sorted((kaggle_dir / TRAIN_IMAGES).glob("*.jpg"))
    assert len(paths) >= 100
    for path in paths:
        image = load_galaxy(path)
        assert image.shape == (106, 106, 3) and image.dtype == np.uint8
        assert np.abs(image - full_decode_reference(path)).mean() < 1.5, path


def save(tmp_path, name, image: Image.Image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def galaxy_like(size=424, mode="RGB") -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size]
    blob = (255 * np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (2 * (size / 10) ** 2))).astype(np.uint8)
    return Image.fromarray(np.stack([blob, blob // 2, blob // 3], axis=-1)).convert(mode)


@pytest.mark.parametrize(
    "name, image, kwargs",
    [
        ("grey.jpg", galaxy_like(mode="L"), {"format": "JPEG"}),
        ("cmyk.jpg", galaxy_like(mode="CMYK"), {"format": "JPEG"}),
        ("palette.png", galaxy_like(mode="P"), {"format": "PNG"}),
        ("rgba.png", galaxy_like(mode="RGBA"), {"format": "PNG"}),
        ("small.jpg", galaxy_like(size=100), {"format": "JPEG"}),
        ("large.jpg", galaxy_like(size=1000), {"format": "JPEG"}),
        ("progressive.jpg", galaxy_like(), {"format": "JPEG", "progressive": True}),
        ("png_named.jpg", galaxy_like(), {"format": "PNG"}),
    ],
)
def test_other_modes_and_sizes_become_rgb(tmp_path, name, image, kwargs):
    out = load_galaxy(save(tmp_path, name, image, **kwargs))
    assert out.shape == (106, 106, 3) and out.dtype == np.uint8
    assert out[53, 53].max() > 150 and out[0, 0].max() < 100  # the galaxy stays centred


def test_sixteen_bit_pngs_are_scaled_alike_not_clipped(tmp_path):
    """Every 16-bit image gets the same scale (65535 is white), so a faint exposure stays faint beside a bright one."""
    values = np.asarray(galaxy_like(mode="L")).astype(np.uint16)
    bright = load_galaxy(save(tmp_path, "bright.png", Image.fromarray(values * 257), format="PNG"))
    faint = load_galaxy(save(tmp_path, "faint.png", Image.fromarray(values // 2), format="PNG"))  # below 128 of 65535
    expected = values[106:318, 106:318].reshape(106, 2, 106, 2).mean(axis=(1, 3))
    assert bright.shape == faint.shape == (106, 106, 3)
    assert np.abs(bright[..., 0] - expected).max() <= 1.0
    assert faint.max() == 0  # not stretched to look like an 8-bit image


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.jpg", b"", "file is empty"),
        ("two.jpg", b"\xff\xd8", "not a JPEG or PNG image"),
        ("text.jpg", b"not an image at all\n" * 10, "not a JPEG or PNG image"),
    ],
)
def test_unusable_bytes_raise_bad_image(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadImage, match=reason) as info:
        load_galaxy(path)
    assert str(path) in str(info.value)


def test_truncated_jpeg_raises_bad_image(kaggle_dir, tmp_path):
    data = next((kaggle_dir / TRAIN_IMAGES).glob("*.jpg")).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImage, match="cut.jpg: .*truncated"):
        load_galaxy(path)


def test_missing_file_raises_bad_image(tmp_path):
    with pytest.raises(BadImage, match="file not found"):
        load_galaxy(tmp_path / "gone.jpg")


def real_jpeg(kaggle_dir) -> bytes:
    return sorted((kaggle_dir / TRAIN_IMAGES).glob("*.jpg"))[0].read_bytes()


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
        ("postscript", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 424 424\nshowpage\n"),
    ]


NOT_DECODED = {"gif", "bmp", "tiff", "postscript", "html", "zeros", "empty", "two bytes"}  # never opened as images
DECODED = {"png", "greyscale", "cmyk", "rgba", "16-bit png", "exif rotated", "progressive"}


@pytest.mark.timeout(120)  # a decode that hangs fails the test
def test_every_hostile_input_decodes_or_raises_bad_image(kaggle_dir, tmp_path):
    data = real_jpeg(kaggle_dir)
    cases = corrupted_variants(data, np.random.default_rng(0)) + unusual_files(data)
    assert len(cases) >= 100
    outcomes = {}
    for i, (name, content) in enumerate(cases):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(content)
        try:
            image = load_galaxy(path)
        except BadImage as error:
            assert str(path) in str(error), name
            outcomes[name] = "rejected"
        else:
            assert image.shape == (106, 106, 3) and image.dtype == np.uint8, name
            outcomes[name] = "decoded"
    assert {name for name in NOT_DECODED if outcomes[name] != "rejected"} == set()
    assert {name for name in DECODED if outcomes[name] != "decoded"} == set()


@pytest.mark.parametrize("name, content", [("gif", b"GIF89a" + bytes(64)), ("postscript", b"%!PS-Adobe-3.0\n")])
def test_formats_other_than_jpeg_and_png_are_named_and_never_decoded(tmp_path, name, content):
    path = tmp_path / "123456.jpg"
    path.write_bytes(content)
    with pytest.raises(BadImage, match="not a JPEG or PNG image"):
        load_galaxy(path)


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "123456.jpg"
    with open(path, "wb") as f:
        f.truncate(2_000_000_000)  # 2 GB, sparse: reading it would take seconds and 2 GB of memory

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Image, "open", no_reading)
    with pytest.raises(BadImage, match="2,000,000,000 bytes, more than the 4,000,000 allowed"):
        load_galaxy(path)


@pytest.mark.parametrize("format_options", [{"format": "PNG"}, {"format": "JPEG", "quality": 100, "subsampling": 0}])
def test_the_crop_starts_exactly_at_pixel_106_of_the_frame(tmp_path, format_options):
    """A 2x2 marker at frame pixels 106-107, the crop's top-left corner, must fill output pixel (0, 0) alone:
    a crop one pixel off, or flipped, moves it."""
    frame = np.zeros((424, 424, 3), np.uint8)
    frame[106:108, 106:108] = 255
    out = load_galaxy(save(tmp_path, "marker", Image.fromarray(frame), **format_options)).astype(int)
    assert out[0, 0].min() > 200
    assert out[0, 1].max() < 60 and out[1, 0].max() < 60 and out[1, 1].max() < 60
    assert out[-1, -1].max() < 60 and out[0, -1].max() < 60 and out[-1, 0].max() < 60


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
