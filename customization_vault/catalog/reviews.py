"""Review cases: the trust-and-safety queue's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from customization_vault.catalog.models import ReviewCase
from customization_vault.catalog.types import new_id
from customization_vault.catalog.views import ReviewView
from customization_vault.lifecycle import ReviewState


class ReviewCases:
    def __init__(self, session: Session) -> None:
        self._s = session

    def open_for(self, item_id: str, now: datetime) -> ReviewView:
        case = ReviewCase(id=new_id(), item_id=item_id, state=ReviewState.OPEN, created_at=now)
        self._s.add(case)
        self._s.flush()
        return ReviewView.of(case)

    def latest_for_items(self, item_ids: Sequence[str]) -> dict[str, ReviewView]:
        """Each item's latest case (an item has at most one open at a time)."""
        if not item_ids:
            return {}
        out: dict[str, ReviewView] = {}
        rows = self._s.execute(
            select(ReviewCase).where(ReviewCase.item_id.in_(item_ids)).order_by(ReviewCase.created_at)
        ).scalars()
        for r in rows:
            out[r.item_id] = ReviewView.of(r)
        return out
