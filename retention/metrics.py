"""In-process counters for the purge path, so a stuck purge is visible without reading logs.

Counters only (monotonic), thread-safe; the API may expose `snapshot()` at a metrics endpoint.
"""

from __future__ import annotations

import threading
from collections import Counter


class PurgeMetrics:
    """Names used: purged, purge_failures, purge_stuck, orders_expired, items_expired,
    orphans_deleted, epochs_destroyed, sweeps, sweep_errors, sqs_marked, sqs_malformed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def inc(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
