"""SQS consumer for `OrderFulfilled` / `OrderCancelled` events: step 1 of the purge, then the rest.

A message is deleted only after the mark committed, so a crash in between means a redelivery, never a
lost trigger. Malformed messages are logged (by message id, never body) and left in the queue, so the
queue's redrive policy moves them to its dead-letter queue after maxReceiveCount tries.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from customization_vault.catalog import OrderView
from customization_vault.errors import OrderNotFound
from customization_vault.vault import Vault
from retention.metrics import PurgeMetrics
from retention.policy import Trigger
from retention.purge import Purger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
else:
    SQSClient = Any

__all__ = ["EVENT_TRIGGERS", "ConsumeReport", "SqsConsumer", "parse_event"]

log = logging.getLogger(__name__)

EVENT_TRIGGERS: dict[str, Trigger] = {
    "OrderFulfilled": Trigger.FULFILLED,
    "OrderCancelled": Trigger.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class OrderEvent:
    trigger: Trigger
    order_id: str  # the marketplace's order id (our Order.external_id)
    seller_id: str  # the marketplace's seller id (our Seller.external_id)


def parse_event(body: str) -> OrderEvent | None:
    """The event, or None if the body is not exactly a well-formed one (extra fields are tolerated)."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    kind, order_id, seller_id = data.get("type"), data.get("order_id"), data.get("seller_id")
    if not isinstance(kind, str) or kind not in EVENT_TRIGGERS:
        return None
    if not isinstance(order_id, str) or not isinstance(seller_id, str):
        return None
    if not (1 <= len(order_id) <= 128 and 1 <= len(seller_id) <= 128):
        return None
    return OrderEvent(EVENT_TRIGGERS[kind], order_id, seller_id)


@dataclass(frozen=True, slots=True)
class ConsumeReport:
    received: int = 0
    marked: int = 0
    unknown: int = 0  # well-formed but no such order: acknowledged (nothing is stored for it)
    malformed: int = 0  # left in the queue for the dead-letter queue
    failed: int = 0  # mark did not commit: left in the queue for redelivery


class SqsConsumer:
    def __init__(
        self,
        sqs_client: SQSClient,
        queue_url: str,
        purger: Purger,
        vault: Vault,
        *,
        metrics: PurgeMetrics | None = None,
        wait_seconds: int = 10,
        max_messages: int = 10,
        purge_inline: bool = True,
        actor: str = "sqs-consumer",
    ) -> None:
        self._sqs = sqs_client
        self.queue_url = queue_url
        self.purger = purger
        self.vault = vault
        self.metrics = metrics or purger.metrics
        self.wait_seconds = wait_seconds
        self.max_messages = max_messages
        self.purge_inline = purge_inline
        self.actor = actor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self, wait_seconds: int | None = None) -> ConsumeReport:
        resp = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.max_messages,
            WaitTimeSeconds=self.wait_seconds if wait_seconds is None else wait_seconds,
        )
        counts = {"received": 0, "marked": 0, "unknown": 0, "malformed": 0, "failed": 0}
        for message in resp.get("Messages", []):
            counts["received"] += 1
            counts[self.handle(message)] += 1
        return ConsumeReport(**counts)

    def handle(self, message: Any) -> str:
        """One message → marked | unknown | malformed | failed."""
        message_id = str(message.get("MessageId", "?"))
        event = parse_event(str(message.get("Body", "")))
        if event is None:
            self.metrics.inc("sqs_malformed")
            log.warning("malformed order event %s left for the dead-letter queue", message_id)
            return "malformed"
        try:
            order = self._find(event)
            if order is None:
                self._ack(message)
                log.info("order event %s names no order stored here; acknowledged", message_id)
                return "unknown"
            view = self.purger.mark(order, event.trigger, actor=self.actor)
        except Exception as exc:  # not committed: keep the message; SQS redelivers it
            log.warning(
                "order event %s not applied (%s); left for redelivery", message_id, type(exc).__name__
            )
            return "failed"
        self._ack(message)
        self.metrics.inc("sqs_marked")
        if self.purge_inline:
            self.purger.run(view.id, actor=self.actor)  # failures are recorded for the sweep
        return "marked"

    def _find(self, event: OrderEvent) -> OrderView | None:
        seller_id = self.vault.orders.seller_id(event.seller_id)
        if seller_id is None:
            return None
        try:
            return self.vault.orders.find(seller_id, event.order_id)
        except OrderNotFound:
            return None

    def _ack(self, message: Any) -> None:
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sqs-consumer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # queue unreachable: back off and retry; the sweep still runs
                log.exception("polling the order event queue failed")
                self._stop.wait(5)

    def stop(self, timeout: float | None = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
