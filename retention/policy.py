"""Retention decisions as pure functions of state and an injected `now` (no database, no clock).

The worker and the purger ask these; tests can walk every boundary without sleeping.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from customization_vault.backoff import backoff_delay
from retention.config import RetentionConfig


class Trigger(enum.StrEnum):
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


def expiry_cutoff(now: datetime, config: RetentionConfig) -> datetime:
    """An open order whose first upload (or creation, if none) is at or before this has expired."""
    return now - timedelta(days=config.max_retention_days)


def is_expired(
    first_upload_at: datetime | None, created_at: datetime, now: datetime, cfg: RetentionConfig
) -> bool:
    return (first_upload_at or created_at) <= expiry_cutoff(now, cfg)


def rejected_cutoff(now: datetime, config: RetentionConfig) -> datetime:
    """An item rejected at or before this (appeal window over, no appeal pending) loses its content."""
    return now - timedelta(days=config.rejected_retention_days)


def retry_delay(attempts: int, config: RetentionConfig) -> timedelta:
    """The purge's backoff: `backoff_delay` with the retention settings (`attempts` counts failures)."""
    return backoff_delay(
        attempts, base_seconds=config.retry_base_seconds, max_seconds=config.retry_max_seconds
    )


def epoch_bounds(label: str) -> tuple[datetime, datetime]:
    """[start, end) of an epoch label "YYYY", "YYYY-MM" or "YYYY-MM-DD" (UTC).

    >>> epoch_bounds("2026-12")[1].isoformat()
    '2027-01-01T00:00:00+00:00'
    """
    parts = [int(p) for p in label.split("-")]
    if len(parts) == 1:
        return datetime(parts[0], 1, 1, tzinfo=UTC), datetime(parts[0] + 1, 1, 1, tzinfo=UTC)
    if len(parts) == 2:
        y, m = parts
        start = datetime(y, m, 1, tzinfo=UTC)
        return start, datetime(y + m // 12, m % 12 + 1, 1, tzinfo=UTC)
    if len(parts) == 3:
        start = datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
        return start, start + timedelta(days=1)
    raise ValueError("malformed epoch label")


@dataclass(frozen=True, slots=True)
class EpochDecision:
    epoch: str
    destroy: bool
    reason: str  # a fixed code: current | live_orders | backup_window | due


def decide_epoch(
    epoch: str,
    *,
    now: datetime,
    current_epoch: str,
    live_orders: int,
    last_purged_at: datetime | None,
    config: RetentionConfig,
) -> EpochDecision:
    """May the epoch's KEK be destroyed now?

    Only when no order of it is alive (every wrapped DEK under it is already shredded — destroying the
    KEK earlier would lose live customer data), the epoch is over (no new DEK can be wrapped under it),
    and backups taken while its last order was alive have aged out, so restoring any retained backup can
    never need this KEK again and no older backup can ever be opened.
    """
    if epoch == current_epoch:
        return EpochDecision(epoch, False, "current")
    _, end = epoch_bounds(epoch)
    if now < end:
        return EpochDecision(epoch, False, "current")
    if live_orders > 0:
        return EpochDecision(epoch, False, "live_orders")
    last_alive = max(end, last_purged_at) if last_purged_at is not None else end
    if now < last_alive + timedelta(days=config.backup_retention_days):
        return EpochDecision(epoch, False, "backup_window")
    return EpochDecision(epoch, True, "due")
