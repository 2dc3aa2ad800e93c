import numpy as np
import pytest
from PIL import Image

from preprocess.images import BadImage, load_galaxy


def full_decode_reference(path) -> np.ndarray:
    """The plain way: full decode, crop rows/columns 106:318, 2x2 box average."""
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)[106:318, 106:318]
    return pixels.reshape(106, 2, 106, 2, 3).mean(axis=(1, 3))


def test_draft_decode_matches_full_decode(kaggle_dir):
    paths = sorted((kaggle_dir / "images_training_rev1").glob("*.jpg"))
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


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.asarray(galaxy_like(mode="L")).astype(np.uint16)
    out = load_galaxy(save(tmp_path, "deep.png", Image.fromarray(values * 257), format="PNG"))
    expected = values[106:318, 106:318].reshape(106, 2, 106, 2).mean(axis=(1, 3))
    assert out.shape == (106, 106, 3)
    assert np.abs(out[..., 0] - expected).max() <= 1.0


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.jpg", b"", "file is empty"),
        ("two.jpg", b"\xff\xd8", "cannot identify image file"),
        ("text.jpg", b"not an image at all\n" * 10, "cannot identify image file"),
    ],
)
def test_unusable_bytes_raise_bad_image(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadImage, match=reason) as info:
        load_galaxy(path)
    assert str(path) in str(info.value)


def test_truncated_jpeg_raises_bad_image(kaggle_dir, tmp_path):
    data = next((kaggle_dir / "images_training_rev1").glob("*.jpg")).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImage, match="cut.jpg: .*truncated"):
        load_galaxy(path)


def test_missing_file_raises_bad_image(tmp_path):
    with pytest.raises(BadImage, match="file not found"):
        load_galaxy(tmp_path / "gone.jpg")
