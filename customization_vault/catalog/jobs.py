"""Screening jobs: the durable queue between an upload and its verdict.

A job is written in the upload's own transaction, so an acknowledged upload always has one. Workers
claim jobs with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE)
and a lease written to the row: any number of workers take disjoint jobs, and a dead worker's job
returns to the queue when its lease lapses — counted as a crash, because the item may be what killed
it. Only the lease holder may finish a job, so an item gets exactly one verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.models import Item, ScreeningJob
from customization_vault.catalog.types import new_id
from customization_vault.catalog.views import JobView
from customization_vault.lifecycle import JobState


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """How far behind screening is: jobs waiting or running, and when the oldest was enqueued."""

    waiting: int
    running: int
    oldest_created_at: datetime | None


class ScreeningJobs:
    def __init__(self, session: Session) -> None:
        self._s = session

    def enqueue(self, item_id: str, order_id: str, now: datetime) -> str:
        job_id = new_id()
        self._s.add(
            ScreeningJob(
                id=job_id,
                item_id=item_id,
                order_id=order_id,
                state=JobState.QUEUED,
                attempts=0,
                crashes=0,
                available_at=now,
                created_at=now,
            )
        )
        self._s.flush()
        return job_id

    def get(self, job_id: str, *, lock: bool = False) -> JobView | None:
        row = self._s.get(ScreeningJob, job_id, with_for_update=lock, populate_existing=lock)
        return None if row is None else JobView.of(row)

    def for_item(self, item_id: str) -> JobView | None:
        row = self._s.execute(
            select(ScreeningJob).where(ScreeningJob.item_id == item_id)
        ).scalar_one_or_none()
        return None if row is None else JobView.of(row)

    def claim(
        self,
        now: datetime,
        until: datetime,
        worker: str,
        *,
        limit: int,
        item_id: str | None = None,
        skip_orders: Sequence[str] = (),
    ) -> list[JobView]:
        """Lease up to `limit` due jobs (or the one job of `item_id`) to `worker`: text first, then
        oldest first.

        Due: queued and past its retry time, or running under a lease that lapsed. A lapsed lease
        means its worker died mid-job; the claim counts that as a crash of the item. Text jumps the
        queue because it costs about a millisecond against an image's OCR: behind a backlog of
        images its upload would wait seconds for nothing (its own lane, see `IsolatedScreener`).
        """
        text_first = case((Item.kind == "text", 0), else_=1)
        q = (
            select(ScreeningJob)
            .join(Item, Item.id == ScreeningJob.item_id)
            .where(
                or_(
                    and_(ScreeningJob.state == JobState.QUEUED, ScreeningJob.available_at <= now),
                    and_(ScreeningJob.state == JobState.RUNNING, ScreeningJob.lease_until <= now),
                )
            )
        )
        if item_id is not None:
            q = q.where(ScreeningJob.item_id == item_id)
        if skip_orders:  # orders whose uploads screen their own items in the claiming process
            q = q.where(ScreeningJob.order_id.not_in(list(skip_orders)))
        rows = list(
            self._s.execute(
                q.order_by(text_first, ScreeningJob.available_at, ScreeningJob.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=ScreeningJob)
            ).scalars()
        )
        for row in rows:
            if row.state == JobState.RUNNING:
                row.crashes += 1
                row.last_error = "LeaseExpired"
            row.state = JobState.RUNNING
            row.attempts += 1
            row.worker = worker
            row.lease_until = until
        self._s.flush()
        return [JobView.of(r) for r in rows]

    def renew(self, job_ids: Sequence[str], worker: str, until: datetime) -> int:
        """Extend the leases `worker` still holds (its heartbeat while it screens); how many."""
        if not job_ids:
            return 0
        done = self._s.execute(
            update(ScreeningJob)
            .where(
                ScreeningJob.id.in_(job_ids),
                ScreeningJob.worker == worker,
                ScreeningJob.state == JobState.RUNNING,
            )
            .values(lease_until=until)
        )
        return int(getattr(done, "rowcount", 0) or 0)

    def _held(self, job_id: str, worker: str) -> ScreeningJob | None:
        """The job, locked, if `worker` still holds it; None if its lease went to another worker."""
        row = self._s.get(ScreeningJob, job_id, with_for_update=True, populate_existing=True)
        if row is None or row.state != JobState.RUNNING or row.worker != worker:
            return None
        return row

    def holds(self, job_id: str, worker: str) -> JobView | None:
        """The job locked for this transaction while `worker` holds it (before writing its outcome)."""
        row = self._held(job_id, worker)
        return None if row is None else JobView.of(row)

    def finish(self, job_id: str, state: JobState, now: datetime, *, error: str | None = None) -> None:
        """Close a job the caller holds (checked with `holds` in the same transaction)."""
        row = self._s.get(ScreeningJob, job_id)
        assert row is not None
        row.state = state
        row.finished_at = now
        row.lease_until = None
        if error is not None:
            row.last_error = error[:64]
        self._s.flush()

    def requeue(
        self, job_id: str, worker: str, *, available_at: datetime, crashed: bool, error: str
    ) -> JobView | None:
        """Give a held job back to the queue (retry at `available_at`); a crash is counted."""
        row = self._held(job_id, worker)
        if row is None:
            return None
        row.state = JobState.QUEUED
        row.lease_until = None
        row.worker = None
        row.available_at = available_at
        row.crashes += int(crashed)
        row.last_error = error[:64]
        self._s.flush()
        return JobView.of(row)

    def depth(self) -> QueueDepth:
        rows = self._s.execute(
            select(ScreeningJob.state, func.count(), func.min(ScreeningJob.created_at))
            .where(ScreeningJob.state.in_((JobState.QUEUED, JobState.RUNNING)))
            .group_by(ScreeningJob.state)
        ).all()
        counts = {JobState(s): int(n) for s, n, _ in rows}
        oldest = min((o for _, _, o in rows if o is not None), default=None)
        return QueueDepth(counts.get(JobState.QUEUED, 0), counts.get(JobState.RUNNING, 0), oldest)
