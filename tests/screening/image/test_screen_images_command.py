"""`customization-vault screen images`: JSON lines in and out, error lines instead of tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.screening.image.logos import encode, glyph, on_white


def test_screen_images_with_a_csv_registry(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    for seed in range(3):
        (refs / f"{seed}.png").write_bytes(encode(on_white(glyph(seed))))
    (tmp_path / "reg.csv").write_text(
        "id,path,label\n" + "".join(f"L{s},refs/{s}.png,Logo {s}\n" for s in range(3))
    )
    (tmp_path / "q1.jpg").write_bytes(encode(on_white(glyph(1)), "JPEG", quality=60))
    (tmp_path / "q2.png").write_bytes(encode(on_white(glyph(77))))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    lines = [
        json.dumps({"id": "a", "path": str(tmp_path / "q1.jpg")}),
        json.dumps({"id": "b", "path": str(tmp_path / "q2.png")}),
        "{oops",
        json.dumps({"id": "c", "path": str(tmp_path / "bad.png")}),
        json.dumps({"id": "d", "path": str(tmp_path / "missing.png")}),
        json.dumps({"id": "e"}),
    ]
    result = CliRunner().invoke(
        app,
        ["screen", "images", "--registry", str(tmp_path / "reg.csv"), "--jobs", "1"],
        input="\n".join(lines),
    )
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert [o.get("id") for o in out] == ["a", "b", None, "c", "d", "e"]
    assert out[0]["verdict"] == "flagged"
    (f,) = out[0]["findings"]
    assert f["kind"] == "image"
    assert f["entry"] == "L1"
    assert f["severity"] == "review"
    assert len(f["region"]) == 4
    assert isinstance(f["distance"], int)
    assert out[1] == {"id": "b", "verdict": "clear", "findings": []}
    assert all("error" in o for o in out[2:])


def test_bad_registry_row_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "reg.csv").write_text("x,missing.png\n")
    result = CliRunner().invoke(app, ["screen", "images", "--registry", str(tmp_path / "reg.csv")], input="")
    assert result.exit_code == 2
    assert "line 1" in result.output


def test_a_bad_registry_line_is_skipped_unless_strict(tmp_path: Path) -> None:
    (tmp_path / "0.png").write_bytes(encode(on_white(glyph(0))))
    (tmp_path / "reg.csv").write_text("id,path\nL0,0.png\nL1,missing.png\n")
    (tmp_path / "q.png").write_bytes(encode(on_white(glyph(0))))
    line = json.dumps({"id": "a", "path": str(tmp_path / "q.png")})
    args = ["screen", "images", "--registry", str(tmp_path / "reg.csv"), "--jobs", "1"]
    result = CliRunner().invoke(app, args, input=line)
    assert result.exit_code == 0, result.output
    assert "skipped: line 3:" in result.stderr
    (out,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert out["verdict"] == "flagged"
    strict = CliRunner().invoke(app, [*args, "--strict"], input=line)
    assert strict.exit_code == 2
    assert "line 3" in strict.output


def test_registry_report_names_each_reference_matchers(tmp_path: Path) -> None:
    from tests.screening.image.artworks import painting

    (tmp_path / "logo.png").write_bytes(encode(on_white(glyph(0))))
    (tmp_path / "art.png").write_bytes(encode(painting(1)))
    (tmp_path / "reg.csv").write_text("id,path,severity\nL,logo.png\nA,art.png,block\nB,nothing.png\n")
    result = CliRunner().invoke(
        app, ["screen", "registry", "--registry", str(tmp_path / "reg.csv"), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[-1])
    rows = {r["id"]: r for r in report["references"]}
    assert rows["L"]["matchers"] == ["shape"]
    assert rows["A"]["matchers"] == ["artwork"]
    assert rows["A"]["severity"] == "block"
    assert report["skipped"][0]["line"] == 4
    text = CliRunner().invoke(app, ["screen", "registry", "--registry", str(tmp_path / "reg.csv")])
    assert "A\tartwork\tblock" in text.stdout
    assert "skipped line 4" in text.stdout
