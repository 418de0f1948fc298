"""TextScreener as a Screener, the shipped lists, the saved index, threads and the batch command."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.findings import FindingKind, VerdictKind
from screening.screener import Screener
from screening.text import (
    MarkIndex,
    TextDecodeError,
    TextScreener,
    build_text_screener,
    default_text_screener,
    load_marks,
    open_mark_index,
)
from screening.text import screener as screener_mod
from screening.text.lexicon import default_lexicon


def test_default_screener_uses_shipped_lists() -> None:
    s = default_text_screener()
    assert isinstance(s, Screener)
    assert s is default_text_screener()  # cached
    v = s.screen_text("Keep calm and love Netflix")
    assert [f.entry for f in v.findings] == ["netflix"]
    assert v.findings[0].list_ref.startswith("simple-icons@")
    off = s.screen_text("what a sh1t day")
    assert off.findings
    assert off.findings[0].kind is FindingKind.OFFENSIVE
    assert off.findings[0].list_ref.startswith("ldnoobw-en@")
    assert s.screen_text("Happy Birthday Monica, love from Ruby").kind is VerdictKind.CLEAR


def test_screen_bytes_is_strict_utf8() -> None:
    s = default_text_screener()
    assert s.screen(b"Netflix", "text/plain").kind is VerdictKind.BLOCKED
    with pytest.raises(TextDecodeError) as err:
        s.screen(b"Net\xffflix", "text/plain")
    assert "offset 3" in str(err.value)


def test_concurrent_calls_agree() -> None:
    s = default_text_screener()
    texts = ["Official Coca-Cola merch", "f u c k", "Happy 40th Carter", "Ｎｅｔｆｌｉｘ", "Spotiphie"] * 40
    expected = [s.screen_text(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(s.screen_text, texts))
    assert got == expected


def test_index_save_load_roundtrip(tmp_path: Path) -> None:
    p = tmp_path / "marks.csv"
    p.write_text("id,mark\nn,Netflix\nc,Coca-Cola\na,Apple\n", encoding="utf-8")
    built = MarkIndex.build(load_marks(p), default_lexicon())
    built.save(tmp_path / "idx.npz")
    loaded = MarkIndex.load(tmp_path / "idx.npz")
    assert len(loaded) == 3
    assert loaded.ref == built.ref
    assert [loaded.mark_id(i) for i in range(3)] == ["n", "c", "a"]
    s = TextScreener(loaded, None)
    assert [f.entry for f in s.screen_text("Nteflix and Coca-Cola").findings] == ["n", "c"]


def test_open_mark_index_saves_beside_large_lists_and_reuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "marks.csv"
    p.write_text("mark\nNetflix\n", encoding="utf-8")
    assert open_mark_index(p).name == "marks"
    assert not list(tmp_path.glob("*.npz"))  # small lists are rebuilt, nothing left beside them
    monkeypatch.setattr(screener_mod, "SAVE_INDEX_MIN_MARKS", 1)
    open_mark_index(p)
    (saved,) = tmp_path.glob("marks.csv.idx-*.npz")
    calls: list[int] = []
    real_build = MarkIndex.build

    def counting_build(cls: type[MarkIndex], *a: Any) -> MarkIndex:
        calls.append(1)
        return real_build(*a)

    monkeypatch.setattr(MarkIndex, "build", classmethod(counting_build))
    assert len(open_mark_index(p)) == 1
    assert not calls
    p.write_text("mark\nNetflix\nTesla\n", encoding="utf-8")  # new content -> new version, new index
    assert len(open_mark_index(p)) == 2
    assert calls == [1]
    assert saved.exists()


def test_build_text_screener_defaults_per_list(tmp_path: Path) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("netflix\n", encoding="utf-8")
    s = build_text_screener(terms=terms)  # marks stay the shipped list
    kinds = sorted(f.kind.value for f in s.screen_text("Netflix").findings)
    assert kinds == ["offensive", "trademark"]


def run_cli(lines: list[str], *args: str) -> tuple[list[dict[str, object]], str, int]:
    from api.commands.screen_text import OutputFormat, run

    out, err = io.StringIO(), io.StringIO()
    fmt = OutputFormat.labels if "labels" in args else OutputFormat.findings
    bad = run(default_text_screener(), fmt, io.StringIO("\n".join(lines) + "\n"), out, err)
    return [json.loads(x) for x in out.getvalue().splitlines()], err.getvalue(), bad


def test_batch_command_lines() -> None:
    rows, err, bad = run_cli(
        [
            json.dumps({"id": "a", "text": "Keep calm and love Netflix"}),
            "not json",
            json.dumps({"id": 7, "text": 12}),
            json.dumps({"id": "b", "text": "sh1t"}),
        ]
    )
    assert bad == 2
    assert rows[0]["id"] == "a"
    assert rows[0]["verdict"] == "blocked"
    assert rows[1] == {"id": None, "line": 2, "error": "not valid JSON"}
    assert rows[2]["id"] == 7
    assert "text" in str(rows[2]["error"])
    assert rows[3]["verdict"] == "flagged"
    assert "busy_s" in err
    assert "Traceback" not in err
    labels, _, _ = run_cli([json.dumps({"id": "x", "text": "Official Coca-Cola merch, b*tch"})], "labels")
    assert labels == [{"id": "x", "trademark": ["cocacola"], "offensive": True}]


def test_cli_rejects_a_bad_list_without_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    bad = tmp_path / "m.csv"
    bad.write_text("name\nNike\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["screen", "text", "--marks", str(bad)], input="")
    assert result.exit_code == 2
    assert "m.csv:1" in result.output
    assert "Traceback" not in result.output
    ok = CliRunner().invoke(
        app, ["screen", "text", "--format", "labels"], input=json.dumps({"id": 1, "text": "Spotiphie"}) + "\n"
    )
    assert ok.exit_code == 0
    assert json.loads(ok.stdout.splitlines()[0]) == {"id": 1, "trademark": ["spotify"], "offensive": False}


def test_long_texts_are_screened_everywhere() -> None:
    s = default_text_screener()
    filler = "lorem ipsum dolor " * 700  # ~12,600 characters, past one part
    text = "Netflix " + filler + "Spotify " + filler + "sh1t"
    v = s.screen_text(text)
    found = {(f.entry, text[f.span[0] : f.span[1]]) for f in v.findings if f.span}
    assert ("netflix", "Netflix") in found
    assert ("spotify", "Spotify") in found
    assert any(e.endswith("shit") for e, _ in found)
    assert len([f for f in v.findings if f.entry == "netflix"]) == 1


@given(st.text(max_size=120))
@settings(max_examples=250, deadline=None)
def test_any_text_screens_without_error_and_spans_stay_inside(text: str) -> None:
    v = default_text_screener().screen_text(text)
    for f in v.findings:
        assert f.span is not None
        assert 0 <= f.span[0] < f.span[1] <= len(text)
        assert 0.0 <= f.score <= 1.0
