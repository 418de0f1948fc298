"""Seller notifications through the real review workflow over HTTP, on both backend families: a
decision and an appeal's outcome each reach the seller's receiver, signed, and the canary — what the
customer wrote, quoted by reviewer notes and the seller's appeal — reaches no body, outbox row, log
line or metric."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from customization_vault.apikeys import Role
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import OutboxMessage
from tests.api.conftest import FLAG_WORD, Api
from tests.notifications.receiver import running_receiver

CANARY = "CANARY-webhook-5e1f-for-my-dear-grandma"


def test_decisions_and_appeals_notify_the_seller_without_customer_text(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    svc, c = api.services, api.client
    assert svc.webhooks is not None
    assert svc.deliverer is not None
    seller_id = svc.vault.orders.seller_id("seller-a")
    assert seller_id is not None
    r1 = api.keys.auth(api.keys.reviewer)
    r2 = api.keys.auth(svc.api_keys.create(Role.REVIEWER)[0])
    with caplog.at_level(logging.DEBUG), running_receiver() as receiver:
        secret = svc.webhooks.set(seller_id, receiver.url + "/hook", actor="t")
        assert c.put("/v1/orders/A-1", headers=api.keys.a).status_code == 201
        r = c.post(
            "/v1/orders/A-1/items",
            headers=api.keys.a,
            json={"kind": "text", "text": f"{FLAG_WORD.decode()} {CANARY}"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["verdict"] == "flagged"
        item_id = r.json()["id"]

        case = c.post("/v1/review/claims", headers=r1, json={}).json()["case"]
        decided = c.post(
            f"/v1/review/cases/{case['id']}/decision",
            headers=r1,
            json={"decision": "reject", "reason": "trademark", "note": f"it says {CANARY}"},
        )
        assert decided.status_code == 200, decided.text
        appeal = c.post(
            f"/v1/orders/A-1/items/{item_id}/appeal",
            headers=api.keys.a,
            json={"statement": f"{CANARY} is our customer's own name"},
        )
        assert appeal.status_code == 201, appeal.text
        assert c.post("/v1/review/claims", headers=r2, json={}).status_code == 200
        approved = c.post(
            f"/v1/review/cases/{case['id']}/decision",
            headers=r2,
            json={"decision": "approve", "note": f"{CANARY} is a name"},
        )
        assert approved.status_code == 200, approved.text

        receiver.script = [500]  # one failure, so the failure path logs too
        assert svc.deliverer.run_once().failed >= 1
        svc.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        assert svc.deliverer.run_once().delivered >= 1
        svc.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        svc.deliverer.run_once()
        metrics = c.get("/metrics").text

    posts = receiver.posts
    delivered = {p.headers["Webhook-Id"]: json.loads(p.body) for p in posts}
    assert len(delivered) == 3  # screening's verdict and each decision, each under its own id
    by_type = {b["type"]: b for b in delivered.values()}
    common = {"order_id": "A-1", "item_id": item_id}
    assert {k: by_type["item.screened"][k] for k in ("order_id", "item_id", "decision", "reason")} == {
        **common,
        "decision": "flagged",
        "reason": None,
    }
    assert by_type["item.decided"] == {
        "id": by_type["item.decided"]["id"],
        "type": "item.decided",
        **common,
        "decision": "reject",
        "reason": "trademark",
        "created_at": by_type["item.decided"]["created_at"],
    }
    assert {k: by_type["item.appeal_decided"][k] for k in ("order_id", "item_id", "decision", "reason")} == {
        **common,
        "decision": "approve",
        "reason": None,
    }
    for p in posts:
        assert p.verifies(secret, now=svc.clock().timestamp())
        assert json.loads(p.body)["id"] == p.headers["Webhook-Id"]
    with session_scope(svc.catalog.sessions) as s:
        stored = [m.body for m in s.query(OutboxMessage).all()]
        assert all(m.delivered_at is not None for m in s.query(OutboxMessage).all())
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for where, text in (
        ("bodies", b"".join(p.body for p in posts).decode()),
        ("headers", json.dumps([p.headers for p in posts])),
        ("outbox", "\n".join(stored)),
        ("logs", logs),
        ("metrics", metrics),
    ):
        assert CANARY not in text, where
        assert "grandma" not in text, where
    assert "cv_webhook_delivered_total 3" in metrics
    assert "cv_webhook_failures_total 1" in metrics
    assert "cv_webhook_pending 0" in metrics
