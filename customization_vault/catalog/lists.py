"""Screening list versions, the processes that load them, and re-screen jobs with their walk over items.

A list version's `content` can run to megabytes: only `content()` reads it; every other query names
the columns it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.models import Item, Order, RescreenJob, ScreeningList, ScreeningListLoad
from customization_vault.catalog.types import new_id
from customization_vault.lifecycle import ItemState, OrderState


@dataclass(frozen=True, slots=True)
class ListVersionView:
    """One stored version of one list, without its content."""

    kind: str
    version: int
    source: str
    sha256: str
    entries: int
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ListLoadView:
    """A process and the stored version of each list kind it screens with (absent: a file or shipped)."""

    process: str
    versions: dict[str, int]
    seen_at: datetime
    alive_until: datetime


@dataclass(frozen=True, slots=True)
class RescreenJobView:
    id: str
    state: str
    reason: str
    total: int
    done: int
    flagged: int
    cleared: int
    failed: int
    cursor: str
    lease_until: datetime | None
    claimed_by: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, j: RescreenJob) -> RescreenJobView:
        return cls(
            j.id,
            j.state,
            j.reason,
            j.total,
            j.done,
            j.flagged,
            j.cleared,
            j.failed,
            j.cursor,
            j.lease_until,
            j.claimed_by,
            j.created_by,
            j.created_at,
            j.started_at,
            j.updated_at,
            j.finished_at,
        )


@dataclass(frozen=True, slots=True)
class WalkItem:
    """What the re-screen needs to find an item's content: its ids and state when the walk saw it."""

    item_id: str
    order_id: str
    state: ItemState


_VERSION_COLUMNS = (
    ScreeningList.kind,
    ScreeningList.version,
    ScreeningList.source,
    ScreeningList.sha256,
    ScreeningList.entries,
    ScreeningList.created_by,
    ScreeningList.created_at,
)


def _version(row: Any) -> ListVersionView:
    return ListVersionView(
        str(row.kind),
        int(row.version),
        str(row.source),
        str(row.sha256),
        int(row.entries),
        str(row.created_by),
        row.created_at,
    )


class ScreeningLists:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self, kind: str, content: bytes, *, source: str, entries: int, sha256: str, by: str, now: datetime
    ) -> ListVersionView:
        """Store the next version of `kind` (the previous one + 1). Two concurrent imports of one kind
        compute the same number and the unique (kind, version) constraint refuses the second
        (`DuplicateRow`): the caller retries."""
        previous = self._s.execute(
            select(func.max(ScreeningList.version)).where(ScreeningList.kind == kind)
        ).scalar_one()
        row = ScreeningList(
            kind=kind,
            version=int(previous or 0) + 1,
            source=source[:300],
            sha256=sha256,
            entries=entries,
            content=content,
            created_by=by[:128],
            created_at=now,
        )
        self._s.add(row)
        self._s.flush()
        return _version(row)

    def latest_versions(self) -> dict[str, int]:
        """{kind: newest version}: what every process polls, one grouped index scan."""
        rows = self._s.execute(
            select(ScreeningList.kind, func.max(ScreeningList.version)).group_by(ScreeningList.kind)
        ).all()
        return {str(k): int(v) for k, v in rows}

    def latest(self, kind: str) -> ListVersionView | None:
        row = self._s.execute(
            select(*_VERSION_COLUMNS)
            .where(ScreeningList.kind == kind)
            .order_by(ScreeningList.version.desc())
            .limit(1)
        ).first()
        return None if row is None else _version(row)

    def get(self, kind: str, version: int) -> ListVersionView | None:
        row = self._s.execute(
            select(*_VERSION_COLUMNS).where(ScreeningList.kind == kind, ScreeningList.version == version)
        ).first()
        return None if row is None else _version(row)

    def history(self, kind: str | None = None) -> list[ListVersionView]:
        """Every version, by kind then newest first."""
        q = select(*_VERSION_COLUMNS).order_by(ScreeningList.kind, ScreeningList.version.desc())
        if kind is not None:
            q = q.where(ScreeningList.kind == kind)
        return [_version(r) for r in self._s.execute(q).all()]

    def content(self, kind: str, version: int) -> bytes | None:
        return self._s.execute(
            select(ScreeningList.content).where(ScreeningList.kind == kind, ScreeningList.version == version)
        ).scalar_one_or_none()

    # ------------------------------------------------------------------ processes using versions
    def note_loaded(
        self, process: str, versions: dict[str, int], *, now: datetime, alive_until: datetime
    ) -> None:
        """Record (or refresh) which versions `process` screens with. Each process writes its own row
        only, so update-then-insert cannot race with another writer."""
        values = {"versions": dict(versions), "seen_at": now, "alive_until": alive_until}
        updated = self._s.execute(
            update(ScreeningListLoad).where(ScreeningListLoad.process == process).values(**values)
        )
        if getattr(updated, "rowcount", 0) == 0:
            self._s.add(ScreeningListLoad(process=process, **values))
            self._s.flush()

    def forget_loaded(self, process: str, *, stale_before: datetime | None = None) -> None:
        """Drop the process's row (it stops) and rows of processes gone silent before `stale_before`."""
        cond = ScreeningListLoad.process == process
        if stale_before is not None:
            cond = or_(cond, ScreeningListLoad.alive_until < stale_before)
        self._s.execute(delete(ScreeningListLoad).where(cond))

    def loads(self, now: datetime) -> list[ListLoadView]:
        """Processes that reported within their own liveness window."""
        rows = self._s.execute(
            select(ScreeningListLoad)
            .where(ScreeningListLoad.alive_until >= now)
            .order_by(ScreeningListLoad.process)
        ).scalars()
        return [
            ListLoadView(r.process, {str(k): int(v) for k, v in r.versions.items()}, r.seen_at, r.alive_until)
            for r in rows
        ]


# The re-screen walks items of open orders whose content still exists.
_WALKED = and_(Order.state == OrderState.OPEN, Item.deleted_at.is_(None))


class RescreenJobs:
    def __init__(self, session: Session) -> None:
        self._s = session

    def create(self, *, reason: str, by: str, total: int, now: datetime) -> RescreenJobView:
        job = RescreenJob(
            id=new_id(),
            state="pending",
            reason=reason[:200],
            total=total,
            done=0,
            flagged=0,
            cleared=0,
            failed=0,
            cursor="",
            created_by=by[:128],
            created_at=now,
            updated_at=now,
        )
        self._s.add(job)
        self._s.flush()
        return RescreenJobView.of(job)

    def get(self, job_id: str) -> RescreenJobView | None:
        row = self._s.get(RescreenJob, job_id)
        return None if row is None else RescreenJobView.of(row)

    def latest(self, limit: int = 10) -> list[RescreenJobView]:
        rows = self._s.execute(
            select(RescreenJob).order_by(RescreenJob.created_at.desc(), RescreenJob.id).limit(limit)
        ).scalars()
        return [RescreenJobView.of(r) for r in rows]

    def pending(self) -> RescreenJobView | None:
        """The oldest job nobody has started: a new request joins it rather than queueing a second walk."""
        row = self._s.execute(
            select(RescreenJob)
            .where(RescreenJob.state == "pending")
            .order_by(RescreenJob.created_at, RescreenJob.id)
            .limit(1)
        ).scalar_one_or_none()
        return None if row is None else RescreenJobView.of(row)

    def claim(
        self, now: datetime, until: datetime, runner: str, *, job_id: str | None = None
    ) -> RescreenJobView | None:
        """Lease the oldest job that is pending, released, or whose runner's lease lapsed (a crashed
        runner's job is resumed from its cursor), or that `runner` itself holds. SKIP LOCKED keeps two
        PostgreSQL runners off the same row; SQLite serialises writers, so the second claim sees the
        first one's lease."""
        q = select(RescreenJob).where(
            or_(
                RescreenJob.state == "pending",
                and_(
                    RescreenJob.state == "running",
                    or_(
                        RescreenJob.lease_until.is_(None),
                        RescreenJob.lease_until <= now,
                        RescreenJob.claimed_by == runner,
                    ),
                ),
            )
        )
        if job_id is not None:
            q = q.where(RescreenJob.id == job_id)
        row = self._s.execute(
            q.order_by(RescreenJob.created_at, RescreenJob.id).limit(1).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if row is None:
            return None
        row.state = "running"
        row.claimed_by = runner
        row.lease_until = until
        row.started_at = row.started_at or now
        row.updated_at = now
        self._s.flush()
        return RescreenJobView.of(row)

    def advance(
        self,
        job_id: str,
        runner: str,
        *,
        cursor: str,
        done: int,
        flagged: int = 0,
        cleared: int = 0,
        failed: int = 0,
        now: datetime,
        until: datetime,
    ) -> bool:
        """Move the cursor and add to the counters, renewing the lease; False when `runner` lost the job
        (its lease lapsed and another runner took it), in which case nothing is written."""
        result = self._s.execute(
            update(RescreenJob)
            .where(RescreenJob.id == job_id, RescreenJob.claimed_by == runner, RescreenJob.state == "running")
            .values(
                cursor=cursor,
                done=RescreenJob.done + done,
                flagged=RescreenJob.flagged + flagged,
                cleared=RescreenJob.cleared + cleared,
                failed=RescreenJob.failed + failed,
                # Uploads during the walk are walked too: the total grows with them.
                total=case(
                    (RescreenJob.total > RescreenJob.done + done, RescreenJob.total),
                    else_=RescreenJob.done + done,
                ),
                lease_until=until,
                updated_at=now,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    def release(self, job_id: str, runner: str, *, now: datetime) -> None:
        """Give the job up before its end (the runner stops): any runner may resume it at once."""
        self._s.execute(
            update(RescreenJob)
            .where(RescreenJob.id == job_id, RescreenJob.claimed_by == runner, RescreenJob.state == "running")
            .values(lease_until=None, updated_at=now)
        )

    def finish(self, job_id: str, runner: str, *, state: str, now: datetime) -> bool:
        result = self._s.execute(
            update(RescreenJob)
            .where(RescreenJob.id == job_id, RescreenJob.claimed_by == runner, RescreenJob.state == "running")
            .values(state=state, total=RescreenJob.done, lease_until=None, updated_at=now, finished_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    # ------------------------------------------------------------------ the walk
    def count_items(self) -> int:
        """Items a walk starting now would visit (uploads during the walk add to it)."""
        q = select(func.count()).select_from(Item).join(Order, Order.id == Item.order_id).where(_WALKED)
        return int(self._s.execute(q).scalar_one())

    def items_after(self, cursor: str, limit: int) -> list[WalkItem]:
        """The next items of open orders in upload order (created_at, id) after the cursor item.

        Upload order, not id order: an item uploaded while the walk runs sorts after the cursor and is
        walked too. The cursor item's row outlives the purge of its content, so it always resolves.
        """
        q = select(Item.id, Item.order_id, Item.state).join(Order, Order.id == Item.order_id).where(_WALKED)
        if cursor:
            at = select(Item.created_at).where(Item.id == cursor).scalar_subquery()
            q = q.where(or_(Item.created_at > at, and_(Item.created_at == at, Item.id > cursor)))
        rows = self._s.execute(q.order_by(Item.created_at, Item.id).limit(limit)).all()
        return [WalkItem(str(i), str(o), ItemState(s)) for i, o, s in rows]
