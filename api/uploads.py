"""Who may hold a file upload in memory, and when: a fair share per seller, and work slots for all.

A file upload holds up to `max_upload_bytes` from the first body byte on, and several times that
while it is screened and encrypted. Two budgets bound that, and neither can be held by a client that
merely stalls:

- **each seller's share** (`per_seller`, half the slots, at least one) covers reading the body and
  the work after it, so however many connections one seller opens, the others keep the rest;
- **the work slots** (`work`) are taken only once the body is in memory, for intake, encryption and
  the wait for the verdict: a body that is still arriving holds no slot. The read itself ends within
  `CV_SERVER__BODY_TIMEOUT_SECONDS` (408, `api/guards.py`).

Memory is bounded by (sellers uploading at once x their share + slots) x the upload limit, and a
seller that stalls its own uploads only waits for its own deadline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter

__all__ = ["UploadGate"]


class UploadGate:
    """Created inside the running event loop (its limiters belong to it); used from that loop only."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.per_seller = max(1, slots // 2)
        self.work = CapacityLimiter(slots)
        # seller id -> (its limiter, requests holding or waiting for it); dropped when no one does, so
        # the table holds only sellers with uploads in flight.
        self._sellers: dict[str, tuple[CapacityLimiter, int]] = {}

    @asynccontextmanager
    async def seller(self, seller_id: str) -> AsyncIterator[None]:
        """Hold one of the seller's places for the body read and the work after it."""
        limiter, users = self._sellers.get(seller_id) or (CapacityLimiter(self.per_seller), 0)
        self._sellers[seller_id] = (limiter, users + 1)
        try:
            async with limiter:
                yield
        finally:
            limiter, users = self._sellers[seller_id]
            if users == 1:
                del self._sellers[seller_id]
            else:
                self._sellers[seller_id] = (limiter, users - 1)

    @property
    def sellers_in_flight(self) -> int:
        return len(self._sellers)
