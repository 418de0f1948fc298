"""Pure retention decisions: expiry, backoff, epoch bounds and the epoch destruction rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retention.config import RetentionConfig
from retention.policy import decide_epoch, epoch_bounds, is_expired, retry_delay

CFG = RetentionConfig()
NOW = datetime(2027, 3, 1, tzinfo=UTC)


def test_expiry_counts_from_the_first_upload_else_creation() -> None:
    created = NOW - timedelta(days=100)
    assert is_expired(None, created, NOW, CFG)
    assert not is_expired(NOW - timedelta(days=89), created, NOW, CFG)
    assert is_expired(NOW - timedelta(days=90), created, NOW, CFG)


def test_backoff_doubles_and_is_capped() -> None:
    cfg = RetentionConfig(retry_base_seconds=5, retry_max_seconds=60)
    assert [retry_delay(n, cfg).total_seconds() for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert retry_delay(10_000, cfg).total_seconds() == 60


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-02-28", datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_epoch_bounds(label: str, start: datetime, end: datetime) -> None:
    assert epoch_bounds(label) == (start, end)


def test_epoch_bounds_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="malformed"):
        epoch_bounds("2026-01-01-01")


def _decide(epoch: str, *, live: int = 0, last: datetime | None = None, now: datetime = NOW) -> str:
    d = decide_epoch(
        epoch, now=now, current_epoch="2027-03", live_orders=live, last_purged_at=last, config=CFG
    )
    assert d.destroy == (d.reason == "due")
    return d.reason


def test_epoch_rule() -> None:
    assert _decide("2027-03") == "current"
    assert _decide("2027-04") == "current"  # a future epoch (clock skew) is never destroyed
    assert _decide("2026-12", live=1) == "live_orders"
    # Ended 2027-01-01; 35 days of backups → 2027-02-05: due on 2027-03-01.
    assert _decide("2026-12") == "due"
    # Its last order was purged on 2027-02-20: backups of that day live until 2027-03-27.
    assert _decide("2026-12", last=datetime(2027, 2, 20, tzinfo=UTC)) == "backup_window"
    assert (
        _decide("2026-12", last=datetime(2027, 2, 20, tzinfo=UTC), now=datetime(2027, 3, 28, tzinfo=UTC))
        == "due"
    )
