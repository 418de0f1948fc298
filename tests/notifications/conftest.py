"""Notification fixtures: a catalog on SQLite and PostgreSQL, a seller, a real receiver, a deliverer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog, create_db_engine, migrate
from customization_vault.clock import FrozenClock
from customization_vault.config import WebhooksConfig
from customization_vault.delivery import WebhookDeliverer
from customization_vault.notifications import Notifier, WebhookBook
from tests.notifications.receiver import Receiver, running_receiver


@pytest.fixture
def catalog(db_url: str) -> Iterator[Catalog]:
    engine = create_db_engine(db_url)
    migrate(engine)
    yield Catalog.of(engine)
    engine.dispose()


@pytest.fixture
def book(catalog: Catalog, clock: FrozenClock) -> WebhookBook:
    return WebhookBook(catalog, AuditLog(catalog, clock), clock=clock)


@pytest.fixture
def seller(catalog: Catalog, clock: FrozenClock) -> str:
    with catalog.unit() as u:
        return u.sellers.add("shop-1", clock())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def config() -> WebhooksConfig:
    return WebhooksConfig(retry_base_seconds=10, retry_max_seconds=60, max_attempts=5, timeout_seconds=5)


@pytest.fixture
def deliverer(catalog: Catalog, clock: FrozenClock, config: WebhooksConfig) -> WebhookDeliverer:
    return WebhookDeliverer(catalog, config=config, clock=clock, name="test-deliverer")


def decide(
    catalog: Catalog,
    clock: FrozenClock,
    seller_id: str,
    *,
    item_id: str = "item-1",
    decision: str = "reject",
    reason: str | None = "trademark",
    appeal: bool = False,
) -> None:
    """What the review desk does on a decision: queue the notification inside its own unit."""
    with catalog.unit() as u:
        Notifier().item_decided(
            u,
            seller_id=seller_id,
            order_external_id="A-1001",
            item_id=item_id,
            decision=decision,
            reason=reason,
            appeal=appeal,
            now=clock(),
        )
