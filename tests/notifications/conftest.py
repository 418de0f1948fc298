"""Notification fixtures: a catalog on SQLite and PostgreSQL, a seller, a real receiver, a deliverer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog
from customization_vault.clock import FrozenClock
from customization_vault.config import WebhooksConfig
from customization_vault.delivery import WebhookDeliverer
from customization_vault.notifications import WebhookBook
from tests.notifications.helpers import Shop, migrated_catalog
from tests.notifications.receiver import Receiver, running_receiver


@pytest.fixture
def catalog(db_url: str) -> Iterator[Catalog]:
    with migrated_catalog(db_url) as catalog:
        yield catalog


@pytest.fixture
def shop(catalog: Catalog, clock: FrozenClock) -> Shop:
    with catalog.unit() as u:
        seller_id = u.sellers.add("shop-1", clock())
    return Shop(catalog, clock, seller_id, WebhookBook(catalog, AuditLog(catalog, clock), clock=clock))


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
