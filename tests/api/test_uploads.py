"""Upload input handling: every bad-input class answers a 4xx problem and leaves nothing behind;
idempotent retries create one item; customer content never reaches logs, disk or error bodies."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import struct
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from api.app import create_app
from api.wiring import build_services
from customization_vault.catalog.reviews import QueueFilter
from screening.composite import CompositeScreener
from screening.findings import Verdict
from tests.api.conftest import (
    Api,
    ApiClient,
    assert_problem,
    jpeg_bytes,
    leftovers,
    make_keys,
    png_bytes,
    word_screener,
)
from tests.conftest import make_settings
from tests.font_samples import build_font, font_with_unreadable_names
from tests.vault.intake_samples import CANARY, FORBIDDEN, jpeg_full

LIMIT = 256 * 1024
MAX_TEXT = 100


@contextlib.contextmanager
def _small_api(base: Any) -> Iterator[Api]:
    """Small limits, so the oversize classes cost kilobytes, not megabytes."""
    limits = base.limits.model_copy(
        update={"max_upload_bytes": LIMIT, "max_pixels": 1_000_000, "max_text_chars": MAX_TEXT}
    )
    settings = base.model_copy(update={"limits": limits})
    svc = build_services(settings)
    svc.screener = word_screener()
    keys = make_keys(svc)
    with ApiClient(create_app(settings, svc)) as client:
        client.put("/v1/orders/o", headers=keys.a)
        yield Api(client, svc, keys)
    svc.close()


@pytest.fixture
def small(backend_settings: Any) -> Iterator[Api]:
    """Both backend families: embedded default, and PostgreSQL + S3 + KMS (moto)."""
    with _small_api(backend_settings) as api:
        yield api


@pytest.fixture
def small_embedded(tmp_path: Path) -> Iterator[Api]:
    """The embedded default only: for properties of the API layer that a backend cannot change."""
    with _small_api(make_settings(tmp_path / "var")) as api:
        yield api


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def pixel_bomb(side: int = 20_000) -> bytes:
    """A few hundred bytes declaring side x side pixels: must be refused from the header, not decoded."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (side * 3 + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def multipart(parts: list[tuple[str, str | None, bytes, str | None]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, filename, data, ctype in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


MP = {"content-type": "multipart/form-data; boundary=b0undary"}


def file_part(data: bytes, ctype: str | None = "application/octet-stream") -> dict[str, Any]:
    return {"content": multipart([("file", "f", data, ctype)]), "headers": MP}


def bad_inputs() -> list[tuple[str, dict[str, Any], int, str | None]]:
    """(class, request, status, code). Every payload carries the canary where it can."""
    truncated_jpeg = jpeg_bytes((200, 160))
    whole = multipart([("file", "a.png", png_bytes() + CANARY, "image/png")])
    return [
        (
            "malformed multipart",
            {"content": b"no parts here " + CANARY, "headers": MP},
            400,
            "malformed_request",
        ),
        (
            "multipart without boundary",
            {"content": whole, "headers": {"content-type": "multipart/form-data"}},
            400,
            "malformed_request",
        ),
        (
            "truncated multipart",
            {"content": whole[: len(whole) // 2], "headers": MP},
            400,
            "malformed_request",
        ),
        (
            "no file part",
            {"content": multipart([("note", None, CANARY, None)]), "headers": MP},
            400,
            "malformed_request",
        ),
        ("truncated image", file_part(truncated_jpeg[: len(truncated_jpeg) // 2]), 422, "corrupt_image"),
        (
            "oversized",
            file_part(b"\xff\xd8\xff" + CANARY * (LIMIT // len(CANARY) + 1)),
            413,
            "upload_too_large",
        ),
        ("mismatched type", file_part(png_bytes(), "image/jpeg"), 415, "type_mismatch"),
        ("pixel bomb", file_part(pixel_bomb()), 413, "too_many_pixels"),
        ("empty file", file_part(b""), 400, "empty"),
        ("unsupported (BMP)", file_part(_bmp()), 415, "unknown_format"),
        ("unsupported (PDF)", file_part(b"%PDF-1.7\n" + CANARY), 415, "unknown_format"),
        (
            "unsupported request type",
            {"content": CANARY, "headers": {"content-type": "text/plain"}},
            415,
            None,
        ),
        ("malformed JSON", {"content": b'{"kind": "text", "text": "' + CANARY, "headers": _JSON}, 400, None),
        ("text too long", {"json": {"kind": "text", "text": CANARY.decode() * 20}}, 413, "text_too_long"),
        ("empty text", {"json": {"kind": "text", "text": " \u200b\n"}}, 400, "empty"),
        ("NUL in text", {"json": {"kind": "text", "text": CANARY.decode() + "\x00"}}, 422, "invalid_text"),
        ("wrong kind", {"json": {"kind": "image", "text": CANARY.decode()}}, 422, "invalid_input"),
        (
            "extra field",
            {"json": {"kind": "text", "text": "x", "secret": CANARY.decode()}},
            422,
            "invalid_input",
        ),
        ("text not a string", {"json": {"kind": "text", "text": [CANARY.decode()]}}, 422, "invalid_input"),
        (
            "bad idempotency key",
            {"json": {"kind": "text", "text": "ok"}, "headers": {"Idempotency-Key": "k" * 201}},
            422,
            "invalid_input",
        ),
    ]


_JSON = {"content-type": "application/json"}


def _bmp() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "BMP")
    return buf.getvalue()


def _send(api: Api, kwargs: dict[str, Any]) -> httpx.Response:
    headers = {**api.keys.a, **kwargs.get("headers", {})}
    rest = {k: v for k, v in kwargs.items() if k != "headers"}
    return api.client.post("/v1/orders/o/items", headers=headers, **rest)


def test_every_bad_input_class_is_a_4xx_problem_that_leaves_nothing_behind(
    small: Api, caplog: pytest.LogCaptureFixture
) -> None:
    bad = bad_inputs()
    caplog.set_level(logging.DEBUG)
    before = leftovers(small.services)
    seen = set()
    for name, kwargs, status, code in bad:
        r = _send(small, kwargs)
        assert_problem(r, status, code)
        assert CANARY not in r.content, name
        assert leftovers(small.services) == before, name
        seen.add(name)
    assert len(seen) == len(bad)
    assert CANARY.decode() not in caplog.text
    # The order is still open and usable after all of it.
    assert _send(small, {"json": {"kind": "text", "text": "fine"}}).status_code == 201


def test_an_oversized_stream_is_refused_without_a_content_length(small: Api) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        head = b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
        yield head
        for _ in range(64):  # 4 MiB offered against a 256 KiB limit
            sent += 1
            yield b"\xff" * 65536

    r = small.client.post("/v1/orders/o/items", headers={**small.keys.a, **MP}, content=body())
    assert_problem(r, 413, "upload_too_large")
    assert leftovers(small.services).items == 0


def test_a_content_length_over_the_limit_is_refused_before_reading(small: Api) -> None:
    r = small.client.post(
        "/v1/orders/o/items",
        headers={**small.keys.a, **MP, "content-length": str(10 * LIMIT)},
        content=b"x" * 10,
    )
    assert_problem(r, 413, "upload_too_large")


def test_bad_inputs_leave_nothing_on_production_backends_too(api: Api) -> None:
    api.client.put("/v1/orders/o", headers=api.keys.a)
    before = leftovers(api.services)
    for kwargs, status in (
        (file_part(jpeg_bytes()[:300]), 422),
        (file_part(png_bytes(), "image/gif"), 415),
        (file_part(pixel_bomb(50_000)), 413),
        (file_part(b""), 400),
        ({"json": {"kind": "text"}}, 422),
    ):
        assert_problem(_send(api, kwargs), status)
        assert leftovers(api.services) == before


def test_the_item_limit_per_order_is_a_problem_not_a_leftover(small: Api) -> None:
    small.services.vault.content.max_items_per_order = 2
    for i in range(2):
        assert _send(small, {"json": {"kind": "text", "text": f"item {i}"}}).status_code == 201
    before = leftovers(small.services)
    assert_problem(_send(small, {"json": {"kind": "text", "text": "one too many"}}), 413)
    assert leftovers(small.services) == before


def test_idempotent_retries_create_one_item(api: Api) -> None:
    c, a = api.client, api.keys.a
    c.put("/v1/orders/o", headers=a)
    key = {"Idempotency-Key": "retry-1"}
    first = c.post("/v1/orders/o/items", headers={**a, **key}, json={"kind": "text", "text": "engrave me"})
    again = c.post("/v1/orders/o/items", headers={**a, **key}, json={"kind": "text", "text": "engrave me"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = c.post("/v1/orders/o/items", headers={**a, **key}, json={"kind": "text", "text": "different"})
    assert_problem(other, 409, "state_conflict")

    photo = png_bytes((40, 40), "green")
    fkey = {"Idempotency-Key": "retry-file"}
    results = [
        c.post("/v1/orders/o/items", headers={**a, **fkey}, files={"file": ("p.png", photo, "image/png")})
        for _ in range(2)
    ]
    assert [r.status_code for r in results] == [201, 200]
    assert len({r.json()["id"] for r in results}) == 1
    assert leftovers(api.services).items == 2
    assert leftovers(api.services).blobs == 2


def test_concurrent_retries_with_one_key_create_one_item(api: Api) -> None:
    c, a = api.client, api.keys.a
    c.put("/v1/orders/o", headers=a)
    headers = {**a, "Idempotency-Key": "race"}

    def send(_: int) -> httpx.Response:
        return c.post("/v1/orders/o/items", headers=headers, json={"kind": "text", "text": "same text"})

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(send, range(4)))
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in results}) == 1
    assert leftovers(api.services).items == 1
    assert leftovers(api.services).blobs == 1


def test_the_canary_never_reaches_logs_disk_or_error_bodies(
    small: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # Built before capture starts: Pillow's own debug log prints the Exif tags it writes.
    photo_bytes, bad = jpeg_full(), bad_inputs()
    caplog.set_level(logging.DEBUG)
    c, a = small.client, small.keys.a
    text = f"To Ana {CANARY.decode()} ACMECOLA"  # flagged, so the finding span is stored too
    ok = c.post("/v1/orders/o/items", headers=a, json={"kind": "text", "text": text})
    assert ok.status_code == 201
    assert CANARY not in ok.content
    photo = c.post("/v1/orders/o/items", headers=a, files={"file": ("p.jpg", photo_bytes, "image/jpeg")})
    assert photo.status_code == 201, photo.text
    for _, kwargs, _, _ in bad:
        assert CANARY not in _send(small, kwargs).content
    order = c.get("/v1/orders/o", headers=a)
    assert CANARY not in order.content
    metrics = c.get("/metrics").text
    assert CANARY.decode() not in metrics
    assert "/v1/orders/o/" not in metrics  # route templates only, never order ids

    assert CANARY.decode() not in caplog.text
    data_dir = small.services.settings.data_dir
    blob_dir = small.services.settings.blob_dir
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    if small.services.settings.storage.backend == "local":
        assert any(p.is_relative_to(blob_dir) for p in files)
    else:  # S3: the stored objects hold ciphertext only
        keys = list(small.services.blobs.list(""))
        assert keys
        for key in keys:
            stored = b"".join(small.services.blobs.get(key))
            assert CANARY not in stored
            assert b"To Ana" not in stored
    for path in files:
        raw = path.read_bytes()
        for marker in (CANARY, *FORBIDDEN, b"To Ana"):
            assert marker not in raw, (path, marker)


class _Exploding:
    def screen(self, data: bytes, media_type: str) -> Verdict:
        raise RuntimeError(f"engine bug while reading {data[:40]!r}")


def _use_screener(api: Api, screener: CompositeScreener) -> None:
    """Swap the engines of a running app: the in-process screening worker runs them."""
    ctx = api.client.app.state.ctx
    api.services.screener = ctx.fulfilment.screener = screener
    ctx.fulfilment.jobs.worker.screener = screener


def _final(api: Api, item: dict[str, Any]) -> dict[str, Any]:
    """The item once its screening job recorded a verdict (an upload past its deadline answers 202)."""
    for _ in range(600):
        got = api.client.get(f"/v1/orders/o/items/{item['id']}", headers=api.keys.a)
        assert got.status_code == 200, got.text
        if got.json()["verdict"] != "pending":
            return dict(got.json())
        time.sleep(0.05)
    raise AssertionError("the item was never screened")


def test_an_unexpected_error_is_a_bare_500_logged_without_content(
    small: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    content = small.client.app.state.ctx.fulfilment.vault.content

    def explode(*_: object, **__: object) -> Any:
        raise RuntimeError(f"storage bug while writing {CANARY!r}")

    monkeypatch.setattr(content, "put_item", explode)
    before = leftovers(small.services)
    r = _send(small, {"json": {"kind": "text", "text": CANARY.decode()}})
    body = assert_problem(r, 500, "internal_error")
    assert "detail" not in body
    assert CANARY not in r.content
    assert "RuntimeError" in caplog.text
    assert CANARY.decode() not in caplog.text
    assert leftovers(small.services) == before


def test_an_engine_that_fails_on_an_item_twice_sends_it_to_review_never_clear(
    small: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """An engine bug on one item costs that item a clear outcome, not the request: the job is retried
    once (the crash may have been the worker's), then the item is unscreenable and a person decides."""
    caplog.set_level(logging.DEBUG)
    _use_screener(small, CompositeScreener(text=_Exploding, image=_Exploding, font=_Exploding))
    r = _send(small, {"json": {"kind": "text", "text": CANARY.decode()}})
    assert r.status_code in (201, 202), r.text
    assert CANARY not in r.content
    item = _final(small, r.json())
    assert (item["state"], item["verdict"]) == ("flagged", "flagged")
    assert item["review"]["state"] == "open"
    assert_problem(small.client.get(item["content_url"], headers=small.keys.a), 409, "content_held")
    cases = small.services.review.queue(QueueFilter(kind="unscreenable"), live_only=True, limit=10, offset=0)
    assert [c.item_id for c in cases[0]] == [item["id"]]
    assert "RuntimeError" in caplog.text
    assert CANARY.decode() not in caplog.text


def test_uploads_never_spool_to_temporary_files(small_embedded: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedded only: moto's in-process S3 keeps its own objects in temporary files."""
    import starlette.formparsers

    small = small_embedded

    def refuse(*_: object, **__: object) -> Any:
        raise AssertionError("an upload touched a temporary file")

    # Starlette imports SpooledTemporaryFile by name: patch its copy as well as the module's.
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", refuse)
    ctx = small.client.app.state.ctx
    ctx.fulfilment.limits = dataclasses.replace(ctx.fulfilment.limits, max_upload_bytes=4 << 20)
    # Noise does not compress: ~1.5 MiB of PNG, above the 1 MiB where Starlette's UploadFile spools.
    noise = Image.frombytes("RGB", (512, 1024), os.urandom(512 * 1024 * 3))
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    data = buf.getvalue()
    assert len(data) > 1 << 20
    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    r = small.client.post(
        "/v1/orders/o/items", headers=small.keys.a, files={"file": ("n.png", data, "image/png")}
    )
    assert r.status_code == 201, r.text
    assert small.client.get(r.json()["content_url"], headers=small.keys.a).content == data


def test_a_font_the_engine_cannot_parse_goes_to_review_as_unscreenable(small: Api) -> None:
    """Intake checks structure; the engine's own parse runs in the screening job, after the upload was
    stored: an item it cannot read is never cleared, a reviewer sees it."""
    from screening.fonts import FontScreener

    _use_screener(small, CompositeScreener(font=FontScreener))
    # Sound enough for intake's table-directory check (which refuses structurally broken fonts, 422),
    # unreadable for the engine: every name record points past its table.
    broken_ttf = font_with_unreadable_names(CANARY)
    r = _send(small, file_part(broken_ttf, "font/ttf"))
    assert r.status_code in (201, 202), r.text
    assert CANARY not in r.content
    item = _final(small, r.json())
    assert (item["state"], item["verdict"], item["findings"]) == ("flagged", "flagged", [])
    cases = small.services.review.queue(QueueFilter(kind="unscreenable"), live_only=True, limit=10, offset=0)
    assert [c.item_id for c in cases[0]] == [item["id"]]


def test_a_database_outage_is_a_503_not_a_500(small: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    def down(token: str) -> Any:
        raise OperationalError("SELECT secret FROM api_keys", {"p": CANARY.decode()}, Exception("refused"))

    monkeypatch.setattr(small.services.api_keys, "authenticate", down)
    r = small.client.get("/v1/orders/o", headers=small.keys.a)
    assert_problem(r, 503, "backend_error")
    assert CANARY not in r.content


def test_a_font_whose_tables_lie_outside_it_is_a_422_and_nothing_is_stored(embedded_api: Api) -> None:
    """The issue's case: with no font engine to trip over it (the API tests' screener has none), a TTF
    whose directory points past its end was stored with 201; fulfilment would get an unusable font."""
    api = embedded_api
    api.client.put("/v1/orders/f-1", headers=api.keys.a)
    ttf = build_font()
    broken = bytearray(ttf)
    (n,) = struct.unpack_from(">H", ttf, 4)
    for k in range(n):
        tag, checksum, _offset, length = struct.unpack_from(">4sIII", ttf, 12 + 16 * k)
        if tag == b"glyf":
            struct.pack_into(">4sIII", broken, 12 + 16 * k, tag, checksum, len(ttf) + 100, length)
    r = api.client.post(
        "/v1/orders/f-1/items", headers=api.keys.a, files={"file": ("f.ttf", bytes(broken), "font/ttf")}
    )
    assert_problem(r, 422, "corrupt_font")
    assert leftovers(api.services).items == 0
    ok = api.client.post(
        "/v1/orders/f-1/items", headers=api.keys.a, files={"file": ("f.ttf", ttf, "font/ttf")}
    )
    assert ok.status_code == 201, ok.text
