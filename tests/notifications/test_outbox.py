"""The outbox and webhook repositories, the notifier and the webhook book, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog
from customization_vault.clock import FrozenClock
from customization_vault.errors import InvalidInput
from customization_vault.notifications import WebhookBook
from tests.notifications.helpers import Shop, decide, migrated_catalog, notify_decision

LEASE = timedelta(minutes=5)
URL = "https://hooks.example.com/cv"


def test_no_webhook_means_nothing_is_queued(shop: Shop, clock: FrozenClock) -> None:
    shop.decide()
    assert shop.counts().pending == 0
    with shop.catalog.unit() as u:
        assert u.outbox.claim_due(clock(), limit=10, lease=LEASE) == []


def test_a_decision_queues_the_fixed_body_under_its_own_id(shop: Shop, clock: FrozenClock) -> None:
    shop.set_webhook(URL)
    shop.decide(item_id="item-7", decision="reject", reason="trademark")
    shop.decide(item_id="item-7", decision="approve", reason=None, appeal=True)
    assert shop.counts().pending == 2
    with shop.catalog.unit() as u:
        claimed = u.outbox.claim_due(clock(), limit=10, lease=LEASE)
    bodies = sorted((json.loads(m.body) for m in claimed), key=lambda b: b["type"])
    assert [b["type"] for b in bodies] == ["item.appeal_decided", "item.decided"]
    for m in claimed:
        body = json.loads(m.body)
        assert list(body) == ["id", "type", "order_id", "item_id", "decision", "reason", "created_at"]
        assert body["id"] == m.id  # what the receiver deduplicates on is the row's id
        assert (m.type, m.seller_id) == (body["type"], shop.id)
        assert (body["order_id"], body["item_id"]) == ("A-1001", "item-7")
        assert body["created_at"] == "2026-11-27T12:00:00.000Z"
    assert bodies[0]["decision"] == "approve"
    assert bodies[0]["reason"] is None
    assert (bodies[1]["decision"], bodies[1]["reason"]) == ("reject", "trademark")


def test_the_notification_commits_or_rolls_back_with_the_decision(shop: Shop, clock: FrozenClock) -> None:
    shop.set_webhook(URL)

    def a_decision_that_fails_after_queueing() -> None:
        with shop.catalog.unit() as u:
            notify_decision(u, shop.id, clock())
            assert u.outbox.counts().pending == 1  # queued in this unit...
            raise RuntimeError("the decision failed after queueing")

    with pytest.raises(RuntimeError):
        a_decision_that_fails_after_queueing()
    assert shop.counts().pending == 0  # ...and gone with it


def test_webhooks_are_set_replaced_shown_and_removed_with_audit(shop: Shop, clock: FrozenClock) -> None:
    first = shop.set_webhook("https://hooks.example.com/a?token=tok-123")
    clock.advance(timedelta(hours=1))
    second = shop.set_webhook("https://hooks.example.com/b")
    assert first != second
    with shop.catalog.unit() as u:
        hook = u.webhooks.get(shop.id)
    assert hook is not None
    assert (hook.url, hook.secret, hook.set_at) == ("https://hooks.example.com/b", second, clock())
    assert second not in repr(hook)
    info = shop.book.get(shop.id)
    assert info is not None
    assert (info.url, info.pending, info.given_up) == ("https://hooks.example.com/b", 0, 0)
    assert "secret" not in repr(info)

    assert shop.book.remove(shop.id, actor="cli:ops") is True
    assert shop.book.remove(shop.id, actor="cli:ops") is False
    assert shop.book.get(shop.id) is None

    with shop.catalog.unit() as u:
        events = u.audit.for_target(shop.id)
    assert [e.action for e in events] == [
        "seller.webhook_set",
        "seller.webhook_set",
        "seller.webhook_removed",
    ]
    assert events[0].details == {"url": "https://hooks.example.com/a"}  # the query's token stays out
    dump = json.dumps([e.details for e in events])
    assert first not in dump
    assert second not in dump
    assert "tok-123" not in dump


def test_an_invalid_url_is_refused_before_anything_is_stored(shop: Shop) -> None:
    with pytest.raises(InvalidInput, match="http"):
        shop.set_webhook("gopher://example.com")
    assert shop.book.get(shop.id) is None


def test_a_claim_leases_its_messages_and_counts_the_attempt(shop: Shop, clock: FrozenClock) -> None:
    shop.set_webhook(URL)
    for n in range(3):
        shop.decide(item_id=f"i-{n}")
    with shop.catalog.unit() as u:
        first = u.outbox.claim_due(clock(), limit=2, lease=LEASE)
    with shop.catalog.unit() as u:
        second = u.outbox.claim_due(clock(), limit=10, lease=LEASE)
        again = u.outbox.claim_due(clock(), limit=10, lease=LEASE)
    assert len(first) == 2
    assert len(second) == 1
    assert again == []
    assert {m.id for m in first}.isdisjoint({m.id for m in second})
    assert all(m.attempts == 1 and m.next_attempt_at == clock() + LEASE for m in first + second)

    # A deliverer that died with its claim: the messages come back when the lease ends, counted again.
    clock.advance(LEASE - timedelta(seconds=1))
    with shop.catalog.unit() as u:
        assert u.outbox.claim_due(clock(), limit=10, lease=LEASE) == []
    clock.advance(timedelta(seconds=1))
    with shop.catalog.unit() as u:
        back = u.outbox.claim_due(clock(), limit=10, lease=LEASE)
    assert sorted(m.id for m in back) == sorted(m.id for m in first + second)
    assert {m.attempts for m in back} == {2}


def test_outcomes_are_recorded_once_and_never_undo_a_delivery(shop: Shop, clock: FrozenClock) -> None:
    shop.set_webhook(URL)
    shop.decide(item_id="a")
    shop.decide(item_id="b")
    with shop.catalog.unit() as u:
        a, b = u.outbox.claim_due(clock(), limit=10, lease=LEASE)
        assert u.outbox.delivered(a.id, now=clock(), status=204)
        # A claim whose lease lapsed reports late: it must not turn the delivery back into a retry.
        assert not u.outbox.failed(a.id, status=500, error="http 500", retry_at=clock())
        assert not u.outbox.delivered(a.id, now=clock(), status=200)
        assert u.outbox.failed(b.id, status=None, error="timeout", retry_at=None)
        assert not u.outbox.delivered("no-such-id", now=clock(), status=200)
    got_a, got_b = shop.message(a.id), shop.message(b.id)
    assert (got_a.delivered_at, got_a.last_status, got_a.next_attempt_at) == (clock(), 204, None)
    assert got_b.given_up
    assert (got_b.last_error, got_b.last_status) == ("timeout", None)
    assert (shop.counts().pending, shop.counts().given_up) == (0, 1)


def test_delivered_messages_are_pruned_after_the_keep_period(shop: Shop, clock: FrozenClock) -> None:
    shop.set_webhook(URL)
    for n in range(3):
        shop.decide(item_id=f"i-{n}")
    with shop.catalog.unit() as u:
        old, recent, undelivered = u.outbox.claim_due(clock(), limit=10, lease=LEASE)
        u.outbox.delivered(old.id, now=clock(), status=200)
        u.outbox.delivered(recent.id, now=clock() + timedelta(days=2), status=200)
    with shop.catalog.unit() as u:
        assert u.outbox.prune_delivered(clock() + timedelta(days=1), limit=10) == 1
        assert u.outbox.get(old.id) is None
        assert u.outbox.get(recent.id) is not None
        assert u.outbox.get(undelivered.id) is not None  # never delivered: never pruned


@pytest.fixture
def pg_catalog(pg_url: str) -> Iterator[Catalog]:
    with migrated_catalog(pg_url) as catalog:
        yield catalog


@pytest.mark.postgres
def test_concurrent_claims_on_postgresql_take_disjoint_batches(
    pg_catalog: Catalog, clock: FrozenClock
) -> None:
    """SKIP LOCKED: a second deliverer claiming while the first one's claim is still uncommitted skips
    the locked rows instead of waiting for them or taking them too."""
    with pg_catalog.unit() as u:
        seller = u.sellers.add("shop-pg", clock())
    WebhookBook(pg_catalog, AuditLog(pg_catalog, clock), clock=clock).set(seller, URL, actor="t")
    for n in range(4):
        decide(pg_catalog, clock(), seller, item_id=f"i-{n}")
    with pg_catalog.unit() as first:
        a = first.outbox.claim_due(clock(), limit=2, lease=LEASE)
        with pg_catalog.unit() as second:
            b = second.outbox.claim_due(clock(), limit=10, lease=LEASE)
    assert len(a) == 2
    assert len(b) == 2
    assert {m.id for m in a}.isdisjoint({m.id for m in b})
