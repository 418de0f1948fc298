"""API key rows: a public prefix finds the row; only a hash of the secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from customization_vault.catalog.models import ApiKey, Seller
from customization_vault.catalog.types import new_id
from customization_vault.catalog.views import ApiKeyRecord


class ApiKeyRows:
    def __init__(self, session: Session) -> None:
        self._s = session

    def record(self, row: ApiKey) -> ApiKeyRecord:
        seller = self._s.get(Seller, row.seller_id) if row.seller_id else None
        return ApiKeyRecord(
            row.id,
            row.prefix,
            row.secret_hash,
            row.role,
            row.seller_id,
            seller.external_id if seller is not None else None,
            row.label,
            row.created_at,
            row.revoked_at,
        )

    def add(
        self,
        *,
        prefix: str,
        secret_hash: str,
        role: str,
        seller_id: str | None,
        label: str | None,
        now: datetime,
    ) -> ApiKeyRecord:
        row = ApiKey(
            id=new_id(),
            prefix=prefix,
            secret_hash=secret_hash,
            role=role,
            seller_id=seller_id,
            label=label,
            created_at=now,
        )
        self._s.add(row)
        self._s.flush()
        return self.record(row)

    def get(self, key_id: str) -> ApiKeyRecord | None:
        row = self._s.get(ApiKey, key_id)
        return None if row is None else self.record(row)

    def by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = self._s.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
        return None if row is None else self.record(row)

    def all(self) -> list[ApiKeyRecord]:
        return [self.record(r) for r in self._s.execute(select(ApiKey).order_by(ApiKey.created_at)).scalars()]

    def revoke(self, id_or_prefix: str, now: datetime) -> tuple[ApiKeyRecord, bool] | None:
        """(key, revoked by this call); None when no key has that id or prefix."""
        row = self._s.execute(
            select(ApiKey).where((ApiKey.id == id_or_prefix) | (ApiKey.prefix == id_or_prefix))
        ).scalar_one_or_none()
        if row is None:
            return None
        fresh = row.revoked_at is None
        if fresh:
            row.revoked_at = now
        return self.record(row), fresh
