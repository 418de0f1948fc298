"""Fonts built with fontTools' FontBuilder for the font suites (intake, screening, the API): one glyph,
in TTF (glyf), OTF (CFF), WOFF or WOFF2, with the names and licence bits a test asks for."""

from __future__ import annotations

import io
import struct

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen


def build_font(
    family: str = "Test Sans",
    style: str = "Regular",
    *,
    cff: bool = False,
    flavor: str | None = None,
    fs_type: int = 0,
    manufacturer: str | None = "Example Foundry",
    license_text: str | None = "SIL Open Font License 1.1",
    vendor: str = "EXMP",
) -> bytes:
    """A minimal but valid font with one glyph, in TTF (glyf), OTF (CFF), WOFF or WOFF2."""
    fb = FontBuilder(1000, isTTF=not cff)
    glyphs = [".notdef", "A"]
    fb.setupGlyphOrder(glyphs)
    fb.setupCharacterMap({ord("A"): "A"})
    if cff:
        charstrings = {}
        for g in glyphs:
            pen = T2CharStringPen(500, None)
            pen.moveTo((0, 0))
            pen.lineTo((500, 0))
            pen.lineTo((250, 700))
            pen.closePath()
            charstrings[g] = pen.getCharString()
        fb.setupCFF(f"{family.replace(' ', '')}-{style}", {"FullName": f"{family} {style}"}, charstrings, {})
    else:
        tt = {}
        for g in glyphs:
            pen = TTGlyphPen(None)
            pen.moveTo((0, 0))
            pen.lineTo((500, 0))
            pen.lineTo((250, 700))
            pen.closePath()
            tt[g] = pen.glyph()
        fb.setupGlyf(tt)
    fb.setupHorizontalMetrics(dict.fromkeys(glyphs, (600, 0)))
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    names: dict[str, str] = {
        "familyName": family,
        "styleName": style,
        "uniqueFontIdentifier": f"{family}-{style}-1.0",
        "fullName": f"{family} {style}",
        "psName": f"{family.replace(' ', '')}-{style}",
        "version": "Version 1.000",
    }
    if manufacturer:
        names["manufacturer"] = manufacturer
    if license_text:
        names["licenseDescription"] = license_text
    fb.setupNameTable(names)
    fb.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200, fsType=fs_type, achVendID=vendor)
    fb.setupPost()
    buf = io.BytesIO()
    if flavor:
        fb.font.flavor = flavor
    fb.save(buf)
    return buf.getvalue()


def font_with_unreadable_names(extra: bytes = b"") -> bytes:
    """A TTF whose table directory is sound (intake accepts it) but whose name records all point past
    their table, so no engine can read a family name from it; `extra` is written into the table."""
    font = build_font()
    (count,) = struct.unpack_from(">H", font, 4)
    for k in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", font, 12 + 16 * k)
        if tag == b"name":
            records = b"".join(
                struct.pack(">HHHHHH", 3, 1, 0x409, name_id, 40, 60_000) for name_id in (1, 2, 4)
            )
            table = struct.pack(">HHH", 0, 3, 6 + len(records)) + records + extra
            if len(table) > length:
                raise ValueError("the name table is too short for the records and `extra`")
            return font[:offset] + table.ljust(length, b"\x00") + font[offset + length :]
    raise AssertionError("FontBuilder always writes a name table")
