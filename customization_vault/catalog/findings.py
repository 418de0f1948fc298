"""Findings: what screening matched in an item. Where it matched (spans, regions) is derived content."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.models import FindingRow, Item
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

    def null_locations(self, item_ids: Select[str]) -> None:
        """Forget where in the content each match was (offsets and pixel boxes are derived content)."""
        self._s.execute(
            update(FindingRow)
            .where(FindingRow.item_id.in_(item_ids))
            .values(span_start=None, span_end=None, region=None)
        )

    def top_entries(self, since: datetime, *, limit: int) -> list[MatchCount]:
        """The list entries that matched the most items uploaded since `since`, most first."""
        f = FindingRow
        items = func.count(func.distinct(f.item_id))
        q = (
            select(f.kind, f.list_ref, f.entry, func.max(f.label), func.max(f.category), items)
            .join(Item, Item.id == f.item_id)
            .where(Item.created_at >= since)
            .group_by(f.kind, f.list_ref, f.entry)
            .order_by(items.desc(), f.entry)
            .limit(limit)
        )
        return [MatchCount(*row) for row in self._s.execute(q).all()]
