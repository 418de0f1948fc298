"""Sellers and orders: who the tenants are, and each order's data key, made when the order is."""

from __future__ import annotations

from dataclasses import replace

from customization_vault.audit import AuditLog
from customization_vault.catalog import Catalog, DuplicateRow, OrderView
from customization_vault.catalog.types import new_id
from customization_vault.clock import Clock, system_clock
from customization_vault.errors import OrderNotFound, StateConflict
from customization_vault.ids import check_id, check_product
from customization_vault.keys.base import KeyContext, KeyProvider


class OrderBook:
    def __init__(
        self, catalog: Catalog, keys: KeyProvider, audit: AuditLog, *, clock: Clock = system_clock
    ) -> None:
        self._catalog = catalog
        self._keys = keys
        self._audit = audit
        self._clock = clock

    def ensure_seller(self, external_id: str) -> str:
        """The internal id of a seller, created on first sight (idempotent, race-safe)."""
        check_id(external_id, "a seller id")
        for _ in range(2):
            with self._catalog.unit() as u:
                found = u.sellers.find_id(external_id)
            if found is not None:
                return found
            try:
                with self._catalog.unit() as u:
                    return u.sellers.add(external_id, self._clock())
            except DuplicateRow:
                continue  # a concurrent caller created it: read it back
        raise StateConflict("seller could not be created")

    def seller_id(self, external_id: str) -> str | None:
        with self._catalog.unit() as u:
            return u.sellers.find_id(external_id)

    def create(
        self, seller_id: str, external_id: str, *, actor: str, product: str | None = None
    ) -> tuple[OrderView, bool]:
        """Create the order and its data key; (order, created). Idempotent on (seller, external id).

        The DEK is generated here, not at the first upload: one KMS GenerateDataKey per order, and
        every upload and fetch then costs exactly one Decrypt.
        """
        check_id(external_id, "an order id")
        product = check_product(product)
        existing = self._find(seller_id, external_id)
        if existing is not None:
            if product is not None and product != existing.product:
                with self._catalog.unit() as u:
                    u.orders.set_product(existing.id, product)
                    self._audit.record(
                        u,
                        actor=actor,
                        action="order.product",
                        target_type="order",
                        target_id=existing.id,
                        details={"product": product},
                    )
                existing = replace(existing, product=product)
            return existing, False
        order_id = new_id()
        now = self._clock()
        _dek, wrapped = self._keys.generate(KeyContext(seller_id, order_id), now)
        del _dek  # the DEK is only needed once content arrives; the wrapped form is what we keep
        try:
            with self._catalog.unit() as u:
                view = u.orders.add(
                    order_id=order_id,
                    seller_id=seller_id,
                    external_id=external_id,
                    epoch=wrapped.epoch,
                    now=now,
                    product=product,
                )
                u.keys.add(order_id, wrapped, now)
                self._audit.record(
                    u,
                    actor=actor,
                    action="order.create",
                    target_type="order",
                    target_id=order_id,
                    details={"seller_id": seller_id},
                )
        except DuplicateRow:
            again = self._find(seller_id, external_id)
            if again is None:
                raise
            return again, False
        return view, True

    def _find(self, seller_id: str, external_id: str) -> OrderView | None:
        with self._catalog.unit() as u:
            return u.orders.find(seller_id, external_id)

    def find(self, seller_id: str, external_id: str) -> OrderView:
        """The seller's order; another seller's order is indistinguishable from a missing one."""
        view = self._find(seller_id, external_id)
        if view is None:
            raise OrderNotFound("no such order")
        return view

    def get(self, order_id: str) -> OrderView:
        with self._catalog.unit() as u:
            view = u.orders.get(order_id)
        if view is None:
            raise OrderNotFound("no such order")
        return view
