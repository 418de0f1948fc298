"""Uploads screened by jobs: 201 with the verdict within the deadline, 202 "pending" past it or with
`Prefer: respond-async` (RFC 7240), the verdict on the item and the order later, and a pending item's
fetch answering 409 with `Retry-After`."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.routes.orders import parse_prefer
from customization_vault.fulfilment import Preference
from screening.composite import CompositeScreener
from screening.findings import Verdict
from tests.api.conftest import FLAG_WORD, Api, WordScreener, assert_problem, png_bytes


class Gate:
    """A screener that holds every item until the test opens it, then screens like `WordScreener`."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.started = threading.Event()

    def screen(self, data: bytes, media_type: str) -> Verdict:
        self.started.set()
        assert self.open.wait(30), "the test never opened the gate"
        return WordScreener().screen(data, media_type)


@pytest.fixture
def gated(api: Api) -> Iterator[tuple[Api, Gate]]:
    gate = Gate()
    screener = CompositeScreener(text=lambda: gate, image=lambda: gate, font=lambda: gate)
    ctx = api.client.app.state.ctx
    ctx.fulfilment.jobs.worker.screener = screener
    api.client.put("/v1/orders/A-1", headers=api.keys.a)
    try:
        yield api, gate
    finally:
        gate.open.set()  # never leave a worker thread waiting


def _until_screened(api: Api, url: str) -> dict[str, Any]:
    for _ in range(400):
        body: dict[str, Any] = api.client.get(url, headers=api.keys.a).json()
        if body["verdict"] != "pending":
            return body
        time.sleep(0.05)
    raise AssertionError("never screened")


def test_respond_async_answers_202_pending_and_the_verdict_lands_on_the_item_and_the_order(
    gated: tuple[Api, Gate],
) -> None:
    api, gate = gated
    h = {**api.keys.a, "Prefer": "respond-async"}
    r = api.client.post(
        "/v1/orders/A-1/items", headers=h, json={"kind": "text", "text": f"a {FLAG_WORD.decode()}"}
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["state"], body["verdict"], body["findings"]) == ("received", "pending", [])
    assert r.headers["location"] == body["item_url"] == f"/v1/orders/A-1/items/{body['id']}"
    assert r.headers["preference-applied"] == "respond-async"
    assert int(r.headers["retry-after"]) >= 1
    assert gate.started.wait(10)  # the in-process worker holds the job now
    held = api.client.get(body["content_url"], headers=api.keys.a)
    problem = assert_problem(held, 409, "screening_pending")
    assert int(held.headers["retry-after"]) >= 1
    assert "detail" in problem
    order = api.client.get("/v1/orders/A-1", headers=api.keys.a).json()
    assert [i["verdict"] for i in order["items"]] == ["pending"]
    gate.open.set()
    item = _until_screened(api, body["item_url"])
    assert (item["state"], item["verdict"]) == ("flagged", "flagged")
    assert [f["entry"] for f in item["findings"]] == ["acmecola"]
    assert item["review"]["state"] == "open"
    order = api.client.get("/v1/orders/A-1", headers=api.keys.a).json()
    assert [i["verdict"] for i in order["items"]] == ["flagged"]
    assert_problem(api.client.get(body["content_url"], headers=api.keys.a), 409, "content_held")


def test_past_the_deadline_an_upload_answers_202_and_its_retry_waits_for_the_same_item(
    gated: tuple[Api, Gate],
) -> None:
    api, gate = gated
    ctx = api.client.app.state.ctx
    ctx.fulfilment.jobs = dataclasses.replace(ctx.fulfilment.jobs, deadline_seconds=0.3)
    h = {**api.keys.a, "Idempotency-Key": "k-1"}
    photo = png_bytes((64, 48), "green")
    r = api.client.post("/v1/orders/A-1/items", headers=h, files={"file": ("p.png", photo, "image/png")})
    assert r.status_code == 202, r.text
    assert r.json()["verdict"] == "pending"
    assert "preference-applied" not in r.headers  # the client asked for nothing: the deadline passed
    again = api.client.post("/v1/orders/A-1/items", headers=h, files={"file": ("p.png", photo, "image/png")})
    assert again.status_code == 202
    assert again.json()["id"] == r.json()["id"]
    gate.open.set()
    _until_screened(api, r.json()["item_url"])
    replay = api.client.post("/v1/orders/A-1/items", headers=h, files={"file": ("p.png", photo, "image/png")})
    assert replay.status_code == 200
    assert (replay.json()["id"], replay.json()["verdict"]) == (r.json()["id"], "clear")
    fetched = api.client.get(r.json()["content_url"], headers=api.keys.a)
    assert fetched.status_code == 200
    assert fetched.content == photo
    assert len(api.client.get("/v1/orders/A-1", headers=api.keys.a).json()["items"]) == 1


def test_within_the_deadline_an_upload_answers_201_with_its_verdict(api: Api) -> None:
    api.client.put("/v1/orders/A-2", headers=api.keys.a)
    r = api.client.post("/v1/orders/A-2/items", headers=api.keys.a, json={"kind": "text", "text": "Hi Ana"})
    assert r.status_code == 201, r.text
    assert (r.json()["state"], r.json()["verdict"]) == ("clear", "clear")
    assert r.headers["location"] == r.json()["content_url"]
    got = api.client.get(r.json()["item_url"], headers=api.keys.a)
    assert got.status_code == 200
    assert got.json()["id"] == r.json()["id"]
    assert_problem(api.client.get("/v1/orders/A-2/items/nope", headers=api.keys.a), 404, "item_not_found")
    assert_problem(api.client.get(r.json()["item_url"], headers=api.keys.b), 404)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], Preference()),
        (["respond-async"], Preference(respond_async=True)),
        (["Respond-Async; x=1, wait=10"], Preference(respond_async=True, wait=10.0)),
        (["handling=lenient", "wait=2.5"], Preference(wait=2.5)),
        (["wait=soon"], Preference()),
        (['wait="3"'], Preference(wait=3.0)),
        (["return=minimal,respond-async"], Preference(respond_async=True)),
    ],
)
def test_prefer_headers_are_read_as_rfc_7240_says(headers: list[str], expected: Preference) -> None:
    assert parse_prefer(headers) == expected
