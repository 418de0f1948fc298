"""strip_metadata: metadata gone (canary search), kept parts and pixels byte-identical, orientation kept."""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable

import pytest
from PIL import Image

from customization_vault.errors import InvalidInput
from customization_vault.intake import CorruptImage, Sanitized, sniff, strip_metadata
from customization_vault.intake._exif import ExifSummary, orientation_only_tiff, read_tiff
from customization_vault.intake.sniff import GIF, JPEG, PNG, TTF, WEBP
from tests.vault.intake_samples import (
    CANARY,
    FORBIDDEN,
    apng_with_text,
    decode_frames,
    gif_animated,
    jpeg_full,
    jpeg_plain,
    oriented_pixels,
    png_chunk,
    png_chunks,
    png_full,
    riff_chunks,
    srgb_icc,
    webp_full,
)


def _assert_clean(data: bytes) -> None:
    for needle in FORBIDDEN:
        assert needle not in data
    assert b"GPS" not in data


def _exif_of(data: bytes) -> Image.Exif:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with Image.open(io.BytesIO(data)) as im:
            return im.getexif()


def _jpeg_segments(data: bytes) -> tuple[list[bytes], bytes]:
    """(header segments up to the first SOS, everything from that SOS up to and including EOI)."""
    segments, pos = [], 2
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append(data[pos : pos + 2 + length])
        pos += 2 + length
    eoi = data.rindex(b"\xff\xd9")
    return segments, data[pos : eoi + 2]


# ---------------------------------------------------------------------------------------------- JPEG
@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_every_metadata_kind_is_removed_and_named(progressive: bool) -> None:
    original = jpeg_full(progressive=progressive)
    assert all(needle in original for needle in FORBIDDEN)  # the fixture really carries them
    out = strip_metadata(original, JPEG)
    _assert_clean(out.data)
    assert set(out.removed) == {
        "exif", "gps", "device", "xmp", "iptc", "comment", "thumbnail", "mpf", "app11", "trailing_data",
    }  # fmt: skip


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_scans_and_tables_are_byte_identical_and_pixels_equal(progressive: bool) -> None:
    original = jpeg_full(progressive=progressive)
    out = strip_metadata(original, JPEG).data
    before, scans_before = _jpeg_segments(original)
    after, scans_after = _jpeg_segments(out)
    assert scans_after == scans_before
    tables = [s for s in before if s[1] in (0xC0, 0xC2, 0xC4, 0xDB, 0xDD)]
    assert tables
    assert [s for s in after if s[1] in (0xC0, 0xC2, 0xC4, 0xDB, 0xDD)] == tables
    assert out.endswith(b"\xff\xd9")
    assert decode_frames(out) == decode_frames(original)


def test_jpeg_orientation_survives_alone() -> None:
    original = jpeg_full(orientation=6)
    out = strip_metadata(original, JPEG).data
    exif = _exif_of(out)
    assert dict(exif) == {0x0112: 6}
    assert exif.get_ifd(0x8825) == {}
    assert oriented_pixels(out) == oriented_pixels(original)
    assert oriented_pixels(out)[0] == (64, 96)  # really rotated by a viewer


def test_jpeg_orientation_one_leaves_no_exif_at_all() -> None:
    out = strip_metadata(jpeg_full(orientation=1), JPEG).data
    assert b"Exif\x00\x00" not in out
    assert len(_exif_of(out)) == 0


def test_jpeg_keeps_icc_adobe_and_a_thumbnail_free_jfif() -> None:
    original = jpeg_full()
    out = strip_metadata(original, JPEG).data
    segments, _ = _jpeg_segments(out)
    assert segments[0] == b"\xff\xe0\x00\x10JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x00\x00"
    adobe = [s for s in _jpeg_segments(original)[0] if s[1] == 0xEE]
    assert adobe
    assert adobe[0] in segments
    with Image.open(io.BytesIO(out)) as im:
        assert im.info["icc_profile"] == srgb_icc()


def test_clean_jpeg_passes_through_unchanged() -> None:
    plain = jpeg_plain()
    assert strip_metadata(plain, JPEG) == Sanitized(plain, ())
    oriented = jpeg_plain(orientation=3)
    out = strip_metadata(oriented, JPEG)
    assert out.removed == ("exif",)  # Pillow's Exif is rebuilt as ours, with the same orientation
    assert dict(_exif_of(out.data)) == {0x0112: 3}
    assert decode_frames(out.data) == decode_frames(oriented)


# ----------------------------------------------------------------------------------------------- PNG
_PNG_DROPPED = {b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf", b"caNY"}


def test_png_text_exif_time_and_private_chunks_removed() -> None:
    original = png_full(orientation=1)
    assert {t for t, _ in png_chunks(original)} >= _PNG_DROPPED
    out = strip_metadata(original, PNG)
    _assert_clean(out.data)
    assert set(out.removed) == {
        "exif",
        "gps",
        "device",
        "xmp",
        "text",
        "time",
        "ancillary_chunk",
        "trailing_data",
    }
    kept = [c for c in png_chunks(original) if c[0] not in _PNG_DROPPED]
    assert png_chunks(out.data) == kept  # copied byte for byte, CRCs included
    assert {t for t, _ in kept} >= {b"IHDR", b"iCCP", b"IDAT", b"IEND"}
    assert decode_frames(out.data) == decode_frames(original)


def test_png_orientation_survives_in_a_fresh_exif_chunk() -> None:
    original = png_full(orientation=8)
    out = strip_metadata(original, PNG).data
    _assert_clean(out)
    assert dict(_exif_of(out)) == {0x0112: 8}
    chunks = png_chunks(out)
    types = [t for t, _ in chunks]
    assert types.count(b"eXIf") == 1
    assert types.index(b"eXIf") < types.index(b"IDAT")
    assert oriented_pixels(out) == oriented_pixels(original)


def test_apng_frames_and_animation_chunks_are_kept() -> None:
    original = apng_with_text()
    out = strip_metadata(original, PNG)
    assert out.removed == ("text",)
    assert CANARY not in out.data
    assert list(png_chunks(out.data)) == [c for c in png_chunks(original) if c[0] != b"tEXt"]
    frames = decode_frames(out.data)
    assert len(frames) == 3
    assert frames == decode_frames(original)


def test_png_unknown_critical_chunk_is_kept() -> None:
    original = png_full(orientation=1)
    odd = png_chunk(b"ABCD", b"\x01\x02")
    data = original[:33] + odd + original[33:]
    assert odd in strip_metadata(data, PNG).data


# ---------------------------------------------------------------------------------------------- WebP
@pytest.mark.parametrize(("lossless", "animated"), [(True, False), (False, False), (True, True)])
def test_webp_exif_xmp_unknown_removed_flags_and_size_fixed(lossless: bool, animated: bool) -> None:
    original = webp_full(orientation=1, lossless=lossless, animated=animated)
    out = strip_metadata(original, WEBP)
    _assert_clean(out.data)
    assert set(out.removed) == {"exif", "gps", "device", "xmp", "unknown_chunk", "trailing_data"}
    assert struct.unpack("<I", out.data[4:8])[0] == len(out.data) - 8
    chunks = riff_chunks(out.data)
    assert chunks[0][0] == b"VP8X"
    flags = chunks[0][1][8]
    assert flags & 0x0C == 0  # neither EXIF nor XMP announced
    assert flags & 0x20  # ICC still announced, and present:
    kept = [c for c in riff_chunks(original) if c[0] not in (b"EXIF", b"XMP ", b"CANY")]
    assert [c[1] for c in chunks[1:]] == [c[1] for c in kept[1:]]
    assert chunks[0][1][9:] == kept[0][1][9:]
    assert decode_frames(out.data) == decode_frames(original)


def test_webp_orientation_survives_with_its_flag() -> None:
    original = webp_full(orientation=6)
    out = strip_metadata(original, WEBP).data
    _assert_clean(out)
    chunks = riff_chunks(out)
    assert chunks[0][1][8] & 0x0C == 0x08
    assert [c[0] for c in chunks].count(b"EXIF") == 1
    assert dict(_exif_of(out)) == {0x0112: 6}
    assert oriented_pixels(out) == oriented_pixels(original)


# ----------------------------------------------------------------------------------------------- GIF
def test_gif_comments_and_foreign_application_extensions_removed_looping_kept() -> None:
    original = gif_animated()
    out = strip_metadata(original, GIF)
    _assert_clean(out.data)
    assert set(out.removed) == {"xmp", "gps", "application_extension", "comment", "trailing_data"}
    assert b"NETSCAPE2.0" in out.data
    assert out.data.endswith(b";")
    with Image.open(io.BytesIO(out.data)) as im:
        assert im.info["loop"] == 0
        assert im.info.get("duration") == 80
    frames = decode_frames(out.data)
    assert len(frames) == 4
    assert frames == decode_frames(original)


# ------------------------------------------------------------------------------------ shared contract
_SAMPLES: dict[str, Callable[[], bytes]] = {
    "jpeg": jpeg_full,
    "jpeg-progressive": lambda: jpeg_full(progressive=True),
    "png": png_full,
    "apng": apng_with_text,
    "webp": webp_full,
    "webp-animated": lambda: webp_full(animated=True),
    "gif": gif_animated,
}


@pytest.mark.parametrize("name", sorted(_SAMPLES))
def test_stripping_is_idempotent(name: str) -> None:
    data = _SAMPLES[name]()
    media_type = sniff(data)
    once = strip_metadata(data, media_type)
    twice = strip_metadata(once.data, media_type)
    assert twice.data == once.data
    assert set(twice.removed) <= {"exif"}  # only our own orientation-only Exif is seen again


@pytest.mark.parametrize(
    ("media_type", "data"),
    [
        (JPEG, b"\xff\xd8\xff\xe1\x00"),  # segment header cut short
        (JPEG, b"\xff\xd8\xff\xe1\x10\x00Exif"),  # segment longer than the file
        (JPEG, b"\xff\xd8\x00\x00"),  # no marker where one must be
        (JPEG, b"\xff\xd8\xff\xdb\x00\x04\x00\x00"),  # ends before any scan
        (PNG, b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"),  # chunk cut short
        (PNG, b"\x89PNG\r\n\x1a\n" + png_chunk(b"IDAT", b"x")),  # IHDR not first
        (PNG, b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", b"\x00" * 13)),  # no IEND
        (WEBP, b"RIFF\xff\xff\xff\xffWEBPVP8 "),  # RIFF size beyond the file
        (WEBP, b"RIFF\x14\x00\x00\x00WEBPVP8X\xff\x00\x00\x00" + b"\x00" * 8),  # chunk beyond RIFF
        (GIF, b"GIF89a\x01\x00\x01\x00\x80\x00"),  # header shorter than the screen descriptor
        (GIF, b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x21\xfe\x05ab"),  # sub-block past the end
        (GIF, b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x99"),  # unknown block introducer
    ],
)
def test_malformed_structure_is_a_typed_corrupt_image(media_type: object, data: bytes) -> None:
    with pytest.raises(CorruptImage) as info:
        strip_metadata(data, media_type)  # type: ignore[arg-type]
    assert isinstance(info.value, InvalidInput)
    assert info.value.code == "corrupt_image"


def test_fonts_pass_through_untouched() -> None:
    font = b"\x00\x01\x00\x00" + CANARY
    assert strip_metadata(font, TTF) == Sanitized(font, ())


def test_repr_never_shows_content() -> None:
    out = strip_metadata(jpeg_full(), JPEG)
    assert "CANARY" not in repr(out)
    assert "bytes>" in repr(out)


# ------------------------------------------------------------------------------------- Exif reading
def _tiff(fmt: str, entries: list[tuple[int, int, int, bytes]], ifd_offset: int = 8) -> bytes:
    head = (b"II*\x00" if fmt == "<" else b"MM\x00*") + struct.pack(fmt + "I", ifd_offset)
    body = struct.pack(fmt + "H", len(entries))
    for tag, typ, count, value in entries:
        body += struct.pack(fmt + "HHI", tag, typ, count) + value.ljust(4, b"\x00")
    return head + body + b"\x00\x00\x00\x00"


@pytest.mark.parametrize("fmt", ["<", ">"])
def test_exif_reader_handles_both_byte_orders(fmt: str) -> None:
    tiff = _tiff(fmt, [(0x0112, 3, 1, struct.pack(fmt + "H", 5)), (0x8825, 4, 1, struct.pack(fmt + "I", 0))])
    assert read_tiff(tiff) == ExifSummary(orientation=5, gps=True, device=False)
    assert read_tiff(orientation_only_tiff(7)) == ExifSummary(orientation=7)


@pytest.mark.parametrize(
    "tiff",
    [
        b"",
        b"XX*\x00\x08\x00\x00\x00",  # unknown byte order
        b"II*\x00\xff\xff\xff\x7f",  # IFD offset past the end
        b"II*\x00\x08\x00\x00\x00\xff\xff",  # 65535 entries declared, none present
        _tiff("<", [(0x0112, 3, 1, struct.pack("<H", 9))]),  # orientation out of range
        _tiff("<", [(0x0112, 4, 1, struct.pack("<I", 6))]),  # orientation with the wrong type
        _tiff("<", [(0x8769, 4, 1, struct.pack("<I", 0xFFFFFFF0))]),  # Exif IFD pointer past the end
    ],
)
def test_exif_reader_never_fails_on_hostile_blocks(tiff: bytes) -> None:
    assert read_tiff(tiff).orientation == 1


def test_exif_reader_sees_device_tags_in_the_exif_sub_ifd() -> None:
    sub_offset = 8 + 2 + 12 + 4
    tiff = _tiff("<", [(0x8769, 4, 1, struct.pack("<I", sub_offset))])
    tiff += struct.pack("<H", 1) + struct.pack("<HHI", 0xA431, 2, 4) + b"SN1\x00" + b"\x00" * 4
    assert read_tiff(tiff).device


def test_jfif_bytes_past_its_fixed_fields_are_dropped() -> None:
    plain = jpeg_plain()
    assert plain[6:11] == b"JFIF\x00"
    (length,) = struct.unpack(">H", plain[4:6])
    padded_app0 = b"\xff\xe0" + struct.pack(">H", length + len(CANARY)) + plain[6 : 4 + length] + CANARY
    out = strip_metadata(plain[:2] + padded_app0 + plain[4 + length :], JPEG)
    assert out.data == plain
    assert out.removed == ("app0",)


def _floods() -> dict[str, tuple[object, bytes]]:
    jpeg, png, gif = jpeg_plain(), png_full(orientation=1), gif_animated()
    sos = jpeg.index(b"\xff\xda")
    (sos_len,) = struct.unpack(">H", jpeg[sos + 2 : sos + 4])
    scan_header = jpeg[sos : sos + 2 + sos_len]
    gct_end = 13 + (3 << ((gif[10] & 7) + 1))
    return {
        "jpeg-comments": (JPEG, jpeg[:2] + b"\xff\xfe\x00\x02" * 20_000 + jpeg[2:]),
        "jpeg-scans": (JPEG, jpeg[:sos] + (scan_header + b"\x00") * 300 + jpeg[sos:]),
        "png-empty-chunks": (PNG, png[:33] + png_chunk(b"abCd", b"") * 70_000 + png[33:]),
        "gif-one-byte-sub-blocks": (
            GIF,
            gif[:gct_end] + b"\x21\xfe" + b"\x01a" * 30_000 + b"\x00" + gif[gct_end:],
        ),
        "webp-empty-chunks": (WEBP, _webp_with(b"JUNK\x00\x00\x00\x00" * 70_000)),
    }


def _webp_with(extra: bytes) -> bytes:
    base = webp_full(orientation=1)
    body = base[12 : 8 + struct.unpack("<I", base[4:8])[0]] + extra
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


@pytest.mark.parametrize(
    "name",
    ["jpeg-comments", "jpeg-scans", "png-empty-chunks", "gif-one-byte-sub-blocks", "webp-empty-chunks"],
)
def test_structure_floods_are_refused(name: str) -> None:
    # Millions of empty structures cost Pillow minutes of Python loops; the walkers cap them.
    media_type, data = _floods()[name]
    with pytest.raises(CorruptImage, match="too many"):
        strip_metadata(data, media_type)  # type: ignore[arg-type]
