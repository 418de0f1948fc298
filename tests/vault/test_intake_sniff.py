"""sniff (magic bytes only), the declared-type check, Limits, and the intake error codes."""

from __future__ import annotations

import dataclasses
import re

import pytest

from customization_vault.errors import InvalidInput, TooLarge, UnsupportedType
from customization_vault.intake import (
    MEDIA_TYPES,
    EmptyInput,
    Limits,
    TypeMismatch,
    check_declared_type,
    errors,
    sniff,
)
from customization_vault.intake.sniff import GIF, JPEG, OTF, PNG, TTF, WEBP, WOFF, WOFF2
from tests.vault.intake_samples import gif_animated, jpeg_plain, png_full, webp_full


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"\xff\xd8\xff\xdb", JPEG),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", WEBP),
        (b"GIF87a\x01\x00", GIF),
        (b"GIF89a\x01\x00", GIF),
        (b"\x00\x01\x00\x00\x00\x0c", TTF),
        (b"true\x00\x0c", TTF),
        (b"OTTO\x00\x0c", OTF),
        (b"wOFF\x00\x01", WOFF),
        (b"wOF2\x00\x01", WOFF2),
    ],
)
def test_magic_bytes_decide_the_type(head: bytes, expected: object) -> None:
    assert sniff(head + b"\x00" * 64) == expected


def test_real_files_sniff_to_their_type() -> None:
    assert sniff(jpeg_plain()).content_type == "image/jpeg"
    assert sniff(png_full()).content_type == "image/png"
    assert sniff(webp_full()).content_type == "image/webp"
    assert sniff(gif_animated()).content_type == "image/gif"
    assert {m.kind for m in MEDIA_TYPES.values()} == {"image", "font"}
    assert str(PNG) == "image/png"


@pytest.mark.parametrize(
    "data",
    [
        b"BM6\x00\x00\x00",  # BMP: Pillow reads it, we do not accept it
        b"II*\x00\x08\x00",  # TIFF
        b"RIFF\x10\x00\x00\x00AVI LIST",  # RIFF but not WebP
        b"%PDF-1.7",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",  # SVG can carry script: never an image here
        b"ttcf\x00\x01",  # font collection: not accepted
        b"\xff\xd8",  # SOI alone
        b"hello, world",
    ],
)
def test_anything_else_is_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedType) as info:
        sniff(data)
    assert info.value.code == "unknown_format"


def test_empty_is_invalid_input_with_code_empty() -> None:
    with pytest.raises(EmptyInput) as info:
        sniff(b"")
    assert isinstance(info.value, InvalidInput)
    assert info.value.code == "empty"


@pytest.mark.parametrize(
    ("declared", "sniffed"),
    [
        (None, PNG),
        ("", PNG),
        ("application/octet-stream", JPEG),
        ("image/png", PNG),
        ("IMAGE/PNG; charset=binary", PNG),
        ("  image/jpeg ", JPEG),
        ("image/jpg", JPEG),
        ("image/pjpeg", JPEG),
        ("font/sfnt", TTF),
        ("font/sfnt", OTF),
        ("application/font-woff", WOFF),
        ("font/woff2", WOFF2),
    ],
)
def test_declared_type_that_agrees_or_abstains_passes(declared: str | None, sniffed: object) -> None:
    check_declared_type(declared, sniffed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("declared", "sniffed"),
    [("image/png", JPEG), ("image/gif", PNG), ("font/ttf", OTF), ("text/html", PNG), ("image/svg+xml", PNG)],
)
def test_declared_type_that_contradicts_is_a_mismatch(declared: str, sniffed: object) -> None:
    with pytest.raises(TypeMismatch) as info:
        check_declared_type(declared, sniffed)  # type: ignore[arg-type]
    assert info.value.code == "type_mismatch"
    assert declared not in str(info.value)  # client-controlled text is never echoed


def test_limits_defaults_and_immutability() -> None:
    limits = Limits()
    assert limits.max_upload_bytes == 25 * 1024 * 1024
    assert limits.max_pixels == 40_000_000
    assert limits.max_text_chars == 5_000
    assert limits.max_items_per_order == 50
    assert limits.max_font_bytes == 10 * 1024 * 1024
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_pixels = 1  # type: ignore[misc]


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_limits_refuse_nonsense(bad: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        Limits(max_pixels=bad)  # type: ignore[arg-type]


def test_every_intake_error_has_a_stable_snake_case_code_under_the_right_base() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z][a-z_]*", code) for code in codes)
    assert all(issubclass(c, InvalidInput) for c in classes)
    too_large = {"upload_too_large", "font_too_large", "too_many_pixels", "too_many_frames"}
    assert {c.code for c in classes if issubclass(c, TooLarge)} >= too_large | {"text_too_long"}
    assert {c.code for c in classes if issubclass(c, UnsupportedType)} == {"unknown_format"}
