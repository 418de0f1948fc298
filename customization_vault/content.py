"""Items' content: envelope-encrypted on the way in, released by the lifecycle rules on the way out.

Every method is one unit of work: a blob written before its row commits is deleted again if the row
does not commit (and the orphan sweep catches a crash in between), so a failed call leaves no item,
blob or key behind. Every read is audited before the first byte leaves.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from customization_vault._crypto import (
    DEFAULT_SEGMENT_SIZE,
    ObjectContext,
    decrypt_stream,
    encrypt_stream,
    request_digest,
)
from customization_vault.audit import AuditLog
from customization_vault.blobs.base import BlobStore, blob_key, order_prefix
from customization_vault.catalog import Catalog, DuplicateRow, ItemView, JobView, OrderView, ReviewView, Unit
from customization_vault.catalog.types import new_id
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import ItemNotFound, KeyDestroyed, OrderNotFound, StateConflict, TooLarge
from customization_vault.keys.base import DataKey, KeyContext, KeyProvider
from customization_vault.lifecycle import (
    ItemState,
    JobState,
    OrderState,
    VerdictKind,
    check_accepts_uploads,
    check_item,
    check_release,
    item_state_for,
)
from screening.findings import Verdict

log = logging.getLogger(__name__)


# The review case's kind for an item no engine could vouch for: it crashed screening workers twice, or
# its engine could not parse it. Never "clear": a person looks at it.
UNSCREENABLE = "unscreenable"


@dataclass(frozen=True, slots=True)
class NewItem:
    """What the intake hands the vault: validated and sanitised, and screened already (`verdict`) or
    to be screened by a job enqueued with it (`verdict=None`: the item is stored `received`)."""

    kind: str
    content_type: str
    verdict: Verdict | None
    metadata_removed: tuple[str, ...] = ()
    perceptual_hash: str | None = None
    idempotency_key: str | None = None
    request_digest: str | None = None
    width: int | None = None  # images: displayed size, so reviewers see regions where they are
    height: int | None = None
    product: str | None = None  # what the item is printed on, if the seller named it for this item


def open_review_case(
    u: Unit, item_id: str, order: OrderView, verdict: Verdict, now: datetime, *, kind: str | None = None
) -> ReviewView:
    """Queue a flagged item for trust-and-safety review, filed under its lead finding (or `kind`, for an
    item no finding explains: an unscreenable one)."""
    lead = verdict.lead
    return u.reviews.open_for(
        item_id,
        now,
        order_id=order.id,
        seller_id=order.seller_id,
        kind=kind if kind is not None else None if lead is None else lead.kind.value,
        list_ref=None if lead is None else lead.list_ref,
        score=None if lead is None else float(lead.score),
    )


class ScreenedNotifier(Protocol):
    """Queues the seller's `item.screened` notification inside the verdict's unit of work."""

    def item_screened(
        self,
        unit: Unit,
        *,
        seller_id: str,
        order_external_id: str,
        item_id: str,
        verdict: str,
        reason: str | None,
        now: datetime,
    ) -> None: ...


class ContentVault:
    def __init__(
        self,
        catalog: Catalog,
        keys: KeyProvider,
        blobs: BlobStore,
        audit: AuditLog,
        *,
        clock: Clock = system_clock,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        max_items_per_order: int = 50,
    ) -> None:
        self._catalog = catalog
        self._keys = keys
        self._blobs = blobs
        self._audit = audit
        self._clock = clock
        self.segment_size = segment_size
        self.max_items_per_order = max_items_per_order

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def _data_key(self, u: Unit, order: OrderView) -> DataKey:
        wrapped = u.keys.get(order.id)
        if wrapped is None:
            raise KeyDestroyed("the order's data key was destroyed")
        return self._keys.unwrap(wrapped, KeyContext(order.seller_id, order.id))

    def request_digest(self, order: OrderView, kind: str, payload: bytes) -> str:
        """The keyed digest of a request (`_crypto.request_digest`): one unwrap of the order's DEK.

        Raises `KeyDestroyed` once the order is shredded: no digest can be made or checked after that.
        """
        with self._catalog.unit() as u:
            dek = self._data_key(u, order)
        return request_digest(dek, order.seller_id, order.id, kind, payload)

    def replay(self, order: OrderView, idempotency_key: str | None, digest: str | None) -> ItemView | None:
        """The item an earlier request with this key created, if the request is the same one.

        A retry with the same key and the same digest answers from the catalog (no re-screening, no
        re-encryption); the same key with a different request is a client error, never an overwrite.
        """
        if idempotency_key is None:
            return None
        with self._catalog.unit() as u:
            prior = u.items.by_idempotency_key(order.id, idempotency_key)
        if prior is None:
            return None
        item, prior_digest = prior
        # A row without a digest (stored before digests were keyed) can not prove the retry is the same
        # request, so it is treated as a different one: a conflict, never an overwrite.
        if prior_digest is None or prior_digest != digest:
            raise StateConflict("the idempotency key was already used for a different request")
        return item

    def put_item(
        self, order: OrderView, content: Iterable[bytes], new: NewItem, *, actor: str
    ) -> tuple[ItemView, bool]:
        """Encrypt and store one item with its screening result; (item, created)."""
        prior = self.replay(order, new.idempotency_key, new.request_digest)
        if prior is not None:
            return prior, False
        item_id = new_id()
        key = blob_key(order.seller_id, order.id, item_id)
        with self._catalog.unit() as u:
            current = u.orders.get(order.id)
            if current is None:
                raise OrderNotFound("no such order")
            check_accepts_uploads(current.state)
            if u.items.count(order.id) >= self.max_items_per_order:
                raise TooLarge("the order already holds the maximum number of items")
            dek = self._data_key(u, order)
        ctx = ObjectContext(order.seller_id, order.id, item_id)
        size = 0

        def counted() -> Iterator[bytes]:
            nonlocal size
            for chunk in content:
                size += len(chunk)
                yield chunk

        try:
            stored = self._blobs.put(key, encrypt_stream(dek, ctx, counted(), segment_size=self.segment_size))
        except BaseException:
            # The store may have kept the object and lost only its answer (a timeout after the write):
            # the key is this attempt's alone, so deleting it is always safe, and no orphan waits for
            # the sweep.
            self._discard_blob(key)
            raise
        try:
            with self._catalog.unit() as u:
                current = u.orders.lock(order.id)
                if current is None:
                    raise OrderNotFound("no such order")
                check_accepts_uploads(current.state)
                now = self._clock()
                verdict = new.verdict
                u.items.add(
                    product=new.product,
                    item_id=item_id,
                    order_id=order.id,
                    kind=new.kind,
                    content_type=new.content_type,
                    size=size,
                    stored_size=stored,
                    state=ItemState.RECEIVED if verdict is None else item_state_for(verdict.kind),
                    verdict=None if verdict is None else verdict.kind,
                    metadata_removed=new.metadata_removed,
                    idempotency_key=new.idempotency_key,
                    request_digest=new.request_digest,
                    perceptual_hash=new.perceptual_hash,
                    now=now,
                    width=new.width,
                    height=new.height,
                )
                if verdict is None:
                    u.jobs.enqueue(item_id, order.id, now)
                    findings = 0
                else:
                    findings = self._write_screening(u, order, item_id, verdict, now)
                u.orders.note_first_upload(order.id, now)
                self._audit.record(
                    u,
                    actor=actor,
                    action="item.put",
                    target_type="item",
                    target_id=item_id,
                    details={
                        "order_id": order.id,
                        "verdict": "pending" if verdict is None else verdict.kind.value,
                        "bytes": size,
                        "findings": findings,
                    },
                )
                view = u.items.get(item_id, order_id=order.id)
                assert view is not None
        except BaseException as exc:
            # A failed COMMIT may still have committed (the server did, the answer was lost): the row
            # then points at this blob, and deleting it would lose an upload the retry acknowledges.
            if not self._row_may_exist(order, item_id):
                self._discard_blob(key)
            if isinstance(exc, DuplicateRow) and new.idempotency_key is not None:
                prior = self.replay(order, new.idempotency_key, new.request_digest)
                if prior is not None:
                    return prior, False
            raise
        return view, True

    @staticmethod
    def _write_screening(
        u: Unit,
        order: OrderView,
        item_id: str,
        verdict: Verdict,
        now: datetime,
        *,
        unscreenable: bool = False,
    ) -> int:
        """Findings, and for a flagged item its review case with the lead finding; how many findings."""
        findings = u.findings.add(item_id, verdict.findings)
        if item_state_for(verdict.kind) == ItemState.FLAGGED:
            open_review_case(u, item_id, order, verdict, now, kind=UNSCREENABLE if unscreenable else None)
        return len(findings)

    def record_screening(
        self,
        job: JobView,
        worker: str,
        verdict: Verdict | None,
        *,
        actor: str,
        reason: str | None = None,
        notifier: ScreenedNotifier | None = None,
    ) -> ItemView | None:
        """A screening job's outcome, once: the verdict (or, with `verdict=None`, "unscreenable": the
        item goes to review) with its findings, review case and audit event in one unit.

        Only the job's lease holder writes: a worker whose lease lapsed and went to another finds the
        job no longer its own and records nothing, so an item gets exactly one verdict. An order that
        left open meanwhile gets no findings (the purge may already have forgotten its derived
        content): the job is cancelled.
        """
        with self._catalog.unit() as u:
            if u.jobs.holds(job.id, worker) is None:
                return None
            now = self._clock()
            order = u.orders.lock(job.order_id)
            item = None if order is None else u.items.get(job.item_id, order_id=order.id)
            if order is None or order.state != OrderState.OPEN or item is None:
                u.jobs.finish(job.id, JobState.CANCELLED, now)
                return None
            if item.state != ItemState.RECEIVED:  # screened by an earlier path already: keep that
                u.jobs.finish(job.id, JobState.DONE, now)
                return item
            unscreenable = verdict is None
            if verdict is None:
                verdict = Verdict(VerdictKind.FLAGGED, ())
            state = check_item(item.state, item_state_for(verdict.kind))
            u.items.set_verdict(item.id, state, verdict.kind, now)
            findings = self._write_screening(u, order, item.id, verdict, now, unscreenable=unscreenable)
            u.jobs.finish(job.id, JobState.UNSCREENABLE if unscreenable else JobState.DONE, now, error=reason)
            details: dict[str, str | int] = {
                "order_id": order.id,
                "verdict": verdict.kind.value,
                "findings": findings,
                "attempts": job.attempts,
            }
            if unscreenable:
                details["unscreenable"] = reason or "unknown"
            self._audit.record(
                u, actor=actor, action="item.screened", target_type="item", target_id=item.id, details=details
            )
            if notifier is not None:  # the seller hears when the verdict lands (an upload may not wait)
                notifier.item_screened(
                    u,
                    seller_id=order.seller_id,
                    order_external_id=order.external_id,
                    item_id=item.id,
                    verdict=verdict.kind.value,
                    reason=UNSCREENABLE if unscreenable else None,
                    now=now,
                )
            return u.items.get(item.id, order_id=order.id)

    def _row_may_exist(self, order: OrderView, item_id: str) -> bool:
        """Whether the item's row may have committed. Unknown (the catalog still unreachable) counts as
        yes: a kept blob is ciphertext under the order's key and leaves with the order's purge, while
        a deleted one under a committed row is an acknowledged upload lost."""
        try:
            with self._catalog.unit() as u:
                return u.items.get(item_id, order_id=order.id) is not None
        except Exception:
            log.warning("could not tell whether a failed upload's row committed; its blob is kept")
            return True

    def _discard_blob(self, key: str) -> None:
        try:
            self._blobs.delete(key)
        except Exception:  # the orphan sweep will collect it; never mask the original error
            log.warning("could not delete blob of a failed upload; left for the orphan sweep")

    def get_item(self, order: OrderView, item_id: str) -> ItemView:
        with self._catalog.unit() as u:
            item = u.items.get(item_id, order_id=order.id)
        if item is None:
            raise ItemNotFound("no such item")
        return item

    def list_items(self, order: OrderView) -> list[ItemView]:
        with self._catalog.unit() as u:
            return u.items.for_order(order.id)

    def open_item(
        self, order: OrderView, item_id: str, *, actor: str, purpose: str
    ) -> tuple[ItemView, Iterator[bytes]]:
        """Decrypt an item as a stream, whatever its state (review, screening); audited with `purpose`."""
        return self._open(order, item_id, actor=actor, purpose=purpose, for_release=False)

    def fetch_for_fulfilment(
        self, order: OrderView, item_id: str, *, actor: str
    ) -> tuple[ItemView, Iterator[bytes]]:
        """Content for the order's own seller: only when released, only while the order is open."""
        return self._open(order, item_id, actor=actor, purpose="fulfilment", for_release=True)

    def _open(
        self, order: OrderView, item_id: str, *, actor: str, purpose: str, for_release: bool
    ) -> tuple[ItemView, Iterator[bytes]]:
        # One unit of work: the release rule, the key unwrap and the audit event see the same state.
        with self._catalog.unit() as u:
            item = u.items.get(item_id, order_id=order.id)
            if item is None:
                raise ItemNotFound("no such item")
            if for_release:
                current = u.orders.get(order.id)
                if current is None:
                    raise OrderNotFound("no such order")
                # Checked before the unwrap: a purged order answers "gone", not "key destroyed".
                check_release(current.state, item.state)
            dek = self._data_key(u, order)
            self._audit.record(
                u,
                actor=actor,
                action="item.read",
                target_type="item",
                target_id=item_id,
                purpose=purpose,
                details={"order_id": order.id},
            )
        return item, self._decrypt(order, dek, item_id)

    def open_items(
        self, order: OrderView, item_ids: Sequence[str], *, actor: str, purpose: str
    ) -> list[tuple[ItemView, Callable[[], Iterator[bytes]]]]:
        """Several items of one order, whatever their state, for one purpose (a re-screen): one unit of
        work unwraps the order's key once and audits every read (one event per item) before any byte
        is decrypted. Each item's blob is fetched only when its opener is called, so a batch never
        holds more than one blob open. Items not in the order are left out."""
        wanted = set(item_ids)
        with self._catalog.unit() as u:
            items = [i for i in u.items.for_order(order.id) if i.id in wanted]
            if not items:
                return []
            dek = self._data_key(u, order)
            self._audit.record_many(
                u,
                actor=actor,
                action="item.read",
                target_type="item",
                targets=[(i.id, {"order_id": order.id}) for i in items],
                purpose=purpose,
            )
        return [(i, functools.partial(self._decrypt, order, dek, i.id)) for i in items]

    def _decrypt(self, order: OrderView, dek: DataKey, item_id: str) -> Iterator[bytes]:
        ctx = ObjectContext(order.seller_id, order.id, item_id)
        return decrypt_stream(dek, ctx, self._blobs.get(blob_key(order.seller_id, order.id, item_id)))

    def blob_keys(self, order: OrderView) -> list[str]:
        """Every blob of the order still in the store (listing, not the catalog: catches strays)."""
        return list(self._blobs.list(order_prefix(order.seller_id, order.id)))
