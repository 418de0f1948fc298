"""A new list version re-screens every open order's items: flags, clears, keeps decisions, and resumes.

Real parts throughout: the text engine over imported term lists, the vault's envelope encryption, the
audit chain, on the embedded default and on PostgreSQL + S3 + KMS (moto).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import update

from api.app import limits_of
from api.wiring import Services
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import Item, ReviewCase
from customization_vault.clock import FrozenClock
from customization_vault.fulfilment import FulfilmentService
from customization_vault.lifecycle import ItemState, ReviewState
from customization_vault.lists import ListKind
from customization_vault.rescreen import Rescreener, rate_of
from screening.findings import Verdict
from screening.screener import Screener

TERMS_V1 = (
    b"id,term,category,severity\n"
    b"t:flurbo,flurbo,profanity,review\n"  # a reviewer's call
    b"t:grobnak,grobnak,slur,block\n"  # refused outright
)
TERMS_V2 = b"id,term,category,severity\nt:wobbleplonk,wobbleplonk,profanity,review\n"


@dataclass
class Shop:
    svc: Services
    desk: FulfilmentService
    seller: str

    def upload(self, order: str, text: str) -> str:
        self.desk.create_order(self.seller, order, actor="test")
        return self.desk.upload_text(self.seller, order, text, idempotency_key=None, actor="test").item.id

    def item(self, order: str, item_id: str) -> tuple[ItemState, list[str]]:
        with self.svc.catalog.unit() as u:
            view = u.items.get(item_id, order_id=self.svc.vault.orders.find(self.seller, order).id)
        assert view is not None
        return view.state, sorted(f"{f.list_ref}:{f.entry}" for f in view.findings)

    def case(self, item_id: str) -> tuple[ReviewState, str | None, str | None] | None:
        with self.svc.catalog.unit() as u:
            case = u.reviews.latest_for_items([item_id]).get(item_id)
        return None if case is None else (case.state, case.closed_reason, case.list_ref)

    def import_terms(self, data: bytes) -> None:
        self.svc.lists.import_list(ListKind.TERMS, data, source="terms.csv", actor="test")
        assert self.svc.reloader is not None
        self.svc.reloader.reload()

    def rescreener(self, **kw: object) -> Rescreener:
        assert self.svc.reloader is not None
        return Rescreener(self.svc.vault, self.svc.screener, refresh=self.svc.reloader.reload, **kw)  # type: ignore[arg-type]


@pytest.fixture
def shop(services: Services) -> Shop:
    desk = FulfilmentService(services.vault, services.screener, limits_of(services.settings))
    return Shop(services, desk, services.vault.orders.ensure_seller("shop-1"))


def _decide(svc: Services, item_id: str, state: ItemState) -> None:
    """Stand-in for the review desk's decision (the desk has its own suite): item and case decided."""
    with session_scope(svc.catalog.sessions) as s:
        s.execute(update(Item).where(Item.id == item_id).values(state=state))
        s.execute(
            update(ReviewCase)
            .where(ReviewCase.item_id == item_id)
            .values(state=ReviewState.DECIDED, decision="approve")
        )


def _screening_reads(svc: Services, item_id: str) -> int:
    return sum(1 for e in svc.audit.history(item_id) if e.action == "item.read" and e.purpose == "screening")


def test_a_list_change_flags_clears_and_keeps_decisions(shop: Shop) -> None:
    shop.import_terms(TERMS_V1)
    flagged = shop.upload("A-1", "a flurbo cake")
    clear = shop.upload("A-1", "wobbleplonk party")
    approved = shop.upload("A-1", "flurbo and wobbleplonk")
    blocked = shop.upload("A-1", "grobnak wobbleplonk")
    plain = shop.upload("A-2", "plain words here")
    gone = shop.upload("B-1", "wobbleplonk too")
    assert shop.item("A-1", flagged) == (ItemState.FLAGGED, ["terms@1:t:flurbo"])
    assert shop.item("A-1", clear) == (ItemState.CLEAR, [])
    assert shop.item("A-1", blocked)[0] == ItemState.BLOCKED
    assert shop.case(flagged) == (ReviewState.OPEN, None, "terms@1")
    _decide(shop.svc, approved, ItemState.APPROVED)
    shop.svc.purger.mark(shop.desk.order(shop.seller, "B-1"), "fulfilled", actor="test")  # type: ignore[union-attr]

    shop.import_terms(TERMS_V2)
    rescreener = shop.rescreener()
    job = rescreener.request(reason="terms@2 imported", actor="test")
    assert job.total == 5  # the fulfilled order's item is not walked
    done = rescreener.run(job.id)

    assert done is not None
    assert (done.state, done.total, done.done, done.flagged, done.cleared, done.failed) == (
        "done",
        5,
        5,
        1,
        1,
        0,
    )
    # Newly flagged: a case under the new version's lead finding.
    assert shop.item("A-1", clear) == (ItemState.FLAGGED, ["terms@2:t:wobbleplonk"])
    assert shop.case(clear) == (ReviewState.OPEN, None, "terms@2")
    # Cleared by the new version: its case is closed, not decided.
    assert shop.item("A-1", flagged) == (ItemState.CLEAR, [])
    assert shop.case(flagged) == (ReviewState.CLOSED, "cleared_by_list", "terms@1")
    # Decided and blocked items keep what they were and are not even decrypted.
    assert shop.item("A-1", approved)[0] == ItemState.APPROVED
    assert shop.item("A-1", blocked) == (ItemState.BLOCKED, ["terms@1:t:grobnak"])
    assert _screening_reads(shop.svc, approved) == 0
    assert _screening_reads(shop.svc, blocked) == 0
    assert shop.item("A-2", plain) == (ItemState.CLEAR, [])
    assert _screening_reads(shop.svc, plain) == 1
    assert _screening_reads(shop.svc, gone) == 0
    changes = {e.target_id: e.details for e in shop.svc.audit.history(clear) if e.action == "item.rescreen"}
    assert changes[clear]["from"] == "clear"
    assert changes[clear]["to"] == "flagged"
    assert shop.svc.audit.verify().ok


def test_each_changed_verdict_is_told_to_the_seller_in_its_own_unit(shop: Shop) -> None:
    """A seller told "clear" at upload hears "flagged" when a new list version flags the item (and the
    reverse), through the outbox; an unchanged item queues nothing."""
    shop.import_terms(TERMS_V1)
    flagged = shop.upload("N-1", "a flurbo cake")
    clear = shop.upload("N-1", "wobbleplonk party")
    shop.upload("N-1", "plain words here")
    assert shop.svc.webhooks is not None
    shop.svc.webhooks.set(shop.seller, "https://hooks.example.com/cv", actor="test")
    shop.import_terms(TERMS_V2)
    rescreener = shop.rescreener(notifier=shop.svc.notifier)
    done = rescreener.run(rescreener.request(reason="terms@2", actor="test").id)
    assert done is not None
    assert (done.done, done.flagged, done.cleared) == (3, 1, 1)
    with shop.svc.catalog.unit() as u:
        sent = u.outbox.claim_due(shop.svc.clock() + timedelta(days=1), limit=10, lease=timedelta(minutes=1))
    bodies = sorted((json.loads(m.body) for m in sent), key=lambda b: b["decision"])
    assert [(b["type"], b["order_id"], b["item_id"], b["decision"]) for b in bodies] == [
        ("item.screened", "N-1", flagged, "clear"),
        ("item.screened", "N-1", clear, "flagged"),
    ]
    assert all(b["reason"] is None for b in bodies)


def test_a_request_joins_the_job_not_yet_started(shop: Shop) -> None:
    rescreener = shop.rescreener()
    first = rescreener.request(reason="one", actor="test")
    assert rescreener.request(reason="two", actor="test").id == first.id
    assert rescreener.run() is not None
    assert rescreener.request(reason="three", actor="test").id != first.id


def test_a_stopped_job_resumes_from_its_cursor_with_exact_totals(shop: Shop) -> None:
    shop.import_terms(TERMS_V1)
    ids = [shop.upload(f"R-{i}", f"a flurbo cake number {i}") for i in range(5)]
    ids += [shop.upload(f"R-{i}", "wobbleplonk party") for i in range(5)]
    shop.import_terms(TERMS_V2)
    job = shop.rescreener(batch_size=3).request(reason="test", actor="test")

    first = shop.rescreener(batch_size=3).run(job.id, max_batches=1)
    assert first is not None
    # Every item changes, so each of the first three counts once (which three depends on random ids).
    assert (first.state, first.done, first.cleared + first.flagged) == ("running", 3, 3)
    assert first.lease_until is None  # released: any runner may take it at once
    resumed = shop.rescreener(batch_size=3).run(job.id)
    assert resumed is not None
    assert (resumed.state, resumed.total, resumed.done, resumed.cleared, resumed.flagged) == (
        "done",
        10,
        10,
        5,
        5,
    )
    # Each item was decrypted once: the resumed runner started after the cursor.
    assert [_screening_reads(shop.svc, i) for i in ids] == [1] * 10


class PowerCut:
    """The screener of a runner that dies after `calls` screenings (the process is gone mid-batch)."""

    def __init__(self, inner: Screener, calls: int) -> None:
        self.inner, self.calls = inner, calls

    def screen(self, data: bytes, media_type: str) -> Verdict:
        if self.calls == 0:
            raise SystemExit("power cut")
        self.calls -= 1
        return self.inner.screen(data, media_type)


def test_a_dead_runners_job_is_taken_over_when_its_lease_lapses(shop: Shop, clock: FrozenClock) -> None:
    shop.import_terms(TERMS_V1)
    ids = [shop.upload(f"D-{i}", "a flurbo cake") for i in range(4)]
    shop.import_terms(TERMS_V2)
    dead = Rescreener(shop.svc.vault, PowerCut(shop.svc.screener, 3), batch_size=2, lease_seconds=60)
    job = dead.request(reason="test", actor="test")
    with pytest.raises(SystemExit):
        dead.run(job.id)
    # One batch and one changed item of the next were committed, each change with its count.
    crashed = dead.get(job.id)
    assert (crashed.state, crashed.done, crashed.cleared) == ("running", 3, 3)
    other = shop.rescreener(batch_size=2, lease_seconds=60)
    assert other.run(job.id) is None  # the dead runner's lease still holds
    clock.advance(timedelta(seconds=61))
    done = other.run(job.id)
    assert done is not None
    assert (done.state, done.total, done.done, done.cleared) == ("done", 4, 4, 4)
    # Only the item being screened when the power went was decrypted twice.
    assert sorted(_screening_reads(shop.svc, i) for i in ids) == [1, 1, 1, 2]
    # The dead runner, back from the dead, may write nothing more.
    with shop.svc.catalog.unit() as u:
        assert not u.rescreens.advance(job.id, dead.runner, cursor="", done=1, now=clock(), until=clock())


def test_an_item_uploaded_during_the_walk_is_walked_too(shop: Shop, clock: FrozenClock) -> None:
    shop.import_terms(TERMS_V1)
    shop.upload("U-1", "plain words")
    shop.import_terms(TERMS_V2)
    rescreener = shop.rescreener(batch_size=1)
    job = rescreener.request(reason="test", actor="test")
    assert job.total == 1
    assert rescreener.run(job.id, max_batches=1) is not None
    clock.advance(timedelta(seconds=1))
    late = shop.upload("U-2", "an old upload of wobbleplonk")  # screened at upload with v2: flagged already
    done = rescreener.run(job.id)
    assert done is not None
    assert (done.done, done.total) == (2, 2)
    assert _screening_reads(shop.svc, late) == 1


class Slow:
    """A screener that takes half a second of the test clock per item."""

    def __init__(self, inner: Screener, clock: FrozenClock) -> None:
        self.inner, self.clock = inner, clock

    def screen(self, data: bytes, media_type: str) -> Verdict:
        self.clock.advance(timedelta(milliseconds=500))
        return self.inner.screen(data, media_type)


def test_the_rate_is_items_per_second_since_the_job_started(shop: Shop, clock: FrozenClock) -> None:
    for i in range(4):
        shop.upload(f"S-{i}", "plain words")
    rescreener = Rescreener(shop.svc.vault, Slow(shop.svc.screener, clock), batch_size=3)
    done = rescreener.run(rescreener.request(reason="test", actor="test").id)
    assert done is not None
    assert (done.done, rate_of(done)) == (4, 2.0)
