"""Trademark registers stored as list versions: USPTO and CSV imports, daily files on top of the
stored register, the text engine built from it, and the product's classes on uploads and re-screens.

Runs on the embedded default and on PostgreSQL + S3 + KMS (moto) through the shared `services`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.wiring import Services
from customization_vault import list_engines
from customization_vault.config import ScreeningConfig
from customization_vault.errors import ListRejected
from customization_vault.lists import ListKind, RegisterFormat
from screening.findings import VerdictKind
from screening.text.register import for_product
from tests.screening.text.uspto_xml import Case, write_uspto


def _audited(svc: Services) -> list[str]:
    with svc.catalog.unit() as u:
        return [e.target_id for e in u.audit.page(0, 10_000) if e.action == "list.import"]


def test_uspto_files_import_then_a_daily_file_applies_on_top(services: Services, tmp_path: Path) -> None:
    annual = write_uspto(
        tmp_path / "apc18840407-20251231-01.zip",
        [
            Case("75000001", "Vexnoria", classes=(25,), owner="Vex Holdings", registration="2000001"),
            Case("75000002", "Quillzap", classes=(21,)),
            Case("75000003", "Old Dead Mark", status=606),
            "<case-file><serial-number>7500x</serial-number></case-file>",
        ],
        daily=False,
        zipped=True,
    )
    seen: list[int] = []
    first = services.lists.import_register(
        RegisterFormat.USPTO, [annual], actor="admin:1", progress=seen.append
    )
    assert (first.version.kind, first.version.version, first.version.entries) == ("register", 1, 2)
    assert first.meta["bad_records"] == 1
    assert first.meta["read"] == 4
    assert first.meta["sources"] == [f"{annual.name}:apc18840407-20251231-01.xml"]
    assert seen
    assert seen[-1] == 3

    daily = write_uspto(
        tmp_path / "apc260101.xml",
        [Case("75000002", "Quillzap", status=710), Case("75000004", "Brimblecorn", status=630, classes=(9,))],
    )
    second = services.lists.import_register(RegisterFormat.USPTO, [daily], actor="admin:1")
    assert (second.version.version, second.version.entries) == (2, 2)
    assert second.meta["applied_on"] == "register@1"
    assert second.version.source == "uspto: apc260101.xml"
    assert _audited(services) == ["register@1", "register@2"]

    stored = services.lists.newest((ListKind.REGISTER,))
    engine = list_engines.text_screener(ScreeningConfig(), stored)
    v = engine.screen_text("Vexnoria tee for Sam")
    assert v.kind == VerdictKind.BLOCKED
    (f,) = v.findings
    assert (f.list_ref, f.entry) == ("register@2", "75000001")
    assert f.register is not None
    assert (f.register.owner, f.register.registration) == (
        "Vex Holdings",
        "2000001",
    )
    assert engine.screen_text("Quillzap").kind == VerdictKind.CLEAR  # cancelled by the daily file
    assert engine.screen_text("Brimblecorn").kind == VerdictKind.BLOCKED  # pending: matched
    assert for_product(v, "mug").kind == VerdictKind.FLAGGED  # class 25 mark on a mug: review only
    assert "register@2" in engine.status().lists
    assert engine.status().lists["register@2"] == 2

    fresh = services.lists.import_register(RegisterFormat.USPTO, [daily], actor="admin:1", fresh=True)
    assert fresh.version.entries == 1
    assert "applied_on" not in fresh.meta


def test_a_register_csv_imports_whole_and_a_foreign_file_stores_nothing(
    services: Services, tmp_path: Path
) -> None:
    csv = b"mark,classes,status,owner,kind\nPlinkory,25,live,Plink Ltd,word\nGone,25,dead,X,word\n"
    view = services.lists.import_list(ListKind.REGISTER, csv, source="upload:reg.csv", actor="admin:1")
    assert (view.kind, view.version, view.entries, view.source) == ("register", 1, 1, "upload:reg.csv")

    other = tmp_path / "feed.xml"
    other.write_text("<rss/>")
    with pytest.raises(ListRejected, match="not a USPTO"):
        services.lists.import_register(RegisterFormat.USPTO, [other], actor="admin:1")
    with pytest.raises(ListRejected, match="no such file"):
        services.lists.import_register(RegisterFormat.USPTO, [tmp_path / "missing.xml"], actor="admin:1")
    assert [v.version for v in services.lists.history(ListKind.REGISTER)] == [1]
