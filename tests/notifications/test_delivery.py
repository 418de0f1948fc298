"""Delivery to a real local HTTP receiver, on SQLite and PostgreSQL: signatures, retries with backoff,
exactly one delivery after success, the dedup id, giving up, and what is never followed or logged."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta

import pytest

from customization_vault.catalog import Catalog
from customization_vault.clock import FrozenClock
from customization_vault.config import WebhooksConfig
from customization_vault.delivery import DeliveryReport, WebhookDeliverer
from customization_vault.notifications import WebhookBook
from tests.notifications.conftest import decide
from tests.notifications.receiver import Receiver


def _message(catalog: Catalog, message_id: str):  # type: ignore[no-untyped-def]
    with catalog.unit() as u:
        m = u.outbox.get(message_id)
    assert m is not None
    return m


def test_retries_after_500s_with_backoff_then_delivers_exactly_once(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    secret = book.set(seller, receiver.url + "/hooks/cv", actor="t")
    decide(catalog, clock, seller, item_id="item-9")
    receiver.script = [500, 503]

    assert deliverer.run_once() == DeliveryReport(claimed=1, failed=1)
    [first] = receiver.posts
    message_id = first.headers["Webhook-Id"]
    m = _message(catalog, message_id)
    assert (m.attempts, m.last_status, m.last_error) == (1, 500, "http 500")
    assert m.next_attempt_at == clock() + timedelta(seconds=10)  # base delay after the first failure

    assert deliverer.run_once() == DeliveryReport()  # not due yet: nothing sent
    clock.advance(timedelta(seconds=10))
    assert deliverer.run_once() == DeliveryReport(claimed=1, failed=1)
    assert _message(catalog, message_id).next_attempt_at == clock() + timedelta(seconds=20)  # doubled
    clock.advance(timedelta(seconds=19))
    assert deliverer.run_once() == DeliveryReport()
    clock.advance(timedelta(seconds=1))
    assert deliverer.run_once() == DeliveryReport(claimed=1, delivered=1)

    m = _message(catalog, message_id)
    assert (m.delivered_at, m.last_status, m.last_error, m.attempts) == (clock(), 200, None, 3)
    clock.advance(timedelta(days=1))
    assert deliverer.run_once() == DeliveryReport()  # delivered once: never again

    posts = receiver.posts
    assert len(posts) == 3
    for post in posts:
        assert post.path == "/hooks/cv"
        assert post.headers["Content-Type"] == "application/json"
        assert post.headers["Webhook-Id"] == message_id  # stable across retries: the dedup key
        assert post.body == first.body  # the same bytes every time
        assert json.loads(post.body)["id"] == message_id
        t = int(post.headers["Signature"].split(",")[0].removeprefix("t="))
        assert post.verifies(secret, now=t)
        assert not post.verifies("whsec_other", now=t)
    assert json.loads(first.body)["item_id"] == "item-9"
    # Each attempt is signed when it is sent (t is the clock at the send, 0 s, 10 s and 30 s in).
    start = int((clock() - timedelta(days=1, seconds=30)).timestamp())
    assert [p.headers["Signature"].split(",")[0] for p in posts] == [f"t={start + s}" for s in (0, 10, 30)]
    assert deliverer.metrics.get("webhook_delivered") == 1
    assert deliverer.metrics.get("webhook_failures") == 2


def test_any_2xx_is_a_delivery(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    book.set(seller, receiver.url, actor="t")
    statuses = [200, 201, 202, 204, 299]
    for n in range(len(statuses)):
        decide(catalog, clock, seller, item_id=f"i-{n}")
    receiver.script = list(statuses)
    assert deliverer.run_once() == DeliveryReport(claimed=5, delivered=5)
    with catalog.unit() as u:
        delivered = [u.outbox.get(p.headers["Webhook-Id"]) for p in receiver.posts]
    assert sorted(m.last_status for m in delivered if m is not None) == statuses


def test_other_statuses_and_redirects_are_failures_and_redirects_are_not_followed(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    book.set(seller, receiver.url + "/hook", actor="t")
    statuses = [301, 302, 303, 307, 308, 400, 404, 410, 429, 500]
    for n in range(len(statuses)):
        decide(catalog, clock, seller, item_id=f"i-{n}")
    receiver.script = list(statuses)
    assert deliverer.run_once() == DeliveryReport(claimed=10, failed=10)
    # Each answered once, and no request ever went where a Location header pointed (/moved).
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", "/hook")] * 10
    with catalog.unit() as u:
        failed = [u.outbox.get(p.headers["Webhook-Id"]) for p in receiver.posts]
        assert u.outbox.counts().pending == 10
    assert sorted((m.last_status, m.last_error) for m in failed if m is not None) == [
        (s, f"http {s}") for s in statuses
    ]


def test_gives_up_after_max_attempts_and_keeps_the_row(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    book.set(seller, receiver.url, actor="t")
    decide(catalog, clock, seller)
    receiver.script = [500] * 10
    reports = []
    for _ in range(8):
        reports.append(deliverer.run_once())
        clock.advance(timedelta(minutes=5))  # past the longest delay (60 s in this config)
    assert [r.failed for r in reports] == [1, 1, 1, 1, 0, 0, 0, 0]
    assert [r.given_up for r in reports] == [0, 0, 0, 0, 1, 0, 0, 0]
    assert len(receiver.posts) == 5  # max_attempts
    with catalog.unit() as u:
        counts = u.outbox.counts()
        [m] = [u.outbox.get(receiver.posts[0].headers["Webhook-Id"])]
    assert (counts.pending, counts.given_up) == (0, 1)
    assert m is not None
    assert m.given_up
    assert (m.attempts, m.last_status, m.last_error) == (5, 500, "http 500")
    assert deliverer.metrics.get("webhook_given_up") == 1


def test_a_timeout_is_a_failure(
    catalog: Catalog, clock: FrozenClock, seller: str, book: WebhookBook, receiver: Receiver
) -> None:
    deliverer = WebhookDeliverer(catalog, config=WebhooksConfig(timeout_seconds=0.3), clock=clock)
    book.set(seller, receiver.url, actor="t")
    decide(catalog, clock, seller)
    receiver.hold = True
    try:
        assert deliverer.run_once() == DeliveryReport(claimed=1, failed=1)
    finally:
        receiver.release.set()
    with catalog.unit() as u:
        [m] = [u.outbox.get(receiver.posts[0].headers["Webhook-Id"])]
    assert m is not None
    assert (m.last_status, m.last_error) == (None, "timeout")


def test_a_refused_connection_is_a_failure(
    catalog: Catalog, clock: FrozenClock, seller: str, book: WebhookBook, deliverer: WebhookDeliverer
) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    book.set(seller, f"http://127.0.0.1:{port}/hook", actor="t")
    decide(catalog, clock, seller)
    assert deliverer.run_once() == DeliveryReport(claimed=1, failed=1)
    with catalog.unit() as u:
        [m] = u.outbox.claim_due(clock() + timedelta(hours=1), limit=10, lease=timedelta(minutes=5))
    assert m.last_status is None
    assert m.last_error == "connection error (ConnectionRefusedError)"


def test_the_secret_and_url_are_read_at_send_time(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    old = book.set(seller, receiver.url + "/old", actor="t")
    decide(catalog, clock, seller)
    receiver.script = [500]
    deliverer.run_once()
    new = book.set(seller, receiver.url + "/new", actor="t")  # re-set between two attempts
    clock.advance(timedelta(seconds=10))
    assert deliverer.run_once() == DeliveryReport(claimed=1, delivered=1)
    before, after = receiver.posts
    assert (before.path, after.path) == ("/old", "/new")
    t = int(clock().timestamp())
    assert after.verifies(new, now=t)
    assert not after.verifies(old, now=t)
    assert before.verifies(old, now=t - 10)


def test_a_removed_webhook_gives_its_queued_messages_up_unsent(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
) -> None:
    book.set(seller, receiver.url, actor="t")
    decide(catalog, clock, seller)
    book.remove(seller, actor="t")
    assert deliverer.run_once() == DeliveryReport(claimed=1, given_up=1)
    assert receiver.requests == []
    with catalog.unit() as u:
        counts = u.outbox.counts()
    assert (counts.pending, counts.given_up) == (0, 1)


def test_a_message_whose_sends_keep_killing_their_process_is_given_up(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
    config: WebhooksConfig,
) -> None:
    """Claims that never report (their deliverer died) still count: after max_attempts of them the next
    deliverer gives the message up instead of sending it into another crash."""
    book.set(seller, receiver.url, actor="t")
    decide(catalog, clock, seller)
    lease = timedelta(seconds=config.claim_lease_seconds)
    for _ in range(config.max_attempts):
        with catalog.unit() as u:
            assert len(u.outbox.claim_due(clock(), limit=10, lease=lease)) == 1
        clock.advance(lease)
    assert deliverer.run_once() == DeliveryReport(claimed=1, given_up=1)
    assert receiver.requests == []


def test_delivered_messages_are_pruned_after_keep_delivered_days(
    catalog: Catalog, clock: FrozenClock, seller: str, book: WebhookBook, receiver: Receiver
) -> None:
    deliverer = WebhookDeliverer(catalog, config=WebhooksConfig(keep_delivered_days=2), clock=clock)
    book.set(seller, receiver.url, actor="t")
    decide(catalog, clock, seller)
    assert deliverer.run_once().delivered == 1
    clock.advance(timedelta(days=2))
    assert deliverer.run_once().pruned == 0
    clock.advance(timedelta(seconds=1))
    assert deliverer.run_once().pruned == 1
    with catalog.unit() as u:
        assert u.outbox.get(receiver.posts[0].headers["Webhook-Id"]) is None


def test_logs_name_ids_and_statuses_never_urls_secrets_or_bodies(
    catalog: Catalog,
    clock: FrozenClock,
    seller: str,
    book: WebhookBook,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = book.set(seller, receiver.url + "/hook?token=tok-secret-123", actor="t")
    decide(catalog, clock, seller, item_id="item-logged")
    receiver.script = [500]
    with caplog.at_level(logging.DEBUG):
        deliverer.run_once()
        clock.advance(timedelta(seconds=10))
        deliverer.run_once()
    message_id = receiver.posts[0].headers["Webhook-Id"]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert f"webhook {message_id} failed (http 500, attempt 1 of 5)" in text
    assert f"webhook {message_id} delivered (http 200, attempt 2)" in text
    for leak in ("tok-secret-123", "/hook", "127.0.0.1", secret, "A-1001", "item-logged"):
        assert leak not in text


def test_the_background_loop_delivers_and_stops(
    catalog: Catalog, clock: FrozenClock, seller: str, book: WebhookBook, receiver: Receiver
) -> None:
    deliverer = WebhookDeliverer(catalog, config=WebhooksConfig(interval_seconds=0.05), clock=clock)
    book.set(seller, receiver.url, actor="t")
    decide(catalog, clock, seller)
    deliverer.start()
    try:
        assert receiver.arrived.wait(30)  # a bound on waiting, not a speed claim
    finally:
        deliverer.stop()
    assert not deliverer.running
    assert len(receiver.posts) == 1
    with catalog.unit() as u:
        assert u.outbox.counts().pending == 0
