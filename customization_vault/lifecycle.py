"""Item and order lifecycle rules, as pure functions of state.

    item:  received → clear | flagged | blocked → (review) approved | rejected
    order: open → fulfilled | cancelled | expired → purged

Fetch for fulfilment: content when clear or approved; held while flagged; refused when blocked or
rejected; gone as soon as the order left "open" (even while a legal hold keeps the bytes).
"""

from __future__ import annotations

import enum

from customization_vault.errors import ContentGone, ContentHeld, ContentRefused, StateConflict
from screening.findings import VerdictKind


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


RELEASABLE = frozenset({ItemState.CLEAR, ItemState.APPROVED})
HELD = frozenset({ItemState.RECEIVED, ItemState.FLAGGED})
REFUSED = frozenset({ItemState.BLOCKED, ItemState.REJECTED})


def item_state_for(verdict: VerdictKind) -> ItemState:
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
    if item_state in HELD:
        raise ContentHeld("the item is awaiting trust-and-safety review")
    if item_state in REFUSED:
        raise ContentRefused("the item was refused by screening or review")
    raise StateConflict("unknown item state")


def check_accepts_uploads(order_state: str) -> None:
    if order_state != OrderState.OPEN:
        raise ContentGone("the order no longer accepts uploads")
