"""Re-screening: every open order's items screened again with the current list versions.

A job walks the items of open orders (not fulfilled, cancelled, expired or purged) in upload order
from its cursor, in batches. Each clear or flagged item is decrypted under its order's key (audited
as an `item.read` with purpose "screening"), screened by the process's current engines, and — only
if the outcome differs — changed in one unit of work with its findings, its review case and an
`item.rescreen` audit event and, when a notifier is given, the seller's `item.screened` notification
with the new verdict (the seller was told the old one; a fetch now answers differently):

    clear   → flagged   findings replaced, a review case opened under the lead finding   (flagged)
    clear   → blocked   findings replaced, no case (as at upload)                        (flagged)
    flagged → blocked   findings replaced, the live case stays for a reviewer            (flagged)
    flagged → clear     findings replaced, the live case closed as `cleared_by_list`     (cleared)

Decided items (approved, rejected) keep their decision and blocked items stay blocked: they are
counted as walked but not decrypted. A block leaves only through an appeal, and a list that stops
matching is not a reviewer's judgement; keeping it is the conservative reading.

Resumable: the cursor and the counters are committed after each batch and in the same unit as each
change, so a crash loses no count and re-walks at most one batch (whose changed items then screen as
unchanged). A job is leased to one runner; a runner that stops releases it, one that dies loses it
when the lease lapses, and the next runner (a worker, `serve`, or `lists rescreen --wait`) resumes it
from the cursor. Items uploaded while a job runs sort after the cursor and are walked too.
"""

from __future__ import annotations

import enum
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from customization_vault.catalog import FindingView, ItemView, OrderView, RescreenJobView, WalkItem
from customization_vault.clock import Clock
from customization_vault.content import ScreenedNotifier, open_review_case
from customization_vault.counters import Counters
from customization_vault.errors import BlobNotFound, IntegrityError, KeyDestroyed, RescreenJobNotFound
from customization_vault.lifecycle import ItemState, OrderState, check_item, item_state_for
from customization_vault.periodic import Periodic
from customization_vault.vault import Vault
from screening.composite import UnscreenableInput
from screening.findings import Finding, Verdict
from screening.screener import Screener

__all__ = ["Change", "Progress", "RescreenWorker", "Rescreener", "rate_of"]

log = logging.getLogger(__name__)

Progress = Callable[[RescreenJobView], None]
CLEARED_BY_LIST = "cleared_by_list"
_SCREENED = (ItemState.CLEAR, ItemState.FLAGGED)


class Change(enum.StrEnum):
    UNCHANGED = "unchanged"
    FLAGGED = "flagged"
    CLEARED = "cleared"
    FAILED = "failed"


def rate_of(job: RescreenJobView) -> float | None:
    """Items walked per second since the job started (until it finished, or its last commit)."""
    if job.started_at is None:
        return None
    end = job.finished_at or job.updated_at
    seconds = (end - job.started_at).total_seconds()
    return round(job.done / seconds, 2) if seconds > 0 else None


@dataclass(slots=True)
class _Tally:
    """Counts since the last commit of the job row."""

    done: int = 0
    counts: dict[Change, int] = field(default_factory=dict)

    def add(self, change: Change) -> None:
        self.done += 1
        self.counts[change] = self.counts.get(change, 0) + 1

    def values(self) -> dict[str, int]:
        return {
            "done": self.done,
            "flagged": self.counts.get(Change.FLAGGED, 0),
            "cleared": self.counts.get(Change.CLEARED, 0),
            "failed": self.counts.get(Change.FAILED, 0),
        }


_Opened = tuple[ItemView, Callable[[], Iterator[bytes]]]


class _LeaseLost(Exception):
    """Another runner took the job over (our lease lapsed): stop without writing."""


def _same_findings(old: Sequence[FindingView], new: Sequence[Finding]) -> bool:
    """Same matches at the same places; the list version that found them is not compared (an entry
    found again by a newer version keeps the finding the older one recorded)."""

    def keys(fs: Sequence[FindingView | Finding]) -> list[tuple[object, ...]]:
        return sorted((str(f.kind), f.entry, str(f.severity), f.span or (), f.region or ()) for f in fs)

    return keys(old) == keys(new)


class Rescreener:
    def __init__(
        self,
        vault: Vault,
        screener: Screener,
        *,
        refresh: Callable[[], object] | None = None,
        batch_size: int = 100,
        lease_seconds: float = 300,
        clock: Clock | None = None,
        runner: str | None = None,
        actor: str = "rescreen",
        notifier: ScreenedNotifier | None = None,
    ) -> None:
        self.vault = vault
        self.notifier = notifier
        self.screener = screener
        self._refresh = refresh  # brings the screener to the newest lists before and during a walk
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock or vault.clock
        self.runner = runner or f"rescreen-{secrets.token_hex(4)}"
        self.actor = actor

    # ------------------------------------------------------------------ jobs
    def request(self, *, reason: str, actor: str) -> RescreenJobView:
        """A job over every open order's items; joins the job still waiting to start, if there is one
        (it will screen with the same, newest lists)."""
        with self.vault.catalog.unit() as u:
            waiting = u.rescreens.pending()
            if waiting is not None:
                return waiting
            job = u.rescreens.create(
                reason=reason, by=actor, total=u.rescreens.count_items(), now=self.clock()
            )
            self.vault.audit.record(
                u,
                actor=actor,
                action="rescreen.request",
                target_type="rescreen",
                target_id=job.id,
                details={"total": job.total},
            )
            return job

    def get(self, job_id: str) -> RescreenJobView:
        with self.vault.catalog.unit() as u:
            job = u.rescreens.get(job_id)
        if job is None:
            raise RescreenJobNotFound("no such re-screen job")
        return job

    def latest(self, limit: int = 10) -> list[RescreenJobView]:
        with self.vault.catalog.unit() as u:
            return u.rescreens.latest(limit)

    # ------------------------------------------------------------------ running
    def run(
        self,
        job_id: str | None = None,
        *,
        max_batches: int | None = None,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> RescreenJobView | None:
        """Claim a job (`job_id`, else the oldest waiting or abandoned one) and walk it to the end, or
        for `max_batches` batches, or until `stop` is set (then the lease is released at once, so any
        runner resumes it). None when there was nothing to claim."""
        now = self.clock()
        with self.vault.catalog.unit() as u:
            job = u.rescreens.claim(now, now + self.lease, self.runner, job_id=job_id)
        if job is None:
            return None
        log.info("%s runs re-screen %s from %s", self.runner, job.id, job.cursor or "the start")
        cursor, batches = job.cursor, 0
        try:
            while True:
                if (stop is not None and stop.is_set()) or (
                    max_batches is not None and batches >= max_batches
                ):
                    return self._release(job.id)
                if self._refresh is not None:
                    self._refresh()
                with self.vault.catalog.unit() as u:
                    walk = u.rescreens.items_after(cursor, self.batch_size)
                    orders = {o.id: o for o in u.orders.many(sorted({w.order_id for w in walk}))}
                if not walk:
                    return self._finish(job.id)
                tally = _Tally()
                opened = self._open(walk, orders)
                for w in walk:
                    self._walk_one(job.id, w, orders.get(w.order_id), opened, tally)
                cursor = walk[-1].item_id
                self._advance(job.id, cursor, tally)
                batches += 1
                if progress is not None:
                    progress(self.get(job.id))
        except _LeaseLost:
            log.warning("%s lost re-screen %s to another runner", self.runner, job.id)
            return self.get(job.id)

    def _advance(self, job_id: str, cursor: str, tally: _Tally) -> None:
        now = self.clock()
        with self.vault.catalog.unit() as u:
            if not u.rescreens.advance(
                job_id, self.runner, cursor=cursor, now=now, until=now + self.lease, **tally.values()
            ):
                raise _LeaseLost

    def _release(self, job_id: str) -> RescreenJobView:
        now = self.clock()
        with self.vault.catalog.unit() as u:
            u.rescreens.release(job_id, self.runner, now=now)
        return self.get(job_id)

    def _finish(self, job_id: str) -> RescreenJobView:
        now = self.clock()
        with self.vault.catalog.unit() as u:
            if not u.rescreens.finish(job_id, self.runner, state="done", now=now):
                raise _LeaseLost
            job = u.rescreens.get(job_id)
            assert job is not None
            self.vault.audit.record(
                u,
                actor=self.actor,
                action="rescreen.finish",
                target_type="rescreen",
                target_id=job_id,
                details={
                    "done": job.done,
                    "flagged": job.flagged,
                    "cleared": job.cleared,
                    "failed": job.failed,
                },
            )
        log.info(
            "re-screen %s done: %d items, %d flagged, %d cleared, %d failed",
            job_id,
            job.done,
            job.flagged,
            job.cleared,
            job.failed,
        )
        return job

    # ------------------------------------------------------------------ one item
    def _open(self, walk: Sequence[WalkItem], orders: dict[str, OrderView]) -> dict[str, _Opened]:
        """The batch's items to screen, opened per order: one key unwrap and one audit lock per order
        (each read is still its own `item.read` event), blobs fetched one at a time as the walk goes."""
        wanted: dict[str, list[str]] = {}
        for w in walk:
            order = orders.get(w.order_id)
            if w.state in _SCREENED and order is not None and order.state == OrderState.OPEN:
                wanted.setdefault(w.order_id, []).append(w.item_id)
        opened: dict[str, _Opened] = {}
        for order_id, item_ids in wanted.items():
            try:
                found = self.vault.content.open_items(
                    orders[order_id], item_ids, actor=self.actor, purpose="screening"
                )
            except KeyDestroyed:  # shredded since the walk read it: its items count as failed
                log.warning("re-screen found order %s shredded", order_id)
                continue
            opened.update((item.id, (item, opener)) for item, opener in found)
        return opened

    def _walk_one(
        self, job_id: str, w: WalkItem, order: OrderView | None, opened: dict[str, _Opened], tally: _Tally
    ) -> None:
        if w.state not in _SCREENED or order is None or order.state != OrderState.OPEN:
            tally.add(Change.UNCHANGED)  # decided or blocked: kept as it is, not decrypted
            return
        found = opened.get(w.item_id)
        verdict = None if found is None else self._screen(*found)
        if verdict is not None and found is not None:
            from screening.text.register import for_product  # lazily: CLI start-up loads no engine

            verdict = for_product(verdict, found[0].product or order.product)
        if found is None or verdict is None:
            tally.add(Change.FAILED)
            return
        item = found[0]
        if item_state_for(verdict.kind) == item.state and _same_findings(item.findings, verdict.findings):
            tally.add(Change.UNCHANGED)
            return
        self._apply(job_id, order, item, verdict, tally)

    def _screen(self, item: ItemView, opener: Callable[[], Iterator[bytes]]) -> Verdict | None:
        """Decrypt and screen; None when the item cannot be read or parsed (counted failed). A backend
        that does not answer raises: the job stops and is resumed from its cursor later."""
        try:
            data = b"".join(opener())
        except (BlobNotFound, IntegrityError) as exc:
            log.warning("re-screen could not read item %s (%s)", item.id, type(exc).__name__)
            return None
        try:
            return self.screener.screen(data, item.content_type)
        except UnscreenableInput as exc:
            log.warning("re-screen could not screen item %s (%s)", item.id, exc.cause)
            return None

    def _apply(self, job_id: str, order: OrderView, item: ItemView, verdict: Verdict, tally: _Tally) -> None:
        """Write the new outcome, re-checked under the order's lock: an item a reviewer decided (or a
        purge took) since it was read is left alone."""
        with self.vault.catalog.unit() as u:
            current = u.orders.lock(order.id)
            fresh = u.items.get(item.id, order_id=order.id)
            if (
                current is None
                or current.state != OrderState.OPEN
                or fresh is None
                or fresh.state != item.state
            ):
                tally.add(Change.UNCHANGED)
                return
            now = self.clock()
            old, new = item.state, item_state_for(verdict.kind)
            change = Change.UNCHANGED
            case: str | None = None
            if new != old:
                check_item(old, new)
                change = Change.CLEARED if new == ItemState.CLEAR else Change.FLAGGED
            if old == ItemState.CLEAR and new == ItemState.FLAGGED:
                case = open_review_case(u, item.id, order, verdict, now).id
            elif new == ItemState.CLEAR:
                closed = u.reviews.close_live(reason=CLEARED_BY_LIST, now=now, item_id=item.id)
                case = closed[0] if closed else None
            u.items.rescreened(item.id, new, verdict.kind, now)
            u.findings.replace(item.id, verdict.findings)
            self.vault.audit.record(
                u,
                actor=self.actor,
                action="item.rescreen",
                target_type="item",
                target_id=item.id,
                details={
                    "order_id": order.id,
                    "job_id": job_id,
                    "from": old.value,
                    "to": new.value,
                    "verdict": verdict.kind.value,
                    "findings": len(verdict.findings),
                    "case_id": case,
                },
            )
            if new != old and self.notifier is not None:  # in the change's unit: both or neither
                self.notifier.item_screened(
                    u,
                    seller_id=order.seller_id,
                    order_external_id=order.external_id,
                    item_id=item.id,
                    verdict=verdict.kind.value,
                    reason=None,
                    now=now,
                )
            tally.add(change)
            # The change and its count commit together: a crash after this cannot count it twice.
            if not u.rescreens.advance(
                job_id, self.runner, cursor=item.id, now=now, until=now + self.lease, **tally.values()
            ):
                raise _LeaseLost
            tally.done, tally.counts = 0, {}


class RescreenWorker(Periodic):
    """Runs waiting (or abandoned) re-screen jobs in a daemon thread, checking every `interval` s."""

    thread_prefix = "rescreen"
    error_counter = "rescreen_failures"  # the job keeps its cursor: resumed at the next check

    def __init__(self, rescreener: Rescreener, *, interval: float = 10) -> None:
        super().__init__()
        self.rescreener = rescreener
        self.interval = interval
        self.name = rescreener.runner
        self.metrics = Counters()

    @property
    def interval_seconds(self) -> float:
        return self.interval

    def run_once(self) -> int:
        return self.run_pending()

    def run_pending(self) -> int:
        """Run jobs until none is waiting (or stop is asked); how many were run."""
        ran = 0
        while not self._stop.is_set() and self.rescreener.run(stop=self._stop) is not None:
            ran += 1
        if ran:
            self.metrics.inc("jobs_run", ran)
        return ran
