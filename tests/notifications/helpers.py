"""Helpers for the notification suites (plain functions and a small facade; fixtures are in conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customization_vault.catalog import Catalog, Unit, create_db_engine, migrate
from customization_vault.catalog.outbox import OutboxCounts, OutboxView
from customization_vault.clock import Clock
from customization_vault.notifications import Notifier, WebhookBook


def notify_decision(
    unit: Unit,
    seller_id: str,
    now: datetime,
    *,
    order: str = "A-1001",
    item_id: str = "item-1",
    decision: str = "reject",
    reason: str | None = "trademark",
    appeal: bool = False,
) -> None:
    """What the review desk does when it decides: queue the notification in the decision's unit."""
    Notifier().item_decided(
        unit,
        seller_id=seller_id,
        order_external_id=order,
        item_id=item_id,
        decision=decision,
        reason=reason,
        appeal=appeal,
        now=now,
    )


def decide(catalog: Catalog, now: datetime, seller_id: str, **kw: Any) -> None:
    """A decision in a unit of its own (`notify_decision`'s keywords)."""
    with catalog.unit() as u:
        notify_decision(u, seller_id, now, **kw)


@contextmanager
def migrated_catalog(url: str) -> Iterator[Catalog]:
    engine = create_db_engine(url)
    migrate(engine)
    try:
        yield Catalog.of(engine)
    finally:
        engine.dispose()


@dataclass
class Shop:
    """One seller in a catalog, with the calls its tests repeat."""

    catalog: Catalog
    clock: Clock
    id: str
    book: WebhookBook

    def set_webhook(self, url: str) -> str:
        return self.book.set(self.id, url, actor="t")

    def decide(self, **kw: Any) -> None:
        decide(self.catalog, self.clock(), self.id, **kw)

    def message(self, message_id: str) -> OutboxView:
        with self.catalog.unit() as u:
            m = u.outbox.get(message_id)
        assert m is not None
        return m

    def counts(self) -> OutboxCounts:
        with self.catalog.unit() as u:
            return u.outbox.counts(self.id)
