"""Fulfilment use cases behind the HTTP API: order, upload (intake → vault → screening job), summary, fetch.

Transport-free so the API stays thin and the flows are testable without a server. An upload is held
in memory (bounded by `Limits`) from the request to `Vault.put_item`: intake and encryption work on
that buffer, so plaintext never touches disk, and every intake rejection happens before the vault
writes anything — a refused upload leaves no item, blob or key behind.

With screening on, the item is stored `received` with a screening job in the same transaction
(`JobScreening`); the upload then waits up to a deadline for the verdict a worker records, and
answers "pending" past it (or at once, when the client prefers to respond asynchronously).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from customization_vault.catalog import ItemView, OrderView, ReviewView
from customization_vault.content import NewItem
from customization_vault.errors import ContentGone, InvalidInput, KeyDestroyed, StateConflict
from customization_vault.ids import check_product
from customization_vault.intake import (
    CorruptFont,
    CorruptImage,
    InvalidText,
    Limits,
    accept_file,
    validate_text,
)
from customization_vault.lifecycle import ItemState
from customization_vault.review import ReviewDesk
from customization_vault.screening_jobs import ScreeningWorker
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

    @property
    def pending(self) -> bool:
        """Stored, but its screening job has not recorded a verdict yet."""
        return self.item.state == ItemState.RECEIVED


@dataclass(frozen=True, slots=True)
class JobScreening:
    """Uploads are screened by durable jobs. `deadline_seconds` is how long an upload waits for its
    verdict; `worker` screens in this process (the embedded default), else workers elsewhere do and
    the upload watches the catalog."""

    deadline_seconds: float = 5.0
    worker: ScreeningWorker | None = None
    poll_seconds: float = 0.05


@dataclass(frozen=True, slots=True)
class Preference:
    """The client's RFC 7240 `Prefer`: `respond-async`, and `wait` (seconds it is willing to wait)."""

    respond_async: bool = False
    wait: float | None = None


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
        jobs: JobScreening | None = None,
    ) -> None:
        self.vault = vault
        self.screener = screener
        self.limits = limits
        # None: screened inline before storing (screening switched off: every item clears at once).
        self.jobs = jobs
        # Receipts belong to retention (a layer above): injected, so this module never imports it.
        self._receipts = receipts
        self._desk = review

    # ------------------------------------------------------------------ orders
    def create_order(
        self, seller_id: str, external_id: str, *, actor: str, product: str | None = None
    ) -> tuple[OrderView, bool]:
        """`product`: what the order's items are printed on (screened against its Nice classes); a PUT
        of an existing order with a product sets it."""
        return self.vault.orders.create(seller_id, external_id, actor=actor, product=product)

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

    def item(self, seller_id: str, external_id: str, item_id: str) -> ItemSummary:
        order = self.vault.orders.find(seller_id, external_id)
        item = self.vault.content.get_item(order, item_id)
        return ItemSummary(item, self.review_of(item.id))

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
        self, order: OrderView, key: str | None, kind: str, payload: bytes, prefer: Preference
    ) -> tuple[UploadResult | None, str | None]:
        """(the first item, if this is an idempotent retry; the request's digest to store).

        Only a request with an Idempotency-Key gets a digest: it is what a retry is compared by, and
        nothing else needs one. The digest is keyed by the order's data key (`ContentVault.
        request_digest`), so the catalog never holds a hash of content anyone could recompute. A retry
        answers from the catalog before screening or encrypting anything (and waits for a verdict still
        pending, as the first request did).
        """
        if key is None:
            return None, None
        try:
            digest = self.vault.content.request_digest(order, kind, payload)
        except KeyDestroyed:
            # Shredded: the order left open before this request; answer as the upload itself would.
            raise ContentGone("the order no longer accepts uploads") from None
        prior = self.vault.content.replay(order, key, digest)
        if prior is None:
            return None, digest
        return self._await(order, UploadResult(prior, created=False), prefer), digest

    def _store(
        self, order: OrderView, data: bytes, new: NewItem, prefer: Preference, *, actor: str
    ) -> UploadResult:
        """Encrypt and store; with jobs, the item is `received` and its job enqueued in the same unit.
        An upload that waits for its verdict screens its own item (`ScreeningWorker.reserve`)."""
        worker = None if self.jobs is None or prefer.respond_async else self.jobs.worker
        with worker.reserve(order.id) if worker is not None else nullcontext():
            item, created = self.vault.content.put_item(order, [data], new, actor=actor)
            return self._await(order, UploadResult(item, created), prefer)

    def _await(self, order: OrderView, result: UploadResult, prefer: Preference) -> UploadResult:
        """The verdict if it lands within the deadline (or the client's shorter `wait`), else pending."""
        if self.jobs is None or not result.pending:
            return result
        worker = self.jobs.worker
        if prefer.respond_async:
            if worker is not None:
                worker.wake()
            return result
        budget = (
            self.jobs.deadline_seconds
            if prefer.wait is None
            else min(prefer.wait, self.jobs.deadline_seconds)
        )
        deadline = time.monotonic() + budget
        if worker is not None:
            try:
                worker.submit(result.item.id, text=result.item.kind == "text").result(timeout=budget)
            except FutureTimeout:  # still screening: the job goes on, the client hears "pending"
                pass
        pause = self.jobs.poll_seconds
        while True:
            item = self.vault.content.get_item(order, result.item.id)
            left = deadline - time.monotonic()
            if item.state != ItemState.RECEIVED or left <= 0:
                return UploadResult(item, result.created)
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)

    def upload_file(
        self,
        seller_id: str,
        external_id: str,
        data: bytes,
        *,
        declared_type: str | None,
        idempotency_key: str | None,
        actor: str,
        prefer: Preference = Preference(),
        product: str | None = None,
    ) -> UploadResult:
        product = check_product(product)
        key = check_idempotency_key(idempotency_key)
        order = self.vault.orders.find(seller_id, external_id)
        replay, digest = self._replay(order, key, "file", data, prefer)
        if replay is not None:
            return replay
        accepted = accept_file(data, self.limits, declared_type)
        media = accepted.media_type
        width, height = accepted.image.displayed if accepted.image is not None else (None, None)
        new = NewItem(
            kind=media.kind,
            content_type=media.content_type,
            verdict=None
            if self.jobs is not None
            else self._screen(accepted.data, media.content_type, product or order.product),
            metadata_removed=accepted.removed,
            idempotency_key=key,
            request_digest=digest,
            width=width,
            height=height,
            product=product,
        )
        return self._store(order, accepted.data, new, prefer, actor=actor)

    def upload_text(
        self,
        seller_id: str,
        external_id: str,
        text: str,
        *,
        idempotency_key: str | None,
        actor: str,
        prefer: Preference = Preference(),
        product: str | None = None,
    ) -> UploadResult:
        product = check_product(product)
        key = check_idempotency_key(idempotency_key)
        order = self.vault.orders.find(seller_id, external_id)
        text = validate_text(text, self.limits)
        data = text.encode("utf-8")
        replay, digest = self._replay(order, key, "text", data, prefer)
        if replay is not None:
            return replay
        new = NewItem(
            kind="text",
            content_type=TEXT_CONTENT_TYPE,
            verdict=None
            if self.jobs is not None
            else self._screen(data, "text/plain", product or order.product),
            idempotency_key=key,
            request_digest=digest,
            product=product,
        )
        return self._store(order, data, new, prefer, actor=actor)

    def _screen(self, data: bytes, media_type: str, product: str | None) -> Verdict:
        try:
            from screening.text.register import for_product  # lazily: CLI start-up loads no engine

            return for_product(self.screener.screen(data, media_type), product)
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
