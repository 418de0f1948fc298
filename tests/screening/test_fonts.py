"""Font screening: fonts built in fixtures with fontTools' FontBuilder, in all four formats."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.errors import ListFormatError
from screening.findings import FindingKind, Severity, VerdictKind
from screening.fonts import (
    FontInfo,
    FontParseError,
    FontScreener,
    default_restricted_fonts,
    font_name_key,
    load_restricted_fonts,
    parse_restricted_fonts,
    read_font_info,
    sniff_font,
)
from tests.font_samples import build_font

FontFactory = Callable[..., bytes]


@pytest.fixture(scope="module")
def fonts() -> dict[str, bytes]:
    return {
        "font/ttf": build_font(),
        "font/otf": build_font(cff=True),
        "font/woff": build_font(flavor="woff"),
        "font/woff2": build_font(flavor="woff2"),
    }


@pytest.mark.parametrize("media_type", ["font/ttf", "font/otf", "font/woff", "font/woff2"])
def test_every_format_is_sniffed_and_read(fonts: dict[str, bytes], media_type: str) -> None:
    data = fonts[media_type]
    assert sniff_font(data) == media_type
    info = read_font_info(data)
    assert isinstance(info, FontInfo)
    assert info.media_type == media_type
    assert info.family == "Test Sans"
    assert info.subfamily == "Regular"
    assert info.full_name == "Test Sans Regular"
    assert info.postscript_name == "TestSans-Regular"
    assert info.manufacturer == "Example Foundry"
    assert info.license == "SIL Open Font License 1.1"
    assert info.vendor_id == "EXMP"
    assert info.fs_type == 0
    assert not info.embedding_restricted


@pytest.mark.parametrize("flavor", ["woff", "woff2"])
def test_woff_round_trip_keeps_names(flavor: str) -> None:
    from fontTools.ttLib import TTFont

    ttf = build_font("Round Trip", "Bold")
    font = TTFont(io.BytesIO(ttf))
    font.flavor = flavor
    out = io.BytesIO()
    font.save(out)
    wrapped = read_font_info(out.getvalue())
    plain = read_font_info(ttf)
    assert wrapped.media_type == f"font/{flavor}"
    assert (wrapped.family, wrapped.subfamily, wrapped.postscript_name) == (
        plain.family,
        plain.subfamily,
        plain.postscript_name,
    )


def test_sniff_rejects_non_fonts() -> None:
    assert sniff_font(b"") is None
    assert sniff_font(b"\x89PNG\r\n\x1a\n") is None
    assert sniff_font(b"ttcf\x00\x01\x00\x00") is None  # collections are not accepted uploads


def zero_tables(data: bytes) -> bytes:
    """numTables = 0: at offset 4 in an sfnt, 12 in WOFF/WOFF2 headers."""
    at = 12 if data[:4] in (b"wOFF", b"wOF2") else 4
    return data[:at] + b"\x00\x00" + data[at + 2 :]


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda d: d[:40], id="truncated-header"),
        pytest.param(lambda d: d[: len(d) // 2], id="truncated-half"),
        pytest.param(lambda d: d[:12] + b"\xff" * (len(d) - 12), id="garbage-tables"),
        pytest.param(zero_tables, id="zero-tables"),
        pytest.param(lambda d: b"\x00\x01\x00\x00", id="magic-only"),
        pytest.param(lambda d: b"not a font at all", id="not-a-font"),
        pytest.param(lambda d: b"", id="empty"),
    ],
)
@pytest.mark.parametrize("media_type", ["font/ttf", "font/otf", "font/woff", "font/woff2"])
def test_malformed_fonts_raise_font_parse_error(
    fonts: dict[str, bytes], media_type: str, mangle: Callable[[bytes], bytes]
) -> None:
    with pytest.raises(FontParseError) as err:
        read_font_info(mangle(fonts[media_type]))
    assert isinstance(err.value, ValueError)
    assert "Traceback" not in str(err.value)


def test_woff2_claiming_a_huge_sfnt_is_refused_before_inflating(fonts: dict[str, bytes]) -> None:
    data = bytearray(fonts["font/woff2"])
    data[16:20] = (2**31).to_bytes(4, "big")
    with pytest.raises(FontParseError, match="decompressed size"):
        read_font_info(bytes(data))


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("HelveticaNeue-Bold", "Helvetica Neue"),
        ("Helvetica Neue LT Std", "Helvetica Neue"),
        ("HelveticaNeueLTStd-BdCn", "Helvetica Neue"),
        ("HELVETICA-NEUE", "Helvetica Neue"),
        ("Ｈｅｌｖｅｔｉｃａ", "Helvetica"),
        ("Arial Rounded MT Bold", "Arial"),
        ("Univers 55 Roman", "Univers"),
        ("Gill_Sans MT", "Gill Sans"),
    ],
)
def test_style_variants_match_their_family(name: str, family: str) -> None:
    restricted = parse_restricted_fonts(f"x,{family}\n".encode(), name="t")
    assert [e.family for e, _ in restricted.match(name)] == [family]


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("Futuristic", "Futura"),
        ("Arialic Hollow", "Arial"),
        ("Optimal", "Optima"),
        ("Helvetica Neue", "Helvetica"),  # a different family, listed separately when restricted
        ("Liberation Sans", "Arial"),
        ("DejaVu Sans", "Gill Sans"),
    ],
)
def test_unrelated_names_do_not_match(name: str, family: str) -> None:
    restricted = parse_restricted_fonts(f"x,{family}\n".encode(), name="t")
    assert restricted.match(name) == []


def test_name_key_examples() -> None:
    assert font_name_key("Helvetica Neue") == "helveticaneue"
    assert font_name_key("HelveticaNeue-Bold") == "helveticaneuebold"
    assert font_name_key("Gill_Sans MT") == "gillsansmt"


def test_screener_flags_a_restricted_family_with_list_severity() -> None:
    restricted = parse_restricted_fonts(
        b"id,family,foundry,reason,severity\nhn,Helvetica Neue,Linotype,commercial,block\n", name="fonts"
    )
    data = build_font("Helvetica Neue", "Bold", cff=True, flavor="woff2")
    verdict = FontScreener(restricted).screen(data, "font/woff2")
    assert verdict.kind is VerdictKind.BLOCKED
    (finding,) = verdict.findings
    assert finding.kind is FindingKind.FONT
    assert finding.entry == "hn"
    assert finding.list_ref == restricted.ref
    assert finding.list_ref.startswith("fonts@")
    assert finding.severity is Severity.BLOCK
    assert finding.score == 1.0
    assert finding.label == "Helvetica Neue (Linotype)"


def test_screener_default_severity_is_review_and_clean_fonts_clear() -> None:
    restricted = parse_restricted_fonts(b"g,Gotham\n", name="fonts")
    screener = FontScreener(restricted)
    flagged = screener.screen(build_font("Gotham", "Medium"), "font/ttf")
    assert flagged.kind is VerdictKind.FLAGGED
    assert flagged.findings[0].severity is Severity.REVIEW
    assert screener.screen(build_font("Open Sans", "Regular"), "font/ttf").kind is VerdictKind.CLEAR


def test_screener_flags_restricted_embedding_bit() -> None:
    screener = FontScreener(parse_restricted_fonts(b"g,Gotham\n", name="fonts"))
    verdict = screener.screen(build_font("Anything", fs_type=0x0002), "font/ttf")
    assert verdict.kind is VerdictKind.FLAGGED
    assert verdict.findings[0].entry == "restricted-license-embedding"
    off = FontScreener(parse_restricted_fonts(b"g,Gotham\n", name="f"), embedding_restricted_severity=None)
    assert off.screen(build_font("Anything", fs_type=0x0002), "font/ttf").kind is VerdictKind.CLEAR


def test_screener_refuses_non_fonts_and_malformed() -> None:
    screener = FontScreener()
    with pytest.raises(ValueError, match="fonts"):
        screener.screen(b"hello", "text/plain")
    with pytest.raises(FontParseError):
        screener.screen(b"\x00\x01\x00\x00garbage", "font/ttf")


def test_default_list_loads_and_catches_a_known_family() -> None:
    restricted = default_restricted_fonts()
    assert len(restricted) >= 10
    assert restricted.ref.startswith("restricted_fonts@")
    verdict = FontScreener().screen(build_font("Proxima Nova", "Semibold"), "font/otf")
    assert verdict.kind is VerdictKind.FLAGGED
    assert verdict.findings[0].entry == "proxima-nova"


@pytest.mark.parametrize(
    ("csv_text", "line", "reason"),
    [
        ("a,Helvetica\nb\n", 2, "columns"),
        ("a,Helvetica\na,Arial\n", 2, "duplicate"),
        ("a,Helvetica,,,\n,Arial\n", 2, "empty id"),
        ("a,Helvetica,Linotype,commercial,forbid\n", 1, "severity"),
        ("# comment\na,Sa\n", 2, "3 letters"),
        ("id,name\n", 1, "header"),
        ("a,b,c,d,e,f\n", 1, "columns"),
    ],
)
def test_list_errors_name_the_line(csv_text: str, line: int, reason: str) -> None:
    with pytest.raises(ListFormatError, match=reason) as err:
        parse_restricted_fonts(csv_text.encode(), name="t", source="fonts.csv")
    assert err.value.line == line
    assert str(err.value).startswith(f"fonts.csv:{line}:")


def test_list_loader_reads_files_and_reports_missing(tmp_path: Path) -> None:
    path = tmp_path / "my_fonts.csv"
    path.write_text("\ufeffid,family\n# c\n\nx,Frutiger,,,info\n", encoding="utf-8")
    restricted = load_restricted_fonts(path)
    assert restricted.name == "my_fonts"
    assert [(e.id, e.severity) for e in restricted.entries] == [("x", Severity.INFO)]
    with pytest.raises(ListFormatError, match="cannot read"):
        load_restricted_fonts(tmp_path / "missing.csv")
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ListFormatError, match="UTF-8"):
        load_restricted_fonts(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["font/ttf", "font/otf", "font/woff", "font/woff2"]),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, 10_000),
)
def test_mutated_fonts_never_escape_as_other_errors(
    fonts: dict[str, bytes], which: str, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(fonts[which])
    for pos, value in edits:
        data[pos % len(data)] = value
    data = data[: max(4, len(data) - cut % len(data))]
    try:
        info = read_font_info(bytes(data))
    except FontParseError:
        return
    assert isinstance(info, FontInfo)


def test_woff_zlib_bomb_is_refused_before_fonttools_inflates_it() -> None:
    bomb = zlib.compress(b"\0" * 20_000_000, 9)  # ~20 KB that inflates to 20 MB
    declared = len(bomb) + 1000  # compressed < declared, as a real compressed table; inflates far past it
    directory = struct.pack(">4sIIII", b"name", 64, len(bomb), declared, 0)
    header = struct.pack(
        ">4s4sIHHIHHIIIII", b"wOFF", b"\0\1\0\0", 64 + len(bomb), 1, 0, 112, 1, 0, 0, 0, 0, 0, 0
    )
    data = header + directory + bomb
    with pytest.raises(FontParseError, match="inflates past"):
        read_font_info(data)


def test_woff2_brotli_bomb_is_refused_before_fonttools_inflates_it() -> None:
    import brotli  # a runtime dependency (the WOFF2 guard needs it)

    bomb = brotli.compress(b"\0" * 20_000_000)
    directory = bytes([5, 100])  # known tag 5 = "name", null transform; origLength 100 (UIntBase128)
    length = 48 + len(directory) + len(bomb)
    header = struct.pack(
        ">4s4sIHHIIHHIIIII", b"wOF2", b"\0\1\0\0", length, 1, 0, 112, len(bomb), 1, 0, 0, 0, 0, 0, 0
    )
    with pytest.raises(FontParseError, match="inflates past"):
        read_font_info(header + directory + bomb)
