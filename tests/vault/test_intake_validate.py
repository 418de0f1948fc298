"""validate_image / validate_text / validate_font / accept_file: limits, bombs, corruption, typed errors."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from customization_vault.errors import InvalidInput, TooLarge, UnsupportedType
from customization_vault.intake import (
    AcceptedFile,
    CorruptFont,
    CorruptImage,
    DecompressionBomb,
    EmptyInput,
    FontTooLarge,
    ImageFacts,
    InvalidText,
    Limits,
    TextTooLong,
    TooManyFrames,
    TooManyPixels,
    TypeMismatch,
    UploadTooLarge,
    accept_file,
    check_size,
    sniff,
    validate_font,
    validate_image,
    validate_text,
)
from customization_vault.intake._headers import peek_size
from customization_vault.intake.sniff import GIF, JPEG, OTF, PNG, TTF, WEBP, WOFF, WOFF2, MediaType
from tests.font_samples import build_font
from tests.vault.intake_samples import (
    FORBIDDEN,
    apng_with_text,
    decode_frames,
    gif_animated,
    jpeg_full,
    jpeg_plain,
    jpeg_segment,
    png_chunk,
    png_full,
    riff_chunks,
    webp_full,
)

LIMITS = Limits()


def png_declaring(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header declares a size; the pixel data may be absent, a bomb, or anything."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat or zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------------- images
@pytest.mark.parametrize(
    ("make", "facts"),
    [
        (jpeg_plain, ImageFacts(96, 64, 1, "RGB")),
        (png_full, ImageFacts(96, 64, 1, "RGBA", orientation=6)),
        (apng_with_text, ImageFacts(96, 64, 3, "RGB")),
        (lambda: webp_full(animated=True), ImageFacts(96, 64, 3, "RGBA", orientation=6)),
        (gif_animated, ImageFacts(96, 64, 4, "P")),
    ],
)
def test_valid_images_report_their_facts(make: object, facts: ImageFacts) -> None:
    data = make()  # type: ignore[operator]
    assert validate_image(data, sniff(data), LIMITS) == facts
    # The size a viewer shows (and a region's frame): a kept quarter-turn orientation swaps it.
    assert facts.displayed == ((64, 96) if facts.orientation == 6 else (96, 64))


@pytest.mark.parametrize(
    ("media_type", "data"),
    [
        (PNG, png_declaring(7000, 7000)),
        (GIF, b"GIF89a\xff\xff\xff\xff\x00\x00\x00;"),
        (JPEG, b"\xff\xd8" + jpeg_segment(0xC0, b"\x08\x27\x10\x27\x10\x03" + b"\x00" * 9)),  # 10000x10000
        (WEBP, b"RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x1f\x4e\x00\x1f\x4e\x00"),
    ],
)
def test_over_limit_size_is_refused_from_the_header(media_type: object, data: bytes) -> None:
    with pytest.raises(TooManyPixels) as info:
        validate_image(data, media_type, LIMITS)  # type: ignore[arg-type]
    assert info.value.code == "too_many_pixels"
    assert isinstance(info.value, TooLarge)


def test_small_file_that_decompresses_huge_is_refused() -> None:
    # 6500 x 6500 grey zeros: 42 MB of pixels in a ~45 kB file.
    compressor = zlib.compressobj(9)
    row = b"\x00" * 6501
    idat = b"".join(compressor.compress(row) for _ in range(6500)) + compressor.flush()
    bomb = png_declaring(6500, 6500, idat)
    assert len(bomb) < 100_000
    with pytest.raises(TooManyPixels):
        validate_image(bomb, PNG, LIMITS)


@pytest.mark.parametrize("side", [10_000, 20_000])
def test_pillow_bomb_guard_becomes_a_typed_error_when_our_limit_is_higher(side: int) -> None:
    # 10k^2 is past Pillow's warning bound (an error under pytest's filterwarnings), 20k^2 past its
    # error bound; both must surface as a 413-class error, never as a Pillow exception.
    with pytest.raises(DecompressionBomb) as info:
        validate_image(png_declaring(side, side), PNG, Limits(max_pixels=10**9))
    assert info.value.code == "decompression_bomb"
    assert isinstance(info.value, TooLarge)


def test_pixel_budget_counts_every_frame() -> None:
    frame = 96 * 64
    with pytest.raises(TooManyPixels):  # WebP declares 3 frames: refused before decoding
        validate_image(webp_full(animated=True), WEBP, Limits(max_pixels=2 * frame))
    with pytest.raises(TooManyPixels):  # GIF is counted frame by frame
        validate_image(gif_animated(), GIF, Limits(max_pixels=3 * frame))
    assert validate_image(gif_animated(), GIF, Limits(max_pixels=4 * frame)).frames == 4
    with pytest.raises(TooManyPixels):
        validate_image(jpeg_plain(), JPEG, Limits(max_pixels=frame - 1))


@pytest.mark.parametrize(("make", "frames"), [(gif_animated, 4), (apng_with_text, 3)])
def test_frame_limit(make: object, frames: int) -> None:
    data = make()  # type: ignore[operator]
    with pytest.raises(TooManyFrames) as info:
        validate_image(data, sniff(data), Limits(max_frames=frames - 1))
    assert info.value.code == "too_many_frames"
    assert validate_image(data, sniff(data), Limits(max_frames=frames)).frames == frames


_SAMPLES: dict[str, Callable[[], bytes]] = {
    "jpeg": jpeg_plain,
    "jpeg-progressive": lambda: jpeg_full(progressive=True),
    "png": png_full,
    "apng": apng_with_text,
    "webp-lossy": lambda: webp_full(lossless=False),
    "webp-animated": lambda: webp_full(animated=True),
    "gif": gif_animated,
}


@pytest.mark.parametrize("name", sorted(_SAMPLES))
@pytest.mark.parametrize("keep", [0.2, 0.6, 0.9])
def test_truncated_images_are_corrupt(name: str, keep: float) -> None:
    data = _SAMPLES[name]()
    cut = data[: int(len(data) * keep)]
    with pytest.raises(CorruptImage) as info:
        validate_image(cut, sniff(cut), LIMITS)
    assert info.value.code == "corrupt_image"
    assert info.value.__cause__ is None  # Pillow's message (which can quote bytes) is not chained


def test_png_with_a_bad_crc_is_corrupt() -> None:
    data = bytearray(png_full())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    with pytest.raises(CorruptImage):
        validate_image(bytes(data), PNG, LIMITS)


def test_non_image_types_and_empty_input() -> None:
    with pytest.raises(UnsupportedType):
        validate_image(b"\x00\x01\x00\x00" + b"\x00" * 20, TTF, LIMITS)
    with pytest.raises(EmptyInput):
        validate_image(b"", PNG, LIMITS)
    with pytest.raises(UploadTooLarge):
        validate_image(jpeg_plain(), JPEG, Limits(max_upload_bytes=100))


# ----------------------------------------------------------------------------------------------- text
@pytest.mark.parametrize(
    "text", ["Happy 40th, Anna!", "e\u0301t\u00e9", "\uff21\uff22", " padded ", "\U0001f600"]
)
def test_text_is_returned_exactly_as_given(text: str) -> None:
    assert validate_text(text, LIMITS) is text


def test_text_length_limit_counts_code_points() -> None:
    limits = Limits(max_text_chars=5)
    assert validate_text("\U0001f600" * 5, limits)
    with pytest.raises(TextTooLong) as info:
        validate_text("abcdef", limits)
    assert info.value.code == "text_too_long"
    assert isinstance(info.value, TooLarge)


@pytest.mark.parametrize("text", ["", "   ", "\t\n\r ", "\u00a0\u3000", "\u200b\ufeff\u200d", "\u2028"])
def test_blank_text_is_empty(text: str) -> None:
    with pytest.raises(EmptyInput) as info:
        validate_text(text, LIMITS)
    assert info.value.code == "empty"


@pytest.mark.parametrize(
    "text", ["abc\x00def", "\x00", "lone \ud800 high", "lone \udc00 low", "\ud83d\ude00"]
)
def test_nul_and_surrogates_are_invalid(text: str) -> None:
    with pytest.raises(InvalidText) as info:
        validate_text(text, LIMITS)
    assert info.value.code == "invalid_text"
    assert "abc" not in str(info.value)
    assert "lone" not in str(info.value)


# ---------------------------------------------------------------------------------------------- fonts
@pytest.mark.parametrize(
    ("media_type", "options"),
    [(TTF, {}), (OTF, {"cff": True}), (WOFF, {"flavor": "woff"}), (WOFF2, {"flavor": "woff2"})],
)
def test_font_header_length_and_size(media_type: MediaType, options: dict[str, Any]) -> None:
    font = build_font(**options)
    validate_font(font, media_type, LIMITS)
    with pytest.raises(CorruptFont):
        validate_font(font[:11], media_type, LIMITS)
    with pytest.raises(FontTooLarge) as info:
        validate_font(font, media_type, Limits(max_font_bytes=len(font) - 1))
    assert info.value.code == "font_too_large"


def test_validate_font_refuses_images_and_empty() -> None:
    with pytest.raises(UnsupportedType):
        validate_font(jpeg_plain(), JPEG, LIMITS)
    with pytest.raises(EmptyInput):
        validate_font(b"", TTF, LIMITS)


def test_check_size() -> None:
    check_size(100, Limits(max_upload_bytes=100))
    with pytest.raises(UploadTooLarge) as info:
        check_size(101, Limits(max_upload_bytes=100))
    assert info.value.code == "upload_too_large"
    with pytest.raises(FontTooLarge):
        check_size(101, Limits(max_font_bytes=100), TTF)
    check_size(101, Limits(max_font_bytes=100), PNG)


# --------------------------------------------------------------------------------------- accept_file
def test_accept_file_strips_and_reports() -> None:
    original = jpeg_full(orientation=1)
    accepted = accept_file(original, LIMITS, declared_type="image/jpeg")
    assert accepted.media_type == JPEG
    assert accepted.image == ImageFacts(96, 64, 1, "RGB")
    assert accepted.original_size == len(original)
    assert {"exif", "gps", "device", "xmp"} <= set(accepted.removed)
    assert not any(needle in accepted.data for needle in FORBIDDEN)
    assert decode_frames(accepted.data) == decode_frames(original)
    assert "CANARY" not in repr(accepted)
    assert str(len(accepted.data)) in repr(accepted)


def test_accept_file_font_is_unchanged() -> None:
    font = build_font("Canary Sans", cff=True)
    assert accept_file(font, LIMITS) == AcceptedFile(OTF, font, (), None, len(font))


@pytest.mark.parametrize(
    ("data", "declared", "error", "code"),
    [
        (b"", None, EmptyInput, "empty"),
        (b"%PDF-1.7", None, UnsupportedType, "unknown_format"),
        (jpeg_plain(), "image/png", TypeMismatch, "type_mismatch"),
        (jpeg_plain()[:300], None, CorruptImage, "corrupt_image"),
        (png_declaring(9000, 9000), None, TooManyPixels, "too_many_pixels"),
        (b"\x00\x01\x00\x00", None, CorruptFont, "corrupt_font"),
        (png_full(), "image/webp", TypeMismatch, "type_mismatch"),
    ],
)
def test_accept_file_rejections_are_typed(
    data: bytes, declared: str | None, error: type[InvalidInput], code: str
) -> None:
    with pytest.raises(error) as info:
        accept_file(data, LIMITS, declared_type=declared)
    assert info.value.code == code


def test_accept_file_checks_size_before_anything_else() -> None:
    with pytest.raises(UploadTooLarge):
        accept_file(b"%PDF" + b"\x00" * 100, Limits(max_upload_bytes=50))


@pytest.mark.parametrize("name", sorted(_SAMPLES))
def test_header_peek_agrees_with_pillow(name: str) -> None:
    # The pre-Pillow size check must never refuse an image Pillow would size differently.
    data = _SAMPLES[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the samples' deliberately bogus MPF segment
        im = Image.open(io.BytesIO(data))
    with im:
        assert peek_size(data, sniff(data)) == im.size


def test_header_peek_of_lossy_and_lossless_webp() -> None:
    for data in (webp_full(lossless=True), webp_full(lossless=False)):
        body = riff_chunks(data)
        image_chunk = next(c for f, c in body if f in (b"VP8 ", b"VP8L"))
        simple = b"RIFF" + struct.pack("<I", len(image_chunk) + 4) + b"WEBP" + image_chunk
        assert peek_size(simple, WEBP) == (96, 64)
