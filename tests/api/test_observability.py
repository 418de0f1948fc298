"""Request ids and structured logs: the id on every response, problem body and log line of a request;
JSON lines with the fields operators filter on; and no customer content or key in any line."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from api.app import create_app
from api.observability import (
    JsonFormatter,
    RequestContextFilter,
    TextFormatter,
    accept_request_id,
    configure_logging,
)
from api.wiring import Services
from screening.composite import CompositeScreener
from screening.findings import Verdict
from screening.screener import NullScreener
from tests.api.conftest import Api, ApiClient, WordScreener, assert_problem, make_keys, png_bytes
from tests.vault.intake_samples import CANARY, jpeg_full

HEX32 = re.compile(r"[0-9a-f]{32}")


class LoggingScreener(WordScreener):
    """Logs from the worker thread screening runs in, as an engine might."""

    def screen(self, data: bytes, media_type: str) -> Verdict:
        logging.getLogger("screening.test").info("screened %d bytes of %s", len(data), media_type)
        return super().screen(data, media_type)


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    """conftest's app, with a text screener that logs (from the worker thread it runs in)."""
    services.screener = CompositeScreener(text=LoggingScreener, image=NullScreener, font=NullScreener)
    keys = make_keys(services)
    with ApiClient(create_app(services.settings, services)) as client:
        yield Api(client, services, keys)


LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The process's handler in JSON at debug into a buffer; call the result for the lines so far."""
    buf = io.StringIO()
    root = logging.getLogger()
    level = root.level
    configure_logging("debug", "json", stream=buf)
    try:
        yield lambda: [json.loads(raw) for raw in buf.getvalue().splitlines()]
    finally:
        for h in list(root.handlers):
            if getattr(h, "_cv_handler", False):
                root.removeHandler(h)
        root.setLevel(level)


def test_every_response_carries_a_request_id_and_a_valid_one_given_is_kept(api: Api) -> None:
    c = api.client
    generated = c.get("/healthz")
    assert HEX32.fullmatch(generated.headers["x-request-id"])
    assert c.get("/healthz").headers["x-request-id"] != generated.headers["x-request-id"]
    mine = c.put("/v1/orders/o-1", headers={**api.keys.a, "X-Request-Id": "checkout-7f3a:attempt-2"})
    assert mine.headers["x-request-id"] == "checkout-7f3a:attempt-2"
    for bad in ("two words", "x" * 129, "-leading-dash", 'quote"d', ""):
        r = c.get("/healthz", headers={"X-Request-Id": bad})
        assert HEX32.fullmatch(r.headers["x-request-id"]), bad
    # Streams too: a fetched item's bytes come with the id of the request that fetched them.
    item = c.post(
        "/v1/orders/o-1/items", headers=api.keys.a, files={"file": ("p.png", png_bytes(), "image/png")}
    )
    got = c.get(item.json()["content_url"], headers={**api.keys.a, "X-Request-Id": "fetch-1"})
    assert got.status_code == 200
    assert got.headers["x-request-id"] == "fetch-1"


def test_problem_bodies_name_their_request(api: Api) -> None:
    c = api.client
    for resp in (
        c.get("/v1/orders/nope", headers={**api.keys.a, "X-Request-Id": "support-42"}),
        c.get("/v1/orders/nope"),
        c.post("/v1/orders/o/items", headers=api.keys.a, content=b"{", params={"x": "1"}),
        c.get("/no/such/route"),
    ):
        body = assert_problem(resp, resp.status_code)
        assert body["request_id"] == resp.headers["x-request-id"]
    assert (
        c.get("/v1/orders/nope", headers={**api.keys.a, "X-Request-Id": "support-42"}).json()["request_id"]
        == "support-42"
    )


def test_every_log_line_of_a_request_carries_its_id_and_no_line_carries_content(
    api: Api, log_lines: LogLines
) -> None:
    """The canary: customer text, an image's metadata, a file name, a query string and a rejected
    request id all hold it; the key is a secret. Neither may reach any line, at debug level."""
    c, a = api.client, api.keys.a
    canary = CANARY.decode()
    c.put("/v1/orders/ord-1", headers={**a, "X-Request-Id": "req-put"})
    text = c.post(
        "/v1/orders/ord-1/items",
        headers={**a, "X-Request-Id": "req-text", "Idempotency-Key": "line-1"},
        json={"kind": "text", "text": f"For {canary}, with love"},
    )
    assert text.status_code == 201, text.text
    photo = c.post(
        "/v1/orders/ord-1/items",
        params={"note": canary},
        headers={**a, "X-Request-Id": f"{canary} spaced"},
        files={"file": (f"{canary}.jpg", jpeg_full(), "image/jpeg")},
    )
    assert photo.status_code == 201, photo.text
    assert c.get(text.json()["content_url"], headers={**a, "X-Request-Id": "req-get"}).content.startswith(
        b"For"
    )
    bad = c.post(
        "/v1/orders/ord-1/items", headers={**a, "X-Request-Id": "req-bad"}, json={"kind": "x", "t": canary}
    )
    assert_problem(bad, 422)
    c.get("/v1/orders/ord-1", headers={"Authorization": f"Bearer {api.keys.revoked}"})

    # The test's own HTTP client logs in this process too (with the query string): not the server's.
    lines = [line for line in log_lines() if line["logger"] != "httpx"]
    raw = "\n".join(json.dumps(line) for line in lines)
    assert canary not in raw
    for secret in (api.keys.seller_a, api.keys.revoked, api.keys.seller_a.split("_", 2)[2]):
        assert secret not in raw

    access = {line["request_id"]: line for line in lines if line["logger"] == "api.access"}
    put = access["req-put"]
    assert put["level"] == "info"
    assert (put["method"], put["route"], put["status"]) == ("PUT", "/v1/orders/{order_id}", 201)
    assert put["seller_id"] == "seller-a"
    assert isinstance(put["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", put["time"])
    assert access["req-bad"]["status"] == 422
    assert access["req-get"]["route"] == "/v1/orders/{order_id}/items/{item_id}/content"
    # The rejected id was replaced, not logged; the replacement is on the line instead.
    photo_line = next(line for line in lines if line["request_id"] == photo.headers["x-request-id"])
    assert photo_line["logger"] == "api.access"
    # A line logged from the worker thread that screened the text carries the upload's id.
    screened = [line for line in lines if line["logger"] == "screening.test"]
    assert screened
    assert {line["request_id"] for line in screened} >= {"req-text"}
    assert all(line["seller_id"] == "seller-a" for line in screened)
    # Nothing outside the closed set of fields.
    allowed = {"time", "level", "logger", "message", "request_id", "seller_id", "method", "route", "status"}
    allowed |= {"duration_ms", "url", "docs_url", "exc_type", "exc_where"}
    assert all(line.keys() <= allowed for line in lines)


def test_probes_are_logged_at_debug_and_requests_at_info(api: Api, log_lines: LogLines) -> None:
    api.client.get("/healthz")
    api.client.get("/v1/orders/x", headers=api.keys.a)
    levels = {line["route"]: line["level"] for line in log_lines() if line["logger"] == "api.access"}
    assert levels == {"/healthz": "debug", "/v1/orders/{order_id}": "info"}


def _record(msg: str, *args: object, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord("cv.test", logging.ERROR, __file__, 1, msg, args, exc_info)
    for k, v in extra.items():
        setattr(record, k, v)
    RequestContextFilter().filter(record)
    return record


def test_an_exception_is_logged_by_type_and_place_never_by_message() -> None:
    try:
        raise ValueError(f"could not decode {CANARY.decode()}")
    except ValueError as exc:
        caught = exc
    line = json.loads(JsonFormatter().format(_record("upload failed", exc=caught)))
    assert line["exc_type"] == "ValueError"
    assert line["exc_where"].endswith("test_observability.py:" + line["exc_where"].rsplit(":", 1)[1])
    assert line["request_id"] is None
    text = TextFormatter().format(_record("upload failed", exc=caught))
    assert CANARY.decode() not in text
    assert "ValueError at " in text
    # Even when another handler cached the full traceback on the record first.
    cached = _record("upload failed", exc=caught)
    cached.exc_text = f"Traceback ... ValueError: {CANARY.decode()}"
    assert CANARY.decode() not in TextFormatter().format(cached)


def test_json_lines_keep_only_the_known_fields() -> None:
    line = json.loads(JsonFormatter().format(_record("x %s", "y", body="secret", route="/r", status=200)))
    assert line["message"] == "x y"
    assert (line["route"], line["status"]) == ("/r", 200)
    assert "body" not in line


def test_text_lines_show_the_request_id_inside_a_request_only() -> None:
    assert "[abc]" in TextFormatter().format(_record("m", request_id="abc"))
    assert "[" not in TextFormatter().format(_record("m"))


def test_accept_request_id() -> None:
    assert accept_request_id("01J9Z3F5T2K8QW") == "01J9Z3F5T2K8QW"
    assert accept_request_id("a" * 128) == "a" * 128
    for bad in (None, "", "a" * 129, "new\nline", "ü", "a b"):
        assert HEX32.fullmatch(accept_request_id(bad))


def test_configure_logging_replaces_its_handler_and_follows_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("info", "text")
        configure_logging("warning", "json")
        ours = [h for h in root.handlers if getattr(h, "_cv_handler", False)]
        assert len(ours) == 1
        logging.getLogger("cv.test").warning("hello %s", "there")
        err = capsys.readouterr().err
        assert json.loads(err.strip().splitlines()[-1])["message"] == "hello there"
        assert logging.getLogger("botocore").getEffectiveLevel() >= logging.INFO
        assert sys.stderr is not None
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
        root.setLevel(level)
