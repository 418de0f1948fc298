"""Review cases: the trust-and-safety queue's rows, their leases and decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.models import ReviewCase
from customization_vault.catalog.types import new_id
from customization_vault.catalog.views import CaseTimes, DecisionFact, QueueFacets, ReviewView
from customization_vault.lifecycle import ReviewState

# A case is "live" while someone may still have to decide it.
LIVE = (ReviewState.OPEN, ReviewState.CLAIMED, ReviewState.ESCALATED, ReviewState.APPEALED)
# Waiting for a reviewer: open, escalated (admins only) or appealed, or claimed with a lapsed lease.
_WAITING = (ReviewState.OPEN, ReviewState.ESCALATED, ReviewState.APPEALED)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    kind: str | None = None
    list_ref: str | None = None
    seller_id: str | None = None
    state: ReviewState | None = None


class ReviewCases:
    def __init__(self, session: Session) -> None:
        self._s = session

    # ------------------------------------------------------------------ opening and closing
    def open_for(
        self,
        item_id: str,
        now: datetime,
        *,
        order_id: str | None = None,
        seller_id: str | None = None,
        kind: str | None = None,
        list_ref: str | None = None,
        score: float | None = None,
    ) -> ReviewView:
        case = ReviewCase(
            id=new_id(),
            item_id=item_id,
            order_id=order_id,
            seller_id=seller_id,
            kind=kind,
            list_ref=list_ref,
            score=score,
            state=ReviewState.OPEN,
            created_at=now,
        )
        self._s.add(case)
        self._s.flush()
        return ReviewView.of(case)

    def close_live(
        self, *, reason: str, now: datetime, item_id: str | None = None, order_ids: Sequence[str] = ()
    ) -> list[str]:
        """Close every live case of an item or of orders (purged, cleared by a new list); their ids."""
        q = select(ReviewCase.id).where(ReviewCase.state.in_(LIVE))
        q = (
            q.where(ReviewCase.item_id == item_id)
            if item_id is not None
            else q.where(ReviewCase.order_id.in_(order_ids))
        )
        ids = list(self._s.execute(q).scalars())
        if ids:
            self._s.execute(
                update(ReviewCase)
                .where(ReviewCase.id.in_(ids))
                .values(
                    state=ReviewState.CLOSED,
                    closed_reason=reason,
                    closed_at=now,
                    claimed_by=None,
                    lease_until=None,
                )
            )
        return ids

    def forget_content(self, order_ids: Sequence[str]) -> None:
        """Null what may quote content: reviewer notes and appeal statements (derived content)."""
        if order_ids:
            self._s.execute(
                update(ReviewCase)
                .where(ReviewCase.order_id.in_(order_ids))
                .values(note=None, appeal_note=None, appeal_statement=None)
            )

    # ------------------------------------------------------------------ reads
    def get(self, case_id: str, *, lock: bool = False) -> ReviewView | None:
        row = self._s.get(ReviewCase, case_id, with_for_update=lock, populate_existing=lock)
        return None if row is None else ReviewView.of(row)

    def latest_for_items(self, item_ids: Sequence[str]) -> dict[str, ReviewView]:
        """Each item's latest case (an item has at most one live case at a time)."""
        if not item_ids:
            return {}
        out: dict[str, ReviewView] = {}
        rows = self._s.execute(
            select(ReviewCase).where(ReviewCase.item_id.in_(item_ids)).order_by(ReviewCase.created_at)
        ).scalars()
        for r in rows:
            out[r.item_id] = ReviewView.of(r)
        return out

    def ids_for_orders(self, order_ids: Sequence[str]) -> list[str]:
        if not order_ids:
            return []
        q = select(ReviewCase.id).where(ReviewCase.order_id.in_(order_ids)).order_by(ReviewCase.id)
        return [str(i) for i in self._s.execute(q).scalars()]

    def facets(self) -> QueueFacets:
        """The kinds, lists and sellers of the live queue (what its filters can choose from)."""
        rows = self._s.execute(
            select(ReviewCase.kind, ReviewCase.list_ref, ReviewCase.seller_id)
            .where(ReviewCase.state.in_(LIVE))
            .distinct()
        ).all()
        return QueueFacets(
            tuple(sorted({str(r[0]) for r in rows if r[0]})),
            tuple(sorted({str(r[1]) for r in rows if r[1]})),
            tuple(sorted({str(r[2]) for r in rows if r[2]})),
        )

    # ------------------------------------------------------------------ dashboard facts
    def times_since(self, since: datetime) -> list[CaseTimes]:
        """Every case that was in the queue at some moment since `since` (live ones included)."""
        c = ReviewCase
        q = select(c.created_at, c.decided_at, c.appealed_at, c.appeal_decided_at, c.closed_at).where(
            or_(
                c.state.in_(LIVE),
                c.created_at >= since,
                c.decided_at >= since,
                c.appealed_at >= since,
                c.appeal_decided_at >= since,
                c.closed_at >= since,
            )
        )
        return [CaseTimes(*row) for row in self._s.execute(q).all()]

    def decisions_since(self, since: datetime) -> list[DecisionFact]:
        """First decisions, escalations and appeal decisions taken since `since`."""
        c = ReviewCase
        out: list[DecisionFact] = []
        firsts = select(c.decided_at, c.kind, c.decision, c.reason_code).where(c.decided_at >= since)
        for at, kind, decision, reason in self._s.execute(firsts).all():
            if at is not None and decision is not None:
                out.append(DecisionFact(at, kind, str(decision), reason, appeal=False))
        escalations = select(c.escalated_at, c.kind).where(c.escalated_at >= since)
        for at, kind in self._s.execute(escalations).all():
            if at is not None:
                out.append(DecisionFact(at, kind, "escalate", None, appeal=False))
        appeals = select(c.appeal_decided_at, c.kind, c.appeal_decision, c.appeal_reason_code).where(
            c.appeal_decided_at >= since
        )
        for at, kind, decision, reason in self._s.execute(appeals).all():
            if at is not None and decision is not None:
                out.append(DecisionFact(at, kind, str(decision), reason, appeal=True))
        return sorted(out, key=lambda d: d.at)

    def _waiting(self, now: datetime, f: QueueFilter, *, admin: bool) -> Select[ReviewCase]:
        q = select(ReviewCase).where(
            or_(
                ReviewCase.state.in_(_WAITING),
                (ReviewCase.state == ReviewState.CLAIMED) & (ReviewCase.lease_until <= now),
            )
        )
        if not admin:  # an escalated case waits for an admin until it is decided
            q = q.where(or_(ReviewCase.escalated_at.is_(None), ReviewCase.decided_at.is_not(None)))
        return self._filtered(q, f)

    def _filtered(self, q: Select[ReviewCase], f: QueueFilter) -> Select[ReviewCase]:
        if f.kind is not None:
            q = q.where(ReviewCase.kind == f.kind)
        if f.list_ref is not None:
            q = q.where(ReviewCase.list_ref == f.list_ref)
        if f.seller_id is not None:
            q = q.where(ReviewCase.seller_id == f.seller_id)
        if f.state is not None:
            q = q.where(ReviewCase.state == f.state)
        return q

    def queue(
        self, f: QueueFilter, *, live_only: bool, limit: int, offset: int
    ) -> tuple[list[ReviewView], int]:
        """A page of cases, oldest first, and how many match in all."""
        q = select(ReviewCase)
        if live_only:
            q = q.where(ReviewCase.state.in_(LIVE))
        q = self._filtered(q, f)
        total = int(self._s.execute(select(func.count()).select_from(q.subquery())).scalar_one())
        rows = self._s.execute(
            q.order_by(ReviewCase.created_at, ReviewCase.id).limit(limit).offset(offset)
        ).scalars()
        return [ReviewView.of(r) for r in rows], total

    # ------------------------------------------------------------------ leases
    def claim_next(
        self,
        now: datetime,
        until: datetime,
        reviewer: str,
        f: QueueFilter,
        *,
        admin: bool,
        exclude_decided_by: bool,
    ) -> ReviewView | None:
        """Lease the oldest waiting case to `reviewer`. SKIP LOCKED: two claims never take the same row
        on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE, so the second claim sees the
        first one's lease."""
        q = self._waiting(now, f, admin=admin)
        if exclude_decided_by:  # an appeal is decided by someone other than the first decider
            q = q.where(
                or_(
                    ReviewCase.appealed_at.is_(None),
                    ReviewCase.decided_by.is_(None),
                    ReviewCase.decided_by != reviewer,
                )
            )
        row = self._s.execute(
            q.order_by(ReviewCase.created_at, ReviewCase.id).limit(1).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if row is None:
            return None
        return self._lease(row, reviewer, until)

    def lease(self, case_id: str, reviewer: str, until: datetime) -> ReviewView | None:
        row = self._s.get(ReviewCase, case_id)
        return None if row is None else self._lease(row, reviewer, until)

    def _lease(self, row: ReviewCase, reviewer: str, until: datetime) -> ReviewView:
        row.state = ReviewState.CLAIMED
        row.claimed_by = reviewer
        row.lease_until = until
        self._s.flush()
        return ReviewView.of(row)

    def release(self, case_id: str) -> ReviewView | None:
        """Give the case back to the queue in the state it waited in."""
        row = self._s.get(ReviewCase, case_id)
        if row is None:
            return None
        row.state = _waiting_state(row)
        row.claimed_by = None
        row.lease_until = None
        self._s.flush()
        return ReviewView.of(row)

    def write(self, case_id: str, **values: object) -> ReviewView:
        """Set decision fields on a case (the review desk decides what is allowed)."""
        row = self._s.get(ReviewCase, case_id)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)
        self._s.flush()
        return ReviewView.of(row)


def _waiting_state(row: ReviewCase) -> ReviewState:
    if row.appealed_at is not None:
        return ReviewState.APPEALED
    if row.escalated_at is not None:
        return ReviewState.ESCALATED
    return ReviewState.OPEN
