"""Workbench sessions: rows found by the hash of the browser's token, joined to their API key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from customization_vault.catalog.apikeys import ApiKeyRows
from customization_vault.catalog.models import ApiKey, ReviewerSession
from customization_vault.catalog.views import SessionRecord


class ReviewerSessionRows:
    def __init__(self, session: Session, apikeys: ApiKeyRows) -> None:
        self._s = session
        self._keys = apikeys

    def add(self, *, token_hash: str, key_id: str, now: datetime, expires_at: datetime) -> None:
        self._s.add(
            ReviewerSession(
                token_hash=token_hash, key_id=key_id, created_at=now, last_seen_at=now, expires_at=expires_at
            )
        )
        self._s.flush()

    def get(self, token_hash: str) -> SessionRecord | None:
        row = self._s.get(ReviewerSession, token_hash)
        if row is None:
            return None
        key = self._s.get(ApiKey, row.key_id)
        if key is None:
            return None
        return SessionRecord(
            row.token_hash, self._keys.record(key), row.created_at, row.last_seen_at, row.expires_at
        )

    def touch(self, token_hash: str, now: datetime) -> None:
        self._s.execute(
            update(ReviewerSession).where(ReviewerSession.token_hash == token_hash).values(last_seen_at=now)
        )

    def delete(self, token_hash: str) -> bool:
        result = self._s.execute(delete(ReviewerSession).where(ReviewerSession.token_hash == token_hash))
        return bool(getattr(result, "rowcount", 0))

    def prune(self, *, now: datetime, idle_before: datetime) -> int:
        """Delete sessions past their absolute limit or idle since `idle_before`; how many."""
        result = self._s.execute(
            delete(ReviewerSession).where(
                or_(ReviewerSession.expires_at <= now, ReviewerSession.last_seen_at <= idle_before)
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def count(self) -> int:
        return int(self._s.execute(select(func.count()).select_from(ReviewerSession)).scalar_one())
