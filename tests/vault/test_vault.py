"""The Vault facade on both backend families: put/open, isolation, idempotency, shredding, rewrap."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import AuditEvent, Item, ReviewCase, WrappedDataKey
from customization_vault.content import NewItem
from customization_vault.errors import (
    ContentGone,
    ContentHeld,
    ContentRefused,
    IntegrityError,
    ItemNotFound,
    KeyDestroyed,
    OrderNotFound,
    StateConflict,
    TooLarge,
)
from customization_vault.rotation import rewrap_all
from customization_vault.vault import Vault
from screening.findings import Finding, FindingKind, Severity, Verdict

CANARY = b"CANARY-7f3a9c-customer-secret-engraving"


def clear(kind: str = "text", content_type: str = "text/plain", **kw: Any) -> NewItem:
    return NewItem(kind=kind, content_type=content_type, verdict=Verdict.of(()), **kw)


def flagged() -> NewItem:
    f = Finding(FindingKind.TRADEMARK, "marks@1", "nike", 0.97, Severity.REVIEW, span=(0, 4), label="Nike")
    return NewItem(kind="text", content_type="text/plain", verdict=Verdict.of([f]))


def blocked() -> NewItem:
    f = Finding(FindingKind.OFFENSIVE, "terms@1", "t1", 1.0, Severity.BLOCK, span=(0, 4), category="slur")
    return NewItem(kind="text", content_type="text/plain", verdict=Verdict.of([f]))


def chunks(data: bytes, size: int = 7000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def read(stream: Any) -> bytes:
    return b"".join(stream)


def test_put_then_open_round_trips_and_is_audited(services: Any) -> None:
    vault: Vault = services.vault
    seller = vault.orders.ensure_seller("seller-a")
    order, created = vault.orders.create(seller, "A-1001", actor="t")
    assert created
    payload = os.urandom(300_000) + CANARY
    item, made = vault.content.put_item(
        order, chunks(payload), clear(kind="image", content_type="image/png"), actor="t"
    )
    assert made
    assert item.size == len(payload)
    assert item.stored_size > item.size
    got, stream = vault.content.fetch_for_fulfilment(order, item.id, actor="fulfilment:k1")
    assert read(stream) == payload
    assert got.content_type == "image/png"
    with session_scope(services.catalog.sessions) as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.seq))]
    assert actions == ["order.create", "item.put", "item.read"]
    assert services.audit.verify().ok


def test_create_order_is_idempotent_per_seller(services: Any) -> None:
    vault: Vault = services.vault
    a, b = vault.orders.ensure_seller("seller-a"), vault.orders.ensure_seller("seller-b")
    assert vault.orders.ensure_seller("seller-a") == a
    o1, c1 = vault.orders.create(a, "X-1", actor="t")
    o2, c2 = vault.orders.create(a, "X-1", actor="t")
    o3, c3 = vault.orders.create(b, "X-1", actor="t")
    assert (c1, c2, c3) == (True, False, True)
    assert o1.id == o2.id != o3.id
    with pytest.raises(OrderNotFound):
        vault.orders.find(b, "X-2")


def test_another_sellers_order_and_items_are_unreachable(services: Any) -> None:
    vault: Vault = services.vault
    a, b = vault.orders.ensure_seller("seller-a"), vault.orders.ensure_seller("seller-b")
    oa, _ = vault.orders.create(a, "O-1", actor="t")
    ob, _ = vault.orders.create(b, "O-2", actor="t")
    item, _ = vault.content.put_item(oa, [b"hello"], clear(), actor="t")
    with pytest.raises(OrderNotFound):
        vault.orders.find(b, "O-1")
    with pytest.raises(ItemNotFound):
        vault.content.get_item(ob, item.id)


def test_release_rules_follow_the_verdict(services: Any) -> None:
    vault: Vault = services.vault
    seller = vault.orders.ensure_seller("s")
    order, _ = vault.orders.create(seller, "O", actor="t")
    held, _ = vault.content.put_item(order, [b"nike shoes"], flagged(), actor="t")
    refused, _ = vault.content.put_item(order, [b"bad words"], blocked(), actor="t")
    assert held.state == "flagged"
    assert held.findings[0].span == (0, 4)
    assert refused.state == "blocked"
    with pytest.raises(ContentHeld):
        vault.content.fetch_for_fulfilment(order, held.id, actor="t")
    with pytest.raises(ContentRefused):
        vault.content.fetch_for_fulfilment(order, refused.id, actor="t")
    with session_scope(services.catalog.sessions) as s:
        cases = s.execute(select(func.count()).select_from(ReviewCase)).scalar_one()
    assert cases == 1  # only the flagged item waits for a reviewer


def test_idempotent_retry_creates_one_item(services: Any) -> None:
    vault: Vault = services.vault
    order, _ = vault.orders.create(vault.orders.ensure_seller("s"), "O", actor="t")
    first, c1 = vault.content.put_item(
        order, [b"abc"], clear(idempotency_key="k-1", request_digest="d1"), actor="t"
    )
    again, c2 = vault.content.put_item(
        order, [b"abc"], clear(idempotency_key="k-1", request_digest="d1"), actor="t"
    )
    assert (c1, c2) == (True, False)
    assert first.id == again.id
    with pytest.raises(StateConflict):
        vault.content.put_item(order, [b"xyz"], clear(idempotency_key="k-1", request_digest="d2"), actor="t")
    assert len(vault.content.list_items(order)) == 1
    assert len(vault.content.blob_keys(order)) == 1


def test_items_per_order_limit_leaves_nothing_behind(services: Any) -> None:
    vault: Vault = services.vault
    vault.content.max_items_per_order = 2
    order, _ = vault.orders.create(vault.orders.ensure_seller("s"), "O", actor="t")
    vault.content.put_item(order, [b"1"], clear(), actor="t")
    vault.content.put_item(order, [b"2"], clear(), actor="t")
    with pytest.raises(TooLarge):
        vault.content.put_item(order, [b"3"], clear(), actor="t")
    assert len(vault.content.blob_keys(order)) == 2


def test_a_failing_stream_leaves_no_item_and_no_blob(services: Any) -> None:
    vault: Vault = services.vault
    order, _ = vault.orders.create(vault.orders.ensure_seller("s"), "O", actor="t")

    class ClientGone(Exception):
        pass

    def broken() -> Any:
        yield b"x" * 5000
        raise ClientGone("client went away")

    with pytest.raises(ClientGone):
        vault.content.put_item(order, broken(), clear(), actor="t")
    assert vault.content.list_items(order) == []
    assert vault.content.blob_keys(order) == []


def test_shred_makes_every_ciphertext_unopenable_while_blobs_remain(services: Any) -> None:
    vault: Vault = services.vault
    order, _ = vault.orders.create(vault.orders.ensure_seller("s"), "O", actor="t")
    item, _ = vault.content.put_item(order, [CANARY], clear(), actor="t")
    with vault.catalog.unit() as u:  # the shred primitive the purge's step 2 uses
        assert u.keys.delete([order.id]) == {order.id}
    with vault.catalog.unit() as u:
        assert u.keys.delete([order.id]) == set()  # idempotent
    assert vault.content.blob_keys(order) == [
        f"{order.seller_id}/{order.id}/{item.id}"
    ]  # bytes still there ...
    with pytest.raises(KeyDestroyed):  # ... and useless
        vault.content.open_item(order, item.id, actor="t", purpose="test")
    with session_scope(services.catalog.sessions) as s:
        assert s.get(WrappedDataKey, order.id) is None


def test_a_blob_moved_to_another_order_fails_authentication(services: Any) -> None:
    vault: Vault = services.vault
    seller = vault.orders.ensure_seller("s")
    o1, _ = vault.orders.create(seller, "O1", actor="t")
    o2, _ = vault.orders.create(seller, "O2", actor="t")
    i1, _ = vault.content.put_item(o1, [b"first order's bytes"], clear(), actor="t")
    i2, _ = vault.content.put_item(o2, [b"second order"], clear(), actor="t")
    stolen = list(vault.blobs.get(f"{seller}/{o1.id}/{i1.id}"))
    vault.blobs.put(f"{seller}/{o2.id}/{i2.id}", stolen)
    _, stream = vault.content.open_item(o2, i2.id, actor="t", purpose="test")
    with pytest.raises(IntegrityError):
        read(stream)


def test_fulfilled_order_content_is_gone(services: Any) -> None:
    vault: Vault = services.vault
    order, _ = vault.orders.create(vault.orders.ensure_seller("s"), "O", actor="t")
    item, _ = vault.content.put_item(order, [b"abc"], clear(), actor="t")
    with session_scope(services.catalog.sessions) as s:
        from customization_vault.catalog.models import Order

        row = s.get(Order, order.id)
        assert row is not None
        row.state = "fulfilled"
    with pytest.raises(ContentGone):
        vault.content.fetch_for_fulfilment(order, item.id, actor="t")
    with pytest.raises(ContentGone):
        vault.content.put_item(order, [b"late"], clear(), actor="t")


def test_rewrap_moves_every_key_without_touching_blobs(services: Any) -> None:
    vault: Vault = services.vault
    seller = vault.orders.ensure_seller("s")
    orders = [vault.orders.create(seller, f"O{i}", actor="t")[0] for i in range(5)]
    items = [
        vault.content.put_item(o, [f"payload {i}".encode()], clear(), actor="t")[0]
        for i, o in enumerate(orders)
    ]
    blobs_before = {k: b"".join(vault.blobs.get(k)) for o in orders for k in vault.content.blob_keys(o)}
    with session_scope(services.catalog.sessions) as s:
        before = {r.order_id: r.kek_id for r in s.execute(select(WrappedDataKey)).scalars()}
    seen: list[int] = []
    report = rewrap_all(services.catalog, services.keys, services.audit, batch=2, progress=seen.append)
    assert report.rewrapped == 5
    assert sum(seen) == 5
    with session_scope(services.catalog.sessions) as s:
        after = {r.order_id: r.kek_id for r in s.execute(select(WrappedDataKey)).scalars()}
    assert set(after) == set(before)
    assert all(after[k] != before[k] for k in before)
    blobs_after = {k: b"".join(vault.blobs.get(k)) for o in orders for k in vault.content.blob_keys(o)}
    assert blobs_after == blobs_before
    for i, (o, it) in enumerate(zip(orders, items, strict=True)):
        _, stream = vault.content.open_item(o, it.id, actor="t", purpose="test")
        assert read(stream) == f"payload {i}".encode()


def test_no_plaintext_reaches_disk(services: Any, backend_settings: Any) -> None:
    vault: Vault = services.vault
    order, _ = vault.orders.create(vault.orders.ensure_seller("s"), "O", actor="t")
    vault.content.put_item(order, chunks(CANARY * 50), clear(), actor="t")
    data_dir: Path = backend_settings.data_dir
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_bytes(), path
    with session_scope(services.catalog.sessions) as s:
        assert s.execute(select(func.count()).select_from(Item)).scalar_one() == 1
