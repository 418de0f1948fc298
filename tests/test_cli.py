"""The operator CLI end to end on a temporary data directory (embedded default)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CV_ENVIRONMENT", "test")
    monkeypatch.setenv("CV_BOOTSTRAP_DEMO", "false")
    runner = CliRunner()
    data = tmp_path / "var"

    def invoke(*args: str) -> tuple[int, str, str]:
        r = runner.invoke(app, [*args, "--data-dir", str(data)])
        return r.exit_code, r.stdout, r.stderr

    invoke.data = data  # type: ignore[attr-defined]
    return invoke


def test_init_creates_a_migrated_catalog_and_a_private_keyring(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("init")
    assert code == 0, err
    data: Path = run.data
    assert (data / "catalog.db").exists()
    from alembic.script import ScriptDirectory

    from customization_vault.catalog.db import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert f"schema {head}" in err


def test_api_key_create_prints_the_token_alone_and_it_authenticates(run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("keys", "api", "create", "--role", "fulfilment", "--seller", "shop-1")
    assert code == 0, err
    token = out.strip()
    assert re.fullmatch(r"cv_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}", token)
    code, out, _ = run("keys", "api", "list")
    assert code == 0
    assert "fulfilment\tshop-1\tactive" in out
    prefix = token.split("_")[1]
    code, _, _ = run("keys", "api", "revoke", prefix)
    assert code == 0
    _, out, _ = run("keys", "api", "list")
    assert "revoked" in out


def test_fulfilment_key_without_seller_is_refused(run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("keys", "api", "create", "--role", "fulfilment")
    assert code == 1
    assert out == ""
    assert "seller" in err


def test_audit_verify_names_the_tampered_event(run) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        assert run("keys", "api", "create", "--role", "reviewer", "--label", f"r{i}")[0] == 0
    code, out, _ = run("audit", "verify")
    assert code == 0
    assert "intact: 3 events" in out
    db = sqlite3.connect(run.data / "catalog.db")
    db.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    db.commit()
    db.close()
    code, out, _ = run("audit", "verify")
    assert code == 1
    assert "BROKEN at event 2" in out


def test_audit_checkpoints_catch_a_consistent_cut(run) -> None:  # type: ignore[no-untyped-def]
    """Dropping the last event and moving the head back keeps the chain consistent on its own; the
    signed checkpoint in the blob store still names event 3."""
    for i in range(3):
        assert run("keys", "api", "create", "--role", "reviewer", "--label", f"r{i}")[0] == 0
    code, _, err = run("audit", "checkpoint")
    assert code == 0
    assert "signed checkpoint at event 3" in err
    code, out, _ = run("audit", "verify")
    assert code == 0
    assert "intact: 3 events, 1 signed checkpoints" in out
    db = sqlite3.connect(run.data / "catalog.db")
    db.execute("DELETE FROM audit_events WHERE seq = 3")
    db.execute("UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_events WHERE seq = 2)")
    db.commit()
    db.close()
    code, out, _ = run("audit", "verify")
    assert code == 1
    assert "ends before its signed checkpoint at event 3" in out


def test_keys_rotate_reports_what_it_rewrapped(run) -> None:  # type: ignore[no-untyped-def]
    assert run("init")[0] == 0
    code, _, err = run("keys", "rotate")
    assert code == 0, err
    assert "re-wrapped 0 data keys" in err


TERMS = "id,term,category,severity\nt:flurbo,flurbo,profanity,review\n"


def test_lists_import_show_and_rescreen(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from api.app import limits_of
    from api.wiring import build_services
    from customization_vault.fulfilment import FulfilmentService
    from tests.conftest import make_settings

    svc = build_services(make_settings(run.data))
    try:
        desk = FulfilmentService(svc.vault, svc.screener, limits_of(svc.settings))
        seller = svc.vault.orders.ensure_seller("shop-1")
        desk.create_order(seller, "C-1", actor="test")
        desk.upload_text(seller, "C-1", "a flurbo cake", idempotency_key=None, actor="test")
    finally:
        svc.close()
    (tmp_path / "bad.csv").write_text("id,term,severity\nt,flurbo,fatal\n")
    code, out, err = run("lists", "import", "terms", str(tmp_path / "bad.csv"))
    assert (code, out) == (1, "")
    assert f"{tmp_path / 'bad.csv'}:2: 'severity' must be block, review or info" in err

    (tmp_path / "terms.csv").write_text(TERMS)
    code, _, err = run("lists", "import", "terms", str(tmp_path / "terms.csv"), "--rescreen", "--wait")
    assert code == 0, err
    assert "imported terms@1: 1 entries" in err
    assert "done: 1 items, 1 flagged, 0 cleared, 0 failed" in err

    code, out, _ = run("lists", "show")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "kind\tversion\tentries\tcreated_at\tsha256\tin_use\tsource"
    terms = next(ln.split("\t") for ln in lines if ln.startswith("terms\t"))
    assert terms[:3] == ["terms", "1", "1"]
    assert terms[5:] == ["-", str(tmp_path / "terms.csv")]  # no process screens with it now
    assert any(ln.startswith("marks\t-\t") for ln in lines)

    code, out, err = run("lists", "rescreen")
    assert code == 0, err
    job = out.strip()
    assert f"re-screen {job} pending" in err
    code, out, err = run("lists", "rescreen", "--job", job, "--wait")
    assert (code, out.strip()) == (0, job)
    assert "done: 1 items, 0 flagged, 0 cleared, 0 failed" in err


@pytest.mark.parametrize(
    ("kind", "body", "entries"),
    [
        ("marks", "id,mark,distinctiveness\nq,Quuxcorp,coined\nz,Zorbly,coined\n", 2),
        ("allow", "pussy willow\nscunthorpe\n", 2),
        ("fonts", "id,family,foundry,reason,severity\nhn,Helvetica Neue,Linotype,licence,review\n", 1),
    ],
)
def test_lists_import_takes_each_settings_file_format(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, kind: str, body: str, entries: int
) -> None:
    """marks, allow and fonts as their CV_SCREENING__*_PATH files (terms and images: the tests above and
    below); then a re-screen run here with --progress draws its bar on stderr and sums up."""
    (tmp_path / f"{kind}.txt").write_text(body)
    code, out, err = run("lists", "import", kind, str(tmp_path / f"{kind}.txt"))
    assert (code, out) == (0, ""), err
    assert f"imported {kind}@1: {entries} entries" in err
    code, out, _ = run("lists", "show", "--kind", kind)
    assert code == 0
    assert out.splitlines()[1].split("\t")[:3] == [kind, "1", str(entries)]
    code, out, err = run("lists", "rescreen", "--wait", "--progress")
    assert code == 0, err
    job = out.strip()
    assert f"re-screen {job[:8]}\n" in err  # the progress bar's label, a line of its own
    assert "done: 0 items, 0 flagged, 0 cleared, 0 failed" in err


def test_lists_import_uspto_files_report_progress_counts_and_bad_records(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    from tests.screening.text.uspto_xml import Case, write_uspto

    annual = write_uspto(
        tmp_path / "annual.zip",
        [Case(str(70000000 + i), f"Zorbmark{i}", classes=(25, 21)) for i in range(3)]
        + ["<case-file><serial-number>bad</serial-number></case-file>"],
        daily=False,
        zipped=True,
    )
    daily = write_uspto(tmp_path / "daily.xml", [Case("70000000", "Zorbmark0", status=606)])
    code, out, err = run("lists", "import", "uspto", str(annual), str(daily))
    assert code == 0, err
    assert "read 5 records from 2 source(s); 1 bad (skipped); 2 live marks kept" in err
    assert "register by status: abandoned 1, registered 2" in err
    assert "register by class: 21 2, 25 2" in err
    assert "bad record: annual.zip:annual.xml: case file 4: no serial number" in err
    assert "imported register@1: 2 entries" in err

    (tmp_path / "reg.csv").write_text("mark,classes,status,owner,kind\nPlinkory,9,live,Plink,word\n")
    code, _, err = run("lists", "import", "register", str(tmp_path / "reg.csv"))
    assert code == 0, err
    assert "on top of register@1" in err
    assert "imported register@2: 3 entries" in err
    code, out, _ = run("lists", "show", "--kind", "register")
    assert [ln.split("\t")[:3] for ln in out.splitlines()[1:]] == [
        ["register", "2", "3"],
        ["register", "1", "2"],
    ]

    code, out, _ = run("lists", "register-info", "--version", "1")
    info = json.loads(out)
    assert (info["list"], info["read"], info["bad_records"], info["records"]) == ("register@1", 5, 1, 2)
    assert info["sources"] == ["annual.zip:annual.xml", "daily.xml"]
    assert info["by_class"] == {"21": 2, "25": 2}
    assert "built_at" in info
    assert "build_seconds" in info
    code, _, err = run("lists", "register-info", "--version", "9")
    assert code == 1
    assert "no such register version" in err

    code, _, err = run("lists", "import", "terms", str(annual), str(daily))
    assert code == 2
    assert "terms takes exactly one file" in err


def test_screen_text_with_a_register_and_products(tmp_path: Path) -> None:
    reg = tmp_path / "reg.csv"
    reg.write_text("mark,classes,status,owner,kind,serial\nVexnoria,25,live,Vex Holdings,word,S-9\n")
    lines = '{"id": 1, "text": "Vexnoria tee"}\n{"id": 2, "text": "Vexnoria", "product": "mug"}\n'
    r = CliRunner().invoke(
        app, ["screen", "text", "--register", str(reg), "--product", "t-shirt"], input=lines
    )
    assert r.exit_code == 0, r.stderr
    first, second = (json.loads(ln) for ln in r.stdout.splitlines())
    assert first["verdict"] == "blocked"
    assert first["findings"][0]["trademark"]["owner"] == "Vex Holdings"
    assert second["verdict"] == "flagged"
    assert second["findings"][0]["trademark"]["outside_classes"] is True


def test_lists_show_references_says_which_matchers_each_stored_reference_has(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    from tests.screening.image.artworks import painting
    from tests.screening.image.logos import encode, glyph, on_white

    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "logo.png").write_bytes(encode(on_white(glyph(3))))
    painting(11).save(tmp_path / "art" / "work.png")
    (tmp_path / "registry.csv").write_text(
        "id,path,label,owner,severity\n"
        "logo,art/logo.png,A logo,,review\n"
        "work,art/work.png,A painting,,block\n"
    )
    code, _, err = run("lists", "show", "--references")
    assert code == 1
    assert "no stored images version" in err
    code, _, err = run("lists", "import", "images", str(tmp_path / "registry.csv"))
    assert code == 0, err

    code, out, err = run("lists", "show", "--kind", "images", "--references")
    assert code == 0, err
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in out.splitlines() if "\t" in ln}
    assert "images@1: 2 references" in out
    assert rows["logo"][1:3] == ["shape", "review"]
    assert rows["work"][1:3] == ["artwork", "block"]
    assert int(rows["work"][3]) >= 150  # the painting's keypoints; a shape-only logo has none
    assert rows["logo"][3] == "0"
    code, _, err = run("lists", "show", "--references", "--version", "2")
    assert code == 1
    assert "no stored images version 2" in err
