"""The SQS consumer (moto): events mark and purge; a message is deleted only after the mark committed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from customization_vault.clock import FrozenClock
from retention.config import RetentionConfig
from retention.events import SqsConsumer, parse_event
from retention.purge import Purger
from retention.receipts import ReceiptSigner
from retention.worker import PurgeWorker
from tests.conftest import make_settings
from tests.retention.helpers import seed_order


@pytest.fixture
def embedded(tmp_path: Path, clock: FrozenClock) -> Iterator[Any]:
    from api.wiring import build_services

    svc = build_services(make_settings(tmp_path / "var"), clock=clock)
    yield svc
    svc.close()


@pytest.fixture
def sqs(aws_env: dict[str, str]) -> Iterator[tuple[Any, str, str]]:
    """A queue whose redrive policy moves a message to its DLQ after two receives."""
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        dlq = client.create_queue(QueueName="order-events-dlq")["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue = client.create_queue(
            QueueName="order-events",
            Attributes={
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
            },
        )["QueueUrl"]
        yield client, queue, dlq


def _send(client: Any, queue: str, body: Any) -> None:
    client.send_message(QueueUrl=queue, MessageBody=body if isinstance(body, str) else json.dumps(body))


def _depth(client: Any, queue: str) -> int:
    attrs = client.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _purger(svc: Any, clock: FrozenClock) -> Purger:
    return Purger(svc.vault, ReceiptSigner.generate(), clock=clock, config=RetentionConfig())


def test_fulfilled_and_cancelled_events_purge_their_orders(
    embedded: Any, sqs: tuple[Any, str, str], clock: FrozenClock
) -> None:
    client, queue, _ = sqs
    purger = _purger(embedded, clock)
    a, _ = seed_order(embedded.vault, "M-1", seller="shop-9")
    b, _ = seed_order(embedded.vault, "M-2", seller="shop-9")
    _send(client, queue, {"type": "OrderFulfilled", "order_id": "M-1", "seller_id": "shop-9"})
    _send(client, queue, {"type": "OrderCancelled", "order_id": "M-2", "seller_id": "shop-9", "extra": 1})
    report = SqsConsumer(client, queue, purger, embedded.vault).poll_once(wait_seconds=0)
    assert (report.received, report.marked) == (2, 2)
    assert embedded.vault.orders.get(a.id).state == "purged"
    assert embedded.vault.orders.get(b.id).state == "purged"
    doc = purger.receipt(b.id)
    assert doc is not None
    assert doc["body"]["trigger"]["kind"] == "cancelled"
    assert _depth(client, queue) == 0


def test_malformed_messages_stay_for_the_dead_letter_queue(
    embedded: Any, sqs: tuple[Any, str, str], clock: FrozenClock
) -> None:
    client, queue, dlq = sqs
    consumer = SqsConsumer(client, queue, _purger(embedded, clock), embedded.vault)
    _send(client, queue, "{not json")
    _send(client, queue, {"type": "OrderShipped", "order_id": "x", "seller_id": "y"})
    _send(client, queue, {"type": "OrderFulfilled", "order_id": 7, "seller_id": "y"})
    assert consumer.poll_once(wait_seconds=0).malformed == 3
    assert consumer.poll_once(wait_seconds=0).malformed == 3
    assert consumer.poll_once(wait_seconds=0).received == 0
    assert _depth(client, dlq) == 3
    assert consumer.metrics.get("sqs_malformed") == 6


def test_unknown_orders_are_acknowledged(
    embedded: Any, sqs: tuple[Any, str, str], clock: FrozenClock
) -> None:
    client, queue, _ = sqs
    seed_order(embedded.vault, "K-1", seller="shop-1")
    _send(client, queue, {"type": "OrderFulfilled", "order_id": "K-404", "seller_id": "shop-1"})
    _send(client, queue, {"type": "OrderFulfilled", "order_id": "K-1", "seller_id": "no-such-shop"})
    report = SqsConsumer(client, queue, _purger(embedded, clock), embedded.vault).poll_once(wait_seconds=0)
    assert report.unknown == 2
    assert _depth(client, queue) == 0


class FailingMark(Purger):
    def mark(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database unavailable")


def test_a_mark_that_did_not_commit_keeps_the_message_and_redelivery_purges(
    embedded: Any, sqs: tuple[Any, str, str], clock: FrozenClock
) -> None:
    """A lost event: the first delivery fails (DB down); SQS redelivers and the order is purged."""
    client, queue, _ = sqs
    order, _ = seed_order(embedded.vault, "N-1", seller="shop-2")
    _send(client, queue, {"type": "OrderFulfilled", "order_id": "N-1", "seller_id": "shop-2"})
    broken = FailingMark(embedded.vault, ReceiptSigner.generate(), clock=clock)
    assert SqsConsumer(client, queue, broken, embedded.vault).poll_once(wait_seconds=0).failed == 1
    assert embedded.vault.orders.get(order.id).state == "open"
    # Redelivered to a healthy consumer that only marks; the sweep does the rest.
    purger = _purger(embedded, clock)
    consumer = SqsConsumer(client, queue, purger, embedded.vault, purge_inline=False)
    assert consumer.poll_once(wait_seconds=0).marked == 1
    assert embedded.vault.orders.get(order.id).state == "fulfilled"
    clock.advance(timedelta(seconds=10))
    assert PurgeWorker(purger).run_once(maintenance=False).purged == 1
    assert embedded.vault.orders.get(order.id).state == "purged"


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ('{"type":"OrderFulfilled","order_id":"1","seller_id":"s"}', True),
        ('{"type":"OrderFulfilled","order_id":"","seller_id":"s"}', False),
        ('{"type":"OrderFulfilled","order_id":"1"}', False),
        ('["OrderFulfilled"]', False),
        ("", False),
    ],
)
def test_parse_event(body: str, ok: bool) -> None:
    assert (parse_event(body) is not None) is ok
