"""Screening jobs on both backend families: enqueued with the item, claimed with leases, recorded once,
crashes counted, unscreenable items sent to review, purged orders' jobs cancelled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from customization_vault.catalog import JobView, OrderView
from customization_vault.clock import FrozenClock
from customization_vault.content import UNSCREENABLE, NewItem
from customization_vault.lifecycle import ItemState, JobState
from customization_vault.screening_jobs import ScreeningWorker, WorkerSettings
from screening.findings import Finding, FindingKind, Severity, Verdict
from screening.isolation import ScreeningCrashed, ScreeningUnavailableError

LEASE = 30.0


class Scripted:
    """A screener that answers from a script, one entry per call: a Verdict, or an exception to raise."""

    def __init__(self, *answers: Verdict | BaseException) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[bytes, str]] = []

    def screen(self, data: bytes, media_type: str) -> Verdict:
        self.seen.append((data, media_type))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


FLAG = Verdict.of([Finding(FindingKind.TRADEMARK, "marks@1", "acme", 0.97, Severity.REVIEW, span=(0, 4))])


def _order(svc: Any, name: str = "o-1") -> OrderView:
    seller = svc.vault.orders.ensure_seller("seller-a")
    order, _ = svc.vault.orders.create(seller, name, actor="test")
    return order


def _upload(svc: Any, order: OrderView, data: bytes = b"Happy birthday Ana") -> str:
    item, created = svc.vault.content.put_item(
        order, [data], NewItem(kind="text", content_type="text/plain; charset=utf-8", verdict=None), actor="t"
    )
    assert created
    assert item.state == ItemState.RECEIVED
    return item.id


def _worker(svc: Any, screener: Any, name: str) -> ScreeningWorker:
    return ScreeningWorker(
        svc.vault.content,
        svc.vault.orders,
        screener,
        settings=WorkerSettings(threads=1, lease_seconds=LEASE, retry_seconds=5),
        clock=svc.clock,
        name=name,
    )


def _job(svc: Any, item_id: str) -> JobView:
    with svc.catalog.unit() as u:
        job = u.jobs.for_item(item_id)
    assert job is not None
    return job


def test_an_upload_is_stored_received_with_its_job_and_a_worker_records_the_verdict(services: Any) -> None:
    order = _order(services)
    item_id = _upload(services, order)
    assert _job(services, item_id).state == JobState.QUEUED
    screener = Scripted(FLAG)
    outcome = _worker(services, screener, "w1").run_once()
    assert [o.outcome for o in outcome] == ["flagged"]
    # The worker screened the decrypted bytes under the media type without its parameters.
    assert screener.seen == [(b"Happy birthday Ana", "text/plain")]
    item = services.vault.content.get_item(order, item_id)
    assert (item.state, item.verdict) == (ItemState.FLAGGED, "flagged")
    assert [f.entry for f in item.findings] == ["acme"]
    with services.catalog.unit() as u:
        case = u.reviews.latest_for_items([item_id])[item_id]
    assert (case.kind, case.list_ref) == ("trademark", "marks@1")
    assert _job(services, item_id).state == JobState.DONE
    actions = [e.action for e in services.audit.history(item_id)]
    assert actions == ["item.put", "item.read", "item.screened"]
    assert _worker(services, Scripted(), "w2").run_once() == []  # nothing left to claim


def test_claims_are_disjoint_and_a_job_is_recorded_only_by_its_lease_holder(
    services: Any, clock: FrozenClock
) -> None:
    order = _order(services)
    items = [_upload(services, order, f"text {n}".encode()) for n in range(3)]
    a, b = _worker(services, Scripted(), "wa"), _worker(services, Scripted(), "wb")
    first = a._claim(limit=2)
    second = b._claim(limit=2)
    assert len(first) == 2
    assert len(second) == 1
    assert {j.item_id for j in first} | {j.item_id for j in second} == set(items)
    # a's lease lapses (a is frozen, not dead to itself): b takes the job over and a's late write is lost.
    clock.advance(timedelta(seconds=LEASE + 1))
    taken = b._claim(limit=1)
    assert [j.id for j in taken] == [first[0].id]
    assert taken[0].crashes == 1
    assert services.vault.content.record_screening(first[0], "wa", Verdict.of(()), actor="t") is None
    recorded = services.vault.content.record_screening(taken[0], "wb", FLAG, actor="t")
    assert recorded is not None
    assert recorded.state == ItemState.FLAGGED
    screened = [e for e in services.audit.history(first[0].item_id) if e.action == "item.screened"]
    assert len(screened) == 1


def test_a_live_worker_renews_its_leases(services: Any, clock: FrozenClock) -> None:
    order = _order(services)
    _upload(services, order)
    a = _worker(services, Scripted(), "wa")
    [job] = a._claim(limit=1)
    clock.advance(timedelta(seconds=LEASE * 0.9))
    with services.catalog.unit() as u:
        assert u.jobs.renew([job.id], "wa", clock() + timedelta(seconds=LEASE)) == 1
        assert u.jobs.renew([job.id], "someone-else", clock() + timedelta(seconds=LEASE)) == 0
    clock.advance(timedelta(seconds=LEASE * 0.9))
    assert _worker(services, Scripted(), "wb")._claim(limit=1) == []


def test_an_item_that_crashes_screening_twice_is_unscreenable_and_goes_to_review(services: Any) -> None:
    order = _order(services)
    item_id = _upload(services, order)
    screener = Scripted(ScreeningCrashed("signal:11"), ScreeningCrashed("signal:11"))
    worker = _worker(services, screener, "w1")
    assert [o.outcome for o in worker.run_once()] == ["crashed"]
    assert (_job(services, item_id).state, _job(services, item_id).crashes) == (JobState.QUEUED, 1)
    assert services.vault.content.get_item(order, item_id).state == ItemState.RECEIVED
    assert [o.outcome for o in worker.run_once()] == ["unscreenable"]
    item = services.vault.content.get_item(order, item_id)
    assert (item.state, item.verdict, item.findings) == (ItemState.FLAGGED, "flagged", ())
    job = _job(services, item_id)
    assert (job.state, job.last_error) == (JobState.UNSCREENABLE, "crashed:signal:11")
    with services.catalog.unit() as u:
        assert u.reviews.latest_for_items([item_id])[item_id].kind == UNSCREENABLE


def test_a_worker_killed_twice_on_an_item_makes_it_unscreenable_without_screening_it_again(
    services: Any, clock: FrozenClock
) -> None:
    order = _order(services)
    item_id = _upload(services, order)
    for name in ("dies-1", "dies-2"):
        assert len(_worker(services, Scripted(), name)._claim(limit=1)) == 1
        clock.advance(timedelta(seconds=LEASE + 1))  # the worker died: its lease lapses
    screener = Scripted()
    assert [o.outcome for o in _worker(services, screener, "w3").run_once()] == ["unscreenable"]
    assert screener.seen == []  # a third worker is not offered the item that killed two
    assert services.vault.content.get_item(order, item_id).state == ItemState.FLAGGED


def test_an_item_no_engine_can_parse_is_unscreenable(services: Any) -> None:
    from screening.composite import UnscreenableInput

    order = _order(services)
    item_id = _upload(services, order)
    _worker(services, Scripted(UnscreenableInput("font", "FontParseError")), "w1").run_once()
    job = _job(services, item_id)
    assert (job.state, job.crashes, job.last_error) == (
        JobState.UNSCREENABLE,
        0,
        "unparseable:FontParseError",
    )
    assert services.vault.content.get_item(order, item_id).state == ItemState.FLAGGED


def test_a_failing_backend_is_retried_later_without_counting_a_crash(
    services: Any, clock: FrozenClock
) -> None:
    order = _order(services)
    item_id = _upload(services, order)
    worker = _worker(services, Scripted(ScreeningUnavailableError("no engines"), Verdict.of(())), "w1")
    assert [o.outcome for o in worker.run_once()] == ["retry"]
    job = _job(services, item_id)
    assert (job.state, job.crashes, job.last_error) == (JobState.QUEUED, 0, "ScreeningUnavailableError")
    assert worker.run_once() == []  # not before its retry time
    clock.advance(timedelta(seconds=6))
    assert [o.outcome for o in worker.run_once()] == ["clear"]


def test_text_jobs_are_claimed_before_older_image_jobs(services: Any, clock: FrozenClock) -> None:
    order = _order(services)
    images = []
    for n in range(2):
        item, _ = services.vault.content.put_item(
            order,
            [b"\x89PNG %d" % n],
            NewItem(kind="image", content_type="image/png", verdict=None),
            actor="t",
        )
        images.append(item.id)
        clock.advance(timedelta(seconds=1))
    text = _upload(services, order)  # enqueued last
    worker = _worker(services, Scripted(), "w1")
    assert [j.item_id for j in worker._claim(limit=2)] == [text, images[0]]
    assert [j.item_id for j in worker._claim(limit=2)] == [images[1]]


def test_the_loop_leaves_an_order_alone_while_its_upload_screens_its_own_item(services: Any) -> None:
    order, other = _order(services), _order(services, "o-2")
    mine, theirs = _upload(services, order), _upload(services, other)
    worker = _worker(services, Scripted(), "w1")
    with worker.reserve(order.id):
        assert [j.item_id for j in worker._claim(limit=2, loop=True)] == [theirs]
        # The upload's own claim (by item) is not held back, nor is another worker's.
        assert [j.item_id for j in worker._claim(limit=1, item_id=mine)] == [mine]
    _upload(services, order, b"later")
    assert len(worker._claim(limit=2, loop=True)) == 1  # released: the loop takes the order's jobs again


def test_drain_screens_every_due_job_and_stops_at_one_waiting_for_its_retry(services: Any) -> None:
    order = _order(services)
    crashing, clear, later = (_upload(services, order, name) for name in (b"crash", b"fine", b"outage"))
    # "crash" kills its screening process twice (requeued due at once, then unscreenable), "fine"
    # clears, "outage" meets a failing backend and waits for its retry time: the drain ends there.
    scripts = {
        b"crash": Scripted(ScreeningCrashed("signal:11"), ScreeningCrashed("signal:11")),
        b"fine": Scripted(Verdict.of(())),
        b"outage": Scripted(ScreeningUnavailableError("no engines")),
    }

    class ByItem:
        def screen(self, data: bytes, media_type: str) -> Verdict:
            return scripts[data].screen(data, media_type)

    outcomes = _worker(services, ByItem(), "w1").drain()
    assert sorted((o.item_id, o.outcome) for o in outcomes) == sorted(
        [(crashing, "crashed"), (crashing, "unscreenable"), (clear, "clear"), (later, "retry")]
    )
    assert _job(services, later).state == JobState.QUEUED
    assert all(script.answers == [] for script in scripts.values())


@pytest.mark.parametrize("when", ["before the claim", "while screening"])
def test_a_job_of_an_order_that_left_open_is_cancelled_and_writes_nothing(services: Any, when: str) -> None:
    order = _order(services)
    item_id = _upload(services, order)
    purger = services.purger

    class PurgeMidway(Scripted):
        def screen(self, data: bytes, media_type: str) -> Verdict:
            purger.run(purger.mark(order, "fulfilled", actor="t").id, actor="t")
            return FLAG

    if when == "before the claim":
        purger.run(purger.mark(order, "fulfilled", actor="t").id, actor="t")
        screener: Scripted = Scripted(FLAG)
    else:
        screener = PurgeMidway()
    outcome = _worker(services, screener, "w1").run_once()
    assert [o.outcome for o in outcome] == [
        "cancelled" if when == "before the claim" else "lost_or_cancelled"
    ]
    assert _job(services, item_id).state == JobState.CANCELLED
    with services.catalog.unit() as u:
        item = u.items.get(item_id, order_id=order.id)
        assert item is not None
        assert item.findings == ()
        assert u.reviews.latest_for_items([item_id]) == {}


def test_a_seller_with_a_webhook_is_told_when_the_verdict_lands(services: Any, clock: FrozenClock) -> None:
    import json

    from customization_vault.notifications import Notifier, WebhookBook

    order = _order(services)
    WebhookBook(services.catalog, services.audit, clock=clock).set(
        order.seller_id, "https://seller.test/h", actor="t"
    )
    flagged, unscreenable = _upload(services, order, b"ACME mug"), _upload(services, order, b"odd")

    class ByContent:
        def screen(self, data: bytes, media_type: str) -> Verdict:
            if data.startswith(b"ACME"):
                return FLAG
            raise ScreeningCrashed("timeout")

    screener = ByContent()
    worker = ScreeningWorker(
        services.vault.content,
        services.vault.orders,
        screener,
        settings=WorkerSettings(threads=1, lease_seconds=LEASE),
        clock=clock,
        name="w1",
        notifier=Notifier(),
    )
    while worker.run_once():
        pass
    with services.catalog.unit() as u:
        due = u.outbox.claim_due(clock(), limit=10, lease=timedelta(seconds=30))
    bodies = sorted((json.loads(m.body) for m in due), key=lambda b: b["decision"] + str(b["reason"]))
    assert [(b["type"], b["order_id"], b["item_id"], b["decision"], b["reason"]) for b in bodies] == [
        ("item.screened", "o-1", flagged, "flagged", None),
        ("item.screened", "o-1", unscreenable, "flagged", "unscreenable"),
    ]
