"""The hostile corpus (`corpus.py`) against the app in-process: each refused case gets its exact 4xx
problem and leaves no item, finding, case, blob, data key, temporary file or new file in the data
directory; each accepted case is stored as the documented behaviour says. Embedded default: the
answers come from intake and the API layer, which no backend changes (`tests/api/test_uploads.py`
runs the bad-input classes on both backend families)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from api.app import create_app
from api.wiring import build_services
from tests.api.conftest import Api, ApiClient, assert_problem, leftovers, make_keys, word_screener
from tests.conftest import make_settings
from tests.hostile.corpus import JSON, MULTIPART, Accepted, Hostile, accepted, multipart, png, refused

REFUSED = refused()
ACCEPTED = accepted()
BODY_TIMEOUT = 0.5


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    ids = [c.id for c in REFUSED] + [c.id for c in ACCEPTED]
    assert len(ids) >= 100
    assert len(set(ids)) == len(ids)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Python's temporary directory for the module, so a spooled upload shows up as a file here."""
    tmp = tmp_path_factory.mktemp("tmp")
    before = tempfile.tempdir
    tempfile.tempdir = str(tmp)
    yield tmp
    tempfile.tempdir = before


@pytest.fixture(scope="module")
def hostile_api(tmp_path_factory: pytest.TempPathFactory, scratch: Path) -> Iterator[Api]:
    data_dir = tmp_path_factory.mktemp("hostile") / "var"
    settings = make_settings(data_dir, server={"body_timeout_seconds": BODY_TIMEOUT})
    svc = build_services(settings)
    svc.screener = word_screener()
    keys = make_keys(svc)
    with ApiClient(create_app(settings, svc)) as client:
        assert client.put("/v1/orders/h", headers=keys.a).status_code == 201
        yield Api(client, svc, keys)
    svc.close()


def _files(root: Path) -> set[str]:
    """Every file of the data directory, but the catalog's own (its size changes with every audit)."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("catalog.db")
    }


def _post(
    api: Api, body: bytes, content_type: str | None, headers: dict[str, str] | None = None
) -> httpx.Response:
    h = {**api.keys.a, **(headers or {})}
    if content_type is not None:
        h["Content-Type"] = content_type
    return api.client.post("/v1/orders/h/items", headers=h, content=body)


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_a_hostile_upload_is_refused_and_leaves_nothing(
    hostile_api: Api, scratch: Path, case: Hostile
) -> None:
    api = hostile_api
    data_dir = api.services.settings.data_dir
    before, files = leftovers(api.services), _files(data_dir)
    r = _post(api, case.body, case.content_type, case.headers)
    assert_problem(r, case.status, case.code)
    assert leftovers(api.services) == before
    assert _files(data_dir) == files
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_a_hostile_looking_valid_upload_is_stored_as_documented(hostile_api: Api, case: Accepted) -> None:
    api = hostile_api
    r = _post(api, case.body, case.content_type)
    assert r.status_code == 201, r.text
    item = r.json()
    got = api.client.get(item["content_url"], headers=api.keys.a)
    assert got.status_code == 200, got.text
    for needle in case.absent:
        assert needle not in got.content
    if case.exact:
        import json

        assert got.content.decode() == json.loads(case.body.removeprefix(b"\xef\xbb\xbf"))["text"]
    # A client's file name is never used: not in the answer, not in a stored object's name.
    for fragment in ("passwd", "..", "system32", ".exe", "aaaa"):
        assert fragment not in r.text
        assert not any(fragment in key for key in api.services.blobs.list(""))
    assert "\\" not in r.text


def test_a_slow_upload_is_cut_off_with_408_and_leaves_nothing(hostile_api: Api, scratch: Path) -> None:
    """Headers, a little of the body, then nothing: the body deadline answers, not the client."""
    api = hostile_api
    body = multipart(png(), ctype="image/png")
    before = leftovers(api.services)

    async def drip() -> Any:
        yield body[:100]
        await anyio.sleep(BODY_TIMEOUT * 4)
        yield body[100:]

    r = api.client.post(
        "/v1/orders/h/items", headers={**api.keys.a, "Content-Type": MULTIPART}, content=drip()
    )
    assert_problem(r, 408)
    assert leftovers(api.services) == before
    assert list(scratch.iterdir()) == []


def test_a_slow_text_upload_is_cut_off_too(hostile_api: Api) -> None:
    api = hostile_api
    before = leftovers(api.services)

    async def drip() -> Any:
        yield b'{"kind": "text", '
        await anyio.sleep(BODY_TIMEOUT * 4)
        yield b'"text": "late"}'

    r = api.client.post("/v1/orders/h/items", headers={**api.keys.a, "Content-Type": JSON}, content=drip())
    assert_problem(r, 408)
    assert leftovers(api.services) == before


def test_nothing_was_left_in_the_data_directory_by_the_whole_corpus(hostile_api: Api) -> None:
    """Belt and braces after every case ran: no stray temporary names in the data directory."""
    names = [p.name for p in Path(api_dir(hostile_api)).rglob("*")]
    assert not [n for n in names if n.endswith((".tmp", ".part")) or n.startswith(("tmp", "."))]


def api_dir(api: Api) -> str:
    return os.fspath(api.services.settings.data_dir)
