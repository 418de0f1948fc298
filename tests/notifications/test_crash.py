"""Kill -9 during delivery loses nothing: a deliverer SIGKILLed while its request is in flight, or after
the receiver answered but before the delivery was recorded, leaves the message to the next deliverer,
which sends it again under the same id (at least once), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from api.wiring import build_services
from customization_vault.clock import FrozenClock
from customization_vault.delivery import DeliveryReport, WebhookDeliverer
from tests.notifications.helpers import decide
from tests.notifications.receiver import Receiver
from tests.processes import kill_when

CHILD = "tests.notifications.crash_child"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "CV_ENVIRONMENT": "test",
        "CV_BOOTSTRAP_DEMO": "false",
        "CV_DATA_DIR": str(tmp_path / "var"),
    }
    if request.param == "postgres":
        values["CV_DATABASE__URL"] = request.getfixturevalue("pg_url")
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


@pytest.fixture
def svc(env: dict[str, str]) -> Iterator[Any]:
    services = build_services(Settings())
    yield services
    services.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sending", "answered"])
def test_a_killed_delivery_is_sent_again_under_the_same_id(
    env: dict[str, str], svc: Any, receiver: Receiver, tmp_path: Path, mode: str
) -> None:
    seller = svc.vault.orders.ensure_seller("shop-crash")
    secret = svc.webhooks.set(seller, receiver.url + "/hook", actor="t")
    decide(svc.catalog, svc.clock(), seller, order="A-77", item_id="item-77", reason="offensive")
    marker = tmp_path / "marker"
    if mode == "sending":
        receiver.hold = True  # the request arrives and waits for an answer that never comes
        kill_when(CHILD, [mode, str(marker)], env, receiver.arrived.is_set)
    else:
        kill_when(CHILD, [mode, str(marker)], env, marker.exists)
        assert marker.read_text() == "answered 200"
    receiver.hold = False
    receiver.release.set()

    [first] = receiver.posts
    message_id = first.headers["Webhook-Id"]
    with svc.catalog.unit() as u:
        left = u.outbox.get(message_id)
        assert u.outbox.counts().pending == 1
    assert left is not None
    assert left.delivered_at is None  # the kill came before the delivery was recorded
    assert left.attempts == 1

    # Another deliverer, once the dead one's lease is over (a frozen clock stands in for the wait).
    lease_end = left.next_attempt_at
    assert lease_end is not None
    assert lease_end > svc.clock() + timedelta(seconds=svc.settings.webhooks.claim_lease_seconds - 60)
    clock = FrozenClock(lease_end - timedelta(seconds=1))
    restarted = WebhookDeliverer(svc.catalog, config=svc.settings.webhooks, clock=clock)
    assert restarted.run_once() == DeliveryReport()  # still leased to the dead deliverer
    clock.advance(timedelta(seconds=1))
    assert restarted.run_once() == DeliveryReport(claimed=1, delivered=1)

    first, second = receiver.posts
    assert second.headers["Webhook-Id"] == message_id  # the receiver's dedup key survived the crash
    assert second.body == first.body
    assert json.loads(second.body)["id"] == message_id
    assert second.verifies(secret, now=clock().timestamp())
    with svc.catalog.unit() as u:
        done = u.outbox.get(message_id)
        assert u.outbox.counts().pending == 0
    assert done is not None
    assert (done.attempts, done.last_status) == (2, 200)
