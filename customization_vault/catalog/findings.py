"""Findings: what screening matched in an item. All of it is derived content: it goes with the content."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from customization_vault.catalog.models import FindingCount, FindingRow, Item
from customization_vault.catalog.views import FindingView, MatchCount
from screening.findings import Finding


def _row(item_id: str, f: Finding) -> FindingRow:
    return FindingRow(
        item_id=item_id,
        kind=f.kind.value,
        list_ref=f.list_ref,
        entry=f.entry,
        label=f.label,
        category=f.category,
        score=float(f.score),
        severity=f.severity.value,
        distance=f.distance,
        span_start=f.span[0] if f.span else None,
        span_end=f.span[1] if f.span else None,
        region=list(f.region) if f.region else None,
        register=f.register.to_dict() if f.register is not None else None,
    )


class Findings:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, item_id: str, findings: Iterable[Finding]) -> tuple[FindingView, ...]:
        rows = [_row(item_id, f) for f in findings]
        self._s.add_all(rows)
        self._s.flush()
        return tuple(FindingView.of(r) for r in rows)

    def replace(self, item_id: str, findings: Iterable[Finding]) -> tuple[FindingView, ...]:
        """The item's findings become these (a re-screen against new list versions)."""
        self._s.execute(delete(FindingRow).where(FindingRow.item_id == item_id))
        return self.add(item_id, findings)

    def for_items(self, item_ids: Sequence[str]) -> dict[str, tuple[FindingView, ...]]:
        if not item_ids:
            return {}
        out: dict[str, list[FindingView]] = {}
        rows = self._s.execute(
            select(FindingRow).where(FindingRow.item_id.in_(item_ids)).order_by(FindingRow.id)
        ).scalars()
        for f in rows:
            out.setdefault(f.item_id, []).append(FindingView.of(f))
        return {k: tuple(v) for k, v in out.items()}

    def fold_and_delete(self, item_ids: Select[str]) -> None:
        """Forget what screening matched in these items — the entry and label name what the customer
        wrote or drew ("Nike"), the span or region says where — keeping only how many items of each
        upload day each entry matched (`FindingCount`), for the dashboard. The items keep their verdicts.
        """
        f = FindingRow
        rows = self._s.execute(
            select(Item.created_at, f.item_id, f.kind, f.list_ref, f.entry, f.label, f.category)
            .join(Item, Item.id == f.item_id)
            .where(f.item_id.in_(item_ids))
        ).all()
        folded: dict[tuple[date, str, str, str], tuple[set[str], str | None, str | None]] = {}
        for created, item_id, kind, list_ref, entry, label, category in rows:
            key = (created.date(), kind, list_ref, entry)
            items, kept_label, kept_category = folded.get(key, (set(), None, None))
            items.add(item_id)
            folded[key] = (items, kept_label or label, kept_category or category)
        for (day, kind, list_ref, entry), (items, label, category) in folded.items():
            self._add_count(day, kind, list_ref, entry, label, category, len(items))
        self._s.execute(delete(f).where(f.item_id.in_(item_ids)))

    def _add_count(
        self, day: date, kind: str, list_ref: str, entry: str, label: str | None, category: str | None, n: int
    ) -> None:
        """One atomic upsert: two purges folding the same day and entry at once both count."""
        insert = postgresql_insert if self._s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(FindingCount).values(
            day=day, kind=kind, list_ref=list_ref, entry=entry, label=label, category=category, items=n
        )
        self._s.execute(
            stmt.on_conflict_do_update(
                index_elements=["day", "kind", "list_ref", "entry"],
                set_={"items": FindingCount.items + stmt.excluded["items"]},
            )
        )

    def top_entries(self, since: datetime, *, limit: int) -> list[MatchCount]:
        """The list entries that matched the most items uploaded since `since`, most first: the live
        findings, plus the counts purged items left (whole upload days from `since`'s day on)."""
        f = FindingRow
        items = func.count(func.distinct(f.item_id))
        live = (
            select(f.kind, f.list_ref, f.entry, func.max(f.label), func.max(f.category), items)
            .join(Item, Item.id == f.item_id)
            .where(Item.created_at >= since)
            .group_by(f.kind, f.list_ref, f.entry)
        )
        c = FindingCount
        kept = (
            select(c.kind, c.list_ref, c.entry, func.max(c.label), func.max(c.category), func.sum(c.items))
            .where(c.day >= since.date())
            .group_by(c.kind, c.list_ref, c.entry)
        )
        merged: dict[tuple[str, str, str], MatchCount] = {}
        for kind, list_ref, entry, label, category, n in [*self._s.execute(live), *self._s.execute(kept)]:
            seen = merged.get((kind, list_ref, entry))
            if seen is not None:
                label, category, n = seen.label or label, seen.category or category, seen.items + n
            merged[(kind, list_ref, entry)] = MatchCount(kind, list_ref, entry, label, category, int(n))
        return sorted(merged.values(), key=lambda m: (-m.items, m.entry))[:limit]
