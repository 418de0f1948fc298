"""Trademark registers: the USPTO XML and CSV readers, the merge by serial number, status and class
rules, famous marks and phrase marks, on files generated here from the published layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from screening.errors import ListFormatError
from screening.findings import Severity, VerdictKind
from screening.text.lexicon import default_lexicon
from screening.text.lists import MarkList
from screening.text.register import (
    ImportReport,
    RegisterRecord,
    apply_product,
    build_register,
    for_product,
    iter_csv_register,
    iter_uspto,
    parse_register,
    product_classes,
    register_meta,
    status_name,
    stored_records,
)
from screening.text.screener import TextScreener
from screening.text.trademark import MarkIndex
from tests.screening.text.uspto_xml import Case, write_uspto

EMPTY_MARKS = MarkList("marks", "0", [], [], [])


def _register(*batches: list[RegisterRecord]) -> bytes:
    return build_register(batches, ImportReport())


def _screener(content: bytes, today: str = "20261202") -> TextScreener:
    reg = parse_register(content, "register", "1", today=today)
    return TextScreener(MarkIndex.build(EMPTY_MARKS, default_lexicon(), register=reg), None)


def _read(path: Path) -> tuple[list[RegisterRecord], ImportReport]:
    report = ImportReport()
    return list(iter_uspto(path, report)), report


def test_a_case_file_yields_every_field_the_register_keeps(tmp_path: Path) -> None:
    case = Case(
        "97123456",
        "ZORBLAXO & Co.",
        status=800,
        classes=(25, 9, 25, 200),  # repeated and US-only classes are dropped
        owner="First Owner Inc.",
        owners=(("30", "Current Owner LLC"), ("20", "Assignee In Between")),
        registration="6543210",
        registered="20180515",
    )
    (rec,), report = _read(write_uspto(tmp_path / "d.xml", [case]))
    assert rec == RegisterRecord(
        serial="97123456",
        mark="ZORBLAXO & Co.",
        status=800,
        classes=(9, 25),
        owner="Current Owner LLC",
        registration="6543210",
        registered="20180515",
        kind="word",
    )
    assert (report.read, report.bad_records, report.sources) == (1, 0, ["d.xml"])


def test_zip_members_are_read_like_the_plain_file(tmp_path: Path) -> None:
    cases = [Case(str(86000000 + i), f"Mark{i}x", classes=(i % 45 + 1,)) for i in range(2500)]
    plain, _ = _read(write_uspto(tmp_path / "a.xml", cases))
    zipped, report = _read(write_uspto(tmp_path / "a.zip", cases, zipped=True))
    assert zipped == plain
    assert len(plain) == 2500
    assert report.sources == ["a.zip:a.xml"]
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:  # really compressed: the reader streamed it
        assert zf.infolist()[0].compress_type == zipfile.ZIP_DEFLATED


def test_bad_records_are_counted_and_skipped_never_fatal(tmp_path: Path) -> None:
    good = Case("90000001", "Quorblix")
    broken = [
        "<case-file><serial-number></serial-number></case-file>",
        "<case-file><serial-number>90000002</serial-number><case-file-header><status-code>abc"
        "</status-code></case-file-header></case-file>",
        "<case-file><serial-number>90000003</serial-number><case-file-header><status-code>700"
        "</status-code><mark-identification>X</mark-identification></case-file-header><classifications>"
        "<classification><international-code>A</international-code></classification></classifications>"
        "</case-file>",
    ]
    recs, report = _read(write_uspto(tmp_path / "b.xml", [broken[0], good, broken[1], broken[2]]))
    assert [r.serial for r in recs] == ["90000001"]
    assert (report.read, report.bad_records) == (4, 3)
    assert "no serial number" in report.problems[0]
    assert "no status code" in report.problems[1]
    assert "class 'A'" in report.problems[2]

    # A document cut short ends its own file only; the next file is still read.
    cut = tmp_path / "cut.xml"
    cut.write_bytes((tmp_path / "b.xml").read_bytes()[:-200])
    report = ImportReport()
    later = tmp_path / "later.xml"
    write_uspto(later, [Case("90000009", "Vexnora")])
    content = build_register([iter_uspto(cut, report), iter_uspto(later, report)], report)
    assert [r.serial for r in stored_records(content)] == ["90000001", "90000009"]
    # two bad case files before the cut, and the cut itself (the third bad one was cut off)
    assert report.bad_records == 3
    assert "XML broken" in report.problems[-1]


def test_a_file_that_is_not_a_uspto_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text("<rss><channel/></rss>")
    with pytest.raises(ListFormatError, match="not a USPTO trademark-applications file"):
        _read(other)


def test_a_daily_file_replaces_records_by_serial_and_drops_the_dead(tmp_path: Path) -> None:
    annual = write_uspto(
        tmp_path / "annual.zip",
        [
            Case("1", "Alphazorb", owner="Old Owner"),
            Case("2", "Betazorb"),
            Case("3", "Gammazorb", status=602),  # abandoned: not kept
        ],
        daily=False,
        zipped=True,
    )
    daily = write_uspto(
        tmp_path / "daily.xml",
        [
            Case("1", "Alphazorb", owner="New Owner", classes=(25, 21)),  # assigned, class added
            Case("2", "Betazorb", status=710),  # cancelled: leaves the register
            Case("4", "Deltazorb", status=630),  # a new application: pending, kept
        ],
    )
    report = ImportReport()
    first = build_register([iter_uspto(annual, report)], report)
    assert [r.serial for r in stored_records(first)] == ["1", "2"]
    report = ImportReport()
    second = build_register([stored_records(first), iter_uspto(daily, report)], report)
    recs = {r.serial: r for r in stored_records(second)}
    assert sorted(recs) == ["1", "4"]
    assert (recs["1"].owner, recs["1"].classes) == ("New Owner", (21, 25))
    assert status_name(recs["4"].status) == "pending"
    meta = register_meta(second)
    assert meta["records"] == 2
    assert meta["by_status"] == {"cancelled": 1, "pending": 1, "registered": 1}
    assert meta["by_class"] == {"21": 1, "25": 2}
    assert meta["sources"] == ["daily.xml"]
    assert float(str(meta["build_seconds"])) >= 0


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (630, "pending"),
        (686, "pending"),
        (602, "abandoned"),
        (700, "registered"),
        (702, "registered"),
        (710, "cancelled"),
        (800, "registered"),
        (900, "expired"),
    ],
)
def test_status_codes_map_to_live_or_dead(code: int, name: str) -> None:
    assert status_name(code) == name


def test_csv_register_rows_words_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "reg.csv"
    path.write_text(
        "mark,classes,status,owner,kind,serial\n"
        "Plinkory,25; 21,live,Plink Ltd,word,\n"
        "Old Plink,25,abandoned,Plink Ltd,word,\n"
        "Snorfle,9,801,Snorf,word,S-1\n"
        "Bad Status,9,sleeping,X,word,\n"
        "Bad Kind,9,live,X,hologram,\n"
        "Design Only,9,live,X,design,\n"
    )
    report = ImportReport()
    content = build_register([iter_csv_register(path, report)], report)
    recs = {r.mark: r for r in stored_records(content)}
    assert sorted(recs) == ["Design Only", "Plinkory", "Snorfle"]
    assert recs["Plinkory"].classes == (21, 25)
    assert recs["Plinkory"].serial == "reg:plinkory"
    assert recs["Snorfle"].serial == "S-1"
    assert status_name(recs["Snorfle"].status) == "registered"
    assert (report.read, report.bad_records) == (6, 2)
    reg = parse_register(content, "register", "1")
    assert sorted(reg.marks) == ["Plinkory", "Snorfle"]  # the design has no words to match


def test_only_live_marks_match_and_findings_carry_the_register_facts() -> None:
    content = _register(
        [
            RegisterRecord("11", "Vexnoria", 700, (25,), "Vex Holdings", "5000001", "20200101"),
            RegisterRecord("12", "Quillzap", 602, (25,), "Gone Inc"),
        ]
    )
    ts = _screener(content)
    v = ts.screen_text("Vexnoria for Sam")
    (f,) = v.findings
    assert (v.kind, f.list_ref, f.entry, f.severity) == (
        VerdictKind.BLOCKED,
        "register@1",
        "11",
        Severity.BLOCK,
    )
    assert f.register is not None
    assert f.to_dict()["trademark"] == {
        "serial": "11",
        "registration": "5000001",
        "status": "registered",
        "status_code": 700,
        "classes": [25],
        "owner": "Vex Holdings",
        "famous": False,
        "outside_classes": False,
    }
    assert ts.screen_text("Quillzap for Sam").kind == VerdictKind.CLEAR


def test_the_product_classes_weaken_marks_of_other_classes_only() -> None:
    content = _register(
        [
            RegisterRecord("21", "Vexnoria", 700, (25,), "Vex"),  # clothing only
            RegisterRecord("22", "Zumbrel", 700, (), "No Classes Given"),
            RegisterRecord("23", "Coca-Cola", 700, (32,), "The Coca-Cola Company"),  # curated famous
            RegisterRecord("24", "Glorbix", 700, tuple(range(1, 13)), "Old Giant", registered="19900101"),
        ]
    )
    ts = _screener(content)
    mug = product_classes("Mug")
    assert mug == frozenset({21})
    assert product_classes("T-Shirt") == frozenset({25})
    assert product_classes("space rocket") is None

    exact = ts.screen_text("Vexnoria")
    assert exact.kind == VerdictKind.BLOCKED
    on_mug = apply_product(exact, mug)
    (f,) = on_mug.findings
    assert (on_mug.kind, f.severity) == (VerdictKind.FLAGGED, Severity.REVIEW)
    assert f.register is not None
    assert f.register.outside_classes
    assert for_product(exact, "t-shirt") is exact  # in its class: as screened
    assert for_product(exact, "space rocket") is exact  # unknown product: every class
    assert for_product(exact, None) is exact

    misspelt = ts.screen_text("Vexnorria")
    assert misspelt.kind == VerdictKind.FLAGGED
    assert for_product(misspelt, "mug").kind == VerdictKind.CLEAR  # a weak match outside the class: gone

    for text in ("Zumbrel", "Coca-Cola", "Glorbix"):  # no classes known; famous (list); famous (rule)
        v = ts.screen_text(text)
        assert v.kind == VerdictKind.BLOCKED, text
        assert for_product(v, "mug") is v, text
    glorbix = ts.screen_text("Glorbix").findings[0].register
    coke = ts.screen_text("Coca-Cola").findings[0].register
    assert glorbix is not None
    assert glorbix.famous
    assert coke is not None
    assert coke.famous
    # The rule needs the years too: the same register ten years earlier does not make it famous.
    young = _screener(content, today="20000101").screen_text("Glorbix").findings[0].register
    assert young is not None
    assert not young.famous


def test_slogans_match_as_phrases_but_not_their_common_words() -> None:
    content = _register(
        [
            RegisterRecord("31", "Melts In Your Mouth", 700, (30,), "Candy Co", kind="phrase"),
            RegisterRecord("32", "Zing Your Zorble", 700, (25,), "Zorble Inc", kind="phrase"),
        ]
    )
    ts = _screener(content)
    for text in (
        "MELTS IN YOUR MOUTH™ tee",
        "Melts-In-Your-Mouth™",
        "melts  in your/mouth®",
        "melts.in.your.mouth®",
        "MeltsInYourMouth",
        "Melts In Yuor Mouth™",  # light misspelling
    ):
        assert [f.entry for f in ts.screen_text(text).findings] == ["31"], text
    # An everyday phrase needs a brand signal (the distinctiveness rule), and its words alone never match.
    for text in ("it melts in your mouth, love Sam", "mouth", "melts", "your mouth"):
        assert ts.screen_text(text).findings == (), text
    # A slogan with an invented word matches in any case and spacing, misspelt too.
    for text in ("zing your zorble!", "ZING YOUR ZORBLE", "Zing your Zorbel", "zing-your-zorble"):
        assert [f.entry for f in ts.screen_text(text).findings] == ["32"], text
    assert ts.screen_text("zing your day").findings == ()
