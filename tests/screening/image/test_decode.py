"""Decoding small: DCT scaling, EXIF orientation, transparency, bomb limit, and typed errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from screening.image import ImageDecodeError, ImageTooLarge, decode_image
from screening.image.errors import ImageError
from tests.screening.image.logos import encode


def _photo(w: int, h: int) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def test_jpeg_is_decoded_scaled_and_keeps_original_size() -> None:
    data = encode(_photo(2400, 1600), "JPEG", quality=80)
    d = decode_image(data, target=256)
    assert 256 * 0.75 <= max(d.image.size) <= 256 * 1.25
    assert d.original_size == (2400, 1600)
    assert d.image.mode == "RGB"
    assert d.scale == pytest.approx(2400 / d.image.width)
    assert decode_image(data, target=100).image.width <= 125


def test_small_image_is_never_upscaled() -> None:
    d = decode_image(encode(_photo(100, 60)), target=256)
    assert d.image.size == (100, 60)


def test_exif_orientation_is_applied() -> None:
    im = Image.new("RGB", (300, 100), (255, 0, 0))
    im.paste((0, 0, 255), (0, 0, 50, 100))  # blue strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif, quality=95)
    d = decode_image(buf.getvalue(), target=512)
    assert d.original_size == (100, 300)
    assert d.image.size == (100, 300)
    pixel = d.image.getpixel((50, 10))  # the blue strip is now at the top
    assert isinstance(pixel, tuple)
    assert pixel[2] > 150
    assert pixel[0] < 100


def test_transparency_is_flattened_on_white() -> None:
    im = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    im.paste((10, 20, 200, 255), (10, 10, 30, 30))
    d = decode_image(encode(im))
    assert d.image.getpixel((2, 2)) == (255, 255, 255)
    assert d.image.getpixel((20, 20)) == (10, 20, 200)


def test_pixel_limit_refuses_before_decoding() -> None:
    data = encode(Image.new("RGB", (400, 300)))
    with pytest.raises(ImageTooLarge) as info:
        decode_image(data, max_pixels=100_000)
    assert "120000" in str(info.value)
    assert isinstance(info.value, ImageDecodeError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_garbage_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        decode_image(data)


def test_truncated_image_is_a_decode_error() -> None:
    data = encode(_photo(300, 300), "JPEG", quality=90)
    with pytest.raises(ImageError):
        decode_image(data[: len(data) // 3])
