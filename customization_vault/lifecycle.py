"""Every state the catalog stores, and the transitions allowed between them, as pure functions.

    order:  open → fulfilled | cancelled | expired → purged
    item:   received → clear | flagged | blocked;  flagged → approved | rejected;
            rejected | blocked → approved | rejected (an appeal decides again)
    review case: open → claimed → decided | escalated;  claimed → open (lease lapsed or released);
            escalated → claimed (by an admin);  decided → appealed → claimed …;
            open | claimed | escalated | appealed → closed (purged, or cleared by a new list version)
    purge step: none → marked → key_shredded → blobs_deleted → derived_deleted → purged
    screening job: queued → running → done | unscreenable | cancelled;  running → queued (a crash,
            a lapsed lease or a backend failure: retried; a second crash makes it unscreenable)

States are `StrEnum`s stored as their strings (the purge step is an ordered `IntEnum`: a resumed purge
starts after the last committed step, which is a comparison). The transition tables are the one place
the rules are written; the services call `check_*` before they write, and the tests walk the tables.

Fetch for fulfilment: content when clear or approved; held while received or flagged; refused when
blocked or rejected; gone as soon as the order left "open" (even while a legal hold keeps the bytes).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from customization_vault.errors import ContentGone, ContentHeld, ContentPending, ContentRefused, StateConflict
from screening.findings import VerdictKind

__all__ = [
    "HELD",
    "ITEM_TRANSITIONS",
    "ORDER_TRANSITIONS",
    "PURGE_TRANSITIONS",
    "REFUSED",
    "RELEASABLE",
    "REVIEW_TRANSITIONS",
    "ItemState",
    "JobState",
    "OrderState",
    "PurgeOutcome",
    "PurgeStep",
    "ReviewState",
    "VerdictKind",
    "can_item",
    "can_order",
    "can_review",
    "check_accepts_uploads",
    "check_item",
    "check_order",
    "check_purge_step",
    "check_release",
    "check_review",
    "item_state_for",
]


class OrderState(enum.StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PURGED = "purged"


class ItemState(enum.StrEnum):
    RECEIVED = "received"
    CLEAR = "clear"
    FLAGGED = "flagged"
    BLOCKED = "blocked"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReviewState(enum.StrEnum):
    """A review case's place in the trust-and-safety queue."""

    OPEN = "open"  # waiting in the queue
    CLAIMED = "claimed"  # a reviewer holds its lease
    ESCALATED = "escalated"  # waiting for an admin
    DECIDED = "decided"  # approve or reject is final (until appealed)
    APPEALED = "appealed"  # the seller appealed; waits for a different reviewer
    CLOSED = "closed"  # no decision needed any more: the order was purged or a list cleared it


class JobState(enum.StrEnum):
    """A screening job's place in the durable queue (`screening_jobs`)."""

    QUEUED = "queued"  # waiting for a worker (or for its retry time)
    RUNNING = "running"  # a worker holds its lease
    DONE = "done"  # the verdict is recorded
    UNSCREENABLE = "unscreenable"  # crashed workers twice, or no engine could parse it: sent to review
    CANCELLED = "cancelled"  # the order left open before the verdict: nothing to screen any more


class PurgeStep(enum.IntEnum):
    """`Order.purge_step`: the last step whose effect is committed. A resumed purge starts after it.

    The one state kept as an integer, on purpose: it is a position in an ordered protocol, and the
    catalog asks ordinal questions of it ("advance the orders that are not past step 3", "every order
    short of purged"), which are range conditions on an integer column and would be a lookup table on
    strings. Its transitions are still written once (`PURGE_TRANSITIONS`) and tested as a table.
    """

    NONE = 0
    MARKED = 1
    KEY_SHREDDED = 2
    BLOBS_DELETED = 3
    DERIVED_DELETED = 4
    PURGED = 5


class PurgeOutcome(enum.StrEnum):
    """What one purge attempt of one order came to."""

    PURGED = "purged"
    ALREADY_PURGED = "already_purged"
    HELD = "held"  # an active legal hold paused it before the shred
    OPEN = "open"  # never marked: nothing to purge
    FAILED = "failed"  # a backend failed; recorded with backoff for the sweep


_LEFT_OPEN = frozenset({OrderState.FULFILLED, OrderState.CANCELLED, OrderState.EXPIRED})

ORDER_TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    OrderState.OPEN: _LEFT_OPEN,
    OrderState.FULFILLED: frozenset({OrderState.PURGED}),
    OrderState.CANCELLED: frozenset({OrderState.PURGED}),
    OrderState.EXPIRED: frozenset({OrderState.PURGED}),
    OrderState.PURGED: frozenset(),
}

ITEM_TRANSITIONS: Mapping[ItemState, frozenset[ItemState]] = {
    ItemState.RECEIVED: frozenset({ItemState.CLEAR, ItemState.FLAGGED, ItemState.BLOCKED}),
    ItemState.CLEAR: frozenset({ItemState.FLAGGED, ItemState.BLOCKED}),  # a new list version re-screens
    ItemState.FLAGGED: frozenset(
        {ItemState.APPROVED, ItemState.REJECTED, ItemState.CLEAR, ItemState.BLOCKED}
    ),
    ItemState.BLOCKED: frozenset({ItemState.APPROVED, ItemState.REJECTED}),  # by appeal only
    ItemState.APPROVED: frozenset(),
    ItemState.REJECTED: frozenset({ItemState.APPROVED, ItemState.REJECTED}),  # by appeal only
}

REVIEW_TRANSITIONS: Mapping[ReviewState, frozenset[ReviewState]] = {
    ReviewState.OPEN: frozenset({ReviewState.CLAIMED, ReviewState.CLOSED}),
    ReviewState.CLAIMED: frozenset(
        {ReviewState.OPEN, ReviewState.DECIDED, ReviewState.ESCALATED, ReviewState.CLOSED}
    ),
    ReviewState.ESCALATED: frozenset({ReviewState.CLAIMED, ReviewState.CLOSED}),
    ReviewState.DECIDED: frozenset({ReviewState.APPEALED}),
    ReviewState.APPEALED: frozenset({ReviewState.CLAIMED, ReviewState.CLOSED}),
    ReviewState.CLOSED: frozenset(),
}

# One step forward at a time; back to MARKED from any step short of PURGED when verification finds
# something left (the purge then shreds again); nothing leaves PURGED.
PURGE_TRANSITIONS: Mapping[PurgeStep, frozenset[PurgeStep]] = {
    PurgeStep.NONE: frozenset({PurgeStep.MARKED}),
    PurgeStep.MARKED: frozenset({PurgeStep.KEY_SHREDDED}),
    PurgeStep.KEY_SHREDDED: frozenset({PurgeStep.BLOBS_DELETED, PurgeStep.MARKED}),
    PurgeStep.BLOBS_DELETED: frozenset({PurgeStep.DERIVED_DELETED, PurgeStep.MARKED}),
    PurgeStep.DERIVED_DELETED: frozenset({PurgeStep.PURGED, PurgeStep.MARKED}),
    PurgeStep.PURGED: frozenset(),
}

RELEASABLE = frozenset({ItemState.CLEAR, ItemState.APPROVED})
HELD = frozenset({ItemState.RECEIVED, ItemState.FLAGGED})
REFUSED = frozenset({ItemState.BLOCKED, ItemState.REJECTED})


def can_order(current: str, to: str) -> bool:
    return OrderState(to) in ORDER_TRANSITIONS[OrderState(current)]


def can_item(current: str, to: str) -> bool:
    return ItemState(to) in ITEM_TRANSITIONS[ItemState(current)]


def can_review(current: str, to: str) -> bool:
    return ReviewState(to) in REVIEW_TRANSITIONS[ReviewState(current)]


def check_order(current: str, to: str) -> OrderState:
    if not can_order(current, to):
        raise StateConflict(f"an order cannot go from {current} to {to}")
    return OrderState(to)


def check_item(current: str, to: str) -> ItemState:
    if not can_item(current, to):
        raise StateConflict(f"an item cannot go from {current} to {to}")
    return ItemState(to)


def check_review(current: str, to: str) -> ReviewState:
    if not can_review(current, to):
        raise StateConflict(f"a review case cannot go from {current} to {to}")
    return ReviewState(to)


def check_purge_step(current: int, to: int) -> PurgeStep:
    """A purge step may not be skipped: an order some other runner sent back to MARKED (verification
    found a blob) must be shredded again before its blobs count as deleted."""
    if PurgeStep(to) not in PURGE_TRANSITIONS[PurgeStep(current)]:
        raise StateConflict(f"a purge cannot go from step {int(current)} to step {int(to)}")
    return PurgeStep(to)


def item_state_for(verdict: VerdictKind) -> ItemState:
    """The state a freshly screened item enters."""
    return {
        VerdictKind.CLEAR: ItemState.CLEAR,
        VerdictKind.FLAGGED: ItemState.FLAGGED,
        VerdictKind.BLOCKED: ItemState.BLOCKED,
    }[verdict]


def check_release(order_state: str, item_state: str) -> None:
    """Raise unless the item's content may go to fulfilment now."""
    if order_state != OrderState.OPEN:
        raise ContentGone("the order was fulfilled, cancelled or expired; its content is gone")
    if item_state in RELEASABLE:
        return
    if item_state == ItemState.RECEIVED:
        raise ContentPending("the item is being screened; ask again shortly")
    if item_state in HELD:
        raise ContentHeld("the item is awaiting trust-and-safety review")
    if item_state in REFUSED:
        raise ContentRefused("the item was refused by screening or review")
    raise StateConflict("unknown item state")


def check_accepts_uploads(order_state: str) -> None:
    if order_state != OrderState.OPEN:
        raise ContentGone("the order no longer accepts uploads")
