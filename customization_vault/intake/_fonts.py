"""The table directory of an uploaded font, checked from its header: a font fulfilment can not open is
refused at intake (422), not stored.

What is checked, without inflating or parsing any table but two tiny ones:

- sfnt (TTF/OTF): the directory fits the file; every table lies after it and inside the file; no tag
  repeats; the tables every renderer needs are present — `cmap`, `head`, `hhea`, `hmtx`, `maxp`,
  `name`, `post` and outlines (`glyf` with `loca`, `CFF `, `CFF2`, or colour bitmaps `CBDT`/`CBLC`,
  `sbix`); `head` carries its magic number and a sane unitsPerEm, `maxp` at least one glyph, and
  `loca` room for every glyph.
- WOFF: the header's length is the file's; every compressed table lies inside the file and is no
  larger than its declared size; the declared sizes stay under `MAX_SFNT_BYTES`; the same tables are
  required; `head` and `maxp` (tens of bytes) are inflated, capped, and checked as above.
- WOFF2: the header's length is the file's; the directory parses; the compressed stream lies inside
  the file; declared sizes stay under `MAX_SFNT_BYTES`; the same tables are required; the Brotli
  stream inflates, under an output cap, to exactly the size its directory declares
  (`screening.fonts.guard_woff2`, the guard screening runs too): a brotli bomb or a cut stream is
  refused here rather than stored for a screening that can only call it unscreenable.

Table checksums are not enforced: many fonts in circulation carry wrong ones and render fine (the
fonts fontTools writes, which the tests use, are all correct). Messages name our rules and the tags we
require, never bytes of the file.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping

from customization_vault.intake.errors import CorruptFont
from customization_vault.intake.sniff import OTF, TTF, WOFF, WOFF2, MediaType
from screening.fonts import MAX_SFNT_BYTES, FontParseError, guard_woff2

__all__ = ["check_font_structure"]

# Real fonts carry 10-40 tables; the format allows 65,535, each costing a directory entry to walk.
MAX_TABLES = 512
SFNT_FLAVORS = frozenset({b"\x00\x01\x00\x00", b"OTTO", b"true"})
REQUIRED = ("cmap", "head", "hhea", "hmtx", "maxp", "name", "post")
OUTLINES: tuple[tuple[str, ...], ...] = (("glyf", "loca"), ("CFF ",), ("CFF2",), ("CBDT", "CBLC"), ("sbix",))

_SFNT_HEADER = struct.Struct(">4sH6x")  # sfntVersion, numTables, (search fields)
_SFNT_RECORD = struct.Struct(">4sIII")  # tag, checksum, offset, length
_WOFF_HEADER = struct.Struct(">4s4sIHHI24x")  # signature, flavor, length, numTables, reserved, totalSfntSize
_WOFF_RECORD = struct.Struct(">4sIIII")  # tag, offset, compLength, origLength, origChecksum
_WOFF2_HEADER = struct.Struct(">4s4sIHHII24x")  # ..., totalSfntSize, totalCompressedSize
_HEAD_MAGIC = 0x5F0F3CF5
_HEAD_MIN = 54
_MAXP_MIN = 6


def check_font_structure(data: bytes, media_type: MediaType) -> None:
    """Raise `CorruptFont` unless `data`'s table directory describes a usable font (see the module)."""
    if media_type in (TTF, OTF):
        _check_sfnt(data, str(media_type))
    elif media_type == WOFF:
        _check_woff(data)
    elif media_type == WOFF2:
        _check_woff2(data)
    else:  # pragma: no cover - validate_font routes fonts only
        raise CorruptFont(f"{media_type} is not a font type")


def _tag(raw: bytes) -> str:
    # Tags are four printable ASCII characters; anything else is not a table anyone can ask for.
    if not all(0x20 <= b <= 0x7E for b in raw):
        raise CorruptFont("a table tag is not printable ASCII")
    return raw.decode("ascii")


def _table_count(n: int, fmt: str) -> None:
    if not 1 <= n <= MAX_TABLES:
        raise CorruptFont(f"the {fmt} declares {n} tables (1-{MAX_TABLES} are accepted)")


def _required(tags: Mapping[str, object], fmt: str) -> None:
    missing = [t for t in REQUIRED if t not in tags]
    if missing:
        raise CorruptFont(f"the {fmt} lacks required tables: {', '.join(t.strip() for t in missing)}")
    if not any(all(t in tags for t in group) for group in OUTLINES):
        raise CorruptFont(f"the {fmt} has no outlines (glyf+loca, CFF, CFF2, CBDT+CBLC or sbix)")


def _check_tables(head: bytes, maxp: bytes, loca_length: int | None, fmt: str) -> None:
    """`head`'s magic and units, at least one glyph in `maxp`, and `loca` long enough for every glyph."""
    if len(head) < _HEAD_MIN:
        raise CorruptFont(f"the {fmt} has a head table shorter than {_HEAD_MIN} bytes")
    (magic,) = struct.unpack_from(">I", head, 12)
    (units_per_em,) = struct.unpack_from(">H", head, 18)
    (loca_format,) = struct.unpack_from(">h", head, 50)
    if magic != _HEAD_MAGIC:
        raise CorruptFont(f"the {fmt}'s head table lacks its magic number")
    if not 16 <= units_per_em <= 16384:
        raise CorruptFont(f"the {fmt}'s unitsPerEm is outside 16-16384")
    if len(maxp) < _MAXP_MIN:
        raise CorruptFont(f"the {fmt} has a maxp table shorter than {_MAXP_MIN} bytes")
    (glyphs,) = struct.unpack_from(">H", maxp, 4)
    if glyphs < 1:
        raise CorruptFont(f"the {fmt} has no glyphs")
    if loca_length is not None:
        if loca_format not in (0, 1):
            raise CorruptFont(f"the {fmt}'s head table names an unknown loca format")
        if loca_length < (glyphs + 1) * (2 if loca_format == 0 else 4):
            raise CorruptFont(f"the {fmt}'s loca table is too short for its glyphs")


def _check_sfnt(data: bytes, fmt: str) -> None:
    if len(data) < _SFNT_HEADER.size:
        raise CorruptFont(f"the file is shorter than a {fmt} header")
    flavor, n = _SFNT_HEADER.unpack_from(data)
    if flavor not in SFNT_FLAVORS:
        raise CorruptFont(f"the {fmt} has an unknown sfnt version")
    _table_count(n, fmt)
    directory_end = _SFNT_HEADER.size + n * _SFNT_RECORD.size
    if directory_end > len(data):
        raise CorruptFont(f"the {fmt}'s table directory runs past the end of the file")
    tables: dict[str, tuple[int, int]] = {}
    for k in range(n):
        raw, _checksum, offset, length = _SFNT_RECORD.unpack_from(
            data, _SFNT_HEADER.size + k * _SFNT_RECORD.size
        )
        tag = _tag(raw)
        if tag in tables:
            raise CorruptFont(f"the {fmt} lists a table twice")
        if offset < directory_end or offset + length > len(data):
            raise CorruptFont(f"a table of the {fmt} lies outside the file")
        tables[tag] = (offset, length)
    _required(tables, fmt)

    def table(tag: str) -> bytes:
        offset, length = tables[tag]
        return data[offset : offset + length]

    loca = tables.get("loca") if "glyf" in tables else None
    _check_tables(table("head"), table("maxp"), None if loca is None else loca[1], fmt)


def _inflate(data: bytes, offset: int, comp_length: int, orig_length: int) -> bytes:
    """One WOFF table, inflated to at most its declared size (stored as is when not compressed)."""
    raw = data[offset : offset + comp_length]
    if comp_length == orig_length:
        return raw
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, orig_length + 1)
    except zlib.error:
        raise CorruptFont("a font/woff table is not valid zlib data") from None
    if len(out) != orig_length or inflater.unconsumed_tail:
        raise CorruptFont("a font/woff table does not inflate to its declared size")
    return out


def _check_woff(data: bytes) -> None:
    fmt = "font/woff"
    if len(data) < _WOFF_HEADER.size:
        raise CorruptFont(f"the file is shorter than a {fmt} header")
    _sig, flavor, length, n, _reserved, sfnt_size = _WOFF_HEADER.unpack_from(data)
    if length != len(data):
        raise CorruptFont(f"the {fmt} header's length is not the file's")
    if flavor not in SFNT_FLAVORS:
        raise CorruptFont(f"the {fmt} wraps an unknown sfnt version")
    _table_count(n, fmt)
    if sfnt_size > MAX_SFNT_BYTES:
        raise CorruptFont(f"the {fmt} declares more than {MAX_SFNT_BYTES} bytes of font data")
    directory_end = _WOFF_HEADER.size + n * _WOFF_RECORD.size
    if directory_end > len(data):
        raise CorruptFont(f"the {fmt}'s table directory runs past the end of the file")
    tables: dict[str, tuple[int, int, int]] = {}
    total = 0
    for k in range(n):
        raw, offset, comp, orig, _checksum = _WOFF_RECORD.unpack_from(
            data, _WOFF_HEADER.size + k * _WOFF_RECORD.size
        )
        tag = _tag(raw)
        if tag in tables:
            raise CorruptFont(f"the {fmt} lists a table twice")
        if offset < directory_end or offset + comp > len(data):
            raise CorruptFont(f"a table of the {fmt} lies outside the file")
        if comp > orig:
            raise CorruptFont(f"a table of the {fmt} is larger compressed than declared")
        total += orig
        if total > sfnt_size:
            raise CorruptFont(f"the {fmt}'s tables add up to more than its declared font size")
        tables[tag] = (offset, comp, orig)
    _required(tables, fmt)
    if tables["head"][2] > 1024 or tables["maxp"][2] > 1024:  # 54 and 32 bytes in every real font
        raise CorruptFont(f"the {fmt}'s head or maxp table is implausibly large")
    loca = tables.get("loca") if "glyf" in tables else None
    _check_tables(
        _inflate(data, *tables["head"]),
        _inflate(data, *tables["maxp"]),
        None if loca is None else loca[2],
        fmt,
    )


def _check_woff2(data: bytes) -> None:
    fmt = "font/woff2"
    if len(data) < _WOFF2_HEADER.size:
        raise CorruptFont(f"the file is shorter than a {fmt} header")
    _sig, flavor, length, n, _reserved, sfnt_size, compressed = _WOFF2_HEADER.unpack_from(data)
    if length != len(data):
        raise CorruptFont(f"the {fmt} header's length is not the file's")
    if flavor not in SFNT_FLAVORS:
        raise CorruptFont(f"the {fmt} wraps an unknown sfnt version (collections are not accepted)")
    _table_count(n, fmt)
    if sfnt_size > MAX_SFNT_BYTES:
        raise CorruptFont(f"the {fmt} declares more than {MAX_SFNT_BYTES} bytes of font data")
    from fontTools.ttLib.woff2 import WOFF2DirectoryEntry  # the variable-length directory's one reader

    stream = io.BytesIO(data)
    stream.seek(_WOFF2_HEADER.size)
    tags: dict[str, int] = {}
    total = 0
    for _ in range(n):
        entry = WOFF2DirectoryEntry()
        try:
            entry.fromFile(stream)
            tag = _tag(str(entry.tag).encode("latin-1"))
        except CorruptFont:
            raise
        except Exception:  # fontTools' TTLibError, struct.error, IndexError on hostile bytes
            raise CorruptFont(f"the {fmt}'s table directory cannot be read") from None
        if tag in tags:
            raise CorruptFont(f"the {fmt} lists a table twice")
        total += int(entry.origLength)
        if total > sfnt_size:
            raise CorruptFont(f"the {fmt}'s tables add up to more than its declared font size")
        tags[tag] = int(entry.origLength)
    if stream.tell() + compressed > len(data):
        raise CorruptFont(f"the {fmt}'s compressed tables run past the end of the file")
    _required(tags, fmt)
    try:
        guard_woff2(data)
    except FontParseError:
        raise CorruptFont(f"the {fmt}'s compressed tables do not inflate to their declared size") from None
