"""Intake checks a font's table directory before accepting it: tables inside the file, sizes that add up,
the tables every renderer needs, and `head`/`maxp` that make sense — in all four formats. A font
fulfilment could not open is `CorruptFont` (the API's 422 test is in tests/api/test_uploads.py)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from fontTools.ttLib import TTFont

from customization_vault.intake import CorruptFont, Limits, accept_file, validate_font
from customization_vault.intake.sniff import OTF, TTF, WOFF, WOFF2
from tests.font_samples import build_font

LIMITS = Limits()
_RECORD = struct.Struct(">4sIII")


@pytest.fixture(scope="module")
def ttf() -> bytes:
    return build_font()


def _records(font: bytes) -> list[tuple[bytes, int, int, int]]:
    (n,) = struct.unpack_from(">H", font, 4)
    return [_RECORD.unpack_from(font, 12 + 16 * k) for k in range(n)]


def _with_record(font: bytes, tag: bytes, **change: int) -> bytes:
    """`font` with one directory entry's offset or length rewritten (nothing else touched)."""
    out = bytearray(font)
    for k, (t, checksum, offset, length) in enumerate(_records(font)):
        if t == tag:
            values = {"checksum": checksum, "offset": offset, "length": length, **change}
            _RECORD.pack_into(out, 12 + 16 * k, t, values["checksum"], values["offset"], values["length"])
            return bytes(out)
    raise AssertionError(f"no {tag!r} table")


def _without(font: bytes, tag: str, **build: Any) -> bytes:
    """The same font saved by fontTools without one table (the directory is rewritten consistently)."""
    import io

    tt = TTFont(io.BytesIO(font))
    del tt[tag]
    if "flavor" in build:
        tt.flavor = build["flavor"]
    buf = io.BytesIO()
    tt.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("media_type", "options"),
    [(TTF, {}), (OTF, {"cff": True}), (WOFF, {"flavor": "woff"}), (WOFF2, {"flavor": "woff2"})],
)
def test_fonts_fonttools_writes_are_accepted_in_every_format(
    media_type: Any, options: dict[str, Any]
) -> None:
    font = build_font(**options)
    validate_font(font, media_type, LIMITS)
    assert accept_file(font, LIMITS).data == font


def test_a_table_past_the_end_of_the_file_is_refused(ttf: bytes) -> None:
    with pytest.raises(CorruptFont, match="lies outside the file"):
        validate_font(_with_record(ttf, b"glyf", offset=len(ttf) + 100), TTF, LIMITS)


def test_a_table_claiming_gigabytes_is_refused(ttf: bytes) -> None:
    with pytest.raises(CorruptFont, match="lies outside the file"):
        validate_font(_with_record(ttf, b"name", length=0xFFFF_FFF0), TTF, LIMITS)


def test_a_table_overlapping_the_directory_is_refused(ttf: bytes) -> None:
    with pytest.raises(CorruptFont, match="lies outside the file"):
        validate_font(_with_record(ttf, b"cmap", offset=0), TTF, LIMITS)


@pytest.mark.parametrize("tag", ["head", "cmap", "hhea", "hmtx", "maxp", "name", "post"])
def test_a_font_without_a_required_table_is_refused(ttf: bytes, tag: str) -> None:
    with pytest.raises(CorruptFont, match=f"lacks required tables: {tag}"):
        validate_font(_without(ttf, tag), TTF, LIMITS)


def test_a_font_without_outlines_is_refused() -> None:
    with pytest.raises(CorruptFont, match="no outlines"):
        validate_font(_without(build_font(cff=True), "CFF "), OTF, LIMITS)
    with pytest.raises(CorruptFont, match="no outlines"):
        validate_font(_without(build_font(), "loca"), TTF, LIMITS)


def _numtables(font: bytes, n: int) -> bytes:
    return font[:4] + struct.pack(">H", n) + font[6:]


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda f: _numtables(f, 0), "declares 0 tables"),
        (lambda f: _numtables(f, 0xFFFF), "declares 65535 tables"),
        (lambda f: _numtables(f, 300), "directory runs past the end"),
        (lambda f: b"\x00\x02\x00\x00" + f[4:], "unknown sfnt version"),
        (lambda f: f[: 12 + 16] + f[12:28] + f[44:], "lists a table twice"),
    ],
    ids=["no-tables", "65535-tables", "directory-past-end", "bad-version", "duplicate-tag"],
)
def test_a_malformed_directory_is_refused(ttf: bytes, mangle: Callable[[bytes], bytes], why: str) -> None:
    with pytest.raises(CorruptFont, match=why):
        validate_font(mangle(ttf), TTF, LIMITS)


def _patch_table(font: bytes, tag: bytes, at: int, value: bytes) -> bytes:
    (offset,) = [o for t, _c, o, _l in _records(font) if t == tag]
    return font[: offset + at] + value + font[offset + at + len(value) :]


@pytest.mark.parametrize(
    ("tag", "at", "value", "why"),
    [
        (b"head", 12, b"\x00\x00\x00\x00", "lacks its magic number"),
        (b"head", 18, b"\x00\x01", "unitsPerEm"),
        (b"head", 50, b"\x00\x07", "unknown loca format"),
        (b"maxp", 4, b"\x00\x00", "no glyphs"),
        (b"maxp", 4, b"\xff\xff", "loca table is too short"),
    ],
)
def test_head_and_maxp_must_make_sense(ttf: bytes, tag: bytes, at: int, value: bytes, why: str) -> None:
    with pytest.raises(CorruptFont, match=why):
        validate_font(_patch_table(ttf, tag, at, value), TTF, LIMITS)


# ---------------------------------------------------------------------------------------------- WOFF
@pytest.fixture(scope="module")
def woff() -> bytes:
    return build_font(flavor="woff")


_WOFF_RECORD = struct.Struct(">4sIIII")


def _woff_record(font: bytes, tag: bytes, **change: int) -> bytes:
    (n,) = struct.unpack_from(">H", font, 12)
    out = bytearray(font)
    for k in range(n):
        t, offset, comp, orig, checksum = _WOFF_RECORD.unpack_from(font, 44 + 20 * k)
        if t == tag:
            v = {"offset": offset, "comp": comp, "orig": orig, **change}
            _WOFF_RECORD.pack_into(out, 44 + 20 * k, t, v["offset"], v["comp"], v["orig"], checksum)
            return bytes(out)
    raise AssertionError(f"no {tag!r} table")


def _woff_sfnt_size(font: bytes, size: int) -> bytes:
    return font[:16] + struct.pack(">I", size) + font[20:]


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda f: f + b"\x00" * 8, "length is not the file's"),
        (lambda f: _woff_record(f, b"glyf", offset=len(f)), "lies outside the file"),
        (lambda f: _woff_record(f, b"name", orig=0x7FFF_FFFF), "more than its declared font size"),
        (lambda f: f[:16] + struct.pack(">I", 1 << 30) + f[20:], "declares more than"),
        (lambda f: _woff_record(f, b"head", comp=2, orig=1), "larger compressed than declared"),
        (lambda f: _woff_sfnt_size(_woff_record(f, b"head", orig=5000), 1 << 20), "implausibly large"),
    ],
    ids=["length", "past-end", "huge-table", "huge-sfnt", "comp-over-orig", "huge-head"],
)
def test_a_malformed_woff_is_refused(woff: bytes, mangle: Callable[[bytes], bytes], why: str) -> None:
    with pytest.raises(CorruptFont, match=why):
        validate_font(mangle(woff), WOFF, LIMITS)


def test_a_woff_without_a_required_table_is_refused() -> None:
    with pytest.raises(CorruptFont, match="lacks required tables: cmap"):
        validate_font(_without(build_font(), "cmap", flavor="woff"), WOFF, LIMITS)


# --------------------------------------------------------------------------------------------- WOFF2
@pytest.fixture(scope="module")
def woff2() -> bytes:
    return build_font(flavor="woff2")


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda f: f + b"\x00" * 8, "length is not the file's"),
        (lambda f: f[:8] + struct.pack(">I", 60) + f[12:60], "directory cannot be read|past the end"),
        (lambda f: f[:16] + struct.pack(">I", 1 << 30) + f[20:], "declares more than"),
        (lambda f: f[:16] + struct.pack(">I", 100) + f[20:], "more than its declared font size"),
        (lambda f: f[:20] + struct.pack(">I", len(f)) + f[24:], "run past the end of the file"),
        (lambda f: f[:4] + b"ttcf" + f[8:], "collections are not accepted"),
    ],
    ids=["length", "truncated-directory", "huge-sfnt", "tables-over-sfnt", "stream-past-end", "collection"],
)
def test_a_malformed_woff2_is_refused(woff2: bytes, mangle: Callable[[bytes], bytes], why: str) -> None:
    with pytest.raises(CorruptFont, match=why):
        validate_font(mangle(woff2), WOFF2, LIMITS)


def test_a_woff2_without_a_required_table_is_refused() -> None:
    with pytest.raises(CorruptFont, match="lacks required tables: post"):
        validate_font(_without(build_font(), "post", flavor="woff2"), WOFF2, LIMITS)
