"""The life of an order over HTTP, tenant isolation and the role × endpoint matrix — on both backends."""

from __future__ import annotations

import pytest

from tests.api.conftest import (
    BLOCK_WORD,
    FLAG_WORD,
    Api,
    assert_problem,
    jpeg_bytes,
    leftovers,
    png_bytes,
)
from tests.vault.intake_samples import CANARY, jpeg_full


def _upload_text(api: Api, order: str, text: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    r = api.client.post(
        f"/v1/orders/{order}/items", headers=headers or api.keys.a, json={"kind": "text", "text": text}
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_the_whole_life_of_an_order(api: Api) -> None:
    c, a = api.client, api.keys.a
    r = c.put("/v1/orders/ord-1", headers=a)
    assert r.status_code == 201
    assert r.json()["state"] == "open"
    assert c.put("/v1/orders/ord-1", headers=a).status_code == 200

    photo = jpeg_full()
    r = c.post("/v1/orders/ord-1/items", headers=a, files={"file": ("me.jpg", photo, "image/jpeg")})
    assert r.status_code == 201, r.text
    image = r.json()
    assert image["kind"] == "image"
    assert image["content_type"] == "image/jpeg"
    assert image["verdict"] == "clear"
    assert {"exif", "gps"} <= set(image["metadata_removed"])
    assert r.headers["location"] == image["content_url"]

    text = _upload_text(api, "ord-1", "Happy birthday, Ana!")
    flagged = _upload_text(api, "ord-1", "Best " + FLAG_WORD.decode() + " fan")
    blocked = _upload_text(api, "ord-1", BLOCK_WORD.decode())
    assert flagged["verdict"] == "flagged"
    finding = flagged["findings"][0]  # type: ignore[index]
    assert finding["entry"] == FLAG_WORD.decode().lower()
    assert finding["span"] == [5, 5 + len(FLAG_WORD)]
    assert blocked["verdict"] == "blocked"

    r = c.get(str(image["content_url"]), headers=a)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"
    stored = r.content
    assert stored.startswith(b"\xff\xd8")
    assert CANARY not in stored
    assert b"CanaryCam" not in stored
    assert len(stored) == image["size"]

    r = c.get(str(text["content_url"]), headers=a)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "Happy birthday, Ana!"
    assert_problem(c.get(str(flagged["content_url"]), headers=a), 409, "content_held")
    assert_problem(c.get(str(blocked["content_url"]), headers=a), 451, "content_refused")

    r = c.get("/v1/orders/ord-1", headers=a)
    assert r.status_code == 200
    detail = r.json()
    states = {i["id"]: i["state"] for i in detail["items"]}
    assert states == {
        image["id"]: "clear",
        text["id"]: "clear",
        flagged["id"]: "flagged",
        blocked["id"]: "blocked",
    }
    reviews = {i["id"]: i["review"] for i in detail["items"]}
    assert reviews[flagged["id"]]["state"] == "open"
    assert reviews[text["id"]] is None
    assert "Happy" not in r.text  # the order view carries no content

    r = c.post("/v1/orders/ord-1/fulfilment", headers=a)
    assert r.status_code == 200, r.text
    assert r.headers["location"] == "/v1/orders/ord-1/receipt"
    assert r.json()["order"]["state"] == "purged"
    assert r.json()["order"]["receipt_url"] == "/v1/orders/ord-1/receipt"

    assert_problem(c.get(str(image["content_url"]), headers=a), 410, "content_gone")
    assert_problem(
        c.post("/v1/orders/ord-1/items", headers=a, json={"kind": "text", "text": "late"}),
        410,
        "content_gone",
    )
    r = c.get("/v1/orders/ord-1", headers=a)
    assert r.json()["state"] == "purged"
    assert r.json()["purged_at"] is not None
    # What screening matched (kind, entry, label) named the customer's text: it went with the content.
    assert [i["findings"] for i in r.json()["items"]] == [[], [], [], []]
    assert {i["verdict"] for i in r.json()["items"]} == {"clear", "flagged", "blocked"}
    assert leftovers(api.services).findings == 0
    assert not list(api.services.blobs.list(""))  # every blob of the (only) order is gone
    assert leftovers(api.services).keys == 0

    r = c.get("/v1/orders/ord-1/receipt", headers=a)
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["signature"]
    pem = c.get("/v1/receipts/public-key")
    assert pem.status_code == 200
    assert pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    from retention.receipts import verify_receipt

    assert verify_receipt(receipt, pem.text)
    assert r.json() == c.get("/v1/orders/ord-1", headers=a).json()["receipt"]

    again = c.post("/v1/orders/ord-1/fulfilment", headers=a)
    assert again.status_code == 200
    assert again.json()["order"]["state"] == "purged"
    assert c.post("/v1/orders/ord-1/cancellation", headers=a).status_code == 200


def test_cancellation_purges_too(api: Api) -> None:
    c, a = api.client, api.keys.a
    c.put("/v1/orders/ord-c", headers=a)
    item = _upload_text(api, "ord-c", "to be cancelled")
    r = c.post("/v1/orders/ord-c/cancellation", headers=a)
    assert r.status_code == 200
    assert_problem(c.get(str(item["content_url"]), headers=a), 410)
    body = c.get("/v1/orders/ord-c", headers=a).json()
    assert body["state"] == "purged"
    assert body["trigger"] == "cancelled"


def _endpoints(order: str, item: str) -> list[tuple[str, str, dict[str, object]]]:
    return [
        ("GET", f"/v1/orders/{order}", {}),
        ("POST", f"/v1/orders/{order}/items", {"json": {"kind": "text", "text": "hello"}}),
        ("POST", f"/v1/orders/{order}/items", {"files": {"file": ("x.png", png_bytes(), "image/png")}}),
        ("GET", f"/v1/orders/{order}/items/{item}/content", {}),
        ("POST", f"/v1/orders/{order}/fulfilment", {}),
        ("POST", f"/v1/orders/{order}/cancellation", {}),
        ("GET", f"/v1/orders/{order}/receipt", {}),
    ]


def test_another_sellers_order_answers_exactly_like_a_missing_one(api: Api) -> None:
    c = api.client
    c.put("/v1/orders/ord-a", headers=api.keys.a)
    item = _upload_text(api, "ord-a", "seller A's text")
    before = leftovers(api.services)
    for method, path, kwargs in _endpoints("ord-a", str(item["id"])):
        # The same request id on both, so the bodies may be compared whole.
        theirs = c.request(method, path, headers={**api.keys.b, "X-Request-Id": "probe"}, **kwargs)
        missing = c.request(
            method, path.replace("ord-a", "ord-zz"), headers={**api.keys.a, "X-Request-Id": "probe"}, **kwargs
        )
        assert_problem(theirs, 404)
        assert theirs.json() == missing.json(), (method, path)
    # B may reuse the same marketplace order id: it is B's own, separate order.
    assert c.put("/v1/orders/ord-a", headers=api.keys.b).status_code == 201
    assert c.get("/v1/orders/ord-a", headers=api.keys.b).json()["items"] == []
    assert_problem(c.get(str(item["content_url"]), headers=api.keys.b), 404)
    # A's order is untouched by all of it.
    assert c.get(str(item["content_url"]), headers=api.keys.a).status_code == 200
    assert leftovers(api.services).items == before.items


def test_an_item_of_another_order_of_the_same_seller_is_not_found(api: Api) -> None:
    c, a = api.client, api.keys.a
    c.put("/v1/orders/o-1", headers=a)
    c.put("/v1/orders/o-2", headers=a)
    item = _upload_text(api, "o-1", "first")
    assert_problem(c.get(f"/v1/orders/o-2/items/{item['id']}/content", headers=a), 404, "item_not_found")


WHO = ("none", "malformed", "unknown", "revoked", "reviewer", "admin", "fulfilment")


def test_role_matrix(api: Api) -> None:
    c = api.client
    c.put("/v1/orders/ord-r", headers=api.keys.a)
    item = _upload_text(api, "ord-r", "role matrix")
    headers_of = {
        "none": {},
        "malformed": {"Authorization": "Bearer not-a-key"},
        "unknown": {"Authorization": "Bearer cv_000000000000_" + "x" * 43},
        "revoked": api.keys.auth(api.keys.revoked),
        "reviewer": api.keys.auth(api.keys.reviewer),
        "admin": api.keys.auth(api.keys.admin),
        "fulfilment": api.keys.a,
    }
    # Fulfilment last: its fulfilment call ends the order, which the other roles must not have done.
    endpoints = [("PUT", "/v1/orders/ord-r", {}), *_endpoints("ord-r", str(item["id"]))]
    for who in WHO:
        headers = headers_of[who]
        for method, path, kwargs in endpoints:
            r = c.request(method, path, headers=headers, **kwargs)
            if who in ("none", "malformed", "unknown", "revoked"):
                assert_problem(r, 401, "unauthenticated")
                assert r.headers["www-authenticate"] == "Bearer"
            elif who in ("reviewer", "admin"):
                assert_problem(r, 403, "forbidden")
            else:
                assert r.status_code not in (401, 403), (method, path, r.text)
        # Unauthenticated, content-free endpoints answer every caller.
        for path in ("/healthz", "/readyz", "/metrics", "/v1/receipts/public-key", "/openapi.json", "/docs"):
            assert c.get(path, headers=headers).status_code == 200, (who, path)
        if who != "fulfilment":
            assert c.get("/v1/orders/ord-r", headers=api.keys.a).json()["state"] == "open", who


def test_content_is_streamed_with_its_sniffed_type_and_every_fetch_is_audited(api: Api) -> None:
    c, a = api.client, api.keys.a
    c.put("/v1/orders/ord-s", headers=a)
    data = jpeg_bytes((400, 300))
    # Declared as octet-stream: the type served back comes from the content, never the client's label.
    r = c.post(
        "/v1/orders/ord-s/items", headers=a, files={"file": ("x.bin", data, "application/octet-stream")}
    )
    assert r.status_code == 201, r.text
    url = r.json()["content_url"]
    for _ in range(2):
        got = c.get(url, headers=a)
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.content == data
    from sqlalchemy import select

    from customization_vault.catalog.db import session_scope
    from customization_vault.catalog.models import AuditEvent

    with session_scope(api.services.catalog.sessions) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "item.read")).scalars().all()
        # The screening worker's decryption is an access too, audited under its own purpose.
        assert [e.actor for e in events if e.purpose == "screening"] == ["screening-worker"]
        reads = [e for e in events if e.purpose != "screening"]
        assert len(reads) == 2
        assert {e.purpose for e in reads} == {"fulfilment"}
        assert all(e.actor.startswith("fulfilment:") for e in reads)


def test_a_legal_hold_makes_fulfilment_answer_202_until_released(api: Api) -> None:
    from datetime import timedelta

    from retention.holds import LegalHolds

    c, a = api.client, api.keys.a
    c.put("/v1/orders/ord-h", headers=a)
    item = _upload_text(api, "ord-h", "held text")
    order = api.services.vault.orders.find(api.services.vault.orders.ensure_seller("seller-a"), "ord-h")
    holds = LegalHolds(api.services.catalog, api.services.audit, api.services.clock)
    hold = holds.place(
        order.id, reason="litigation", expires_at=api.services.clock() + timedelta(days=1), actor="t"
    )

    r = c.post("/v1/orders/ord-h/fulfilment", headers=a)
    assert r.status_code == 202, r.text
    assert r.json()["order"]["state"] == "fulfilled"
    assert_problem(c.get(str(item["content_url"]), headers=a), 410)  # gone for fulfilment at once
    assert_problem(c.get("/v1/orders/ord-h/receipt", headers=a), 404)
    assert leftovers(api.services).blobs == 1  # the hold keeps the bytes

    holds.release(hold.id, actor="t")
    r = c.post("/v1/orders/ord-h/fulfilment", headers=a)
    assert r.status_code == 200
    assert r.json()["order"]["state"] == "purged"
    assert c.get("/v1/orders/ord-h/receipt", headers=a).status_code == 200
    assert leftovers(api.services).blobs == 0


def test_a_blob_store_outage_during_the_purge_answers_202_and_a_retry_finishes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customization_vault.errors import BackendError

    c, a = api.client, api.keys.a
    c.put("/v1/orders/ord-x", headers=a)
    item = _upload_text(api, "ord-x", "outage")

    def down(prefixes: object) -> int:
        raise BackendError("blob store unreachable")

    monkeypatch.setattr(api.services.blobs, "delete_prefixes", down)
    r = c.post("/v1/orders/ord-x/fulfilment", headers=a)
    assert r.status_code == 202
    assert r.json()["order"]["state"] == "fulfilled"
    assert r.json()["order"]["key_destroyed_at"] is not None  # crypto-shredded before the outage
    assert_problem(c.get(str(item["content_url"]), headers=a), 410)

    monkeypatch.undo()
    r = c.post("/v1/orders/ord-x/fulfilment", headers=a)
    assert r.status_code == 200
    assert r.json()["order"]["state"] == "purged"
    assert leftovers(api.services).blobs == 0
