"""Fulfilment use cases behind the HTTP API: order, upload (intake → screen → vault), summary, fetch.

Transport-free so the API stays thin and the flows are testable without a server. An upload is held
in memory (bounded by `Limits`) from the request to `Vault.put_item`: intake, screening and encryption
all work on that buffer, so plaintext never touches disk, and every rejection happens before the vault
writes anything — a refused upload leaves no item, blob or key behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from customization_vault.catalog import ItemView, OrderView, ReviewView
from customization_vault.content import NewItem
from customization_vault.errors import ContentGone, InvalidInput, KeyDestroyed, StateConflict
from customization_vault.intake import (
    CorruptFont,
    CorruptImage,
    InvalidText,
    Limits,
    accept_file,
    validate_text,
)
from customization_vault.review import ReviewDesk
from customization_vault.vault import Vault
from screening.composite import UnscreenableInput
from screening.findings import Verdict
from screening.screener import Screener

log = logging.getLogger(__name__)

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
MAX_IDEMPOTENCY_KEY = 200


@dataclass(frozen=True, slots=True)
class ItemSummary:
    item: ItemView
    review: ReviewView | None


@dataclass(frozen=True, slots=True)
class OrderSummary:
    order: OrderView
    items: tuple[ItemSummary, ...]
    receipt: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class UploadResult:
    item: ItemView
    created: bool


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise InvalidInput(f"an Idempotency-Key is 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    return key


class FulfilmentService:
    """The seller-facing flows; every method takes the caller's seller id, so tenancy is never optional."""

    def __init__(
        self,
        vault: Vault,
        screener: Screener,
        limits: Limits,
        *,
        receipts: Callable[[str], dict[str, Any] | None] | None = None,
        review: ReviewDesk | None = None,
    ) -> None:
        self.vault = vault
        self.screener = screener
        self.limits = limits
        # Receipts belong to retention (a layer above): injected, so this module never imports it.
        self._receipts = receipts
        self._desk = review

    # ------------------------------------------------------------------ orders
    def create_order(self, seller_id: str, external_id: str, *, actor: str) -> tuple[OrderView, bool]:
        return self.vault.orders.create(seller_id, external_id, actor=actor)

    def order(self, seller_id: str, external_id: str) -> OrderView:
        return self.vault.orders.find(seller_id, external_id)

    def summary(self, seller_id: str, external_id: str) -> OrderSummary:
        order = self.vault.orders.find(seller_id, external_id)
        with self.vault.catalog.unit() as u:
            items = u.items.for_order(order.id)
            reviews = u.reviews.latest_for_items([i.id for i in items])
        return OrderSummary(
            order,
            tuple(ItemSummary(i, reviews.get(i.id)) for i in items),
            self.receipt(order),
        )

    def review_of(self, item_id: str) -> ReviewView | None:
        with self.vault.catalog.unit() as u:
            return u.reviews.latest_for_items([item_id]).get(item_id)

    def appeal(
        self, seller_id: str, external_id: str, item_id: str, statement: str, *, actor: str
    ) -> ReviewView:
        """The seller contests a rejection or block of one of its own items (see `ReviewDesk.appeal`)."""
        if self._desk is None:
            raise StateConflict("appeals are not wired in this process")
        order = self.vault.orders.find(seller_id, external_id)
        return self._desk.appeal(order, item_id, statement, actor=actor)

    def receipt(self, order: OrderView) -> dict[str, Any] | None:
        """The signed purge receipt, or None before the purge finished (or without a receipt source)."""
        return None if self._receipts is None else self._receipts(order.id)

    # ------------------------------------------------------------------ uploads
    def _replay(
        self, order: OrderView, key: str | None, kind: str, payload: bytes
    ) -> tuple[UploadResult | None, str | None]:
        """(the first item, if this is an idempotent retry; the request's digest to store).

        Only a request with an Idempotency-Key gets a digest: it is what a retry is compared by, and
        nothing else needs one. The digest is keyed by the order's data key (`ContentVault.
        request_digest`), so the catalog never holds a hash of content anyone could recompute. A retry
        answers from the catalog before screening or encrypting anything.
        """
        if key is None:
            return None, None
        try:
            digest = self.vault.content.request_digest(order, kind, payload)
        except KeyDestroyed:
            # Shredded: the order left open before this request; answer as the upload itself would.
            raise ContentGone("the order no longer accepts uploads") from None
        prior = self.vault.content.replay(order, key, digest)
        return (None if prior is None else UploadResult(prior, created=False)), digest

    def upload_file(
        self,
        seller_id: str,
        external_id: str,
        data: bytes,
        *,
        declared_type: str | None,
        idempotency_key: str | None,
        actor: str,
    ) -> UploadResult:
        key = check_idempotency_key(idempotency_key)
        order = self.vault.orders.find(seller_id, external_id)
        replay, digest = self._replay(order, key, "file", data)
        if replay is not None:
            return replay
        accepted = accept_file(data, self.limits, declared_type)
        media = accepted.media_type
        verdict = self._screen(accepted.data, media.content_type)
        width, height = accepted.image.displayed if accepted.image is not None else (None, None)
        item, created = self.vault.content.put_item(
            order,
            [accepted.data],
            NewItem(
                kind=media.kind,
                content_type=media.content_type,
                verdict=verdict,
                metadata_removed=accepted.removed,
                idempotency_key=key,
                request_digest=digest,
                width=width,
                height=height,
            ),
            actor=actor,
        )
        return UploadResult(item, created)

    def upload_text(
        self, seller_id: str, external_id: str, text: str, *, idempotency_key: str | None, actor: str
    ) -> UploadResult:
        key = check_idempotency_key(idempotency_key)
        order = self.vault.orders.find(seller_id, external_id)
        text = validate_text(text, self.limits)
        data = text.encode("utf-8")
        replay, digest = self._replay(order, key, "text", data)
        if replay is not None:
            return replay
        verdict = self._screen(data, "text/plain")
        item, created = self.vault.content.put_item(
            order,
            [data],
            NewItem(
                kind="text",
                content_type=TEXT_CONTENT_TYPE,
                verdict=verdict,
                idempotency_key=key,
                request_digest=digest,
            ),
            actor=actor,
        )
        return UploadResult(item, created)

    def _screen(self, data: bytes, media_type: str) -> Verdict:
        try:
            return self.screener.screen(data, media_type)
        except UnscreenableInput as exc:
            # Passed intake's structural checks but an engine could not parse it: still client input.
            error = {"font": CorruptFont, "text": InvalidText}.get(exc.media_kind, CorruptImage)
            raise error(f"the {exc.media_kind} could not be parsed for screening") from None

    # ------------------------------------------------------------------ fulfilment
    def fetch(
        self, seller_id: str, external_id: str, item_id: str, *, actor: str
    ) -> tuple[ItemView, Iterator[bytes]]:
        """Released content for the order's own seller; the vault audits the access before any byte."""
        order = self.vault.orders.find(seller_id, external_id)
        return self.vault.content.fetch_for_fulfilment(order, item_id, actor=actor)
