"""KEK rotation: re-wrap every live order's data key under a new KEK of its epoch, touching no blob.

Each epoch keeps its own KEK lineage, so rotation never moves an order out of its epoch and epoch
destruction still bounds every order of that epoch. Old KEK versions are retired only after every
DEK under them was re-wrapped and committed; a crash midway leaves both versions usable and a rerun
finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from customization_vault.audit import AuditLog
from customization_vault.catalog.db import session_scope
from customization_vault.catalog.models import Order, WrappedDataKey
from customization_vault.clock import Clock, system_clock
from customization_vault.keys.base import KeyContext, KeyProvider, WrappedKey

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RewrapReport:
    rewrapped: int
    new_keks: dict[str, str] = field(default_factory=dict)
    retired: tuple[str, ...] = ()


def count_live_keys(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as s:
        return int(s.execute(select(func.count()).select_from(WrappedDataKey)).scalar_one())


def rewrap_all(
    sessions: sessionmaker[Session],
    keys: KeyProvider,
    audit: AuditLog,
    *,
    actor: str = "cli",
    batch: int = 500,
    progress: Progress | None = None,
    clock: Clock = system_clock,
) -> RewrapReport:
    with session_scope(sessions) as s:
        epochs = sorted({e for (e,) in s.execute(select(WrappedDataKey.epoch).distinct())})
    new_keks = {epoch: keys.rotate(epoch) for epoch in epochs}
    old_keks: set[str] = set()
    done = 0
    last = ""
    while True:
        with session_scope(sessions) as s:
            rows = s.execute(
                select(WrappedDataKey, Order.seller_id)
                .join(Order, Order.id == WrappedDataKey.order_id)
                .where(WrappedDataKey.order_id > last)
                .order_by(WrappedDataKey.order_id)
                .limit(batch)
            ).all()
            if not rows:
                break
            for row, seller_id in rows:
                last = row.order_id
                if row.kek_id == new_keks.get(row.epoch):
                    continue
                old_keks.add(row.kek_id)
                fresh = keys.rewrap(
                    WrappedKey(row.provider, row.kek_id, row.epoch, row.blob),
                    KeyContext(seller_id, row.order_id),
                )
                row.kek_id, row.blob, row.provider = fresh.kek_id, fresh.blob, fresh.provider
                row.rewrapped_at = clock()
                done += 1
        if progress is not None:
            progress(len(rows))
    retired = []
    for kek in sorted(old_keks - set(new_keks.values())):
        keys.retire(kek)
        retired.append(kek)
    audit.append(
        actor=actor,
        action="keys.rotate",
        target_type="keyring",
        target_id=keys.name,
        details={"rewrapped": done, "epochs": epochs, "retired": retired},
    )
    return RewrapReport(done, new_keks, tuple(retired))
