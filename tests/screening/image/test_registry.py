"""ImageRegistry: add/remove, thumbnails, save/load, CSV parsing with line-numbered errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from screening.image import ImageRegistry, RegistryError
from screening.image.hashing import VARIANTS
from tests.screening.image.logos import encode, glyph, on_white


@pytest.fixture(scope="module")
def logo_bytes() -> list[bytes]:
    return [encode(on_white(glyph(seed))) for seed in range(3)]


def test_add_remove_and_thumbnail(logo_bytes: list[bytes]) -> None:
    reg = ImageRegistry("brands", "7")
    reg.add("a", logo_bytes[0], label="Alpha", owner="Alpha Inc")
    reg.add("b", Image.open(io.BytesIO(logo_bytes[1])))
    assert len(reg) == 2
    assert "a" in reg
    assert reg.list_ref == "brands@7"
    assert reg.entry("a").owner == "Alpha Inc"
    thumb = Image.open(io.BytesIO(reg.thumbnail("a")))
    assert thumb.format == "PNG"
    assert max(thumb.size) <= 256
    assert reg.remove("a") is True
    assert reg.remove("a") is False
    assert "a" not in reg
    with pytest.raises(KeyError):
        reg.thumbnail("a")


def test_removed_entry_is_never_resolved(logo_bytes: list[bytes]) -> None:
    reg = ImageRegistry()
    reg.add("a", logo_bytes[0])
    assert reg.resolve(0) is not None
    reg.remove("a")
    assert reg.resolve(0) is None
    assert all(reg.resolve(row) is None for row in range(VARIANTS))


def test_blank_reference_is_refused() -> None:
    with pytest.raises(RegistryError):
        ImageRegistry().add("blank", encode(Image.new("RGB", (64, 64), (255, 255, 255))))


def test_save_load_round_trip(tmp_path: Path, logo_bytes: list[bytes]) -> None:
    reg = ImageRegistry("brands", "3")
    for i, data in enumerate(logo_bytes):
        reg.add(f"e{i}", data, label=f"L{i}")
    reg.remove("e1")
    reg.save(tmp_path / "reg")
    back = ImageRegistry.load(tmp_path / "reg")
    assert back.list_ref == "brands@3"
    assert sorted(e.entry_id for e in back.entries()) == ["e0", "e2"]
    assert back.thumbnail("e2") == reg.thumbnail("e2")
    assert back.entry("e0").label == "L0"


def test_load_of_missing_directory_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError):
        ImageRegistry.load(tmp_path / "nothing")


def _write_csv(tmp_path: Path, text: str, logo_bytes: list[bytes]) -> Path:
    (tmp_path / "img").mkdir(exist_ok=True)
    for i, data in enumerate(logo_bytes):
        (tmp_path / "img" / f"{i}.png").write_bytes(data)
    (tmp_path / "img" / "junk.png").write_bytes(b"junk")
    path = tmp_path / "reg.csv"
    path.write_text(text)
    return path


def test_from_csv_with_header_labels_and_relative_paths(tmp_path: Path, logo_bytes: list[bytes]) -> None:
    path = _write_csv(tmp_path, "id,path,label,owner\nx,img/0.png,Ex,Owner X\ny,img/1.png\n", logo_bytes)
    reg = ImageRegistry.from_csv(path)
    assert len(reg) == 2
    assert reg.entry("x").label == "Ex"
    assert reg.entry("y").label is None
    assert reg.name == "reg"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("x,img/0.png\ny\n", 2),
        ("x,img/0.png\nx,img/1.png\n", 2),
        ("x,img/0.png\n\ny,img/missing.png\n", 3),
        ("x,img/junk.png\n", 1),
        (",img/0.png\n", 1),
        ("a,b,c,d,e\n", 1),
    ],
)
def test_from_csv_bad_rows_name_their_line(
    tmp_path: Path, logo_bytes: list[bytes], text: str, line: int
) -> None:
    path = _write_csv(tmp_path, text, logo_bytes)
    with pytest.raises(RegistryError, match=rf"^line {line}:"):
        ImageRegistry.from_csv(path, strict=True)
    # Not strict (the default): the bad line is reported with its number and the others register.
    reg = ImageRegistry.from_csv(path)
    assert [p.line for p in reg.problems] == [line]
    assert str(reg.problems[0]).startswith(f"line {line}: ")
    assert reg.report()["skipped"] == [{"line": line, "error": reg.problems[0].message}]
    assert len(reg) == sum(1 for x in text.splitlines() if x.strip()) - 1


def test_from_csv_reads_severity_and_matchers_by_header(tmp_path: Path, logo_bytes: list[bytes]) -> None:
    from screening.findings import Severity

    text = (
        "id,path,severity,matchers,label\n"
        "x,img/0.png,block,,Ex\n"
        "y,img/1.png,,shape\n"
        "z,img/2.png,sometimes\n"
        "w,img/2.png,review,never\n"
        "v,img/junk.png\n"
    )
    reg = ImageRegistry.from_csv(_write_csv(tmp_path, text, logo_bytes))
    assert reg.entry("x").severity is Severity.BLOCK
    assert reg.entry("x").label == "Ex"
    assert reg.entry("y").severity is Severity.REVIEW
    assert reg.entry("y").matchers == ("shape",)
    assert [p.line for p in reg.problems] == [4, 5, 6]
    assert len(reg) == 2


def test_unknown_header_column_is_refused(tmp_path: Path, logo_bytes: list[bytes]) -> None:
    with pytest.raises(RegistryError, match=r"^line 1:"):
        ImageRegistry.from_csv(_write_csv(tmp_path, "id,path,colour\nx,img/0.png,red\n", logo_bytes))
