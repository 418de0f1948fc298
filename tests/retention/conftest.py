"""Retention fixtures: a Purger and a worker over the shared `services` (embedded and production)."""

from __future__ import annotations

from typing import Any

import pytest

from customization_vault.clock import FrozenClock
from retention.config import RetentionConfig
from retention.purge import Purger
from retention.receipts import ReceiptSigner
from retention.worker import PurgeWorker


@pytest.fixture(scope="session")
def signer() -> ReceiptSigner:
    return ReceiptSigner.generate()


@pytest.fixture
def retention_config() -> RetentionConfig:
    return RetentionConfig(handoff_grace_seconds=0, retry_base_seconds=10, max_attempts_before_alert=3)


@pytest.fixture
def purger(
    services: Any, signer: ReceiptSigner, clock: FrozenClock, retention_config: RetentionConfig
) -> Purger:
    return Purger(services.vault, signer, clock=clock, config=retention_config)


@pytest.fixture
def worker(purger: Purger) -> PurgeWorker:
    return PurgeWorker(purger, name="test-worker")
