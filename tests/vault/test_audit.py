"""The audit chain detects an edited, deleted or truncated event, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog
from customization_vault.catalog.db import create_db_engine, make_sessionmaker, migrate
from customization_vault.clock import FrozenClock


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(db_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(
            actor=f"fulfilment:k{i % 3}",
            action="item.read",
            target_type="item",
            target_id=f"item-{i}",
            purpose="fulfilment",
            details={"order_id": f"o{i}", "bytes": i},
        )


def test_an_untouched_chain_verifies(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    log = AuditLog(Catalog(sessions), clock)
    assert log.verify().ok
    _fill(log, 25)
    report = log.verify(batch=7)
    assert report.ok
    assert report.checked == 25


def test_editing_a_row_in_the_database_is_caught(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    log = AuditLog(Catalog(sessions), clock)
    _fill(log, 10)
    with sessions() as s, s.begin():
        s.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4"))
    report = log.verify()
    assert not report.ok
    assert report.first_bad_seq == 4
    assert report.checked == 3


def test_deleting_a_middle_row_is_caught(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    log = AuditLog(Catalog(sessions), clock)
    _fill(log, 10)
    with sessions() as s, s.begin():
        s.execute(text("DELETE FROM audit_events WHERE seq = 6"))
    report = log.verify()
    assert not report.ok
    assert report.first_bad_seq == 6
    assert "missing" in (report.problem or "")


def test_truncating_the_tail_is_caught(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    log = AuditLog(Catalog(sessions), clock)
    _fill(log, 10)
    with sessions() as s, s.begin():
        s.execute(text("DELETE FROM audit_events WHERE seq >= 9"))
    report = log.verify()
    assert not report.ok
    assert report.first_bad_seq == 9


def test_rehashing_an_edited_row_still_breaks_the_next_link(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """An attacker who recomputes the edited row's hash must also rewrite every later row."""
    from customization_vault.audit import hash_of
    from customization_vault.catalog.models import AuditEvent

    log = AuditLog(Catalog(sessions), clock)
    _fill(log, 5)
    with sessions() as s, s.begin():
        ev = s.get(AuditEvent, 2)
        assert ev is not None
        ev.actor = "forged"
        ev.hash = hash_of(ev)
    report = log.verify()
    assert not report.ok
    assert report.first_bad_seq == 3


def test_details_refuse_nested_structures(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """Details carry flat facts only; a nested blob is the typical way content slips into logs."""
    log = AuditLog(Catalog(sessions), clock)
    with pytest.raises(TypeError):
        log.append(actor="a", action="x", target_type="item", target_id="i", details={"body": {"text": "x"}})
    assert log.verify().checked == 0


def test_events_recorded_together_chain_like_single_ones(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """record_many (the sweep's per-order events) continues the chain, and tampering with one of a
    batch is caught at that event."""
    catalog = Catalog(sessions)
    log = AuditLog(catalog, clock)
    _fill(log, 2)
    with catalog.unit() as u:
        events = log.record_many(
            u,
            actor="worker:w1",
            action="order.purge",
            target_type="order",
            targets=[(f"order-{i}", {"batch": 5}) for i in range(5)],
        )
    assert [e.seq for e in events] == [3, 4, 5, 6, 7]
    _fill(log, 1)
    report = log.verify()
    assert report.ok
    assert report.checked == 8
    with sessions() as s, s.begin():
        s.execute(text("UPDATE audit_events SET target_id = 'order-x' WHERE seq = 5"))
    assert log.verify().first_bad_seq == 5
