"""List formats: marks CSV, terms CSV or plain text, allow-lists; errors name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.errors import ListFormatError
from screening.findings import Severity
from screening.text import (
    Distinctiveness,
    infer_distinctiveness,
    load_allow,
    load_marks,
    load_terms,
)
from screening.text.lexicon import default_lexicon
from screening.text.lists import mark_key


def write(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


def test_marks_csv_with_optional_columns(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "marks.csv",
        "mark,id,owner,distinctiveness\nCoca-Cola,coke,TCCC,\nApple,,Apple Inc,dictionary\n",
    )
    marks = load_marks(p)
    assert marks.ids == ["coke", "apple"]  # id defaults to the mark's key
    assert marks.distinctiveness == [None, Distinctiveness.DICTIONARY]
    assert marks.ref.startswith("marks@")
    assert len(marks.version) == 12


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("name\nNike\n", 1, "'mark'"),
        ("id,mark\nn,Nike\nx,\n", 3, "empty 'mark'"),
        ("id,mark\nn,Nike\nx,---\n", 3, "no letters"),
        ("mark,distinctiveness\nNike,famous\n", 2, "distinctiveness"),
        ("mark\nNike,extra\n", 2, "fields"),
    ],
)
def test_bad_mark_rows_name_the_line(tmp_path: Path, body: str, line: int, reason: str) -> None:
    p = write(tmp_path, "marks.csv", body)
    with pytest.raises(ListFormatError) as err:
        load_marks(p)
    assert err.value.line == line
    assert reason in str(err.value)
    assert f"marks.csv:{line}" in str(err.value)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_bytes(b"mark\nNike\n\xff\xfe\n")
    with pytest.raises(ListFormatError) as err:
        load_marks(p)
    assert err.value.line == 3


def test_terms_csv_and_plain_text(tmp_path: Path) -> None:
    csv_terms = load_terms(
        write(tmp_path, "t.csv", "id,term,category,severity\nf,fuck,profanity,\nn,nazi,hate,\n")
    )
    assert [(e.id, e.category, e.severity) for e in csv_terms.entries] == [
        ("f", "profanity", Severity.REVIEW),
        ("n", "hate", Severity.BLOCK),  # hate speech blocks by default
    ]
    plain = load_terms(write(tmp_path, "t.txt", "# comment\nshit\n\nwhite power\n"))
    assert [e.term for e in plain.entries] == ["shit", "white power"]
    with pytest.raises(ListFormatError) as err:
        load_terms(write(tmp_path, "bad.csv", "term,severity\nshit,maybe\n"))
    assert err.value.line == 2


def test_allow_list_and_missing_file(tmp_path: Path) -> None:
    assert load_allow(write(tmp_path, "a.txt", "pussy willow\n# x\n")).phrases == ("pussy willow",)
    with pytest.raises(ListFormatError):
        load_allow(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        ("Netflix", Distinctiveness.COINED),  # frequent in corpora, but not a dictionary word
        ("Apple", Distinctiveness.DICTIONARY),
        ("Monica", Distinctiveness.DICTIONARY),  # a common first name
        ("Porsche", Distinctiveness.COINED),  # a rare first name
        ("New Balance", Distinctiveness.ARBITRARY),
        ("OpenAI Gym", Distinctiveness.COINED),
        ("X", Distinctiveness.DICTIONARY),
        ("42", Distinctiveness.DICTIONARY),
    ],
)
def test_distinctiveness_inference(mark: str, expected: Distinctiveness) -> None:
    assert infer_distinctiveness(mark, default_lexicon()) is expected


def test_mark_key_drops_punctuation_and_possessive() -> None:
    assert mark_key("McDonald's") == "mcdonald"
    assert mark_key("Booking.com") == "bookingcom"
    assert mark_key("Ｃｏｃａ-Ｃｏｌａ") == "cocacola"
