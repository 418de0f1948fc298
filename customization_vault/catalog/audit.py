"""Audit rows: the chain head and the append-only events. Hashing lives in `customization_vault.audit`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from customization_vault.catalog.models import AuditEvent, AuditHead
from customization_vault.catalog.views import AuditRecord


def _record(ev: AuditEvent) -> AuditRecord:
    return AuditRecord(
        ev.seq,
        ev.at,
        ev.actor,
        ev.action,
        ev.target_type,
        ev.target_id,
        ev.purpose,
        dict(ev.details),
        ev.prev_hash,
        ev.hash,
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for reading the log back; `targets` None means any target (an empty tuple: none)."""

    targets: tuple[str, ...] | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditEvents:
    def __init__(self, session: Session) -> None:
        self._s = session

    def lock_head(self) -> tuple[int, str]:
        """(seq, hash) of the chain head, locked until the transaction ends: appenders queue here."""
        head = self._s.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
        return head.seq, head.hash

    def head(self) -> tuple[int, str]:
        head = self._s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        return head.seq, head.hash

    def append(self, events: Sequence[AuditRecord]) -> None:
        """Store events (already chained) and move the head to the last one; call under `lock_head`."""
        if not events:
            return
        self._s.add_all(
            AuditEvent(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                purpose=e.purpose,
                details=e.details,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in events
        )
        head = self._s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        head.seq, head.hash = events[-1].seq, events[-1].hash
        self._s.flush()

    def page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        rows = self._s.execute(
            select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(limit)
        ).scalars()
        return [_record(e) for e in rows]

    def for_target(self, target_id: str) -> list[AuditRecord]:
        rows = self._s.execute(
            select(AuditEvent).where(AuditEvent.target_id == target_id).order_by(AuditEvent.seq)
        ).scalars()
        return [_record(e) for e in rows]

    def search(self, q: AuditQuery, *, before_seq: int | None, limit: int) -> list[AuditRecord]:
        """Matching events, newest first, older than `before_seq` (the page cursor)."""
        stmt = select(AuditEvent)
        if q.targets is not None:
            stmt = stmt.where(AuditEvent.target_id.in_(q.targets))
        if q.actor is not None:
            stmt = stmt.where(AuditEvent.actor == q.actor)
        if q.action is not None:
            stmt = stmt.where(AuditEvent.action == q.action)
        if q.since is not None:
            stmt = stmt.where(AuditEvent.at >= q.since)
        if q.until is not None:
            stmt = stmt.where(AuditEvent.at < q.until)
        if before_seq is not None:
            stmt = stmt.where(AuditEvent.seq < before_seq)
        rows = self._s.execute(stmt.order_by(AuditEvent.seq.desc()).limit(limit)).scalars()
        return [_record(e) for e in rows]

    def actions(self) -> list[str]:
        """Every action name the log holds (the audit page's filter choices)."""
        rows = self._s.execute(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).scalars()
        return [str(a) for a in rows]
