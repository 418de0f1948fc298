"""Font screening: parse an uploaded TTF/OTF/WOFF/WOFF2 with fontTools, read its names, and check them
against a restricted-fonts list (commercial families whose licences forbid passing the font file on).
"""

from __future__ import annotations

import csv
import importlib
import io
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from screening.errors import ListFormatError
from screening.findings import Finding, FindingKind, Severity, Verdict
from screening.listfiles import list_ref, list_version, read_list_file
from screening.screener import EngineStatus

__all__ = [
    "MAX_SFNT_BYTES",
    "FontInfo",
    "FontParseError",
    "FontScreener",
    "RestrictedFont",
    "RestrictedFontList",
    "default_restricted_fonts",
    "font_name_key",
    "load_restricted_fonts",
    "parse_restricted_fonts",
    "read_font_info",
    "sniff_font",
]

_DATA_DIR: Final = Path(__file__).resolve().parent / "data" / "fonts"
FONT_MEDIA_TYPES: Final = ("font/ttf", "font/otf", "font/woff", "font/woff2")
_MAGIC: Final = (
    (b"\x00\x01\x00\x00", "font/ttf"),
    (b"true", "font/ttf"),  # Apple's TrueType sfnt tag
    (b"OTTO", "font/otf"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
)
# WOFF/WOFF2 state the decompressed sfnt size in their header (offset 16). fontTools inflates the
# whole font before we can read a name, so a small upload claiming a huge sfnt is refused up front
# (a decompression bomb); real fonts with big CJK glyph sets stay well under this.
MAX_SFNT_BYTES: Final = 64 * 1024 * 1024
_MAX_NAME_CHARS: Final = 256
# OS/2 fsType bit 1: "Restricted License embedding": the font must not be embedded or passed on at all.
_FSTYPE_RESTRICTED: Final = 0x0002


class FontParseError(ValueError):
    """Bytes that are not a readable TTF/OTF/WOFF/WOFF2 font; the message names the problem, not the bytes."""


def sniff_font(data: bytes) -> str | None:
    """The media type `data` starts with: "font/ttf", "font/otf", "font/woff", "font/woff2", or None."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    return None


@dataclass(frozen=True, slots=True)
class FontInfo:
    """What a font says about itself: the name table (English, Windows first) and OS/2 vendor and fsType.

    Missing names are None. `names()` lists the ones that identify the family, for matching.
    """

    media_type: str
    family: str | None
    subfamily: str | None
    full_name: str | None
    postscript_name: str | None
    typographic_family: str | None
    manufacturer: str | None
    designer: str | None
    license: str | None
    license_url: str | None
    vendor_id: str | None
    fs_type: int | None

    @property
    def embedding_restricted(self) -> bool:
        return self.fs_type is not None and bool(self.fs_type & _FSTYPE_RESTRICTED)

    def names(self) -> tuple[str, ...]:
        found = (self.typographic_family, self.family, self.full_name, self.postscript_name)
        return tuple(dict.fromkeys(n for n in found if n))


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value))
    # Control characters in names are never legitimate and would corrupt logs or CSV exports.
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == " ").strip()
    return text[:_MAX_NAME_CHARS] or None


def _guard_woff(data: bytes) -> None:
    """Refuse a WOFF whose zlib tables inflate past their declared sizes (or past the limit).

    fontTools inflates each table completely before comparing it with its declared length, so a
    few kilobytes of crafted zlib could allocate gigabytes; here every table is inflated with an
    output cap first.
    """
    if len(data) < 44:
        raise FontParseError("truncated font/woff header")
    (num_tables,) = struct.unpack(">H", data[12:14])
    (sfnt_size,) = struct.unpack(">I", data[16:20])
    if sfnt_size > MAX_SFNT_BYTES:
        raise FontParseError("font/woff declares a decompressed size over the limit")
    end = 44 + 20 * num_tables
    if len(data) < end:
        raise FontParseError("truncated font/woff table directory")
    total = 0
    for k in range(num_tables):
        offset, comp_len, orig_len = struct.unpack(">III", data[44 + 20 * k + 4 : 44 + 20 * k + 16])
        total += orig_len
        if total > MAX_SFNT_BYTES:
            raise FontParseError("font/woff tables are over the size limit")
        if comp_len > orig_len:
            raise FontParseError("malformed font/woff table sizes")
        if comp_len < orig_len:
            inflater = zlib.decompressobj()
            try:
                out = inflater.decompress(data[offset : offset + comp_len], orig_len + 1)
            except zlib.error:
                raise FontParseError("malformed font/woff table compression") from None
            if len(out) > orig_len or inflater.unconsumed_tail:
                raise FontParseError("font/woff table inflates past its declared size")


def guard_woff2(data: bytes) -> None:
    """Refuse a WOFF2 whose Brotli stream inflates past the table sizes its directory declares.

    Same reason as `_guard_woff`: fontTools would inflate the whole stream before checking it. A
    stream that inflates to less is refused too (fontTools refuses it later): intake runs this guard,
    so a WOFF2 that fulfilment could not open is never stored.
    """
    if len(data) < 48:
        raise FontParseError("truncated font/woff2 header")
    (sfnt_size,) = struct.unpack(">I", data[16:20])
    if sfnt_size > MAX_SFNT_BYTES:
        raise FontParseError("font/woff2 declares a decompressed size over the limit")
    try:
        brotli: Any = importlib.import_module("brotli")  # untyped; fontTools' own WOFF2 dependency
        from fontTools.misc import sstruct
        from fontTools.ttLib.woff2 import WOFF2DirectoryEntry, woff2DirectoryFormat, woff2DirectorySize

        header: dict[str, int] = {}
        sstruct.unpack(woff2DirectoryFormat, data[:woff2DirectorySize], header)
        stream = io.BytesIO(data)
        stream.seek(woff2DirectorySize)
        expected = 0
        for _ in range(header["numTables"]):
            entry = WOFF2DirectoryEntry()
            entry.fromFile(stream)
            expected += int(entry.length)
        if expected > MAX_SFNT_BYTES:
            raise FontParseError("font/woff2 tables are over the size limit")
        compressed = stream.read(header["totalCompressedSize"])
        out = brotli.Decompressor().process(compressed, output_buffer_limit=expected + 1)
    except FontParseError:
        raise
    except ImportError as exc:
        raise RuntimeError(f"font parsing dependency missing: {exc.name}") from None
    except Exception as exc:  # a directory or stream fontTools/brotli cannot read
        raise FontParseError(f"malformed font/woff2 font ({type(exc).__name__})") from None
    if len(out) > expected:
        raise FontParseError("font/woff2 data inflates past its declared size")
    if len(out) < expected:
        raise FontParseError("font/woff2 data inflates to less than its declared size")


def read_font_info(data: bytes) -> FontInfo:
    """Parse `data` (any of the four formats) and read its names; FontParseError for anything else."""
    media_type = sniff_font(data)
    if media_type is None:
        raise FontParseError("not a TTF, OTF, WOFF or WOFF2 font")
    if media_type == "font/woff":
        _guard_woff(data)
    elif media_type == "font/woff2":
        guard_woff2(data)
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(io.BytesIO(data), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
        try:
            if "name" not in font:
                raise FontParseError(f"{media_type} font has no name table")
            name = font["name"]
            os2 = font["OS/2"] if "OS/2" in font else None
            info = FontInfo(
                media_type=media_type,
                family=_clean(name.getDebugName(1)),
                subfamily=_clean(name.getDebugName(2)),
                full_name=_clean(name.getDebugName(4)),
                postscript_name=_clean(name.getDebugName(6)),
                typographic_family=_clean(name.getDebugName(16)),
                manufacturer=_clean(name.getDebugName(8)),
                designer=_clean(name.getDebugName(9)),
                license=_clean(name.getDebugName(13)),
                license_url=_clean(name.getDebugName(14)),
                vendor_id=_clean(getattr(os2, "achVendID", None)) if os2 is not None else None,
                fs_type=int(os2.fsType) if os2 is not None and hasattr(os2, "fsType") else None,
            )
        finally:
            font.close()
    except FontParseError:
        raise
    except ImportError as exc:
        # WOFF2 needs `brotli`; a missing module is an install problem, not a bad upload.
        raise RuntimeError(f"font parsing dependency missing: {exc.name}") from None
    except Exception as exc:  # fontTools raises anything from struct.error to AssertionError on bad input
        raise FontParseError(f"malformed {media_type} font ({type(exc).__name__})") from None
    if not info.names():
        raise FontParseError(f"{media_type} font has no family or font name")
    return info


# --- name matching ------------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# Words a family name is followed by in style, width, weight, optical-size and vendor-packaging
# suffixes ("HelveticaNeueLTStd-BdCn", "Arial Rounded MT Bold", "Univers 55 Roman"). A name matches
# a restricted family only when what follows the family is made of these words and digits, so
# "Futura Bold" matches "Futura" but "Futuristic" and "Arialic Hollow" do not.
_STYLE_WORDS: Final = frozenset(
    """
    regular roman book normal plain upright italic ital it oblique obl slanted inclined
    thin hairline extralight ultralight light lt medium md demi demibold semibold semi bold bd heavy
    black blk ultra extra extrabold ultrabold xbold fat poster super
    condensed cond cn compressed comp narrow extended ext expanded wide
    display text caption headline subhead micro deck small smallcaps sc caps titling
    rounded round outline inline shadow
    std pro lt mt ps ms com w1g cyr greek ce paneuropean offc ot otf ttf web
    rg reg bk hv ul th xl el sb eb
    """.split()
)


def font_name_key(name: str) -> str:
    """The comparison form of a font or family name.

    Examples: "Helvetica Neue" -> "helveticaneue"; "HelveticaNeue-Bold" -> "helveticaneuebold";
    "ＨＥＬＶＥＴＩＣＡ" (full-width) -> "helvetica"; "Gill_Sans MT" -> "gillsansmt".
    """
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", name).casefold())


def _is_style_suffix(rest: str) -> bool:
    """Whether `rest` (a key fragment) splits wholly into style words and digit runs."""
    if not rest:
        return True
    ok = [False] * (len(rest) + 1)
    ok[0] = True
    for i in range(len(rest)):
        if not ok[i]:
            continue
        j = i
        while j < len(rest) and rest[j].isdigit():
            j += 1
            ok[j] = True
        for word in _STYLE_WORDS:
            if rest.startswith(word, i):
                ok[i + len(word)] = True
    return ok[len(rest)]


@dataclass(frozen=True, slots=True)
class RestrictedFont:
    id: str
    family: str
    foundry: str | None
    reason: str | None
    severity: Severity
    key: str


@dataclass(frozen=True, slots=True)
class RestrictedFontList:
    """A parsed list. Matching is a scan of every entry: restricted-font lists run to hundreds of
    families, and a font has at most four names to try."""

    name: str
    version: str
    entries: tuple[RestrictedFont, ...]

    @property
    def ref(self) -> str:
        return list_ref(self.name, self.version)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, font_name: str) -> list[tuple[RestrictedFont, float]]:
        """Entries whose family this name is, or is followed only by style words; score 1.0 exact."""
        key = font_name_key(font_name)
        out: list[tuple[RestrictedFont, float]] = []
        for entry in self.entries:
            if key == entry.key:
                out.append((entry, 1.0))
            elif key.startswith(entry.key) and _is_style_suffix(key[len(entry.key) :]):
                out.append((entry, 0.9))
        return out


_SEVERITIES: Final = {s.value: s for s in Severity}


def parse_restricted_fonts(data: bytes, *, name: str, source: str | None = None) -> RestrictedFontList:
    """Parse `id,family[,foundry,reason,severity]` CSV (optional header row; `#` comment lines).

    Severity is block, review or info (default review: a font name is evidence for a reviewer, not
    proof of an unlicensed copy). Errors name the source and line.
    """
    where = source or name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ListFormatError(where, None, "not UTF-8 text") from None
    entries: list[RestrictedFont] = []
    seen: set[str] = set()
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in row]
        if not entries and not seen and cells[0].casefold() == "id" and len(cells) > 1:
            if cells[1].casefold() != "family":
                raise ListFormatError(where, line, "header must start with id,family")
            continue
        if len(cells) < 2 or len(cells) > 5:
            raise ListFormatError(where, line, f"expected 2 to 5 columns, got {len(cells)}")
        cells += [""] * (5 - len(cells))
        entry_id, family, foundry, reason, severity_text = cells
        if not entry_id:
            raise ListFormatError(where, line, "empty id")
        if entry_id in seen:
            raise ListFormatError(where, line, f"duplicate id {entry_id!r}")
        key = font_name_key(family)
        if len(key) < 3:
            # "Sans" alone or a 2-letter family would match half of all fonts.
            raise ListFormatError(where, line, "family must have at least 3 letters or digits")
        severity = _SEVERITIES.get(severity_text.casefold() or "review")
        if severity is None:
            raise ListFormatError(where, line, "severity must be block, review or info")
        seen.add(entry_id)
        entries.append(RestrictedFont(entry_id, family, foundry or None, reason or None, severity, key))
    return RestrictedFontList(name, list_version(data), tuple(entries))


def load_restricted_fonts(path: Path, *, name: str | None = None) -> RestrictedFontList:
    path = Path(path)
    return parse_restricted_fonts(read_list_file(path), name=name or path.stem, source=str(path))


def default_restricted_fonts() -> RestrictedFontList:
    """The shipped list (screening/data/fonts/restricted_fonts.csv)."""
    data = (_DATA_DIR / "restricted_fonts.csv").read_bytes()
    return parse_restricted_fonts(data, name="restricted_fonts", source="restricted_fonts.csv")


class FontScreener:
    """Screens uploaded fonts: a name matching a restricted family is a FONT finding with the list's
    severity; a font whose own OS/2 fsType says "restricted licence embedding" is one too.

    Pure and stateless after construction, so safe to share across threads.
    """

    EMBEDDING_LIST_REF: Final = "os2-fstype@1"

    def __init__(
        self,
        restricted: RestrictedFontList | None = None,
        *,
        embedding_restricted_severity: Severity | None = Severity.REVIEW,
    ) -> None:
        self._list = restricted if restricted is not None else default_restricted_fonts()
        self._embedding_severity = embedding_restricted_severity

    def __repr__(self) -> str:
        return f"FontScreener(list={self._list.ref}, entries={len(self._list)})"

    def status(self) -> EngineStatus:
        """Readiness: the restricted-fonts list by name@version, with its entries."""
        return EngineStatus.loaded(self, {self._list.ref: len(self._list)})

    def screen(self, data: bytes, media_type: str) -> Verdict:
        if not media_type.startswith("font/"):
            raise ValueError(f"FontScreener screens fonts, not {media_type.split('/', 1)[0]}")
        info = read_font_info(data)
        return Verdict.of(self.findings(info))

    def findings(self, info: FontInfo) -> list[Finding]:
        best: dict[str, tuple[RestrictedFont, float]] = {}
        for font_name in info.names():
            for entry, score in self._list.match(font_name):
                if entry.id not in best or score > best[entry.id][1]:
                    best[entry.id] = (entry, score)
        out = [
            Finding(
                kind=FindingKind.FONT,
                list_ref=self._list.ref,
                entry=entry.id,
                score=score,
                severity=entry.severity,
                category=entry.reason,
                label=entry.family if entry.foundry is None else f"{entry.family} ({entry.foundry})",
            )
            for entry, score in sorted(best.values(), key=lambda t: (-t[1], t[0].id))
        ]
        if info.embedding_restricted and self._embedding_severity is not None:
            out.append(
                Finding(
                    kind=FindingKind.FONT,
                    list_ref=self.EMBEDDING_LIST_REF,
                    entry="restricted-license-embedding",
                    score=1.0,
                    severity=self._embedding_severity,
                    label="the font's own licence flags forbid embedding",
                )
            )
        return out
