"""In-process counters for the purge path, so a stuck purge is visible without reading logs.

Counters only (monotonic), thread-safe; the API exposes `snapshot()` at its metrics endpoint.
"""

from __future__ import annotations

from customization_vault.counters import Counters


class PurgeMetrics(Counters):
    """Names used: purged, purge_failures, purge_stuck, orders_expired, items_expired,
    orphans_deleted, foreign_keys, epochs_destroyed, audit_checkpoints, maintenance_errors, sweeps,
    sweep_errors, sqs_marked, sqs_malformed."""
