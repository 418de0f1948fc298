"""Append-only, hash-chained audit log: tamper-evident record of every access and decision.

Each event's hash covers its own fields and the previous event's hash; a single head row, locked by
every appender, serialises the chain on SQLite and PostgreSQL alike and lets `verify` notice a
truncated tail. Events hold ids and facts, never customer content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from customization_vault.catalog import AuditRecord, Catalog, Unit
from customization_vault.catalog.audit import AuditQuery
from customization_vault.clock import Clock, system_clock

GENESIS = "0" * 64
_SCALARS = (str, int, float, bool, type(None))


def _canonical_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    purpose: str | None,
    details: Mapping[str, Any],
) -> str:
    body = json.dumps(
        [prev_hash, seq, _canonical_time(at), actor, action, target_type, target_id, purpose, details],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def hash_of(ev: AuditRecord) -> str:
    """The hash an event must carry: over its own fields and its predecessor's hash."""
    return event_hash(
        prev_hash=ev.prev_hash,
        seq=ev.seq,
        at=ev.at,
        actor=ev.actor,
        action=ev.action,
        target_type=ev.target_type,
        target_id=ev.target_id,
        purpose=ev.purpose,
        details=ev.details,
    )


def _check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Only flat facts (ids, counts, codes) go in: a guard against someone logging content by accident."""
    out: dict[str, Any] = {}
    for k, v in details.items():
        if isinstance(v, list | tuple):
            if not all(isinstance(x, _SCALARS) for x in v):
                raise TypeError("audit details hold scalars or lists of scalars only")
            out[k] = list(v)
        elif isinstance(v, _SCALARS):
            out[k] = v
        else:
            raise TypeError("audit details hold scalars or lists of scalars only")
    return out


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    anchored: int = 0  # signed checkpoints the chain was checked against


class AuditLog:
    def __init__(self, catalog: Catalog, clock: Clock = system_clock) -> None:
        self._catalog = catalog
        self._clock = clock

    def record(
        self,
        unit: Unit,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        purpose: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        """Append inside the caller's unit of work, so the event commits or rolls back with its cause."""
        return self.record_many(
            unit,
            actor=actor,
            action=action,
            target_type=target_type,
            targets=[(target_id, details or {})],
            purpose=purpose,
        )[0]

    def record_many(
        self,
        unit: Unit,
        *,
        actor: str,
        action: str,
        target_type: str,
        targets: Sequence[tuple[str, Mapping[str, Any]]],
        purpose: str | None = None,
    ) -> list[AuditRecord]:
        """One event per (target id, details), chained in order under one lock of the head row: a sweep
        audits each order of a batch on its own, at the cost of one round trip, not three per order."""
        if not targets:
            return []
        seq, prev = unit.audit.lock_head()
        at = self._clock().astimezone(UTC)  # hashed as UTC, read back as UTC
        events: list[AuditRecord] = []
        for target_id, details in targets:
            seq += 1
            fields: dict[str, Any] = {
                "prev_hash": prev,
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "purpose": purpose,
                "details": _check_details(details),
            }
            prev = event_hash(**fields)
            events.append(AuditRecord(**fields, hash=prev))
        unit.audit.append(events)
        return events

    def append(self, **kwargs: Any) -> AuditRecord:
        """Record in a unit of work of its own (an action with no other catalog write)."""
        with self._catalog.unit() as u:
            return self.record(u, **kwargs)

    def history(self, target_id: str) -> list[AuditRecord]:
        with self._catalog.unit() as u:
            return u.audit.for_target(target_id)

    def search(
        self,
        *,
        order: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Events newest first. `order` is an order's internal id or any seller's order id: its events
        are those about the order, its items and its review cases."""
        targets: tuple[str, ...] | None = None
        with self._catalog.unit() as u:
            if order is not None:
                found = u.orders.get(order)
                orders = [found] if found is not None else u.orders.by_external_id(order)
                ids = [o.id for o in orders]
                items = [i for group in u.items.ids_by_order(ids).values() for i in group]
                targets = (*ids, *items, *u.reviews.ids_for_orders(ids))
            query = AuditQuery(targets=targets, actor=actor, action=action, since=since, until=until)
            return u.audit.search(query, before_seq=before_seq, limit=limit)

    def actions(self) -> list[str]:
        with self._catalog.unit() as u:
            return u.audit.actions()

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the chain's last event: what a checkpoint signs."""
        with self._catalog.unit() as u:
            return u.audit.head()

    def verify(self, batch: int = 5000, anchors: Mapping[int, str] | None = None) -> ChainReport:
        """Walk the chain from genesis; name the first event that was edited, removed or reordered.

        The chain alone proves nothing to whoever can rewrite the whole database: they can recompute
        every hash and the head. `anchors` (seq → hash, from signed checkpoints kept outside it,
        `retention.anchor`) close that: each anchored event must still carry its hash, and the chain
        must reach the latest anchor.
        """
        anchors = anchors or {}
        prev, expected_seq, checked = GENESIS, 1, 0
        with self._catalog.unit() as u:
            last = 0
            while True:
                rows = u.audit.page(last, batch)
                if not rows:
                    break
                for ev in rows:
                    if ev.seq != expected_seq:
                        return ChainReport(False, checked, expected_seq, f"event {expected_seq} is missing")
                    if ev.prev_hash != prev:
                        return ChainReport(False, checked, ev.seq, "link to the previous event is broken")
                    if hash_of(ev) != ev.hash:
                        return ChainReport(False, checked, ev.seq, "event content does not match its hash")
                    anchored = anchors.get(ev.seq)
                    if anchored is not None and anchored != ev.hash:
                        return ChainReport(
                            False,
                            checked,
                            ev.seq,
                            "the chain was rewritten: the event differs from its signed checkpoint",
                        )
                    prev, expected_seq, checked, last = ev.hash, ev.seq + 1, checked + 1, ev.seq
            head_seq, head_hash = u.audit.head()
            if head_seq != checked or head_hash != prev:
                return ChainReport(False, checked, checked + 1, "events after the last one were removed")
        latest = max(anchors, default=0)
        if latest > checked:
            return ChainReport(
                False, checked, checked + 1, f"the chain ends before its signed checkpoint at event {latest}"
            )
        return ChainReport(True, checked, anchored=len(anchors))
