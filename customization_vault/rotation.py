"""KEK rotation: re-wrap every live order's data key under a new KEK of its epoch, touching no blob.

Each epoch keeps its own KEK lineage, so rotation never moves an order out of its epoch and epoch
destruction still bounds every order of that epoch. Old KEK versions are retired only after every
DEK under them was re-wrapped and committed; a crash midway leaves both versions usable and a rerun
finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog
from customization_vault.clock import Clock, system_clock
from customization_vault.keys.base import KeyContext, KeyProvider

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RewrapReport:
    rewrapped: int
    new_keks: dict[str, str] = field(default_factory=dict)
    retired: tuple[str, ...] = ()


def count_live_keys(catalog: Catalog) -> int:
    with catalog.unit() as u:
        return u.keys.count()


def rewrap_all(
    catalog: Catalog,
    keys: KeyProvider,
    audit: AuditLog,
    *,
    actor: str = "cli",
    batch: int = 500,
    progress: Progress | None = None,
    clock: Clock = system_clock,
) -> RewrapReport:
    with catalog.unit() as u:
        epochs = u.keys.epochs()
    new_keks = {epoch: keys.rotate(epoch) for epoch in epochs}
    old_keks: set[str] = set()
    done = 0
    last = ""
    while True:
        with catalog.unit() as u:
            rows = u.keys.page_after(last, batch)
            if not rows:
                break
            for order_id, seller_id, wrapped in rows:
                last = order_id
                if wrapped.kek_id == new_keks.get(wrapped.epoch):
                    continue
                old_keks.add(wrapped.kek_id)
                fresh = keys.rewrap(wrapped, KeyContext(seller_id, order_id))
                u.keys.replace(order_id, fresh, clock())
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
