"""Seller webhooks: where each seller hears about decisions, and the secret its deliveries are signed with.

The secret is stored as it was issued, not hashed: signing needs it at every delivery (as with Stripe's
and GitHub's webhook secrets). It leaves this package only inside a `WebhookView`, whose repr hides it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from customization_vault.catalog.models import SellerWebhook


@dataclass(frozen=True, slots=True)
class WebhookView:
    seller_id: str
    url: str
    secret: str = field(repr=False)
    set_at: datetime

    @classmethod
    def of(cls, w: SellerWebhook) -> WebhookView:
        return cls(w.seller_id, w.url, w.secret, w.created_at)


class SellerWebhooks:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, seller_id: str) -> WebhookView | None:
        row = self._s.get(SellerWebhook, seller_id, populate_existing=True)
        return None if row is None else WebhookView.of(row)

    def set(self, seller_id: str, *, url: str, secret: str, now: datetime) -> None:
        """Create or replace the seller's webhook in one statement (two concurrent calls cannot both
        insert); `now` becomes its `set_at`, so a replaced secret's age is the new one's."""
        insert = postgresql.insert if self._s.get_bind().dialect.name == "postgresql" else sqlite.insert
        values = {"url": url, "secret": secret, "created_at": now}
        self._s.execute(
            insert(SellerWebhook)
            .values(seller_id=seller_id, **values)
            .on_conflict_do_update(index_elements=[SellerWebhook.seller_id], set_=values)
        )

    def remove(self, seller_id: str) -> bool:
        """Forget the seller's webhook; whether there was one."""
        row = self._s.get(SellerWebhook, seller_id, with_for_update=True)
        if row is None:
            return False
        self._s.delete(row)
        self._s.flush()
        return True
