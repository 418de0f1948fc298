"""Screening as a durable job: workers claim an item's job, decrypt the item, screen it, record the verdict.

Any number of workers, in any number of processes and machines, share the one queue in the catalog
(`catalog/jobs.py`): claims are `FOR UPDATE SKIP LOCKED` with a lease, so a worker killed mid-job
loses nothing — its job returns when the lease lapses, counted as a crash of the item. An item that
crashed screening twice (a decoder bug, a bomb past the limits) is recorded as unscreenable and goes to
review, never to clear. Backend failures (blob store, key service, database) are not the item's fault:
the job is retried later without counting a crash. Nothing here is process-local but the threads.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from customization_vault.catalog import Catalog, DatabaseUnavailable, ItemView, JobView
from customization_vault.catalog.jobs import QueueDepth
from customization_vault.clock import Clock, system_clock
from customization_vault.content import ContentVault, ScreenedNotifier
from customization_vault.errors import BackendError, KeyUnavailable, NotFound, StateConflict
from customization_vault.lifecycle import JobState, OrderState
from customization_vault.orders import OrderBook
from screening.composite import UnscreenableInput
from screening.findings import Verdict
from screening.isolation import ScreeningCrashed, ScreeningUnavailableError
from screening.screener import Screener

__all__ = ["JobOutcome", "QueueDepth", "ScreeningWorker", "WorkerSettings", "queue_depth"]

log = logging.getLogger(__name__)

# A crash is counted each time an item kills a screening process or outlives a worker's lease; at this
# many the item is unscreenable (a second try rules out a worker dying for reasons of its own).
MAX_CRASHES = 2


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """`threads`: jobs screened at once (one per screening process); `lease_seconds`: how long a claimed
    job is left alone without a heartbeat. A live worker renews its jobs' leases every third of that,
    so only a dead (or frozen) worker's jobs return to the queue, however long an item takes."""

    threads: int = 2
    lease_seconds: float = 30.0
    poll_seconds: float = 0.25
    retry_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What one job came to: `verdict` (clear, flagged, blocked), `unscreenable`, `retry`, `crashed`
    (requeued after a crash), `cancelled` (the order left open) or `lost` (another worker holds it)."""

    job_id: str
    item_id: str
    outcome: str


def queue_depth(catalog: Catalog) -> QueueDepth:
    """Jobs waiting and running, and the oldest one's age: how far behind screening is."""
    with catalog.unit() as u:
        return u.jobs.depth()


def media_type_of(content_type: str) -> str:
    """The stored content type without parameters ("text/plain; charset=utf-8" → "text/plain")."""
    return content_type.split(";", 1)[0].strip().lower()


class ScreeningWorker:
    """Claims and screens jobs: in a loop (`start`), one batch (`run_once`), or one item now (`submit`)."""

    def __init__(
        self,
        content: ContentVault,
        orders: OrderBook,
        screener: Screener,
        *,
        settings: WorkerSettings | None = None,
        clock: Clock = system_clock,
        name: str | None = None,
        actor: str = "screening-worker",
        on_outcome: Callable[[JobOutcome], None] | None = None,
        notifier: ScreenedNotifier | None = None,
    ) -> None:
        self.content = content
        self.orders = orders
        self.screener = screener
        self.settings = settings or WorkerSettings()
        self.clock = clock
        self.name = name or f"screen-{secrets.token_hex(4)}"
        self.actor = actor
        self._on_outcome = on_outcome
        self._notifier = notifier
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._inflight: set[str] = set()
        self._inflight_lock = threading.Lock()
        # Orders with an upload in this process that will screen its own item (`reserve`).
        self._reserved: Counter[str] = Counter()
        self._heartbeat: threading.Thread | None = None
        # Items screened now for a waiting upload; bounded so a burst cannot start unbounded threads.
        self._now = ThreadPoolExecutor(max_workers=2 * self.settings.threads, thread_name_prefix=self.name)
        # Text's own lane: its ~1 ms screening must not wait in `_now` behind images' OCR.
        self._now_text = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{self.name}-text")

    def __repr__(self) -> str:
        return f"ScreeningWorker(name={self.name!r}, threads={self.settings.threads})"

    # ------------------------------------------------------------------ claiming
    def _claim(self, *, limit: int, item_id: str | None = None, loop: bool = False) -> list[JobView]:
        now = self.clock()
        until = now + timedelta(seconds=self.settings.lease_seconds)
        skip: list[str] = []
        if loop:
            with self._inflight_lock:
                skip = list(self._reserved)
        with self.content.catalog.unit() as u:
            return u.jobs.claim(now, until, self.name, limit=limit, item_id=item_id, skip_orders=skip)

    def run_once(self, limit: int | None = None) -> list[JobOutcome]:
        """Claim up to `limit` due jobs (default: `threads`) and screen them one after another."""
        jobs = self._claim(limit=limit or self.settings.threads)
        return [self.run(job) for job in jobs]

    def drain(self) -> list[JobOutcome]:
        """Screen every job that is due now, one batch after another, until none is left (`worker
        --once`). A job put back for a later retry is not due and ends the drain; one put back after
        a crash is due at once and runs again, so the drain ends with it screened or unscreenable."""
        outcomes: list[JobOutcome] = []
        while batch := self.run_once():
            outcomes.extend(batch)
        return outcomes

    def submit(self, item_id: str, *, text: bool = False) -> Future[JobOutcome | None]:
        """Screen this item's job now if it is still waiting (an upload waits on the result); None when
        another worker already holds it. Runs in the caller's context, so what it logs carries the
        upload's request id. `text` items go to their own lane, never behind images."""
        pool = self._now_text if text else self._now
        return pool.submit(contextvars.copy_context().run, self._run_item, item_id)

    @contextmanager
    def reserve(self, order_id: str) -> Iterator[None]:
        """While an upload stores an item and then screens it with `submit`, this worker's loop leaves
        the order's jobs alone: the upload screens its own item, in its own context (its log lines
        carry the request's id), instead of racing the loop for it between the store and the
        submit. Other workers are not bound by it (the job is theirs if this process dies)."""
        with self._inflight_lock:
            self._reserved[order_id] += 1
        try:
            yield
        finally:
            with self._inflight_lock:
                self._reserved[order_id] -= 1
                if self._reserved[order_id] <= 0:
                    del self._reserved[order_id]

    def _run_item(self, item_id: str) -> JobOutcome | None:
        jobs = self._claim(limit=1, item_id=item_id)
        return self.run(jobs[0]) if jobs else None

    # ------------------------------------------------------------------ one job
    def run(self, job: JobView) -> JobOutcome:
        """Screen one claimed job and record its outcome; never raises for the item's sake."""
        self._ensure_heartbeat()
        with self._inflight_lock:
            self._inflight.add(job.id)
        try:
            outcome = self._run(job)
        except (BackendError, DatabaseUnavailable, ScreeningUnavailableError) as exc:
            outcome = self._requeue(job, crashed=False, error=type(exc).__name__)
        finally:
            with self._inflight_lock:
                self._inflight.discard(job.id)
        self._report(outcome)
        return outcome

    def _ensure_heartbeat(self) -> None:
        with self._inflight_lock:
            if self._heartbeat is not None:
                return
            self._heartbeat = threading.Thread(target=self._beat, name=f"{self.name}-lease", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        """Renew the leases of the jobs in flight, every third of a lease, until the worker stops."""
        period = self.settings.lease_seconds / 3
        while not self._stop.wait(period):
            with self._inflight_lock:
                ids = sorted(self._inflight)
            if not ids:
                continue
            until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
            try:
                with self.content.catalog.unit() as u:
                    u.jobs.renew(ids, self.name, until)
            except (DatabaseUnavailable, BackendError) as exc:  # the lease may lapse: the job is retried
                log.warning("%s: lease renewal failed (%s)", self.name, type(exc).__name__)

    def _run(self, job: JobView) -> JobOutcome:
        if job.crashes >= MAX_CRASHES:
            return self._record(job, None, reason="crashed")
        try:
            order = self.orders.get(job.order_id)
            item, chunks = self.content.open_item(order, job.item_id, actor=self.actor, purpose="screening")
            data = b"".join(chunks)
        except (NotFound, KeyUnavailable, StateConflict):
            return self._unreadable(job)
        try:
            from screening.text.register import for_product  # lazily: CLI start-up loads no engine

            verdict = for_product(
                self.screener.screen(data, media_type_of(item.content_type)), item.product or order.product
            )
        except UnscreenableInput as exc:
            return self._record(job, None, reason=f"unparseable:{exc.cause}"[:64])
        except ScreeningCrashed as exc:
            return self._crashed(job, exc.cause)
        except (BackendError, DatabaseUnavailable, ScreeningUnavailableError):
            raise
        except Exception as exc:  # an engine bug on this item, screened in this process
            log.warning("screening raised %s on an item", type(exc).__name__)
            return self._crashed(job, type(exc).__name__)
        finally:
            del data
        return self._record(job, verdict, reason=None)

    def _crashed(self, job: JobView, cause: str) -> JobOutcome:
        if job.crashes + 1 >= MAX_CRASHES:
            return self._record(job, None, reason=f"crashed:{cause}"[:64])
        return self._requeue(job, crashed=True, error=cause)

    def _record(self, job: JobView, verdict: Verdict | None, *, reason: str | None) -> JobOutcome:
        recorded: ItemView | None = self.content.record_screening(
            job, self.name, verdict, actor=self.actor, reason=reason, notifier=self._notifier
        )
        if recorded is None:
            return JobOutcome(job.id, job.item_id, "lost_or_cancelled")
        if verdict is None:
            return JobOutcome(job.id, job.item_id, "unscreenable")
        return JobOutcome(job.id, job.item_id, str(recorded.verdict))

    def _unreadable(self, job: JobView) -> JobOutcome:
        """The content could not be read: the order was purged or is going (key shredded, blobs
        gone), and the job is cancelled; while the order is open, it is retried as a backend fault."""
        with self.content.catalog.unit() as u:
            if u.jobs.holds(job.id, self.name) is None:
                return JobOutcome(job.id, job.item_id, "lost_or_cancelled")
            order = u.orders.get(job.order_id)
            if order is None or order.state != OrderState.OPEN:
                u.jobs.finish(job.id, JobState.CANCELLED, self.clock())
                return JobOutcome(job.id, job.item_id, "cancelled")
        return self._requeue(job, crashed=False, error="ContentUnreadable")

    def _requeue(self, job: JobView, *, crashed: bool, error: str) -> JobOutcome:
        delay = 0.0 if crashed else self.settings.retry_seconds * min(2 ** max(0, job.attempts - 1), 60)
        with self.content.catalog.unit() as u:
            back = u.jobs.requeue(
                job.id,
                self.name,
                available_at=self.clock() + timedelta(seconds=delay),
                crashed=crashed,
                error=error,
            )
        if back is None:
            return JobOutcome(job.id, job.item_id, "lost_or_cancelled")
        if not crashed:
            log.warning("screening job retried in %.0f s (%s)", delay, error)
        self._wake.set()
        return JobOutcome(job.id, job.item_id, "crashed" if crashed else "retry")

    def _report(self, outcome: JobOutcome) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    # ------------------------------------------------------------------ the loop
    def wake(self) -> None:
        """Look for work now (an upload was just enqueued in this process)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                jobs = self._claim(limit=1, loop=True)
            except (DatabaseUnavailable, BackendError) as exc:
                log.warning("%s: claim failed (%s)", self.name, type(exc).__name__)
                jobs = []
            if jobs:
                self.run(jobs[0])
                continue
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()

    def warm(self) -> None:
        """Build the engines (start the screening processes) before the first job."""
        warm = getattr(self.screener, "warm", None)
        if callable(warm):
            warm()

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for n in range(self.settings.threads):
            t = threading.Thread(target=self._loop, name=f"{self.name}-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; jobs in flight finish (or their leases lapse if this process dies first)."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        self._now.shutdown(wait=True, cancel_futures=True)
        self._now_text.shutdown(wait=True, cancel_futures=True)
        if self._heartbeat is not None:
            self._heartbeat.join(timeout)
            self._heartbeat = None
        close = getattr(self.screener, "close", None)
        if callable(close):  # the screening processes (an in-process screener has nothing to close)
            close()
