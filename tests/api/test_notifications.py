"""Canary: what a customer wrote never reaches a webhook body, the outbox, the logs or /metrics, even
when a reviewer's note quotes it. Through the real API on both backend families."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import OutboxMessage
from customization_vault.lifecycle import ReviewState
from tests.api.conftest import FLAG_WORD, Api
from tests.notifications.receiver import running_receiver

CANARY = "CANARY-webhook-5e1f-for-my-dear-grandma"


def test_no_customer_text_in_webhook_bodies_logs_or_metrics(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    svc = api.services
    assert svc.webhooks is not None
    assert svc.deliverer is not None
    seller_id = svc.vault.orders.seller_id("seller-a")
    assert seller_id is not None
    with caplog.at_level(logging.DEBUG), running_receiver() as receiver:
        secret = svc.webhooks.set(seller_id, receiver.url + "/hook", actor="t")
        assert api.client.put("/v1/orders/A-1", headers=api.keys.a).status_code == 201
        r = api.client.post(
            "/v1/orders/A-1/items",
            headers=api.keys.a,
            json={"kind": "text", "text": f"{FLAG_WORD.decode()} {CANARY}"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "flagged"
        item_id = r.json()["id"]

        # The review desk's decision, through the repositories: the note quotes the customer.
        now = svc.clock()
        with svc.catalog.unit() as u:
            order = u.orders.find(seller_id, "A-1")
            assert order is not None
            case = u.reviews.latest_for_items([item_id])[item_id]
            u.reviews.write(
                case.id,
                state=ReviewState.DECIDED,
                decision="reject",
                reason_code="trademark",
                note=f"it says {CANARY}",
                decided_by="reviewer-1",
                decided_at=now,
            )
            svc.notifier.item_decided(
                u,
                seller_id=order.seller_id,
                order_external_id=order.external_id,
                item_id=item_id,
                decision="reject",
                reason="trademark",
                appeal=False,
                now=now,
            )
        receiver.script = [500]  # one failure, so the failure path logs too
        assert svc.deliverer.run_once().failed == 1
        svc.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        assert svc.deliverer.run_once().delivered == 1
        metrics = api.client.get("/metrics").text

    first, post = receiver.posts
    body = json.loads(post.body)
    assert body == {
        "id": post.headers["Webhook-Id"],
        "type": "item.decided",
        "order_id": "A-1",
        "item_id": item_id,
        "decision": "reject",
        "reason": "trademark",
        "created_at": body["created_at"],
    }
    assert post.verifies(secret, now=svc.clock().timestamp())
    with session_scope(svc.catalog.sessions) as s:
        stored = [m.body for m in s.query(OutboxMessage).all()]
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for where, text in (
        ("bodies", (first.body + post.body).decode()),
        ("headers", json.dumps([first.headers, post.headers])),
        ("outbox", "\n".join(stored)),
        ("logs", logs),
        ("metrics", metrics),
    ):
        assert CANARY not in text, where
        assert "grandma" not in text, where
    assert "cv_webhook_delivered_total 1" in metrics
    assert "cv_webhook_failures_total 1" in metrics
    assert "cv_webhook_pending 0" in metrics
