"""The review desk on both backend families: queue, leases (and races), decisions by role, appeals, purge."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from customization_vault.catalog import OrderView
from customization_vault.clock import FrozenClock
from customization_vault.errors import (
    CaseClosed,
    CaseNotFound,
    ContentGone,
    ContentRefused,
    InvalidInput,
    LeaseConflict,
    NotPermitted,
    StateConflict,
)
from customization_vault.lifecycle import ItemState, ReviewState
from customization_vault.review import QueueFilter, ReviewDesk, Reviewer
from retention.purge import Purger
from tests.vault.test_vault import CANARY, blocked, flagged

R1, R2 = Reviewer("reviewer:r1"), Reviewer("reviewer:r2")
ADMIN = Reviewer("admin:a1", admin=True)


def desk(services: Any) -> ReviewDesk:
    d: ReviewDesk = services.review
    return d


def seed(
    services: Any, name: str, *, kind: str = "flagged", seller: str = "seller-a"
) -> tuple[OrderView, str]:
    vault = services.vault
    order, _ = vault.orders.create(vault.orders.ensure_seller(seller), name, actor="t")
    item, _ = vault.content.put_item(
        order, [CANARY], flagged() if kind == "flagged" else blocked(), actor="t"
    )
    return order, item.id


def test_a_flagged_item_has_one_open_case_with_its_lead_finding(services: Any) -> None:
    order, item_id = seed(services, "Q-1")
    _, blocked_id = seed(services, "Q-2", kind="blocked")
    cases, total = desk(services).queue(QueueFilter())
    assert total == 1
    (case,) = cases
    assert (case.item_id, case.order_id, case.seller_id) == (item_id, order.id, order.seller_id)
    assert (case.kind, case.list_ref, case.score, case.state) == ("trademark", "marks@1", 0.97, "open")
    assert blocked_id not in {c.item_id for c in cases}  # a block is final: no case unless appealed


def test_claims_are_oldest_first_filtered_and_leased(services: Any, clock: FrozenClock) -> None:
    first = seed(services, "C-1")[1]
    clock.advance(timedelta(seconds=1))
    second = seed(services, "C-2", seller="seller-b")[1]
    d = desk(services)
    seller_b = services.vault.orders.seller_id("seller-b")
    only_b = d.claim(R1, f=QueueFilter(seller_id=seller_b))
    assert only_b is not None
    assert only_b.item_id == second
    got = d.claim(R2)
    assert got is not None
    assert got.item_id == first
    assert (got.state, got.claimed_by, got.lease_until) == ("claimed", R2.actor, clock() + d.lease)
    assert d.claim(R1) is None  # nothing else waits
    with pytest.raises(LeaseConflict):
        d.claim(R1, case_id=got.id)  # another reviewer holds it
    clock.advance(d.lease + timedelta(seconds=1))  # the lease lapses: the case is back in the queue
    again = d.claim(R1)
    assert again is not None
    assert again.id in {got.id, only_b.id}


def test_only_the_lease_holder_decides_and_a_decision_moves_the_item(services: Any) -> None:
    order, item_id = seed(services, "D-1")
    d = desk(services)
    case = d.claim(R1)
    assert case is not None
    with pytest.raises(LeaseConflict):
        d.decide(case.id, R2, "approve")
    with pytest.raises(InvalidInput):
        d.decide(case.id, R1, "reject")  # a rejection needs a reason
    with pytest.raises(InvalidInput):
        d.decide(case.id, R1, "maybe")
    out = d.decide(case.id, R1, "reject", reason="trademark", note="looks like the logo")
    assert (out.state, out.decision, out.reason_code, out.decided_by) == (
        "decided",
        "reject",
        "trademark",
        R1.actor,
    )
    assert services.vault.content.get_item(order, item_id).state == ItemState.REJECTED
    with pytest.raises(ContentRefused):
        services.vault.content.fetch_for_fulfilment(order, item_id, actor="t")
    with pytest.raises(LeaseConflict):
        d.decide(case.id, R1, "approve")  # final: the lease ended with the decision
    actions = [e.action for e in services.audit.history(case.id)]
    assert actions == ["review.claim", "review.decide"]


def test_an_escalated_case_is_decided_by_an_admin_only(services: Any) -> None:
    order, item_id = seed(services, "E-1")
    d = desk(services)
    case = d.claim(R1)
    assert case is not None
    assert d.decide(case.id, R1, "escalate").state == ReviewState.ESCALATED
    assert d.claim(R2) is None  # reviewers do not see it
    with pytest.raises(NotPermitted):
        d.claim(R2, case_id=case.id)
    taken = d.claim(ADMIN)
    assert taken is not None
    assert taken.id == case.id
    d.decide(case.id, ADMIN, "approve")
    _, stream = services.vault.content.fetch_for_fulfilment(order, item_id, actor="t")
    assert b"".join(stream) == CANARY


def test_an_appeal_is_decided_by_another_reviewer_once(services: Any) -> None:
    order, item_id = seed(services, "A-1")
    d = desk(services)
    case = d.claim(R1)
    assert case is not None
    with pytest.raises(StateConflict):
        d.appeal(order, item_id, "not rejected yet", actor="seller")
    d.decide(case.id, R1, "reject", reason="trademark")
    with pytest.raises(InvalidInput):
        d.appeal(order, item_id, "   ", actor="seller")
    appealed = d.appeal(order, item_id, "It is our family name.", actor="seller")
    assert (appealed.state, appealed.appeal_statement) == ("appealed", "It is our family name.")
    with pytest.raises(StateConflict):
        d.appeal(order, item_id, "again", actor="seller")
    assert d.claim(R1) is None  # the first decider is not handed its own case
    with pytest.raises(NotPermitted):
        d.claim(R1, case_id=case.id)
    taken = d.claim(R2)
    assert taken is not None
    assert taken.id == case.id
    out = d.decide(case.id, R2, "approve")
    assert (out.decision, out.appeal_decision, out.appeal_decided_by) == ("reject", "approve", R2.actor)
    assert services.vault.content.get_item(order, item_id).state == ItemState.APPROVED
    with pytest.raises(StateConflict):
        d.appeal(order, item_id, "and again", actor="seller")


def test_a_blocked_item_can_be_appealed_and_admins_may_decide_any_appeal(services: Any) -> None:
    order, item_id = seed(services, "B-1", kind="blocked")
    d = desk(services)
    case = d.appeal(order, item_id, "This is a quote from a book.", actor="seller")
    assert (case.state, case.kind) == ("appealed", "offensive")
    taken = d.claim(ADMIN)
    assert taken is not None
    d.decide(taken.id, ADMIN, "reject", reason="offensive")
    assert services.vault.content.get_item(order, item_id).state == ItemState.REJECTED


def test_release_returns_the_case_and_renew_extends_the_lease(services: Any, clock: FrozenClock) -> None:
    seed(services, "L-1")
    d = desk(services)
    case = d.claim(R1)
    assert case is not None
    clock.advance(timedelta(minutes=5))
    renewed = d.renew(case.id, R1)
    assert renewed.lease_until == clock() + d.lease
    with pytest.raises(LeaseConflict):
        d.renew(case.id, R2)
    with pytest.raises(LeaseConflict):
        d.release(case.id, R2)
    assert d.release(case.id, R1).state == ReviewState.OPEN
    again = d.claim(R2)
    assert again is not None
    assert again.id == case.id
    with pytest.raises(CaseNotFound):
        d.claim(R1, case_id="no-such-case")


def test_purge_closes_open_cases_and_forgets_notes(services: Any, purger: Purger, clock: FrozenClock) -> None:
    _, item_id = seed(services, "P-1")
    clock.advance(timedelta(seconds=1))  # P-1's case is the oldest: the claim below takes it
    other, _ = seed(services, "P-2")
    d = desk(services)
    case = d.claim(R1)
    assert case is not None
    note_case = d.decide(case.id, R1, "reject", reason="other", note="quotes CANARY")
    purger.mark(services.vault.orders.get(note_case.order_id), "fulfilled", actor="seller")
    purger.mark(other, "cancelled", actor="seller")
    open_case = services.review.queue(QueueFilter(), live_only=False)[0]
    closed = {c.order_id: c for c in open_case}
    assert closed[other.id].state == ReviewState.CLOSED
    assert closed[other.id].closed_reason == "purged"
    with pytest.raises(ContentGone):
        d.appeal(services.vault.orders.get(other.id), item_id, "too late", actor="seller")
    assert purger.run(note_case.order_id or "", actor="t").ok
    after = {c.order_id: c for c in services.review.queue(QueueFilter(), live_only=False)[0]}
    assert after[note_case.order_id].note is None  # derived content went with the order
    assert after[note_case.order_id].decision == "reject"  # the decision itself is a fact, kept


def test_a_lease_the_purge_ended_says_the_case_is_closed(services: Any, purger: Purger) -> None:
    """Under load a seller fulfils while a reviewer holds the case: the decision answers 409 as for any
    lease not held, but says why, so the reviewer moves on instead of claiming it again."""
    order, _ = seed(services, "PL-1")
    d = desk(services)
    case = d.claim(R1)
    assert case is not None
    purger.mark(order, "fulfilled", actor="seller")
    with pytest.raises(CaseClosed, match="fulfilled or cancelled"):
        d.decide(case.id, R1, "approve")
    with pytest.raises(CaseClosed):
        d.renew(case.id, R1)
    assert d.claim(R1) is None  # and nothing is back in the queue


@pytest.fixture
def purger(services: Any, clock: FrozenClock) -> Purger:
    from retention.config import RetentionConfig
    from retention.receipts import ReceiptSigner

    return Purger(services.vault, ReceiptSigner.generate(), clock=clock, config=RetentionConfig())


def test_concurrent_claims_never_hand_out_one_case_twice(services: Any) -> None:
    """Eight reviewers claim at once over five cases: each case goes to exactly one of them."""
    for i in range(5):
        seed(services, f"R-{i}")
    d = desk(services)
    got: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            case = d.claim(Reviewer(f"reviewer:r{n}"))
            if case is not None:
                got.append(case.id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(got) == 5
    assert len(set(got)) == 5
