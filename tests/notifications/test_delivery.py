"""Delivery to a real local HTTP receiver, on SQLite and PostgreSQL: signatures, retries with backoff,
exactly one delivery after success, the dedup id, giving up, and what is never followed or logged."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import OutboxMessage
from customization_vault.clock import FrozenClock
from customization_vault.config import WebhooksConfig
from customization_vault.delivery import DeliveryReport, WebhookDeliverer
from tests.notifications.helpers import Shop
from tests.notifications.receiver import Receiver
from tests.processes import free_port


def deliverer_with(shop: Shop, **config: float) -> WebhookDeliverer:
    return WebhookDeliverer(shop.catalog, config=WebhooksConfig(**config), clock=shop.clock)


def test_retries_after_500s_with_backoff_then_delivers_exactly_once(
    shop: Shop, clock: FrozenClock, receiver: Receiver, deliverer: WebhookDeliverer
) -> None:
    secret = shop.set_webhook(receiver.url + "/hooks/cv")
    shop.decide(item_id="item-9")
    receiver.script = [500, 503]

    assert deliverer.run_once() == DeliveryReport(claimed=1, failed=1)
    [first] = receiver.posts
    message_id = first.headers["Webhook-Id"]
    m = shop.message(message_id)
    assert (m.attempts, m.last_status, m.last_error) == (1, 500, "http 500")
    assert m.next_attempt_at == clock() + timedelta(seconds=10)  # base delay after the first failure

    assert deliverer.run_once() == DeliveryReport()  # not due yet: nothing sent
    clock.advance(timedelta(seconds=10))
    assert deliverer.run_once() == DeliveryReport(claimed=1, failed=1)
    assert shop.message(message_id).next_attempt_at == clock() + timedelta(seconds=20)  # doubled
    clock.advance(timedelta(seconds=19))
    assert deliverer.run_once() == DeliveryReport()
    clock.advance(timedelta(seconds=1))
    assert deliverer.run_once() == DeliveryReport(claimed=1, delivered=1)

    m = shop.message(message_id)
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


def test_any_2xx_is_a_delivery(shop: Shop, receiver: Receiver, deliverer: WebhookDeliverer) -> None:
    shop.set_webhook(receiver.url)
    statuses = [200, 201, 202, 204, 299]
    for n in range(len(statuses)):
        shop.decide(item_id=f"i-{n}")
    receiver.script = list(statuses)
    assert deliverer.run_once() == DeliveryReport(claimed=5, delivered=5)
    delivered = [shop.message(p.headers["Webhook-Id"]) for p in receiver.posts]
    assert sorted(m.last_status or 0 for m in delivered) == statuses


def test_other_statuses_and_redirects_are_failures_and_redirects_are_not_followed(
    shop: Shop, receiver: Receiver, deliverer: WebhookDeliverer
) -> None:
    shop.set_webhook(receiver.url + "/hook")
    statuses = [301, 302, 303, 307, 308, 400, 404, 410, 429, 500]
    for n in range(len(statuses)):
        shop.decide(item_id=f"i-{n}")
    receiver.script = list(statuses)
    assert deliverer.run_once() == DeliveryReport(claimed=10, failed=10)
    # Each answered once, and no request ever went where a Location header pointed (/moved).
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", "/hook")] * 10
    failed = [shop.message(p.headers["Webhook-Id"]) for p in receiver.posts]
    assert sorted((m.last_status or 0, m.last_error) for m in failed) == [(s, f"http {s}") for s in statuses]
    assert shop.counts().pending == 10


def test_gives_up_after_max_attempts_and_keeps_the_row(
    shop: Shop, clock: FrozenClock, receiver: Receiver, deliverer: WebhookDeliverer
) -> None:
    shop.set_webhook(receiver.url)
    shop.decide()
    receiver.script = [500] * 10
    reports = []
    for _ in range(8):
        reports.append(deliverer.run_once())
        clock.advance(timedelta(minutes=5))  # past the longest delay (60 s in this config)
    assert [r.failed for r in reports] == [1, 1, 1, 1, 0, 0, 0, 0]
    assert [r.given_up for r in reports] == [0, 0, 0, 0, 1, 0, 0, 0]
    assert len(receiver.posts) == 5  # max_attempts
    m = shop.message(receiver.posts[0].headers["Webhook-Id"])
    assert m.given_up
    assert (m.attempts, m.last_status, m.last_error) == (5, 500, "http 500")
    assert (shop.counts().pending, shop.counts().given_up) == (0, 1)
    assert deliverer.metrics.get("webhook_given_up") == 1


def test_a_timeout_is_a_failure(shop: Shop, receiver: Receiver) -> None:
    shop.set_webhook(receiver.url)
    shop.decide()
    receiver.hold = True
    try:
        assert deliverer_with(shop, timeout_seconds=0.3).run_once() == DeliveryReport(claimed=1, failed=1)
    finally:
        receiver.release.set()
    m = shop.message(receiver.posts[0].headers["Webhook-Id"])
    assert (m.last_status, m.last_error) == (None, "timeout")


def test_a_refused_connection_is_a_failure(
    shop: Shop, clock: FrozenClock, deliverer: WebhookDeliverer
) -> None:
    shop.set_webhook(f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    shop.decide()
    assert deliverer.run_once() == DeliveryReport(claimed=1, failed=1)
    with shop.catalog.unit() as u:
        [m] = u.outbox.claim_due(clock() + timedelta(hours=1), limit=10, lease=timedelta(minutes=5))
    assert m.last_status is None
    assert m.last_error == "connection error (ConnectionRefusedError)"


def test_the_secret_and_url_are_read_at_send_time(
    shop: Shop, clock: FrozenClock, receiver: Receiver, deliverer: WebhookDeliverer
) -> None:
    old = shop.set_webhook(receiver.url + "/old")
    shop.decide()
    receiver.script = [500]
    deliverer.run_once()
    new = shop.set_webhook(receiver.url + "/new")  # re-set between two attempts
    clock.advance(timedelta(seconds=10))
    assert deliverer.run_once() == DeliveryReport(claimed=1, delivered=1)
    before, after = receiver.posts
    assert (before.path, after.path) == ("/old", "/new")
    t = int(clock().timestamp())
    assert after.verifies(new, now=t)
    assert not after.verifies(old, now=t)
    assert before.verifies(old, now=t - 10)


def test_a_removed_webhook_gives_its_queued_messages_up_unsent(
    shop: Shop, receiver: Receiver, deliverer: WebhookDeliverer
) -> None:
    shop.set_webhook(receiver.url)
    shop.decide()
    shop.book.remove(shop.id, actor="t")
    assert deliverer.run_once() == DeliveryReport(claimed=1, given_up=1)
    assert receiver.requests == []
    assert (shop.counts().pending, shop.counts().given_up) == (0, 1)


def test_a_message_whose_sends_keep_killing_their_process_is_given_up(
    shop: Shop, clock: FrozenClock, receiver: Receiver, deliverer: WebhookDeliverer, config: WebhooksConfig
) -> None:
    """Claims that never report (their deliverer died) still count: after max_attempts of them the next
    deliverer gives the message up instead of sending it into another crash."""
    shop.set_webhook(receiver.url)
    shop.decide()
    lease = timedelta(seconds=config.claim_lease_seconds)
    for _ in range(config.max_attempts):
        with shop.catalog.unit() as u:
            assert len(u.outbox.claim_due(clock(), limit=10, lease=lease)) == 1
        clock.advance(lease)
    assert deliverer.run_once() == DeliveryReport(claimed=1, given_up=1)
    assert receiver.requests == []


def test_delivered_messages_are_pruned_after_keep_delivered_days(
    shop: Shop, clock: FrozenClock, receiver: Receiver
) -> None:
    deliverer = deliverer_with(shop, keep_delivered_days=2)
    shop.set_webhook(receiver.url)
    shop.decide()
    assert deliverer.run_once().delivered == 1
    clock.advance(timedelta(days=2))
    assert deliverer.run_once().pruned == 0
    clock.advance(timedelta(seconds=1))
    assert deliverer.run_once().pruned == 1
    with shop.catalog.unit() as u:
        assert u.outbox.get(receiver.posts[0].headers["Webhook-Id"]) is None


def test_logs_name_ids_and_statuses_never_urls_secrets_or_bodies(
    shop: Shop,
    clock: FrozenClock,
    receiver: Receiver,
    deliverer: WebhookDeliverer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = shop.set_webhook(receiver.url + "/hook?token=tok-secret-123")
    shop.decide(item_id="item-logged")
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


def test_the_background_loop_delivers_and_stops(shop: Shop, receiver: Receiver) -> None:
    deliverer = deliverer_with(shop, interval_seconds=0.05)
    shop.set_webhook(receiver.url)
    shop.decide()
    deliverer.start()
    try:
        assert receiver.arrived.wait(30)  # a bound on waiting, not a speed claim
    finally:
        deliverer.stop()
    assert not deliverer.running
    assert len(receiver.posts) == 1
    assert shop.counts().pending == 0


def test_a_url_that_is_not_http_is_never_opened(
    shop: Shop, deliverer: WebhookDeliverer, tmp_path: Path
) -> None:
    """A URL edited in the database behind the CLI's back: urllib would read a file: URL."""
    shop.set_webhook("https://hooks.example.com/cv")
    shop.decide()
    with shop.catalog.unit() as u:
        hook = u.webhooks.get(shop.id)
        assert hook is not None
        u.webhooks.set(shop.id, url=(tmp_path / "x").as_uri(), secret=hook.secret, now=shop.clock())
    assert deliverer.run_once() == DeliveryReport(claimed=1, given_up=1)
    with session_scope(shop.catalog.sessions) as s:
        [error] = s.execute(select(OutboxMessage.last_error)).scalars()
    assert error == "invalid webhook url"
    assert shop.counts().given_up == 1


def test_a_batch_must_fit_its_lease() -> None:
    with pytest.raises(ValueError, match="claim_lease_seconds"):
        WebhooksConfig(batch_size=100, timeout_seconds=10, claim_lease_seconds=300)
    assert WebhooksConfig(batch_size=15, timeout_seconds=10, claim_lease_seconds=300).batch_size == 15


def test_the_python_client_verifies_and_reads_a_real_delivery(
    shop: Shop, clock: FrozenClock, receiver: Receiver, deliverer: WebhookDeliverer
) -> None:
    """The contract with receivers, checked by the client library sellers use (clients/python)."""
    from customization_vault_client import SIGNATURE_HEADER, WebhookVerificationError, verify_webhook

    secret = shop.set_webhook(receiver.url)
    shop.decide(order="A-5", item_id="item-5", decision="approve", reason=None, appeal=True)
    assert deliverer.run_once().delivered == 1
    [post] = receiver.posts
    event = verify_webhook(post.body, post.headers[SIGNATURE_HEADER], secret, now=clock().timestamp())
    assert (event.id, event.type, event.order_id, event.item_id) == (
        post.headers["Webhook-Id"],
        "item.appeal_decided",
        "A-5",
        "item-5",
    )
    assert (event.decision, event.reason, event.created_at) == ("approve", None, clock())
    with pytest.raises(WebhookVerificationError):
        verify_webhook(post.body, post.headers[SIGNATURE_HEADER], "whsec_other", now=clock().timestamp())
