"""The trust-and-safety review desk: the queue, leases, decisions, escalations and appeals.

A flagged item has exactly one live case. A reviewer claims a case with a lease (renewable, released
on leaving; a lapsed lease puts the case back in the queue), and only the lease holder decides it:
approve (fulfilment may fetch), reject with a reason code, or escalate (then only admins decide). A
decision is final until the seller appeals — once per item — and an appeal is decided by someone
other than the first decider (admins may decide any). Every step is audited; every decision queues a
seller notification in the same transaction. Purge wins: an order that leaves "open" closes its
live cases, so a case never keeps content alive.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from customization_vault.audit import AuditLog
from customization_vault.catalog import FindingView, ItemView, OrderView, QueueFacets, ReviewView, Unit
from customization_vault.catalog.reviews import QueueFilter
from customization_vault.clock import Clock, system_clock
from customization_vault.content import ContentVault
from customization_vault.errors import (
    CaseClosed,
    CaseNotFound,
    ContentGone,
    InvalidInput,
    ItemNotFound,
    LeaseConflict,
    NotPermitted,
    StateConflict,
)
from customization_vault.lifecycle import ItemState, OrderState, ReviewState, check_item, check_review

# What a reviewer whose lease a closing ended is told (`closed_reason` values).
_CLOSED_BECAUSE = {
    "purged": "its order was fulfilled or cancelled",
    "cleared_by_list": "a new list cleared it",
}

__all__ = [
    "DEFAULT_LEASE",
    "MAX_NOTE",
    "MAX_STATEMENT",
    "CaseDetail",
    "Decision",
    "DecisionNotifier",
    "QueueFilter",
    "ReasonCode",
    "ReviewDesk",
    "Reviewer",
]

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=10)
MAX_NOTE = 2000
MAX_STATEMENT = 2000


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ESCALATE = "escalate"


class ReasonCode(enum.StrEnum):
    TRADEMARK = "trademark"
    COPYRIGHT = "copyright"
    OFFENSIVE = "offensive"
    RESTRICTED = "restricted"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who acts: the audit actor string and whether the key is an admin's."""

    actor: str
    admin: bool = False


class DecisionNotifier(Protocol):
    """Queues the seller's notification inside the decision's unit of work (the outbox)."""

    def item_decided(
        self,
        unit: Unit,
        *,
        seller_id: str,
        order_external_id: str,
        item_id: str,
        decision: str,
        reason: str | None,
        appeal: bool,
        now: datetime,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class CaseDetail:
    """What a reviewer needs to decide: the case, its item's findings (spans, regions, the matched
    reference), the order, and the order's other items."""

    case: ReviewView
    order: OrderView
    item: ItemView
    others: tuple[ItemView, ...]

    @property
    def findings(self) -> tuple[FindingView, ...]:
        return self.item.findings


def _text(value: str | None, limit: int, what: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise InvalidInput(f"{what} is required")
        return None
    value = value.strip()
    if not value:
        if required:
            raise InvalidInput(f"{what} is required")
        return None
    if len(value) > limit:
        raise InvalidInput(f"{what} is at most {limit} characters")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return value


class ReviewDesk:
    def __init__(
        self,
        content: ContentVault,
        audit: AuditLog,
        *,
        notifier: DecisionNotifier | None = None,
        clock: Clock = system_clock,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._content = content
        self._catalog = content.catalog
        self._audit = audit
        self._notifier = notifier
        self._clock = clock
        self.lease = lease

    # ------------------------------------------------------------------ the queue
    def queue(
        self, f: QueueFilter, *, live_only: bool = True, limit: int = 50, offset: int = 0
    ) -> tuple[list[ReviewView], int]:
        if not 1 <= limit <= 200 or offset < 0:
            raise InvalidInput("limit is 1-200 and offset at least 0")
        with self._catalog.unit() as u:
            return u.reviews.queue(f, live_only=live_only, limit=limit, offset=offset)

    def names(self, cases: list[ReviewView]) -> dict[str, tuple[str | None, str | None]]:
        """Each case's (seller's order id, seller id) as the marketplace knows them."""
        with self._catalog.unit() as u:
            orders = {o.id: o for o in u.orders.many(sorted({c.order_id for c in cases if c.order_id}))}
            sellers = u.sellers.external_ids({c.seller_id for c in cases if c.seller_id})
        out: dict[str, tuple[str | None, str | None]] = {}
        for c in cases:
            order = orders.get(c.order_id or "")
            out[c.id] = (None if order is None else order.external_id, sellers.get(c.seller_id or ""))
        return out

    def queue_filter(
        self,
        *,
        kind: str | None = None,
        list_ref: str | None = None,
        seller: str | None = None,
        state: ReviewState | None = None,
    ) -> QueueFilter | None:
        """The filter for a seller named as the marketplace knows it (blank values: no filter); None
        when no seller has that name, so nothing can match."""
        seller_id = None
        if seller:
            with self._catalog.unit() as u:
                seller_id = u.sellers.find_id(seller)
            if seller_id is None:
                return None
        return QueueFilter(kind=kind or None, list_ref=list_ref or None, seller_id=seller_id, state=state)

    def facets(self) -> tuple[QueueFacets, dict[str, str]]:
        """What the live queue's filters can choose from, and each seller id's marketplace name."""
        with self._catalog.unit() as u:
            facets = u.reviews.facets()
            return facets, u.sellers.external_ids(facets.seller_ids)

    def claim(
        self, who: Reviewer, *, case_id: str | None = None, f: QueueFilter | None = None
    ) -> ReviewView | None:
        """Lease the next waiting case (oldest first) or a given one; None when nothing waits."""
        now = self._clock()
        until = now + self.lease
        with self._catalog.unit() as u:
            if case_id is None:
                case = u.reviews.claim_next(
                    now,
                    until,
                    who.actor,
                    f or QueueFilter(),
                    admin=who.admin,
                    exclude_decided_by=not who.admin,
                )
                if case is None:
                    return None
            else:
                current = self._lock(u, case_id)
                self._check_claimable(current, who, now)
                case = u.reviews.lease(case_id, who.actor, until)
                assert case is not None
            self._audit.record(
                u,
                actor=who.actor,
                action="review.claim",
                target_type="review_case",
                target_id=case.id,
                details={"item_id": case.item_id, "lease_until": until.isoformat()},
            )
            return case

    def _lock(self, u: Unit, case_id: str) -> ReviewView:
        case = u.reviews.get(case_id, lock=True)
        if case is None:
            raise CaseNotFound("no such review case")
        return case

    def _check_claimable(self, case: ReviewView, who: Reviewer, now: datetime) -> None:
        held = case.state == ReviewState.CLAIMED and case.lease_until is not None and case.lease_until > now
        if held and case.claimed_by != who.actor:
            raise LeaseConflict("another reviewer holds this case")
        if case.state in (ReviewState.DECIDED, ReviewState.CLOSED):
            raise StateConflict(f"the case is {case.state}; nothing is waiting for a decision")
        if case.escalated_at is not None and case.decided_at is None and not who.admin:
            raise NotPermitted("an escalated case is decided by an admin")
        if case.in_appeal and case.decided_by == who.actor and not who.admin:
            raise NotPermitted("an appeal is decided by someone other than the first decider")

    def _held_by(self, u: Unit, case_id: str, who: Reviewer) -> ReviewView:
        case = self._lock(u, case_id)
        now = self._clock()
        if case.state == ReviewState.CLOSED:
            why = _CLOSED_BECAUSE.get(case.closed_reason or "", case.closed_reason)
            raise CaseClosed(f"the case is closed ({why}): nothing to decide")
        if (
            case.state != ReviewState.CLAIMED
            or case.claimed_by != who.actor
            or case.lease_until is None
            or case.lease_until <= now
        ):
            raise LeaseConflict("you do not hold this case's lease: claim it first")
        return case

    def renew(self, case_id: str, who: Reviewer) -> ReviewView:
        with self._catalog.unit() as u:
            self._held_by(u, case_id, who)
            case = u.reviews.lease(case_id, who.actor, self._clock() + self.lease)
            assert case is not None
            return case

    def release(self, case_id: str, who: Reviewer) -> ReviewView:
        with self._catalog.unit() as u:
            self._held_by(u, case_id, who)
            case = u.reviews.release(case_id)
            assert case is not None
            self._audit.record(
                u, actor=who.actor, action="review.release", target_type="review_case", target_id=case_id
            )
            return case

    # ------------------------------------------------------------------ reading a case
    def _case_and_order(self, u: Unit, case_id: str) -> tuple[ReviewView, OrderView]:
        case = u.reviews.get(case_id)
        order = None if case is None or case.order_id is None else u.orders.get(case.order_id)
        if case is None or order is None:
            raise CaseNotFound("no such review case")
        return case, order

    def detail(self, case_id: str, who: Reviewer) -> CaseDetail:
        with self._catalog.unit() as u:
            case, order = self._case_and_order(u, case_id)
            items = u.items.for_order(order.id)
            self._audit.record(
                u,
                actor=who.actor,
                action="review.view",
                target_type="review_case",
                target_id=case_id,
                details={"item_id": case.item_id, "order_id": order.id},
            )
        item = next((i for i in items if i.id == case.item_id), None)
        if item is None:
            raise ItemNotFound("the case's item is gone")
        return CaseDetail(case, order, item, tuple(i for i in items if i.id != item.id))

    def content(self, case_id: str, who: Reviewer) -> tuple[ItemView, Iterator[bytes]]:
        """The customer's bytes for the reviewer, audited as a review read; gone once purged."""
        with self._catalog.unit() as u:
            case, order = self._case_and_order(u, case_id)
        if order.state != OrderState.OPEN:
            raise ContentGone("the order left open; its content is gone or going")
        return self._content.open_item(order, case.item_id, actor=who.actor, purpose="review")

    # ------------------------------------------------------------------ deciding
    def decide(
        self,
        case_id: str,
        who: Reviewer,
        decision: str,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> ReviewView:
        try:
            what = Decision(decision)
        except ValueError:
            raise InvalidInput("decision is approve, reject or escalate") from None
        code: ReasonCode | None = None
        if reason is not None:
            try:
                code = ReasonCode(reason)
            except ValueError:
                raise InvalidInput("reason is trademark, copyright, offensive, restricted or other") from None
        if what is Decision.REJECT and code is None:
            raise InvalidInput("a rejection needs a reason")
        note = _text(note, MAX_NOTE, "note")
        with self._catalog.unit() as u:
            case = self._held_by(u, case_id, who)
            self._check_claimable(case, who, self._clock())
            now = self._clock()
            if what is Decision.ESCALATE:
                if case.in_appeal or who.admin:
                    raise StateConflict("only a first-instance case can be escalated, by a reviewer")
                check_review(case.state, ReviewState.ESCALATED)
                out = u.reviews.write(
                    case_id,
                    state=ReviewState.ESCALATED,
                    escalated_by=who.actor,
                    escalated_at=now,
                    note=note,
                    claimed_by=None,
                    lease_until=None,
                )
                self._audit.record(
                    u,
                    actor=who.actor,
                    action="review.escalate",
                    target_type="review_case",
                    target_id=case_id,
                    details={"item_id": case.item_id},
                )
                return out
            return self._settle(u, case, who, what, code, note, now)

    def _settle(
        self,
        u: Unit,
        case: ReviewView,
        who: Reviewer,
        what: Decision,
        code: ReasonCode | None,
        note: str | None,
        now: datetime,
    ) -> ReviewView:
        assert case.order_id is not None
        assert case.seller_id is not None
        order = u.orders.lock(case.order_id)
        if order is None or order.state != OrderState.OPEN:
            raise ContentGone("the order left open; its case is closed")
        item = u.items.get(case.item_id, order_id=order.id)
        if item is None:
            raise ItemNotFound("the case's item is gone")
        target = ItemState.APPROVED if what is Decision.APPROVE else ItemState.REJECTED
        check_item(item.state, target)
        check_review(case.state, ReviewState.DECIDED)
        u.items.set_state(item.id, target, rejected_at=now if target is ItemState.REJECTED else None)
        reason = None if code is None else code.value
        common = {"state": ReviewState.DECIDED, "claimed_by": None, "lease_until": None}
        if case.in_appeal:
            out = u.reviews.write(
                case.id,
                appeal_decision=what.value,
                appeal_reason_code=reason,
                appeal_note=note,
                appeal_decided_by=who.actor,
                appeal_decided_at=now,
                **common,
            )
        else:
            out = u.reviews.write(
                case.id,
                decision=what.value,
                reason_code=reason,
                note=note,
                decided_by=who.actor,
                decided_at=now,
                **common,
            )
        self._audit.record(
            u,
            actor=who.actor,
            action="review.appeal_decide" if case.in_appeal else "review.decide",
            target_type="review_case",
            target_id=case.id,
            details={"item_id": item.id, "order_id": order.id, "decision": what.value, "reason": reason},
        )
        if self._notifier is not None:
            self._notifier.item_decided(
                u,
                seller_id=case.seller_id,
                order_external_id=order.external_id,
                item_id=item.id,
                decision=what.value,
                reason=reason,
                appeal=case.in_appeal,
                now=now,
            )
        return out

    # ------------------------------------------------------------------ appeals (the seller's side)
    def appeal(self, order: OrderView, item_id: str, statement: str, *, actor: str) -> ReviewView:
        """The seller contests a rejection or a block, once per item; the case waits for a reviewer
        other than the one who decided it."""
        text = _text(statement, MAX_STATEMENT, "statement", required=True)
        now = self._clock()
        with self._catalog.unit() as u:
            current = u.orders.lock(order.id)
            if current is None or current.state != OrderState.OPEN:
                raise ContentGone("the order left open; nothing is left to appeal")
            item = u.items.get(item_id, order_id=order.id)
            if item is None:
                raise ItemNotFound("no such item")
            if item.state not in (ItemState.REJECTED, ItemState.BLOCKED):
                raise StateConflict("only a rejected or blocked item can be appealed")
            case = u.reviews.latest_for_items([item_id]).get(item_id)
            if case is not None and case.in_appeal:
                raise StateConflict("the item was appealed before; the appeal outcome is final")
            if case is None or case.state == ReviewState.CLOSED:  # a block: the item never had a live case
                lead = max(item.findings, key=lambda f: f.score, default=None)
                case = u.reviews.open_for(
                    item_id,
                    now,
                    order_id=order.id,
                    seller_id=order.seller_id,
                    kind=None if lead is None else lead.kind,
                    list_ref=None if lead is None else lead.list_ref,
                    score=None if lead is None else lead.score,
                )
                state = ReviewState.APPEALED
            else:
                state = check_review(case.state, ReviewState.APPEALED)
            out = u.reviews.write(case.id, state=state, appealed_at=now, appeal_statement=text)
            self._audit.record(
                u,
                actor=actor,
                action="item.appeal",
                target_type="item",
                target_id=item_id,
                details={"order_id": order.id, "case_id": case.id},
            )
            return out
