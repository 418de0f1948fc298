"""Wire models of the admin list and re-screen endpoints (`api/routes/lists.py`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from customization_vault.catalog import ListLoadView, ListVersionView, RescreenJobView
from customization_vault.rescreen import rate_of


class ListVersionRead(BaseModel):
    kind: str = Field(description="marks | terms | allow | images | fonts")
    version: int = Field(description="1, 2, ... per kind; the newest is what every process screens with")
    list: str = Field(description="The list_ref findings from this version carry: kind@version")
    entries: int
    source: str = Field(description="The file it was imported from")
    sha256: str = Field(description="Of the stored content (for images: the stored archive)")
    created_by: str
    created_at: datetime
    processes: int = Field(description="Running processes screening with this version")

    @classmethod
    def of(cls, v: ListVersionView, processes: int) -> ListVersionRead:
        return cls(
            kind=v.kind,
            version=v.version,
            list=f"{v.kind}@{v.version}",
            entries=v.entries,
            source=v.source,
            sha256=v.sha256,
            created_by=v.created_by,
            created_at=v.created_at,
            processes=processes,
        )


class ListProcessRead(BaseModel):
    process: str = Field(description="host:pid")
    versions: dict[str, int] = Field(description="kind → stored version (absent: a settings file or shipped)")
    seen_at: datetime

    @classmethod
    def of(cls, p: ListLoadView) -> ListProcessRead:
        return cls(process=p.process, versions=p.versions, seen_at=p.seen_at)


class ListsRead(BaseModel):
    versions: list[ListVersionRead] = Field(description="Every stored version, by kind, newest first")
    in_use: dict[str, int | None] = Field(
        description="This process: kind → stored version it screens with (null: a settings file or shipped)"
    )
    processes: list[ListProcessRead]


class RescreenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="requested", min_length=1, max_length=200)


class RescreenRead(BaseModel):
    id: str
    state: str = Field(description="pending | running | done | failed")
    reason: str
    total: int = Field(description="Items to walk (grows with uploads during the walk; exact when done)")
    done: int = Field(description="Items walked, decided and blocked ones included (kept as they are)")
    flagged: int = Field(description="Items newly flagged or blocked")
    cleared: int = Field(description="Flagged items cleared (their case closed as cleared_by_list)")
    failed: int = Field(description="Items that could not be decrypted or parsed")
    rate: float | None = Field(description="Items per second since the job started")
    created_by: str
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None
    status_url: str

    @classmethod
    def of(cls, j: RescreenJobView) -> RescreenRead:
        return cls(
            id=j.id,
            state=j.state,
            reason=j.reason,
            total=j.total,
            done=j.done,
            flagged=j.flagged,
            cleared=j.cleared,
            failed=j.failed,
            rate=rate_of(j),
            created_by=j.created_by,
            created_at=j.created_at,
            started_at=j.started_at,
            updated_at=j.updated_at,
            finished_at=j.finished_at,
            status_url=f"/v1/admin/rescreens/{j.id}",
        )


class ListImportRead(BaseModel):
    version: ListVersionRead
    rescreen: RescreenRead | None = Field(default=None, description="The job started with ?rescreen=true")
