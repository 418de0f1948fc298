"""Screening lists as stored versions: import checked by the engines' loaders, history, and hot reload.

Runs on the embedded default and on PostgreSQL + S3 + KMS (moto) through the shared `services`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import update

from api.wiring import Services
from customization_vault import list_engines
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import ScreeningList
from customization_vault.config import ScreeningConfig
from customization_vault.errors import ListRejected
from customization_vault.lists import ListKind, StoredList, pack_registry_csv, registry_from_archive
from screening.image.screener import ImageScreener
from tests.screening.image.logos import encode, glyph, on_white

MARKS = b"id,mark,distinctiveness\nzorblax,Zorblax Cola,arbitrary\n"
TERMS = b"id,term,category,severity\nt:flurbo,flurbo,profanity,review\n"


def _imports(svc: Services) -> int:
    with svc.catalog.unit() as u:
        return sum(1 for e in u.audit.page(0, 10_000) if e.action == "list.import")


def test_import_stores_the_next_version_and_show_lists_them(services: Services) -> None:
    book = services.lists
    v1 = book.import_list(ListKind.MARKS, MARKS, source="marks.csv", actor="admin:1")
    v2 = book.import_list(
        ListKind.MARKS, MARKS + b"q,Quuxcorp,coined\n", source="marks2.csv", actor="admin:1"
    )
    t1 = book.import_list(ListKind.TERMS, TERMS, source="terms.csv", actor="admin:1")
    assert (v1.version, v1.entries, v2.version, v2.entries, t1.version) == (1, 1, 2, 2, 1)
    assert v1.sha256 == hashlib.sha256(MARKS).hexdigest()
    assert [(v.kind, v.version, v.source) for v in book.history()] == [
        ("marks", 2, "marks2.csv"),
        ("marks", 1, "marks.csv"),
        ("terms", 1, "terms.csv"),
    ]
    assert book.latest_versions() == {ListKind.MARKS: 2, ListKind.TERMS: 1}
    stored = book.newest((ListKind.MARKS, ListKind.ALLOW))
    assert list(stored) == [ListKind.MARKS]
    assert stored[ListKind.MARKS].ref == "marks@2"
    assert _imports(services) == 3


@pytest.mark.parametrize(
    ("kind", "data", "where"),
    [
        (ListKind.MARKS, b"id,mark\nok,Fine\nbad,\n", "bad.txt:3: empty 'mark'"),
        (ListKind.TERMS, b"id,term,severity\nt,flurbo,fatal\n", "bad.txt:2: 'severity' must be"),
        (ListKind.ALLOW, b"pussy willow\n!!!\n", "bad.txt:2: phrase has no letters"),
        (ListKind.FONTS, b"id,family\nx,Helvetica Neue\nx,Arial\n", "bad.txt:3: duplicate id"),
        (ListKind.MARKS, b"\xff\xfe", "bad.txt:1: not valid UTF-8"),
        (ListKind.IMAGES, b"not a zip", "bad.txt: not a zip archive"),
    ],
)
def test_a_file_its_loader_refuses_is_refused_and_nothing_is_stored(
    services: Services, kind: ListKind, data: bytes, where: str
) -> None:
    with pytest.raises(ListRejected) as caught:
        services.lists.import_list(kind, data, source="bad.txt", actor="admin:1")
    assert str(caught.value).startswith(where)
    assert services.lists.history() == []
    assert _imports(services) == 0


def _registry_dir(tmp_path: Path, seeds: range) -> Path:
    (tmp_path / "logos").mkdir()
    rows = ["id,path,label"]
    for s in seeds:
        (tmp_path / "logos" / f"g{s}.png").write_bytes(encode(on_white(glyph(s))))
        rows.append(f"g{s},logos/g{s}.png,Glyph {s}")
    (tmp_path / "registry.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "registry.csv"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_an_image_registry_travels_as_one_archive_and_screens_as_its_version(
    services: Services, tmp_path: Path
) -> None:
    csv_path = _registry_dir(tmp_path, range(3))
    v = services.lists.import_file(ListKind.IMAGES, csv_path, actor="admin:1")
    assert (v.kind, v.version, v.entries) == ("images", 1, 3)
    stored = services.lists.newest((ListKind.IMAGES,))
    registry = list_engines.image_registry(ScreeningConfig(), stored)
    assert (registry.list_ref, len(registry)) == ("images@1", 3)
    found = ImageScreener(registry).screen(encode(on_white(glyph(1))), "image/png").findings
    assert [(f.list_ref, f.entry) for f in found] == [("images@1", "g1")]
    # The same import as a zip of the CSV and its images (the API's form) stores the next version.
    again = services.lists.import_list(
        ListKind.IMAGES, pack_registry_csv(csv_path), source="registry.zip", actor="admin:1"
    )
    assert (again.version, again.entries) == (2, 3)


def test_an_image_archive_is_refused_with_the_loaders_reason(services: Services, tmp_path: Path) -> None:
    png = encode(on_white(glyph(1)))
    cases = {
        "missing.zip": (_zip({"r.csv": b"id,path\ng1,logos/g1.png\n"}), "line 2: cannot read image file"),
        "slip.zip": (_zip({"r.csv": b"id,path\ng1,x.png\n", "../x.png": png}), "points outside the archive"),
        "two.zip": (_zip({"a.csv": b"", "b.csv": b""}), "exactly one CSV at its root, found 2"),
        "blank.zip": (_zip({"r.csv": b"id,path\ng1,x.png\n", "x.png": b"\x89PNG broken"}), "not a decodable"),
    }
    for name, (archive, reason) in cases.items():
        with pytest.raises(ListRejected, match=reason):
            services.lists.import_list(ListKind.IMAGES, archive, source=name, actor="admin:1")
    escaping = tmp_path / "sub"
    escaping.mkdir()
    (escaping / "r.csv").write_text("id,path\ng1,../g1.png\n")
    with pytest.raises(ListRejected, match=r"r.csv:2: image path must stay inside"):
        services.lists.import_file(ListKind.IMAGES, escaping / "r.csv", actor="admin:1")
    assert services.lists.history() == []


def test_an_image_import_whose_loader_skipped_lines_is_refused(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry loader that skips bad lines and reports them (`problems`) never yields a partial list."""
    from screening.image.registry import ImageRegistry

    built = ImageRegistry.from_csv

    def skipping(path: Path, *args: object, **kwargs: object) -> ImageRegistry:
        registry = built(path, *args, **kwargs)  # type: ignore[arg-type]
        registry.problems = ("line 3: cannot read image file 'logos/gone.png'", "line 4: duplicate id")  # type: ignore[attr-defined]
        return registry

    monkeypatch.setattr(ImageRegistry, "from_csv", skipping)
    with pytest.raises(
        ListRejected, match=r"registry.csv: line 3: cannot read image file .* \(and 1 more lines\)"
    ):
        services.lists.import_file(ListKind.IMAGES, _registry_dir(tmp_path, range(1)), actor="admin:1")
    assert services.lists.history() == []


def test_a_stored_registry_in_an_older_format_is_built_again_from_its_import(
    services: Services, tmp_path: Path
) -> None:
    services.lists.import_file(ListKind.IMAGES, _registry_dir(tmp_path, range(2)), actor="admin:1")
    content = services.lists.newest((ListKind.IMAGES,))[ListKind.IMAGES].content
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["built/registry.json"] = members["built/registry.json"].replace(b'"format": 2', b'"format": 1')
    registry = registry_from_archive(_zip(members), 7)
    assert (registry.list_ref, sorted(e.entry_id for e in registry.entries())) == ("images@7", ["g0", "g1"])


def test_fonts_from_the_catalog_carry_their_version() -> None:
    fonts = list_engines.restricted_fonts(
        ScreeningConfig(), {ListKind.FONTS: StoredList(ListKind.FONTS, 4, b"id,family\nhn,Helvetica Neue\n")}
    )
    assert fonts is not None
    assert (fonts.ref, len(fonts)) == ("fonts@4", 1)
    assert list_engines.restricted_fonts(ScreeningConfig(), {}) is None  # the engine's shipped list


def test_a_running_process_picks_up_a_new_version_on_its_next_poll(services: Services) -> None:
    reloader = services.reloader
    assert reloader is not None
    screener = services.screener
    assert screener.screen(b"a flurbo cake", "text/plain").kind == "clear"  # built from the shipped lists
    assert reloader.reload() == ()  # nothing new: nothing rebuilt
    services.lists.import_list(ListKind.TERMS, TERMS, source="terms.csv", actor="admin:1")
    before = screener.engine("text")  # what a screening in flight holds

    assert reloader.reload() == ("text",)

    verdict = screener.screen(b"a flurbo cake", "text/plain")
    assert [(f.list_ref, f.entry) for f in verdict.findings] == [("terms@1", "t:flurbo")]
    assert before.screen(b"a flurbo cake", "text/plain").kind == "clear"  # the old engine is untouched
    assert reloader.in_use() == {ListKind.TERMS: 1}
    assert [p.versions for p in services.lists.processes()] == [{"terms": 1}]
    # Text read from images by OCR goes through the current text engine: the image engine needs no rebuild.
    image_engine = screener.engine("image")
    services.lists.import_list(ListKind.TERMS, TERMS.replace(b"flurbo", b"glorpish"), source="t2", actor="a")
    assert reloader.reload() == ("text",)
    assert screener.engine("image") is image_engine
    ocr_text = image_engine.text_screener.screen_text("a glorpish cake")  # type: ignore[attr-defined]
    assert [(f.list_ref, f.entry) for f in ocr_text.findings] == [("terms@2", "t:glorpish")]
    assert screener.screen(b"a flurbo cake", "text/plain").kind == "clear"
    reloader.stop()
    assert services.lists.processes() == []


def test_a_version_that_fails_to_build_leaves_the_old_engine_screening(services: Services) -> None:
    reloader = services.reloader
    assert reloader is not None
    services.lists.import_list(ListKind.TERMS, TERMS, source="terms.csv", actor="admin:1")
    services.screener.warm()
    services.lists.import_list(ListKind.TERMS, TERMS, source="terms.csv", actor="admin:1")
    with session_scope(services.catalog.sessions) as s:  # damaged behind the importer's back
        s.execute(update(ScreeningList).where(ScreeningList.version == 2).values(content=b"\xff"))
    assert reloader.reload() == ()
    assert reloader.in_use() == {ListKind.TERMS: 1}
    assert services.screener.screen(b"a flurbo cake", "text/plain").kind == "flagged"
