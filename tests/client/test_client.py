"""The client against `httpx.MockTransport`: retries and their waits, idempotency keys, request ids,
streamed bodies and typed errors — what a real server will not do on demand (answer 503, drop a
connection, cut a body short). The end-to-end suite runs the same client against `serve`."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from customization_vault_client import (
    NO_RETRY,
    ApiError,
    AsyncClient,
    Client,
    Conflict,
    ContentGone,
    ContentHeld,
    ContentRefused,
    IncompleteDownload,
    InvalidContent,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Unauthenticated,
)
from customization_vault_client._retry import parse_retry_after

BASE = "http://vault.test"
ITEM = {
    "id": "it-1",
    "kind": "image",
    "content_type": "image/png",
    "size": 3,
    "state": "clear",
    "verdict": "clear",
    "findings": [],
    "metadata_removed": ["exif"],
    "created_at": "2027-01-15T08:00:00Z",
    "review": None,
    "content_url": "/v1/orders/A-1/items/it-1/content",
    "added_later": {"x": 1},
}


def problem(status: int, code: str, request_id: str = "srv-1", **headers: str) -> httpx.Response:
    body = {"type": f"https://e/{code}", "title": "T", "status": status, "code": code, "detail": "d"}
    body["request_id"] = request_id
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json", **headers})


class Script:
    """Answers requests from a list in order; records what was sent (headers, body bytes)."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def client(script: Script, **kwargs: Any) -> tuple[Client, list[float]]:
    waits: list[float] = []
    c = Client(BASE, "cv_key", transport=httpx.MockTransport(script), sleep=waits.append, **kwargs)
    return c, waits


def test_503_and_429_are_retried_after_retry_after_with_the_same_request_id_and_idempotency_key() -> None:
    script = Script(
        problem(503, "backend_error", **{"Retry-After": "2"}),
        problem(429, "rate_limited", **{"Retry-After": "1"}),
        httpx.Response(201, json=ITEM),
    )
    c, waits = client(script)
    item = c.upload_file("A-1", b"png", filename="p.png", content_type="image/png")
    assert item.id == "it-1"
    assert not item.replayed
    assert item.raw["added_later"] == {"x": 1}
    assert waits == [2.0, 1.0]
    assert len({r.headers["x-request-id"] for r in script.requests}) == 1
    assert len({r.headers["idempotency-key"] for r in script.requests}) == 1
    assert all(b"png" in body for body in script.bodies)
    assert script.requests[0].headers["authorization"] == "Bearer cv_key"
    assert script.requests[0].headers["user-agent"].startswith("customization-vault-client/")


def test_dropped_connections_are_retried_with_backoff_then_reported() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200, json=ITEM))
    c, waits = client(script, retry=RetryPolicy(backoff=1.0, jitter=False))
    assert c.upload_text("A-1", "hello", idempotency_key="A-1:1").replayed
    assert waits == [1.0, 2.0]
    assert [json.loads(b) for b in script.bodies] == [{"kind": "text", "text": "hello"}] * 3
    assert {r.headers["idempotency-key"] for r in script.requests} == {"A-1:1"}

    script = Script(*[httpx.ConnectError("refused")] * 3)
    c, waits = client(script, retry=RetryPolicy(attempts=3, jitter=False))
    with pytest.raises(TransportError, match="ConnectError"):
        c.create_order("A-1")
    assert len(script.requests) == 3
    assert waits == [0.5, 1.0]


def test_a_retry_after_longer_than_the_policy_allows_is_raised_not_waited() -> None:
    script = Script(problem(429, "rate_limited", **{"Retry-After": "600"}))
    c, waits = client(script)
    with pytest.raises(RateLimited) as caught:
        c.get_order("A-1")
    assert caught.value.retry_after == 600
    assert waits == []


def test_the_last_answer_is_raised_when_attempts_run_out() -> None:
    script = Script(*[problem(503, "key_unavailable", **{"Retry-After": "0"})] * 2)
    c, waits = client(script, retry=RetryPolicy(attempts=2))
    with pytest.raises(ServiceUnavailable) as caught:
        c.fulfil("A-1")
    assert caught.value.code == "key_unavailable"
    assert waits == [0.0]
    c, waits = client(Script(problem(503, "backend_error")), retry=NO_RETRY)
    with pytest.raises(ServiceUnavailable):
        c.fulfil("A-1")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "unauthenticated", Unauthenticated),
        (404, "order_not_found", NotFound),
        (409, "content_held", ContentHeld),
        (409, "state_conflict", Conflict),
        (410, "content_gone", ContentGone),
        (451, "content_refused", ContentRefused),
        (422, "validation_error", InvalidContent),
        (500, "internal_error", ServerError),
        (418, "http_418", ApiError),
    ],
)
def test_problems_become_typed_errors_with_code_and_request_id(
    status: int, code: str, cls: type[ApiError]
) -> None:
    c, waits = client(Script(problem(status, code, request_id="req-9")))
    with pytest.raises(cls) as caught:
        c.get_order("A-1")
    err: ApiError = caught.value
    assert (err.status, err.code, err.request_id) == (status, code, "req-9")
    assert "req-9" in str(err)
    assert waits == []  # none of these is retried
    assert isinstance(err, ContentHeld) == (code == "content_held")


def test_an_answer_without_a_problem_body_still_maps_and_keeps_the_header_request_id() -> None:
    c, _ = client(
        Script(httpx.Response(502, text="<html>bad gateway</html>", headers={"X-Request-Id": "edge-1"}))
    )
    c.retry = NO_RETRY
    with pytest.raises(ServerError) as caught:
        c.get_order("A-1")
    assert (caught.value.code, caught.value.request_id) == ("http_502", "edge-1")


def test_order_and_item_ids_are_one_path_segment_each() -> None:
    script = Script(httpx.Response(200, json={"id": "A/1 ü?", "state": "open", "created_at": None}))
    c, _ = client(script)
    assert not c.create_order("A/1 ü?").created
    assert script.requests[0].url.raw_path == b"/v1/orders/A%2F1%20%C3%BC%3F"
    with pytest.raises(ValueError, match="order_id"):
        c.create_order("")


def test_uploads_stream_from_a_path_and_an_open_file_and_rewind_on_retry(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG" + b"x" * 200_000)
    script = Script(problem(503, "backend_error", **{"Retry-After": "0"}), httpx.Response(201, json=ITEM))
    c, _ = client(script)
    c.upload_file("A-1", photo)
    assert all(photo.read_bytes() in body for body in script.bodies)
    assert b'filename="photo.png"' in script.bodies[0]

    script = Script(httpx.ConnectError("reset"), httpx.Response(201, json=ITEM))
    c, _ = client(script)
    with photo.open("rb") as fh:
        fh.seek(4)  # an open file is sent whole, from its start, on every attempt
        c.upload_file("A-1", fh, content_type="image/png")
    assert all(photo.read_bytes() in body for body in script.bodies)
    assert len(script.bodies) == 2


def test_a_stream_that_cannot_rewind_is_sent_once() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = io.BytesIO(b"abc")

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, b: Any) -> int:
            chunk = self.data.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    script = Script(problem(503, "backend_error", **{"Retry-After": "0"}))
    c, waits = client(script)
    with pytest.raises(ServiceUnavailable):
        c.upload_file("A-1", io.BufferedReader(Pipe()), filename="pipe.png")
    assert waits == []


def test_download_streams_to_a_path_and_never_leaves_a_partial_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    script = Script(
        problem(503, "backend_error", **{"Retry-After": "0"}),
        httpx.Response(200, content=data, headers={"content-type": "image/png"}),
    )
    c, waits = client(script)
    dest = tmp_path / "out.png"
    got = c.download("A-1", "it-1", dest, chunk_size=1000)
    assert (got.path, got.size, got.content_type) == (dest, len(data), "image/png")
    assert dest.read_bytes() == data
    assert waits == [0.0]
    assert script.requests[0].url.path == "/v1/orders/A-1/items/it-1/content"

    short = httpx.Response(200, content=b"abc", headers={"content-length": "10"})
    c, _ = client(Script(short))
    with pytest.raises(IncompleteDownload):
        c.download("A-1", "it-1", tmp_path / "short.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]

    c, _ = client(Script(problem(451, "content_refused")))
    with pytest.raises(ContentRefused):
        c.download("A-1", "it-1", tmp_path / "refused.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_download_into_an_open_file_rewinds_it_for_a_retry() -> None:
    calls = {"n": 0}

    def flaky_body(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1

        def chunks() -> Any:
            yield b"first-half"
            if calls["n"] == 1:
                raise httpx.ReadError("reset mid-body")
            yield b"-second-half"

        return httpx.Response(200, content=chunks())

    sink = io.BytesIO(b"header:")
    sink.seek(7)
    c, waits = client(Script(flaky_body, flaky_body))
    got = c.download("A-1", "it-1", sink)
    assert sink.getvalue() == b"header:first-half-second-half"
    assert got.size == len(b"first-half-second-half")
    assert len(waits) == 1


def test_wait_for_receipt_polls_until_the_pending_purge_completes() -> None:
    receipt = {"alg": "Ed25519", "key_id": "k", "body": {"purged_at": "t"}, "signature": "s"}
    script = Script(
        httpx.Response(202, json={"order": {"id": "A-1", "state": "fulfilled"}, "receipt_url": "/r"}),
        problem(404, "not_found"),
        problem(404, "not_found"),
        httpx.Response(200, json=receipt),
    )
    c, waits = client(script)
    result = c.fulfil("A-1")
    assert result.pending
    assert not result.purged
    assert c.wait_for_receipt("A-1", interval=0.5).body == {"purged_at": "t"}
    assert waits == [0.5, 0.5]
    c, _ = client(Script(*[problem(404, "not_found")] * 3))
    with pytest.raises(NotFound):
        c.wait_for_receipt("A-1", timeout=0.0)


def test_the_key_never_shows_in_a_repr() -> None:
    c = Client(BASE, "cv_secret_key")
    assert "cv_secret_key" not in repr(c)
    c.close()
    with pytest.raises(ValueError, match="API key"):
        Client(BASE, "")


def test_the_async_client_retries_the_same_way() -> None:
    script = Script(
        problem(503, "backend_error", **{"Retry-After": "1"}),
        httpx.Response(201, json=ITEM),
        httpx.Response(200, content=b"png", headers={"content-type": "image/png"}),
        problem(409, "content_held"),
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> None:
        async with AsyncClient(BASE, "cv_key", transport=httpx.MockTransport(script), sleep=sleep) as c:
            item = await c.upload_file("A-1", b"png", filename="p.png")
            assert item.id == "it-1"
            sink = io.BytesIO()
            assert (await c.download("A-1", item.id, sink)).size == 3
            with pytest.raises(ContentHeld):
                await c.download("A-1", item.id, sink)

    anyio.run(main)
    assert waits == [1.0]
    assert script.requests[0].headers["idempotency-key"] == script.requests[1].headers["idempotency-key"]


def test_retry_after_parsing() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30.0) == 30.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now=30.0) == 0.0
    with pytest.raises(ValueError, match="at least one"):
        RetryPolicy(attempts=0)
    policy = RetryPolicy(backoff=1.0, max_backoff=4.0)
    for attempt, cap in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0)):
        assert cap / 2 <= (policy.delay(attempt) or 0) <= cap
    assert policy.delay(5) is None
