"""A pass repeated in a daemon thread until stopped: the shape of the purge sweep and webhook delivery.

A pass that raises (the database went away) is counted, logged and tried again one interval later:
never fatal, since everything such a pass claims comes back to the next one after its lease.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

from customization_vault.counters import Counters

log = logging.getLogger(__name__)


class Periodic(ABC):
    """Subclasses give `run_once`, `interval_seconds`, `name`, `metrics` and `error_counter`; `_stop`
    is set when they should cut a pass short."""

    name: str
    metrics: Counters
    error_counter: str  # the counter a failed pass increments
    thread_prefix: str = "periodic"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run_once(self) -> object: ...

    @property
    @abstractmethod
    def interval_seconds(self) -> float: ...

    def start(self) -> None:
        """Run a pass every `interval_seconds` in a daemon thread until `stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"{self.thread_prefix}-{self.name}", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                self.metrics.inc(self.error_counter)
                log.exception("%s: pass failed; retrying in %.0fs", self.name, self.interval_seconds)
            self._stop.wait(self.interval_seconds)

    def stop(self, timeout: float | None = 30) -> None:
        """Stop after the pass in progress (waiting at most `timeout` seconds for it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
