"""Audit rows: the chain head and the append-only events. Hashing lives in `customization_vault.audit`."""

from __future__ import annotations

from collections.abc import Sequence

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
