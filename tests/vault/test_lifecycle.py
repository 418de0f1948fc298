"""The lifecycle's transition tables, walked exhaustively: every pair of states is allowed or refused."""

from __future__ import annotations

import itertools

import pytest

from customization_vault.errors import ContentGone, ContentHeld, ContentRefused, StateConflict
from customization_vault.lifecycle import (
    ITEM_TRANSITIONS,
    ORDER_TRANSITIONS,
    PURGE_TRANSITIONS,
    REVIEW_TRANSITIONS,
    ItemState,
    OrderState,
    PurgeStep,
    ReviewState,
    check_item,
    check_order,
    check_purge_step,
    check_release,
    check_review,
    item_state_for,
)
from screening.findings import VerdictKind

Os, Is, Rs = OrderState, ItemState, ReviewState

ORDER_ALLOWED = {
    (Os.OPEN, Os.FULFILLED),
    (Os.OPEN, Os.CANCELLED),
    (Os.OPEN, Os.EXPIRED),
    (Os.FULFILLED, Os.PURGED),
    (Os.CANCELLED, Os.PURGED),
    (Os.EXPIRED, Os.PURGED),
}
ITEM_ALLOWED = {
    (Is.RECEIVED, Is.CLEAR),
    (Is.RECEIVED, Is.FLAGGED),
    (Is.RECEIVED, Is.BLOCKED),
    (Is.CLEAR, Is.FLAGGED),
    (Is.CLEAR, Is.BLOCKED),
    (Is.FLAGGED, Is.APPROVED),
    (Is.FLAGGED, Is.REJECTED),
    (Is.FLAGGED, Is.CLEAR),
    (Is.FLAGGED, Is.BLOCKED),
    (Is.BLOCKED, Is.APPROVED),
    (Is.BLOCKED, Is.REJECTED),
    (Is.REJECTED, Is.APPROVED),
    (Is.REJECTED, Is.REJECTED),
}
REVIEW_ALLOWED = {
    (Rs.OPEN, Rs.CLAIMED),
    (Rs.OPEN, Rs.CLOSED),
    (Rs.CLAIMED, Rs.OPEN),
    (Rs.CLAIMED, Rs.DECIDED),
    (Rs.CLAIMED, Rs.ESCALATED),
    (Rs.CLAIMED, Rs.CLOSED),
    (Rs.ESCALATED, Rs.CLAIMED),
    (Rs.ESCALATED, Rs.CLOSED),
    (Rs.DECIDED, Rs.APPEALED),
    (Rs.APPEALED, Rs.CLAIMED),
    (Rs.APPEALED, Rs.CLOSED),
}
Ps = PurgeStep
PURGE_ALLOWED = {
    (Ps.NONE, Ps.MARKED),
    (Ps.MARKED, Ps.KEY_SHREDDED),
    (Ps.KEY_SHREDDED, Ps.BLOBS_DELETED),
    (Ps.BLOBS_DELETED, Ps.DERIVED_DELETED),
    (Ps.DERIVED_DELETED, Ps.PURGED),
    (Ps.KEY_SHREDDED, Ps.MARKED),  # verification found something: shred again
    (Ps.BLOBS_DELETED, Ps.MARKED),
    (Ps.DERIVED_DELETED, Ps.MARKED),
}


@pytest.mark.parametrize(("a", "b"), list(itertools.product(PurgeStep, PurgeStep)))
def test_purge_step_transitions(a: PurgeStep, b: PurgeStep) -> None:
    if (a, b) in PURGE_ALLOWED:
        assert check_purge_step(a, b) is b
    else:
        with pytest.raises(StateConflict):
            check_purge_step(a, b)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(OrderState, OrderState)))
def test_order_transitions(a: OrderState, b: OrderState) -> None:
    if (a, b) in ORDER_ALLOWED:
        assert check_order(a, b) is b
    else:
        with pytest.raises(StateConflict):
            check_order(a, b)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(ItemState, ItemState)))
def test_item_transitions(a: ItemState, b: ItemState) -> None:
    if (a, b) in ITEM_ALLOWED:
        assert check_item(a, b) is b
    else:
        with pytest.raises(StateConflict):
            check_item(a, b)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(ReviewState, ReviewState)))
def test_review_transitions(a: ReviewState, b: ReviewState) -> None:
    if (a, b) in REVIEW_ALLOWED:
        assert check_review(a, b) is b
    else:
        with pytest.raises(StateConflict):
            check_review(a, b)


def test_every_state_has_a_row_and_purged_is_terminal() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderState)
    assert set(ITEM_TRANSITIONS) == set(ItemState)
    assert set(REVIEW_TRANSITIONS) == set(ReviewState)
    assert set(PURGE_TRANSITIONS) == set(PurgeStep)
    assert PURGE_TRANSITIONS[Ps.PURGED] == frozenset()
    assert ORDER_TRANSITIONS[Os.PURGED] == frozenset()
    assert REVIEW_TRANSITIONS[Rs.CLOSED] == frozenset()


def test_states_are_stored_as_their_strings() -> None:
    assert [s.value for s in OrderState] == ["open", "fulfilled", "cancelled", "expired", "purged"]
    assert Os("open") is Os.OPEN
    assert Os.OPEN == "open"
    assert list(PurgeStep) == sorted(PurgeStep)  # ordered: a resumed purge compares steps


@pytest.mark.parametrize(
    ("verdict", "state"),
    [(VerdictKind.CLEAR, Is.CLEAR), (VerdictKind.FLAGGED, Is.FLAGGED), (VerdictKind.BLOCKED, Is.BLOCKED)],
)
def test_a_screened_item_enters_the_state_of_its_verdict(verdict: VerdictKind, state: ItemState) -> None:
    assert item_state_for(verdict) is state
    assert check_item(Is.RECEIVED, state) is state


@pytest.mark.parametrize(
    ("order", "item", "error"),
    [
        (Os.OPEN, Is.CLEAR, None),
        (Os.OPEN, Is.APPROVED, None),
        (Os.OPEN, Is.RECEIVED, ContentHeld),
        (Os.OPEN, Is.FLAGGED, ContentHeld),
        (Os.OPEN, Is.BLOCKED, ContentRefused),
        (Os.OPEN, Is.REJECTED, ContentRefused),
        *[(o, i, ContentGone) for o in OrderState if o != Os.OPEN for i in ItemState],
    ],
)
def test_release_rule(order: OrderState, item: ItemState, error: type[Exception] | None) -> None:
    if error is None:
        check_release(order, item)
    else:
        with pytest.raises(error):
            check_release(order, item)
