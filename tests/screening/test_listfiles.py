"""Every list format is read, versioned and named the same way, and fails with the same error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from screening.errors import ListFormatError
from screening.fonts import load_restricted_fonts
from screening.listfiles import list_ref, list_version
from screening.text import load_allow, load_marks, load_terms

# (loader, a valid list, the same list with one more entry)
LOADERS: list[tuple[Callable[[Path], Any], str, str]] = [
    (load_marks, "id,mark\nn,Nike\n", "id,mark\nn,Nike\na,Adidas\n"),
    (load_terms, "shit\n", "shit\ncrap\n"),
    (load_allow, "pussy willow\n", "pussy willow\ntit for tat\n"),
    (load_restricted_fonts, "id,family\nh,Helvetica\n", "id,family\nh,Helvetica\nf,Frutiger\n"),
]


@pytest.mark.parametrize(("load", "body", "edited"), LOADERS)
def test_each_list_is_versioned_by_its_bytes_and_named_name_at_version(
    tmp_path: Path, load: Callable[[Path], Any], body: str, edited: str
) -> None:
    path = tmp_path / "mylist.csv"
    path.write_text(body)
    loaded = load(path)
    assert loaded.version == list_version(body.encode())
    assert loaded.name == "mylist"
    if load is not load_allow:  # an allow-list never names itself in a finding
        assert loaded.ref == list_ref("mylist", loaded.version) == f"mylist@{loaded.version}"
    path.write_text(edited)
    assert load(path).version != loaded.version


@pytest.mark.parametrize("load", [loader for loader, _, _ in LOADERS])
def test_an_unreadable_list_is_the_one_list_error(tmp_path: Path, load: Callable[[Path], Any]) -> None:
    with pytest.raises(ListFormatError) as err:
        load(tmp_path / "missing.csv")
    assert (err.value.source, err.value.line) == (str(tmp_path / "missing.csv"), None)
    assert "cannot read" in err.value.reason
    assert isinstance(err.value, ValueError)  # the composite's "cannot screen" contract for engines
