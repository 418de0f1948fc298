"""The idempotency digest is keyed by the order's data key: a catalog row's digest can not be recomputed
from the content without the key (the issue recovered short engraving texts from a plain SHA-256), and
once the key is shredded nobody can compute it at all."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from customization_vault._crypto import request_digest
from customization_vault.catalog.models import Item
from customization_vault.errors import KeyDestroyed
from customization_vault.keys.base import KeyContext
from tests.api.conftest import Api, assert_problem

TEXT = "Happy birthday, Ana!"


def _upload(api: Api, order: str, text: str, key: str | None = "line-1") -> dict[str, object]:
    headers = {**api.keys.a, **({"Idempotency-Key": key} if key else {})}
    r = api.client.post(f"/v1/orders/{order}/items", headers=headers, json={"kind": "text", "text": text})
    assert r.status_code in (200, 201), r.text
    body: dict[str, object] = r.json()
    return body


def _digest_row(api: Api, item_id: object) -> str | None:
    with api.services.catalog.unit() as u:
        return u.session.execute(select(Item.request_digest).where(Item.id == item_id)).scalar_one()


def test_a_stored_digest_is_no_hash_anyone_can_recompute(api: Api) -> None:
    for order in ("D-1", "D-2"):
        api.client.put(f"/v1/orders/{order}", headers=api.keys.a)
    first = _upload(api, "D-1", TEXT)
    stored = _digest_row(api, first["id"])
    assert stored is not None
    data = TEXT.encode()
    guesses = {
        hashlib.sha256(b"text\x00" + data).hexdigest(),  # what the catalog held before
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(b"text" + data).hexdigest(),
    }
    assert stored not in guesses
    # It is the MAC under the order's own data key, and only that key makes it.
    order = api.services.vault.orders.find(api.services.vault.orders.seller_id("seller-a") or "", "D-1")
    with api.services.catalog.unit() as u:
        wrapped = u.keys.get(order.id)
    assert wrapped is not None
    dek = api.services.keys.unwrap(wrapped, KeyContext(order.seller_id, order.id))
    assert stored == request_digest(dek, order.seller_id, order.id, "text", data)
    # The same text in another order gets another digest: rows can not be matched across orders.
    other = _upload(api, "D-2", TEXT)
    assert _digest_row(api, other["id"]) not in (None, stored)


def test_retries_still_replay_and_conflict(api: Api) -> None:
    api.client.put("/v1/orders/D-3", headers=api.keys.a)
    first = _upload(api, "D-3", TEXT)
    again = api.client.post(
        "/v1/orders/D-3/items",
        headers={**api.keys.a, "Idempotency-Key": "line-1"},
        json={"kind": "text", "text": TEXT},
    )
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    other = api.client.post(
        "/v1/orders/D-3/items",
        headers={**api.keys.a, "Idempotency-Key": "line-1"},
        json={"kind": "text", "text": "Bob"},
    )
    assert_problem(other, 409, "state_conflict")


def test_without_an_idempotency_key_no_digest_is_stored(embedded_api: Api) -> None:
    api = embedded_api
    api.client.put("/v1/orders/D-4", headers=api.keys.a)
    item = _upload(api, "D-4", TEXT, key=None)
    assert _digest_row(api, item["id"]) is None


def test_after_the_shred_no_digest_can_be_made(embedded_api: Api) -> None:
    api = embedded_api
    api.client.put("/v1/orders/D-5", headers=api.keys.a)
    item = _upload(api, "D-5", TEXT)
    assert api.client.post("/v1/orders/D-5/fulfilment", headers=api.keys.a).status_code == 200
    assert _digest_row(api, item["id"]) is None
    order = api.services.vault.orders.find(api.services.vault.orders.seller_id("seller-a") or "", "D-5")
    with pytest.raises(KeyDestroyed):
        api.services.vault.content.request_digest(order, "text", TEXT.encode())
    late = api.client.post(
        "/v1/orders/D-5/items",
        headers={**api.keys.a, "Idempotency-Key": "line-1"},
        json={"kind": "text", "text": TEXT},
    )
    assert_problem(late, 410, "content_gone")
